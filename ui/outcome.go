package ui

import (
	"errors"
	"strings"

	"postdeck/backend/remote"
	"postdeck/model"
	"postdeck/themes"
)

// result is what one Actions call of an operation returned, as values: the
// footer words it (sentence, or a bulk summary's parts), never reading the
// outcome's text.
type result struct {
	start model.StartOutcome
	stop  model.StopOutcome // a stop's, or a force-restart's stop
	err   error
}

// unsafeRefusal is a stop the safe-stop rule refused, this machine's
// (backend.UnsafeStopError) or a host's (remote.RefusedError), with the
// verdict's reason as a value.
type unsafeRefusal interface {
	UnsafeStop()
	StopReason() string
}

// sentence is the footer's one sentence for an operation on one service.
func sentence(o *op, svc string, r result) (string, themes.Tone) {
	if r.err != nil {
		return failure(o, svc, r.err), themes.ToneDanger
	}
	switch o.kind {
	case opStart:
		return startSentence("started "+svc, svc+" "+model.AlreadyRunningText, r.start)
	case opRestart:
		return startSentence("restarted "+svc, "restarted "+svc+" (it was running again already)", r.start)
	case opForceRestart:
		if r.stop.Result == model.StopNotRunning {
			return startSentence(svc+" was not running: started it", svc+" "+model.AlreadyRunningText, r.start)
		}
		return startSentence("force-restarted "+svc, "force-restarted "+svc+" (it was running again already)", r.start)
	}
	return stopSentence(svc, r.stop)
}

// startSentence is a start's words (ran, or already running: running) with
// its warnings after a dash.
func startSentence(ran, running string, o model.StartOutcome) (string, themes.Tone) {
	s := ran
	if o.AlreadyRunning {
		s = running
	}
	if len(o.Warnings) == 0 {
		return s, themes.ToneOK
	}
	label := " — warning: "
	if len(o.Warnings) > 1 {
		label = " — warnings: "
	}
	return s + label + strings.Join(o.Warnings, "; "), themes.ToneWarn
}

// stopSentence is a stop's words for each of its results.
func stopSentence(svc string, o model.StopOutcome) (string, themes.Tone) {
	switch o.Result {
	case model.StopNotRunning:
		return svc + " is not running: nothing to stop", themes.ToneOK
	case model.StopQueued:
		s := "stop queued for " + svc + ": stops when it is safe"
		if o.Reason != "" {
			s += " — now " + o.Reason
		}
		return s, themes.ToneWarn
	case model.StopCancelled:
		return "pending stop cancelled for " + svc + ": it keeps running", themes.ToneOK
	}
	if o.Forced {
		return "force-stopped " + svc, themes.ToneOK
	}
	return "stopped " + svc, themes.ToneOK
}

// failure is a failed call's words. A refused stop says the verdict's
// reason and what else to do; a host's refusal says its message (it names
// neither host nor service: the row's name does); anything else is the
// error as it is.
func failure(o *op, svc string, err error) string {
	var u unsafeRefusal
	if errors.As(err, &u) && u.StopReason() != "" {
		if o.kind == opRestart {
			return "not restarting " + svc + ": " + u.StopReason()
		}
		return "not stopping " + svc + ": " + u.StopReason() + " — stop it when safe, or force it"
	}
	var re *remote.RefusedError
	if errors.As(err, &re) {
		return "could not " + o.verb + " " + svc + ": " + re.Message
	}
	return "could not " + o.verb + " " + svc + ": " + err.Error()
}

// unchanged says whether a successful call found nothing to do: the start
// of a running service, the stop of a stopped one. A bulk summary counts
// them apart.
func (r result) unchanged(kind opKind) bool {
	if kind == opStop {
		return r.stop.Result == model.StopNotRunning
	}
	return r.start.AlreadyRunning
}

// unchangedWords names what unchanged counts, for a bulk summary.
func unchangedWords(kind opKind) string {
	if kind == opStop {
		return "not running"
	}
	return model.AlreadyRunningText
}
