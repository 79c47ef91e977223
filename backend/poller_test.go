package backend

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
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
	"postdeck/backend/operator"
	"postdeck/backend/testkit"
	"postdeck/model"
)

// postDir makes a PoST data directory with metadata for a random identity.
func postDir(t *testing.T) string {
	t.Helper()
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	b, err := json.Marshal(model.PostMetadata{NodeID: id, CommitmentAtxID: make([]byte, 32), LabelsPerUnit: 1024, NumUnits: 2, MaxFileSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, model.MetadataFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// countingServer answers /status with whatever body() says (500 when it is
// empty) and counts requests.
type countingServer struct {
	addr  string
	calls atomic.Int64
	body  atomic.Value // string
}

func newCountingServer(t *testing.T, body string) *countingServer {
	cs := &countingServer{}
	cs.body.Store(body)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.calls.Add(1)
		b := cs.body.Load().(string)
		if b == "" {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(b))
	}))
	t.Cleanup(srv.Close)
	cs.addr = srv.Listener.Addr().String()
	return cs
}

func serviceCfg(addrs ...string) []config.ServiceConfig {
	var out []config.ServiceConfig
	for i, a := range addrs {
		out = append(out, config.ServiceConfig{Name: fmt.Sprintf("svc%02d", i), Operator: a})
	}
	return out
}

func rowOf(t *testing.T, s model.Snapshot, service string) model.Row {
	t.Helper()
	for _, r := range s.Rows {
		if r.Service == service {
			return r
		}
	}
	t.Fatalf("no row for %s in %+v", service, s.Rows)
	return model.Row{}
}

func TestPollerBackoff(t *testing.T) {
	down := newCountingServer(t, "")
	cfg := &config.Config{Services: serviceCfg(down.addr)}
	cfg.Poll.Interval.Duration = time.Second
	cfg.Services[0].Dir = postDir(t)
	p := NewPoller(cfg, nil, operator.NewClient(5*time.Second))
	clock := time.Unix(1_000_000, 0)
	p.now = func() time.Time { return clock }
	ctx := context.Background()

	poll := func() model.Row { return rowOf(t, p.PollOnce(ctx), "svc00") }
	// expectDown polls and checks the calls so far; a row that was not
	// asked this cycle (backing off) says when it will be.
	expectDown := func(calls int64, backingOff bool) {
		t.Helper()
		r := poll()
		if got := down.calls.Load(); got != calls {
			t.Fatalf("at %v: %d calls, want %d", clock, got, calls)
		}
		if r.ServiceState != model.ServiceUnreachable || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "HTTP 500") ||
			strings.Contains(r.Errors[0].Message, "retrying in") != backingOff {
			t.Fatalf("row (backing off: %v): %v %+v", backingOff, r.ServiceState, r.Errors)
		}
	}
	// base is 2×interval = 2s, then 4s, 8s …
	expectDown(1, false)
	expectDown(1, true) // same instant: backing off, the error is still shown
	clock = clock.Add(2 * time.Second)
	expectDown(2, false)
	clock = clock.Add(2 * time.Second) // second delay is 4s: not yet
	expectDown(2, true)
	clock = clock.Add(2 * time.Second)
	expectDown(3, false)
	for range 10 { // the delay is capped
		clock = clock.Add(MaxOperatorBackoff)
		poll()
	}
	if got := down.calls.Load(); got != 13 {
		t.Fatalf("after capped waits: %d calls, want 13", got)
	}

	down.body.Store(`"Idle"`)
	clock = clock.Add(MaxOperatorBackoff)
	if r := poll(); r.ServiceState != model.ServiceIdle {
		t.Fatalf("recovered endpoint: %v %+v", r.ServiceState, r.Errors)
	}
	poll() // healthy again: asked every cycle
	if got := down.calls.Load(); got != 15 {
		t.Fatalf("after recovery: %d calls, want 15", got)
	}
}

func TestPollerHungOperatorDoesNotDelayOthers(t *testing.T) {
	hung := testkit.HangingServer(t)
	ok1, ok2 := newCountingServer(t, `"Idle"`), newCountingServer(t, `"DoneProving"`)
	cfg := &config.Config{Services: serviceCfg(ok1.addr, hung, ok2.addr)}
	for i := range cfg.Services {
		cfg.Services[i].Dir = postDir(t)
	}
	cfg.Poll.Workers = 2
	p := NewPoller(cfg, nil, operator.NewClient(300*time.Millisecond))

	s := testkit.NoHang(t, "PollOnce with one hung operator", func() model.Snapshot { return p.PollOnce(context.Background()) })
	if r := rowOf(t, s, "svc01"); r.ServiceState != model.ServiceUnreachable || !strings.Contains(r.Errors[0].Message, "no answer within 300ms") {
		t.Errorf("hung row: %v %+v", r.ServiceState, r.Errors)
	}
	if r := rowOf(t, s, "svc00"); r.ServiceState != model.ServiceIdle {
		t.Errorf("svc00: %v", r.ServiceState)
	}
	if r := rowOf(t, s, "svc02"); r.ServiceState != model.ServiceDone {
		t.Errorf("svc02: %v", r.ServiceState)
	}
}

// gateServer blocks every /status until the test lets it go, recording how
// many requests were ever in flight at once.
type gateServer struct {
	addr              string
	gate              chan struct{}
	entered           atomic.Int64
	inflight, maxSeen atomic.Int64
}

func newGateServer(t *testing.T) *gateServer {
	g := &gateServer{gate: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := g.inflight.Add(1)
		defer g.inflight.Add(-1)
		for {
			m := g.maxSeen.Load()
			if n <= m || g.maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		g.entered.Add(1)
		select {
		case <-g.gate:
			_, _ = w.Write([]byte(`"Idle"`))
		case <-r.Context().Done():
		}
	}))
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(g.gate) }); srv.Close() })
	g.addr = srv.Listener.Addr().String()
	return g
}

func TestPollerSkipsTicksWhileACycleRuns(t *testing.T) {
	g := newGateServer(t)
	cfg := &config.Config{Services: serviceCfg(g.addr)}
	cfg.Services[0].Dir = postDir(t)
	cfg.Poll.Interval.Duration = 5 * time.Millisecond
	p := NewPoller(cfg, nil, operator.NewClient(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()

	testkit.WaitFor(t, "the first cycle to reach the operator", func() bool { return g.entered.Load() == 1 })
	testkit.WaitFor(t, "ticks to be skipped", func() bool { return p.Stats().Skipped >= 5 })
	if n := g.entered.Load(); n != 1 {
		t.Fatalf("%d requests while the first cycle runs: ticks queued or overlapped", n)
	}
	g.gate <- struct{}{} // let the first cycle finish
	testkit.WaitFor(t, "the first cycle to publish", func() bool { return p.Stats().Cycles >= 1 })
	testkit.WaitFor(t, "a second cycle", func() bool { return g.entered.Load() >= 2 })
	cancel()
	<-done
	if m := g.maxSeen.Load(); m != 1 {
		t.Fatalf("%d cycles overlapped", m)
	}
}

func TestSubscribeLatestWins(t *testing.T) {
	p := NewPoller(&config.Config{}, nil, operator.NewClient(time.Second))
	if _, ok := p.Latest(); ok {
		t.Fatal("Latest before any cycle")
	}
	slow, unsubSlow := p.Subscribe()
	defer unsubSlow()
	for i := range 5 {
		p.publish(model.Snapshot{Duration: time.Duration(i)}) // never blocks
	}
	if s := <-slow; s.Duration != 4 {
		t.Fatalf("slow subscriber got snapshot %d, want the newest (4)", s.Duration)
	}
	select {
	case s := <-slow:
		t.Fatalf("an older snapshot %d was queued", s.Duration)
	default:
	}
	late, unsubLate := p.Subscribe()
	if s := <-late; s.Duration != 4 {
		t.Fatalf("a new subscriber starts with %d, want the latest (4)", s.Duration)
	}
	unsubLate()
	unsubLate() // idempotent
	if _, open := <-late; open {
		t.Fatal("unsubscribed channel is still open")
	}
	if s, ok := p.Latest(); !ok || s.Duration != 4 {
		t.Fatalf("Latest = %v %v", s.Duration, ok)
	}
}

func TestRunPublishesToSlowSubscribers(t *testing.T) {
	ok := newCountingServer(t, `"Idle"`)
	cfg := &config.Config{Services: serviceCfg(ok.addr)}
	cfg.Services[0].Dir = postDir(t)
	cfg.Poll.Interval.Duration = 5 * time.Millisecond
	p := NewPoller(cfg, nil, operator.NewClient(5*time.Second))
	ch, unsub := p.Subscribe()
	defer unsub()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	// Nobody reads ch, yet the poller keeps going.
	testkit.WaitFor(t, "cycles with an unread subscriber", func() bool { return p.Stats().Cycles >= 5 })
	cancel()
	<-done
	latest, _ := p.Latest()
	if s := <-ch; !s.At.Equal(latest.At) {
		t.Fatalf("subscriber holds the snapshot of %v, latest is %v", s.At, latest.At)
	}
	if r := rowOf(t, latest, "svc00"); r.ServiceState != model.ServiceIdle {
		t.Fatalf("row: %v", r.ServiceState)
	}
}
