package model

import "strings"

// StopResult is what a stop did.
type StopResult int

const (
	// StopDone: the process was stopped.
	StopDone StopResult = iota
	// StopNotRunning: there was nothing to stop.
	StopNotRunning
	// StopQueued: not safe yet, so the stop waits in the queue and runs as
	// soon as the verdict is safe.
	StopQueued
	// StopCancelled: a queued stop was dropped; the service keeps running.
	StopCancelled
)

// StopOutcome is the value a stop returns, so callers decide on it, never
// on its text. A refused stop is not an outcome but an error that carries
// the verdict (backend.UnsafeStopError).
type StopOutcome struct {
	Result StopResult
	Forced bool   // stopped whatever the verdict said
	Reason string // the verdict's reason: why it was safe (done), why not yet (queued)
}

// String is what the command line prints after the service's name.
func (o StopOutcome) String() string {
	switch o.Result {
	case StopNotRunning:
		return "not running"
	case StopQueued:
		return "will stop as soon as it is safe; now " + o.Reason
	case StopCancelled:
		return "pending stop cancelled"
	}
	if o.Forced {
		return "stopped (forced)"
	}
	return "stopped: " + o.Reason
}

// StartOutcome is the value a start (or a restart) returns: the service is
// started, with what the user should know about it.
type StartOutcome struct {
	// AlreadyRunning: the service was running, so nothing was started.
	AlreadyRunning bool
	// Warnings, such as "not-on-node: the node does not know this identity…".
	Warnings []string
}

// String is what the command line prints after the service's name.
func (o StartOutcome) String() string {
	s := "started"
	if o.AlreadyRunning {
		s = AlreadyRunningText
	}
	for _, w := range o.Warnings {
		s += "; warning: " + w
	}
	return s
}

// AlreadyRunningText is a start's words when the service was running.
const AlreadyRunningText = "already running"

// Note is the warnings alone, "" when there are none: all a screen that
// already says "started" needs to add (and that it was running already).
func (o StartOutcome) Note() string {
	notes := o.Warnings
	if o.AlreadyRunning {
		notes = append([]string{AlreadyRunningText}, notes...)
	}
	return strings.Join(notes, "; ")
}
