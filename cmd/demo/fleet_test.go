package demo

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/nodeapi"
	"postdeck/backend/testkit"
	"postdeck/cmd/cmdtest"
	"postdeck/model"
	"postdeck/sim"
)

// smesherIDs asks a node of the config which identities it has loaded.
func smesherIDs(t *testing.T, n config.NodeConfig) model.NodeView {
	t.Helper()
	c, err := nodeapi.NewClient(nodeapi.Options{PostListener: n.PostListener, PrivateListener: n.PrivateListener})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v := c.View(ctx)
	if !v.HasSmesherIDs || !v.HasPostStates {
		t.Fatalf("%s does not answer: %+v", n.Name, v.Errors)
	}
	return v
}

// The demo's three nodes: one config naming all three, each service of
// its node, and node1's first identity loaded by node2 too (IDLE there),
// not by node3.
func TestDemoThreeNodesShareAKey(t *testing.T) {
	f, cfg, err := start(3, sim.Options{IDs: 4, Speed: 1, Demo: true, RealServices: true, Seed: testkit.Seed(t), Now: cmdtest.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	path := filepath.Join(t.TempDir(), "postdeck.toml")
	if err := config.WriteFile(path, config.Render(cfg), false); err != nil {
		t.Fatal(err)
	}
	loaded, err := config.Load(path)
	if err != nil {
		t.Fatalf("the demo's config does not load: %v", err)
	}
	nodes := loaded.AllNodes()
	if len(nodes) != 3 {
		t.Fatalf("%d nodes, want 3", len(nodes))
	}
	for _, n := range nodes {
		for _, svc := range loaded.ServicesOf(n.Name) {
			if !strings.HasPrefix(svc.Disk, n.Name+"-") {
				t.Errorf("%s's %s is on %s, not a disk of its own", n.Name, svc.Name, svc.Disk)
			}
		}
	}
	shared := f.Sims[0].Layout().Services[0].NodeID
	has := func(v model.NodeView) bool {
		return slices.ContainsFunc(v.SmesherIDs, func(id []byte) bool { return bytes.Equal(id, shared) })
	}
	v2 := smesherIDs(t, nodes[1])
	if !has(smesherIDs(t, nodes[0])) || !has(v2) || has(smesherIDs(t, nodes[2])) {
		t.Errorf("node1's %x should be on node1 and node2 only", shared)
	}
	i := slices.IndexFunc(v2.PostStates, func(ps model.PostState) bool { return bytes.Equal(ps.ID, shared) })
	if i < 0 || v2.PostStates[i].State != model.NodeIdle {
		t.Errorf("node2's PostStates %+v, want the shared identity IDLE", v2.PostStates)
	}
}

func TestDemoNodesRefused(t *testing.T) {
	_, stderr, code := cmdtest.Call(t, Run, "--nodes", "0")
	if code != 1 || !strings.Contains(stderr, "--nodes 0: the simulator needs at least 1 node") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
