package backend

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/nodeapi"
	"postdeck/backend/operator"
	"postdeck/backend/testkit"
	"postdeck/model"
	"postdeck/sim"
)

// startSimSeeded is a manual simulator whose keys come from seed: two
// with the same seed hold the same identities.
func startSimSeeded(t *testing.T, ids int, seed int64) *sim.Sim {
	t.Helper()
	s, err := sim.Start(context.Background(), sim.Options{IDs: ids, Manual: true, Seed: seed, Now: testkit.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// simFleetConfig is the config of the simulators as the nodes node1,
// node2, …; each node's services are named after it.
func simFleetConfig(nodeTimeout time.Duration, layouts ...sim.Layout) *config.Config {
	cfg := &config.Config{}
	for i, l := range layouts {
		n := config.NodeConfig{Name: fmt.Sprintf("node%d", i+1), PostListener: l.PostListener,
			PrivateListener: l.PrivateListener, PublicListener: l.PublicListener, DataFolder: l.DataFolder}
		if i == 0 {
			cfg.Node = n
		} else {
			cfg.MoreNodes = append(cfg.MoreNodes, n)
		}
		for _, s := range l.Services {
			cfg.Services = append(cfg.Services, config.ServiceConfig{Name: n.Name + "-" + s.Name, Dir: s.Dir, Operator: s.Operator, Node: n.Name})
		}
	}
	config.ApplyDefaults(cfg)
	cfg.Poll.NodeTimeout.Duration = nodeTimeout
	return cfg
}

// fleetPoller polls the simulators as the nodes node1, node2, …; each
// node's services are named after it.
func fleetPoller(t *testing.T, nodeTimeout time.Duration, layouts ...sim.Layout) *Poller {
	t.Helper()
	cfg := simFleetConfig(nodeTimeout, layouts...)
	var clients []*nodeapi.Client
	for _, n := range cfg.AllNodes() {
		opts := nodeapi.OptionsForNode(cfg, &n)
		opts.CallTimeout = nodeTimeout
		clients = append(clients, topNode(t, opts))
	}
	ops := operator.NewClient(time.Second)
	t.Cleanup(ops.Close)
	p := NewPoller(cfg, clients[0], ops)
	p.SetNodeClients(clients[1:])
	return p
}

func rowsOfNode(s model.Snapshot, node string) []model.Row {
	var out []model.Row
	for _, r := range s.Rows {
		if r.Node == node {
			out = append(out, r)
		}
	}
	return out
}

func TestAFleetPollerShowsEveryNodeAndFlagsAKeyHeldByTwo(t *testing.T) {
	// node3 runs with node1's seed: its one identity is node1's first.
	a, b, c := startSimSeeded(t, 3, 1), startSimSeeded(t, 2, 2), startSimSeeded(t, 1, 1)
	la, lb, lc := a.Layout(), b.Layout(), c.Layout()
	b.SetNodeState(lb.Services[0].NodeID, model.NodeProving)
	p := fleetPoller(t, 3*time.Second, la, lb, lc)
	snap := p.PollOnce(context.Background())

	if len(snap.Nodes) != 3 || snap.Nodes[1].Name != "node2" || !snap.Nodes[2].Up() {
		t.Fatalf("nodes %+v", snap.Nodes)
	}
	for node, want := range map[string]int{"node1": 3, "node2": 2, "node3": 1} {
		if got := len(rowsOfNode(snap, node)); got != want {
			t.Errorf("%s has %d rows, want %d", node, got, want)
		}
	}
	if r := rowOf(t, snap, "node2-"+lb.Services[0].Name); r.NodeState != model.NodeProving || r.Node != "node2" {
		t.Errorf("node2's proving identity: %v on %q", r.NodeState, r.Node)
	}
	shared := la.Services[0].NodeID
	if string(lc.Services[0].NodeID) != string(shared) {
		t.Fatal("the simulators with one seed do not share their first key")
	}
	for _, name := range []string{"node1-" + la.Services[0].Name, "node3-" + lc.Services[0].Name} {
		r := rowOf(t, snap, name)
		if !r.Has(model.HealthOnTwoNodes) {
			t.Errorf("%s: health %v, want %s", name, r.Health, model.HealthOnTwoNodes)
		}
		other := map[string]string{"node1": "node3", "node3": "node1"}[r.Node]
		if !hasError(r, "node "+other+" holds this identity too") {
			t.Errorf("%s: errors %+v do not name %s", name, r.Errors, other)
		}
	}
	for _, r := range snap.Rows {
		if string(r.ID) != string(shared) && r.Has(model.HealthOnTwoNodes) {
			t.Errorf("%s on %s flagged though no other node holds it", r.Service, r.Node)
		}
	}
	keys := map[string]bool{}
	for _, r := range snap.Rows {
		if keys[r.Key] {
			t.Errorf("row key %q twice", r.Key)
		}
		keys[r.Key] = true
	}
}

func hasError(r model.Row, part string) bool {
	for _, e := range r.Errors {
		if strings.Contains(e.Message, part) {
			return true
		}
	}
	return false
}

// hungNode is a node that hangs: it accepts connections and never answers
// on them, until the test releases it.
type hungNode struct {
	sim.Layout
	ln      net.Listener
	mu      sync.Mutex
	conns   []net.Conn
	release func()
}

// hangingNode is a node that hangs until released: then, or at the end of
// the test, it drops its connections and stops listening, so what still
// waits on it fails at once.
func hangingNode(t *testing.T) *hungNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hungNode{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
		}
	}()
	var once sync.Once
	h.release = func() {
		once.Do(func() {
			ln.Close()
			h.mu.Lock()
			defer h.mu.Unlock()
			for _, c := range h.conns {
				c.Close()
			}
		})
	}
	t.Cleanup(h.release)
	addr := ln.Addr().String()
	h.Layout = sim.Layout{PostListener: addr, PrivateListener: addr, PublicListener: addr, DataFolder: t.TempDir()}
	return h
}

// held is how many connections the node holds unanswered: one per listener
// (post, private, public) once a client waits on all three.
func (h *hungNode) held() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// viewAsked says whether s was asked the three calls of a node's view.
func viewAsked(s *sim.Sim) bool {
	for _, m := range []string{"/spacemesh.v1.PostInfoService/PostStates", "/spacemesh.v1.SmesherService/SmesherIDs", "/spacemesh.v1.NodeService/Status"} {
		if s.Calls(m) == 0 {
			return false
		}
	}
	return true
}

// whileHung runs f while the hung nodes hang: they are released (and what
// waits on them fails) only once every one of them holds a client on all
// three listeners and every answering sim was asked its view, so the
// answering nodes are asked beside nodes that hang, whatever the machine's
// pace. Their own calls get a generous timeout: they must answer.
func whileHung[T any](t *testing.T, what string, hung []*hungNode, answering []*sim.Sim, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	testkit.WaitFor(t, "every node to be asked", func() bool {
		for _, h := range hung {
			if h.held() < 3 {
				return false
			}
		}
		for _, s := range answering {
			if !viewAsked(s) {
				return false
			}
		}
		return true
	})
	for _, h := range hung {
		h.release()
	}
	return testkit.NoHang(t, what, func() T { return <-done })
}

// answerTimeout is the node timeout of nodes that must answer: generous,
// the answers must not race it on a loaded machine.
const answerTimeout = 20 * time.Second

func TestANodeThatHangsHidesNoOtherNode(t *testing.T) {
	a := startSimSeeded(t, 2, 1)
	la := a.Layout()
	a.SetNodeState(la.Services[1].NodeID, model.NodeProving)
	hung := hangingNode(t)
	p := fleetPoller(t, answerTimeout, hung.Layout, la)
	snap := whileHung(t, "a poll beside a hung node", []*hungNode{hung}, []*sim.Sim{a}, func() model.Snapshot { return p.PollOnce(context.Background()) })

	if hung := snap.Nodes[0]; hung.Up() || len(hung.View.Errors) == 0 {
		t.Fatalf("the hung node looks up: %+v", hung)
	}
	if !snap.Nodes[1].Up() {
		t.Fatalf("node2 is not up: %+v", snap.Nodes[1].View.Errors)
	}
	if r := rowOf(t, snap, "node2-"+la.Services[1].Name); r.NodeState != model.NodeProving {
		t.Errorf("node2's proving identity shows %v", r.NodeState)
	}
}
