package sshserve

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"postdeck/model"
	"postdeck/ui"
)

// AuditLog appends one JSON line per action taken over SSH. It is opened
// per write, in append mode, so a rotated or removed log is simply
// recreated, and lines from concurrent sessions never interleave (each is
// one write under a mutex, below PIPE_BUF).
type AuditLog struct {
	path string
	now  func() time.Time
	mu   sync.Mutex
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	Time        time.Time `json:"time"`
	Fingerprint string    `json:"key"`              // SHA256:… as ssh-keygen -lf prints it
	User        string    `json:"user,omitempty"`   // the SSH user name the client gave
	Remote      string    `json:"remote"`           // address:port
	Access      string    `json:"access,omitempty"` // full or read-only
	Action      string    `json:"action"`           // session-start, session-end, start, stop, restart, auto
	Service     string    `json:"service,omitempty"`
	Identity    string    `json:"identity,omitempty"` // the key file name and id prefix the service proves for
	Mode        string    `json:"mode,omitempty"`     // stop: if-safe, when-safe, force; auto: on, off
	Result      string    `json:"result"`             // ok, a note, or error: …
}

// NewAuditLog makes the folder of path (0700) and checks the log can be
// opened for appending.
func NewAuditLog(path string) (*AuditLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	a := &AuditLog{path: path, now: time.Now}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return a, f.Close()
}

// Path is where the log is written.
func (a *AuditLog) Path() string { return a.path }

// Write appends e, stamping its time.
func (a *AuditLog) Write(e AuditEntry) error {
	e.Time = a.now().UTC()
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

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
		a.report(fmt.Sprintf("audit log %s: %v (action %s %s by %s)", a.log.path, werr, action, service, a.who.Fingerprint))
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
