package sshserve

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/model"
	"postdeck/ui"
)

type fakeActions struct{ auto bool }

func (f *fakeActions) Start(context.Context, string) (model.StartOutcome, error) {
	return model.StartOutcome{}, nil
}
func (f *fakeActions) Stop(context.Context, string, model.StopMode) (model.StopOutcome, error) {
	return model.StopOutcome{}, errors.New("not stopping: proving")
}
func (f *fakeActions) Restart(context.Context, string) (model.StartOutcome, error) {
	return model.StartOutcome{Warnings: []string{"queued"}}, nil
}
func (f *fakeActions) SetAuto(on bool)                        { f.auto = on }
func (f *fakeActions) Auto() bool                             { return f.auto }
func (f *fakeActions) LogSource(string) (ui.LogSource, error) { return ui.LogSource{}, nil }

func TestAuditedActionsWriteOneLinePerAction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "postdeck", "audit.log")
	log, err := NewAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	a := &auditedActions{inner: &fakeActions{}, log: log,
		who:      who{Fingerprint: "SHA256:abc", User: "op", Remote: "127.0.0.1:5555", Access: "full"},
		identity: func(s string) string { return "post01.key 0123" },
		report:   func(s string) { t.Error(s) }}
	ctx := context.Background()
	a.Start(ctx, "data01")
	if _, err := a.Stop(ctx, "data01", model.StopIfSafe); err == nil {
		t.Error("the inner error was lost")
	}
	a.Restart(ctx, "data02")
	a.SetAuto(true)
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	want := []struct{ action, mode, result string }{
		{"start", "", "ok"}, {"stop", "if-safe", "error: not stopping: proving"}, {"restart", "", "ok: queued"}, {"auto", "on", "ok"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), data)
	}
	for i, w := range want {
		var e AuditEntry
		if err := json.Unmarshal([]byte(lines[i]), &e); err != nil {
			t.Fatal(err)
		}
		if e.Action != w.action || e.Mode != w.mode || e.Result != w.result || e.Fingerprint != "SHA256:abc" ||
			e.Remote != "127.0.0.1:5555" || e.Time.IsZero() {
			t.Errorf("line %d: %+v, want %+v", i, e, w)
		}
		if e.Service != "" && e.Identity != "post01.key 0123" {
			t.Errorf("line %d: identity %q", i, e.Identity)
		}
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", st.Mode().Perm())
	}
}
