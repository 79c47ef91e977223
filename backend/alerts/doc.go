// Package alerts turns health changes into alerts and delivers them to a
// webhook or a command, each with its own timeout, debounced and queued.
package alerts
