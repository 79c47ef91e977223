package sshserve

import (
	"context"
	"fmt"

	"postdeck/backend/audit"
	"postdeck/model"
	"postdeck/ui"
)

// The audit log itself lives in backend/audit, where the CLI's overrides
// write to the same file; these names keep postdeck serve's callers as they
// were.
type (
	AuditLog   = audit.Log
	AuditEntry = audit.Entry
)

// NewAuditLog opens the log at path (see audit.New).
func NewAuditLog(path string) (*AuditLog, error) { return audit.New(path) }

// who is the part of an entry that is the same for a whole session.
type who struct {
	Fingerprint, User, Remote, Access string
}

func (w who) entry(action string) AuditEntry {
	return AuditEntry{Fingerprint: w.Fingerprint, User: w.User, Remote: w.Remote, Access: w.Access, Action: action}
}

// auditedActions is ui.Actions that writes every action, with its result,
// to the audit log before the result reaches the dashboard. A failure to
// write the log is reported (report) but does not undo the action.
type auditedActions struct {
	inner    ui.Actions
	log      *AuditLog
	who      who
	identity func(service string) string // "" when unknown
	report   func(string)
}

var _ ui.Actions = (*auditedActions)(nil)

func (a *auditedActions) record(action, service, mode, note string, err error) {
	e := a.who.entry(action)
	e.Service, e.Mode = service, mode
	if service != "" && a.identity != nil {
		e.Identity = a.identity(service)
	}
	switch {
	case err != nil:
		e.Result = "error: " + err.Error()
	case note != "":
		e.Result = "ok: " + note
	default:
		e.Result = "ok"
	}
	if werr := a.log.Write(e); werr != nil {
		a.report(fmt.Sprintf("audit log %s: %v (action %s %s by %s)", a.log.Path(), werr, action, service, a.who.Fingerprint))
	}
}

// A start's result records its warnings; a stop's, its outcome.
func (a *auditedActions) Start(ctx context.Context, service string) (model.StartOutcome, error) {
	o, err := a.inner.Start(ctx, service)
	a.record("start", service, "", o.Note(), err)
	return o, err
}

func (a *auditedActions) Stop(ctx context.Context, service string, mode model.StopMode) (model.StopOutcome, error) {
	o, err := a.inner.Stop(ctx, service, mode)
	note := ""
	if err == nil {
		note = o.String()
	}
	a.record("stop", service, stopModeName(mode), note, err)
	return o, err
}

func (a *auditedActions) Restart(ctx context.Context, service string) (model.StartOutcome, error) {
	o, err := a.inner.Restart(ctx, service)
	a.record("restart", service, "", o.Note(), err)
	return o, err
}

func (a *auditedActions) SetAuto(on bool) {
	a.inner.SetAuto(on)
	mode := "off"
	if on {
		mode = "on"
	}
	a.record("auto", "", mode, "", nil)
}

func (a *auditedActions) Auto() bool { return a.inner.Auto() }
func (a *auditedActions) LogSource(service string) (ui.LogSource, error) {
	return a.inner.LogSource(service)
}

func stopModeName(m model.StopMode) string {
	switch m {
	case model.StopIfSafe:
		return "if-safe"
	case model.StopWhenSafe:
		return "when-safe"
	case model.StopForce:
		return "force"
	}
	return fmt.Sprint(int(m))
}
