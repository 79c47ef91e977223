package alerts

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/model"
)

// testAlerter is an alerter with short retries and a running dispatcher.
func testAlerter(t *testing.T, cfg config.AlertsConfig) (*Alerter, string) {
	t.Helper()
	dir := t.TempDir()
	if cfg.Timeout.Duration == 0 {
		cfg.Timeout.Duration = 300 * time.Millisecond
	}
	a := New(cfg, dir)
	a.retries = []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return a, filepath.Join(dir, "alerts.log")
}

func alertWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A webhook on 127.0.0.1 that hangs on the first alert, fails with 500 on
// the second's first try, and succeeds otherwise: the hang hits the timeout
// and does not hold up the next alert; the 500 is retried; the bodies are
// the alerts' JSON.
func TestAlertWebhook(t *testing.T) {
	var mu sync.Mutex
	var bodies []model.Alert
	var fails atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var al model.Alert
		if err := json.Unmarshal(b, &al); err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("bad request %s %q: %v", r.Method, b, err)
		}
		switch al.Identity {
		case "hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		case "flaky":
			if fails.Add(1) == 1 {
				http.Error(w, "try again", http.StatusInternalServerError)
				return
			}
		}
		mu.Lock()
		bodies = append(bodies, al)
		mu.Unlock()
	}))
	defer srv.Close()
	defer close(release)
	a, logPath := testAlerter(t, config.AlertsConfig{Webhook: srv.URL + "/hook", Timeout: config.Duration{Duration: 200 * time.Millisecond}})

	a.Raise(testkit.AlertFor("service-down-while-proving", "hang"))
	a.Raise(testkit.AlertFor("proof-failed", "ok"))
	a.Raise(testkit.AlertFor("stuck-done-proving", "flaky"))
	got := func() int { mu.Lock(); defer mu.Unlock(); return len(bodies) }
	// That the hang holds up no other alert is shown without a clock by
	// TestAlertHangingWebhookHoldsUpNoOther.
	alertWait(t, "two webhook deliveries", func() bool { return got() == 2 })
	alertWait(t, "the hanging webhook to fail for good", func() bool { return a.Stats().Failed == 1 })
	st := a.Stats()
	if st.Sent != 2 || st.Raised != 3 || st.Retried < 3 || fails.Load() != 2 {
		t.Errorf("stats %+v, flaky tries %d", st, fails.Load())
	}
	mu.Lock()
	var ok model.Alert
	for _, b := range bodies {
		if b.Identity == "ok" {
			ok = b
		}
	}
	mu.Unlock()
	if want := testkit.AlertFor("proof-failed", "ok"); ok.Kind != want.Kind || !ok.Time.Equal(want.Time) || ok.Name != want.Name ||
		ok.Service != want.Service || ok.Message != want.Message || len(ok.Health) != 1 {
		t.Errorf("body %+v, want %+v", ok, want)
	}
	// The count of failures is taken before the failure's line is written.
	alertWait(t, "the final failure in alerts.log", func() bool {
		log, _ := os.ReadFile(logPath)
		return strings.Contains(string(log), "FAILED service-down-while-proving")
	})
	log, _ := os.ReadFile(logPath)
	for _, want := range []string{"FAILED service-down-while-proving for \"post-hang.key\" via webhook after 3 tries: webhook did not answer within 200ms",
		"stuck-done-proving for \"post-flaky.key\" via webhook failed (try 1 of 3, next in 20ms): webhook answered 500 Internal Server Error: try again",
		"sent proof-failed for \"post-ok.key\" via webhook"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("alerts.log lacks %q:\n%s", want, log)
		}
	}
}

// While a webhook call hangs (here for good: its timeout is far beyond the
// test), the next alert is delivered: it cannot be waiting for the first.
func TestAlertHangingWebhookHoldsUpNoOther(t *testing.T) {
	var hanging atomic.Int32
	var delivered atomic.Value
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var al model.Alert
		json.NewDecoder(r.Body).Decode(&al)
		if al.Identity == "hang" {
			hanging.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		delivered.Store(al.Identity)
	}))
	defer srv.Close()
	defer close(release)
	a, _ := testAlerter(t, config.AlertsConfig{Webhook: srv.URL + "/hook", Timeout: config.Duration{Duration: time.Hour}})
	a.Raise(testkit.AlertFor("service-down-while-proving", "hang"))
	alertWait(t, "the hanging call to reach the webhook", func() bool { return hanging.Load() == 1 })
	a.Raise(testkit.AlertFor("proof-failed", "ok"))
	alertWait(t, "the next alert delivered while the first hangs", func() bool { return a.Stats().Sent == 1 })
	if st := a.Stats(); delivered.Load() != "ok" || hanging.Load() != 1 || st.Failed != 0 || st.Retried != 0 {
		t.Errorf("delivered %v, hanging calls %d, stats %+v", delivered.Load(), hanging.Load(), st)
	}
}

// A real command receives the JSON on stdin and the kind in its environment.
func TestAlertCommandGetsJSON(t *testing.T) {
	out := filepath.Join(t.TempDir(), "got.json")
	a, _ := testAlerter(t, config.AlertsConfig{Command: `cat > '` + out + `' && echo "$POSTDECK_ALERT_KIND" > '` + out + `.kind'`,
		Timeout: config.Duration{Duration: 5 * time.Second}})
	a.Raise(testkit.AlertFor("duplicate-identity", "abcd"))
	alertWait(t, "the command", func() bool { return a.Stats().Sent == 1 })
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var al model.Alert
	if err := json.Unmarshal(b, &al); err != nil || al.Kind != "duplicate-identity" || al.Identity != "abcd" || al.Service != "svc-abcd" {
		t.Fatalf("command got %s (%v)", b, err)
	}
	if k, _ := os.ReadFile(out + ".kind"); strings.TrimSpace(string(k)) != "duplicate-identity" {
		t.Fatalf("POSTDECK_ALERT_KIND %q", k)
	}
}

// A command that hangs (with a child that would outlive sh) is killed at
// the timeout, retried, and reported; one that fails is logged with its output.
func TestAlertCommandTimeoutAndFailure(t *testing.T) {
	a, logPath := testAlerter(t, config.AlertsConfig{Command: `sleep 60 & sleep 60; echo never`, Timeout: config.Duration{Duration: 150 * time.Millisecond}})
	a.Raise(testkit.AlertFor("service-down-while-proving", "x"))
	// Were only sh killed, each try would wait for the background sleep
	// holding its output (60s, three times): the failure would not come
	// within alertWait's deadline.
	alertWait(t, "the hanging command to fail for good", func() bool { return a.Stats().Failed == 1 })
	if log, _ := os.ReadFile(logPath); !strings.Contains(string(log), "command did not finish within 150ms: killed") {
		t.Errorf("alerts.log:\n%s", log)
	}

	b, logPath := testAlerter(t, config.AlertsConfig{Command: `echo "no route to mail server" >&2; exit 3`})
	b.Raise(testkit.AlertFor("proof-failed", "y"))
	alertWait(t, "the failing command", func() bool { return b.Stats().Failed == 1 })
	if log, _ := os.ReadFile(logPath); !strings.Contains(string(log), "exit status 3: no route to mail server") {
		t.Errorf("alerts.log:\n%s", log)
	}
}

func TestAlertDebounceAndQueue(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	a := New(config.AlertsConfig{Command: "true", Debounce: config.Duration{Duration: 5 * time.Minute}}, "")
	a.now = func() time.Time { return now }
	a.Raise(testkit.AlertFor("service-down-while-proving", "a"))
	a.Raise(testkit.AlertFor("service-down-while-proving", "a")) // debounced
	a.Raise(testkit.AlertFor("service-down-while-proving", "b")) // another identity
	a.Raise(testkit.AlertFor("proof-failed", "a"))               // another kind
	now = now.Add(4 * time.Minute)
	a.Raise(testkit.AlertFor("service-down-while-proving", "a")) // still within
	now = now.Add(time.Minute)
	a.Raise(testkit.AlertFor("service-down-while-proving", "a")) // 5 min: again
	if st := a.Stats(); st.Raised != 4 || len(a.queue) != 4 {
		t.Fatalf("stats %+v, queued %d", st, len(a.queue))
	}

	// Not running: the queue fills and the oldest are dropped; Raise never blocks.
	for i := range AlertQueueSize + 10 {
		now = now.Add(time.Hour)
		a.Raise(testkit.AlertFor("proof-failed", string(rune('A'+i%26))))
	}
	if st := a.Stats(); st.Dropped != 14 || len(a.queue) != AlertQueueSize {
		t.Fatalf("stats %+v, queued %d", st, len(a.queue))
	}
}

// The hook turns snapshots into alerts: a row gaining a critical flag.
func TestAlerterHook(t *testing.T) {
	a := New(config.AlertsConfig{Command: "true", Debounce: config.Duration{Duration: time.Minute}}, "")
	row := model.Row{Key: "k", Name: "post0.key", ID: []byte{1}, NodeState: model.NodeProving}
	s1 := &model.Snapshot{Rows: []model.Row{row}}
	a.Hook(s1)
	row.Health = []model.Health{model.HealthServiceDown}
	a.Hook(&model.Snapshot{Rows: []model.Row{row}})
	a.Hook(&model.Snapshot{Rows: []model.Row{row}})
	if len(a.queue) != 1 {
		t.Fatalf("queued %d", len(a.queue))
	}
	if al := <-a.queue; al.Kind != model.AlertServiceDown || al.Identity != "01" {
		t.Fatalf("alert %+v", al)
	}
}

// The hook raises the earning alerts too: a plan that will miss the coming
// gap, told once though every poll shows it.
func TestAlerterHookPlanMisses(t *testing.T) {
	a := New(config.AlertsConfig{Command: "true", Debounce: config.Duration{Duration: time.Minute}}, "")
	gap := time.Date(2026, 12, 21, 8, 0, 0, 0, time.UTC)
	plan := &model.Plan{GapStart: gap, GapEnd: gap.Add(12 * time.Hour), Misses: 1,
		Proofs: []model.PlannedProof{{Name: "post01.key", Reason: "disk disk1: 2 proofs, 13h of reading in a 12h gap"}}}
	for i := range 3 {
		a.Hook(&model.Snapshot{At: gap.Add(time.Duration(i-5) * time.Minute), Plan: plan})
	}
	if len(a.queue) != 1 {
		t.Fatalf("queued %d", len(a.queue))
	}
	if al := <-a.queue; al.Kind != model.AlertPlanMisses || !strings.Contains(al.Message, "post01.key (disk disk1") {
		t.Fatalf("alert %+v", al)
	}
}
