// Package proc supervises post-service processes: starting them (as our
// children or as systemd units), stopping them without killing what is not
// ours, adopting ones started before, scanning /proc for others, and their
// logs (files or journals) for the dashboard and `postdeck logs` alike.
package proc
