// Package fsguard bounds file-system calls: a call on a hung disk or a dead
// network mount times out for its caller, and later calls to the same place
// are refused at once until the hung one returns, so nothing else stalls.
package fsguard
