package backend

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/nodeapi"
	"postdeck/backend/operator"
	"postdeck/backend/testkit"
	"postdeck/model"
	"postdeck/sim"
)

// simConfig is the postdeck config for a running sim.
func simConfig(l sim.Layout) *config.Config {
	cfg := &config.Config{Node: config.NodeConfig{
		PostListener: l.PostListener, PrivateListener: l.PrivateListener, PublicListener: l.PublicListener,
		DataFolder: l.DataFolder,
	}}
	for _, s := range l.Services {
		cfg.Services = append(cfg.Services, config.ServiceConfig{Name: s.Name, Dir: s.Dir, Operator: s.Operator})
	}
	return cfg
}

func simPoller(t testing.TB, s *sim.Sim, opTimeout time.Duration) (*Poller, sim.Layout) {
	t.Helper()
	l := s.Layout()
	cfg := simConfig(l)
	node := topNode(t, nodeapi.OptionsFor(cfg))
	ops := operator.NewClient(opTimeout)
	t.Cleanup(ops.Close)
	return NewPoller(cfg, node, ops), l
}

func TestPollerJoinsSim(t *testing.T) {
	s := testkit.StartSim(t, 4)
	p, l := simPoller(t, s, 5*time.Second)
	svc := l.Services
	s.SetNodeState(svc[0].NodeID, model.NodeProving)
	s.SetOperatorBody(svc[0].Name, `{"Proving":{"nonces":{"start":256,"end":384},"position":1000}}`)
	s.SetOperatorBody(svc[1].Name, `"Idle"`)
	s.SetNodeState(svc[2].NodeID, model.NodeProving)
	s.SetOperatorBody(svc[2].Name, `"DoneProving"`)
	s.SetFault(svc[3].Name, sim.FaultDown)

	snap := p.PollOnce(context.Background())
	if len(snap.Node.Errors) != 0 || snap.KeysErr != "" {
		t.Fatalf("node errors %+v, keys %q", snap.Node.Errors, snap.KeysErr)
	}
	if len(snap.Rows) != 4 || snap.At.IsZero() || snap.Duration <= 0 {
		t.Fatalf("%d rows, at %v, took %v", len(snap.Rows), snap.At, snap.Duration)
	}
	want := []struct {
		node model.NodeState
		svc  model.ServiceState
	}{
		{model.NodeProving, model.ServiceProving},
		{model.NodeIdle, model.ServiceIdle},
		{model.NodeProving, model.ServiceDone},
		{model.NodeIdle, model.ServiceUnreachable},
	}
	for i, r := range snap.Rows {
		if r.Service != svc[i].Name || string(r.ID) != string(svc[i].NodeID) || r.NodeState != want[i].node || r.ServiceState != want[i].svc {
			t.Errorf("row %d: %s %s node %v service %v, want %s node %v service %v",
				i, r.Name, r.Service, r.NodeState, r.ServiceState, svc[i].Name, want[i].node, want[i].svc)
		}
		if r.NumUnits == 0 {
			t.Errorf("row %d: no metadata", i)
		}
	}
	if pr := snap.Rows[0].Progress; pr == nil || pr.Pass != 3 || pr.Phase != "disk" || pr.Position != 1000 {
		t.Errorf("progress: %+v", pr)
	}
	if h := snap.Rows[2].Health; len(h) != 1 || h[0] != model.HealthAwaitingFetch {
		t.Errorf("done while proving: health %v", h)
	}
	if e := snap.Rows[3].Errors; len(e) != 1 || !strings.Contains(e[0].Message, "connection refused") {
		t.Errorf("down service: %+v", e)
	}
	// Asked again at once, it is backing off, and says so.
	if e := rowOf(t, p.PollOnce(context.Background()), svc[3].Name).Errors; len(e) != 1 || !strings.Contains(e[0].Message, "retrying in") {
		t.Errorf("down service while backing off: %+v", e)
	}
}

// TestPollerAsksUrgentEndpointsDespiteBackoff: while the node wants a proof
// from an identity, its service is asked every cycle, so a service that
// comes back clears the critical flag at once.
func TestPollerAsksUrgentEndpointsDespiteBackoff(t *testing.T) {
	s := testkit.StartSim(t, 1)
	p, l := simPoller(t, s, 2*time.Second)
	down := newCountingServer(t, "")
	p.cfg.Services[0].Operator = down.addr
	ctx := context.Background()

	p.PollOnce(ctx) // node IDLE: the failure starts a backoff
	p.PollOnce(ctx)
	if got := down.calls.Load(); got != 1 {
		t.Fatalf("%d calls while idle and backing off, want 1", got)
	}
	s.SetNodeState(l.Services[0].NodeID, model.NodeProving)
	p.PollOnce(ctx) // learns the node is PROVING (still backing off this time)
	for range 3 {
		p.PollOnce(ctx)
	}
	if got := down.calls.Load(); got != 4 {
		t.Fatalf("%d calls, want 4: asked on every cycle once the node is PROVING", got)
	}
	down.body.Store(`"Idle"`)
	if r := rowOf(t, p.PollOnce(ctx), l.Services[0].Name); r.ServiceState != model.ServiceIdle || len(r.Health) != 0 {
		t.Errorf("recovered service: %v %v", r.ServiceState, r.Health)
	}
}

func TestPollerHungOperatorSim(t *testing.T) {
	s := testkit.StartSim(t, 6)
	// The timeout is what the hung service costs each poll, and what the
	// healthy ones must beat under the race detector's load: 2 s, not less.
	p, l := simPoller(t, s, 2*time.Second)
	p.cfg.Poll.Workers = 2
	s.SetFault(l.Services[2].Name, sim.FaultHang)
	for _, svc := range l.Services {
		s.SetOperatorBody(svc.Name, `"Idle"`)
	}
	p.PollOnce(context.Background())

	// The states change; the next cycle must show them despite the hang.
	for _, svc := range l.Services {
		s.SetOperatorBody(svc.Name, `"DoneProving"`)
	}
	s.SetFault(l.Services[2].Name, sim.FaultNone)
	s.SetFault(l.Services[4].Name, sim.FaultHang)
	p.backoff.succeeded(l.Services[2].Operator) // not the subject here

	snap := testkit.NoHang(t, "PollOnce with a hung operator", func() model.Snapshot { return p.PollOnce(context.Background()) })
	for i, r := range snap.Rows {
		want := model.ServiceDone
		if i == 4 {
			want = model.ServiceUnreachable
		}
		if r.ServiceState != want {
			t.Errorf("row %d (%s): %v %+v, want %v", i, r.Service, r.ServiceState, r.Errors, want)
		}
	}
	if e := snap.Rows[4].Errors; len(e) != 1 || !strings.Contains(e[0].Message, "no answer within 2s") {
		t.Errorf("hung service: %+v", e)
	}
}

// BenchmarkPollCycle measures one full PollOnce (node over three gRPC
// listeners, every operator endpoint over HTTP, metadata and key files)
// against the sim over loopback sockets.
func BenchmarkPollCycle(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("ids=%d", n), func(b *testing.B) {
			s := testkit.StartSim(b, n)
			p, _ := simPoller(b, s, 5*time.Second)
			ctx := context.Background()
			if snap := p.PollOnce(ctx); len(snap.Rows) != n || len(snap.Node.Errors) != 0 {
				b.Fatalf("%d rows, errors %+v", len(snap.Rows), snap.Node.Errors)
			}
			b.ReportAllocs()
			for b.Loop() {
				p.PollOnce(ctx)
			}
		})
	}
}
