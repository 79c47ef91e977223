package sim

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"

	"postdeck/model"
)

// TestCycleMoves watches a time-compressed sim until every step of the
// proving cycle has been seen happening on some identity, checking each
// status against the identity's metadata on the way.
func TestCycleMoves(t *testing.T) {
	s := startSim(t, Options{IDs: 8, Speed: 20, Seed: 1})
	l := s.Layout()
	subscribed := time.Now()
	fetched := make(chan struct{}, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	recv := eventsClient(t, s, ctx)
	go func() {
		for {
			ev, err := recv()
			if err != nil {
				return
			}
			if ev.kind == "post_complete" && !ev.failure && ev.at.After(subscribed) {
				fetched <- struct{}{} // live, not replayed from before the test
			}
		}
	}()

	seen := map[string]bool{}
	last := map[string]model.OperatorStatus{}
	c := &http.Client{Timeout: 2 * time.Second}
	waitFor(t, 15*time.Second, "every step of the cycle", func() bool {
		for _, svc := range l.Services {
			st := fetch(t, c, svc.Operator)
			checkProving(t, s, svc, st)
			if prev, ok := last[svc.Name]; ok {
				if step := stepName(prev, st); step != "" {
					seen[step] = true
				}
			}
			last[svc.Name] = st
		}
		select {
		case <-fetched:
			seen["fetched"] = true
		default:
		}
		return len(seen) == 6
	})
}

// stepName names the move between two statuses of one service.
func stepName(a, b model.OperatorStatus) string {
	proving := model.ServiceProving
	switch {
	case a.State == model.ServiceIdle && b.State == proving:
		return "started"
	case a.State == proving && b.State == proving && a.NonceStart == b.NonceStart && a.Position == 0 && b.Position > 0:
		return "k2pow done"
	case a.State == proving && b.State == proving && a.NonceStart == b.NonceStart && 0 < a.Position && a.Position < b.Position:
		return "reading"
	case a.State == proving && b.State == proving && a.NonceStart < b.NonceStart:
		return "next pass"
	case a.State == model.ServiceDone && b.State == model.ServiceIdle:
		return "done"
	}
	return ""
}

func checkProving(t *testing.T, s *Sim, svc ServiceLayout, st model.OperatorStatus) {
	t.Helper()
	switch st.State {
	case model.ServiceIdle, model.ServiceDone:
		return
	case model.ServiceProving:
	default:
		t.Fatalf("%s: unexpected status %+v", svc.Name, st)
	}
	if pass := s.byID[string(svc.NodeID)].meta.PassBytes(); st.Position > pass {
		t.Fatalf("%s: position %d beyond the pass of %d bytes", svc.Name, st.Position, pass)
	}
	if st.NonceStart%nonceBatch != 0 || st.NonceEnd != st.NonceStart+nonceBatch {
		t.Fatalf("%s: nonces %d..%d", svc.Name, st.NonceStart, st.NonceEnd)
	}
}

func fetch(t *testing.T, c *http.Client, addr string) model.OperatorStatus {
	t.Helper()
	resp, err := c.Get("http://" + addr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return model.ParseStatus(b)
}

func TestManualDoesNotMove(t *testing.T) {
	s := startSim(t, Options{IDs: 4, Manual: true, Speed: 1000})
	// Nothing moving needs a window to watch: two full cycles at their
	// longest, by the sim's own clock, in which an automatic sim would have
	// moved every identity several times.
	cycle := idleFor.hi + pickupFor.hi + k2powFor.hi + 2*passFor.hi + fetchFor.hi
	for polls := 0; polls < 2 || s.simNow() < 2*cycle; polls++ {
		for _, ps := range postStates(t, s) {
			if ps.State != model.NodeIdle {
				t.Fatalf("%s moved to %v in Manual mode", ps.Name, ps.State)
			}
		}
	}
}

func TestDemoCases(t *testing.T) {
	s := startSim(t, Options{IDs: 6, Demo: true, Seed: 5})
	l := s.Layout()
	if len(l.Services) != 5 {
		t.Fatalf("%d services, want 5 (one identity has none)", len(l.Services))
	}
	states := map[string]model.NodeState{}
	for _, ps := range postStates(t, s) {
		states[ps.Name] = ps.State
	}
	if len(states) != 5 {
		t.Errorf("node lists %d identities, want 5 (one key not loaded): %v", len(states), states)
	}
	if st := states["post04.key"]; st != model.NodeProving {
		t.Errorf("identity without a service is %v, want PROVING", st)
	}
	if st := states["post05.key"]; st != model.NodeIdle {
		t.Errorf("stuck identity is %v on the node, want IDLE", st)
	}
	if st := mustStatus(t, l.Services[3].Operator); l.Services[3].Name != "data05" || st.State != model.ServiceDone {
		t.Errorf("%s: %+v, want stuck DoneProving", l.Services[3].Name, st)
	}
	notLoaded := l.Services[4]
	if _, ok := states["post06.key"]; ok || notLoaded.Name != "data06" {
		t.Errorf("post06.key should not be loaded: %v", states)
	}
	checkKeyFile(t, notLoaded.KeyFile)
	if st := mustStatus(t, notLoaded.Operator); st.State != model.ServiceIdle {
		t.Errorf("%s: %+v, want Idle", notLoaded.Name, st)
	}
}

// TestThousandIdentities: a 1000-identity sim starts fast, runs without a
// goroutine per identity beyond each operator's accept loop, and answers.
func TestThousandIdentities(t *testing.T) {
	if testing.Short() {
		t.Skip("1000 listeners")
	}
	before := runtime.NumGoroutine()
	start := time.Now()
	s := startSim(t, Options{IDs: 1000, Seed: 9})
	t.Logf("started 1000 identities in %v", time.Since(start))
	if g := runtime.NumGoroutine() - before; g > 1000+50 {
		t.Errorf("%d goroutines for 1000 identities", g)
	}
	if n := len(postStates(t, s)); n != 1000 {
		t.Errorf("PostStates has %d identities", n)
	}
	l := s.Layout()
	for _, i := range []int{0, 499, 999} {
		if st := mustStatus(t, l.Services[i].Operator); st.State == model.ServiceUnknown {
			t.Errorf("%s: %+v", l.Services[i].Name, st)
		}
	}
}

func BenchmarkStart(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				s, err := Start(context.Background(), Options{IDs: n})
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}
