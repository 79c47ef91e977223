package status

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"postdeck/backend/config"
	"postdeck/cmd/cmdtest"
	"postdeck/cmd/simcmd"
	"postdeck/model"
)

// startFleet runs three manual simulated nodes, node2 also holding
// node1's first key, and writes their config.
func startFleet(t *testing.T) (*simcmd.Fleet, string) {
	t.Helper()
	return cmdtest.StartFleet(t, nil)
}

func statusDoc(t *testing.T, cfg string) (model.StatusDoc, int) {
	t.Helper()
	out, errOut, code := cmdtest.Postdeck(t, "status", "--json", "--config", cfg)
	var doc model.StatusDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON (exit %d, stderr %s): %v\n%s", code, errOut, err, out)
	}
	return doc, code
}

func TestStatusShowsEveryNodeAndTheKeyOnTwo(t *testing.T) {
	f, cfg := startFleet(t)
	doc, code := statusDoc(t, cfg)
	if code != model.ExitCritical {
		t.Errorf("exit %d, want %d: an identity on two nodes is critical", code, model.ExitCritical)
	}
	if len(doc.Nodes) != 3 || doc.Nodes[2].Name != "node3" || !doc.Nodes[2].Up || doc.Node.Name != "node1" {
		t.Fatalf("nodes %+v", doc.Nodes)
	}
	shared := map[string]bool{}
	perNode := map[string]int{}
	for _, id := range doc.Identities {
		perNode[id.Node]++
		for _, h := range id.Health {
			if h == model.HealthOnTwoNodes {
				shared[id.Node] = true
			}
		}
	}
	if perNode["node1"] != 2 || perNode["node2"] != 3 || perNode["node3"] != 2 {
		t.Errorf("rows per node %v, want node1 2, node2 3 (its own and node1's key), node3 2", perNode)
	}
	if !shared["node1"] || !shared["node2"] || shared["node3"] {
		t.Errorf("identity-on-two-nodes on %v, want node1 and node2", shared)
	}

	// The table names the nodes, and which node each row is on.
	out, _, _ := cmdtest.Postdeck(t, "status", "--config", cfg)
	for _, want := range []string{"node1: node v", "NODE   NAME", "ON NODE", "node2 " + filepath.Base(f.SharedKey) + ": fleet: node node1 holds this identity too"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}

func TestStatusWithANodeDownShowsTheOthers(t *testing.T) {
	f, cfg := startFleet(t)
	if err := f.Sims[1].StopNode(); err != nil {
		t.Fatal(err)
	}
	doc, code := statusDoc(t, cfg)
	// node1's key is on node2 too (critical): 2 comes before 4.
	if code != model.ExitCritical {
		t.Errorf("exit %d with an identity critical and a node down, want %d (critical first)", code, model.ExitCritical)
	}
	if doc.Nodes[1].Up || len(doc.Nodes[1].Errors) == 0 || !doc.Nodes[0].Up || !doc.Nodes[2].Up {
		t.Fatalf("nodes %+v", doc.Nodes)
	}
	for _, id := range doc.Identities {
		if id.Node == "node3" && id.NodeState != "IDLE" {
			t.Errorf("node3's %s is %s beside a stopped node2", id.Name, id.NodeState)
		}
	}
	out, _, _ := cmdtest.Postdeck(t, "status", "--config", cfg)
	if !strings.Contains(out, "node node2: down, no answer yet") {
		t.Errorf("status does not say node2 is down:\n%s", out)
	}
}

// With several nodes and none critical, any one that cannot be reached
// makes status exit 4; all up, 0.
func TestStatusExitsFourWhenOneNodeOfSeveralIsDown(t *testing.T) {
	// node1 and node3 only: node2, which holds node1's key too, is left out.
	f, cfg := cmdtest.StartFleet(t, func(c *config.Config) {
		c.MoreNodes = c.MoreNodes[1:]
		c.Services = slices.DeleteFunc(c.Services, func(s config.ServiceConfig) bool { return s.Node == "node2" })
	})
	if doc, code := statusDoc(t, cfg); code != model.ExitOK || len(doc.Nodes) != 2 {
		t.Fatalf("exit %d with nodes %+v, want 0 and two nodes up", code, doc.Nodes)
	}
	if err := f.Sims[2].StopNode(); err != nil {
		t.Fatal(err)
	}
	doc, code := statusDoc(t, cfg)
	if code != model.ExitNodeDown {
		t.Errorf("exit %d with node3 down, want %d", code, model.ExitNodeDown)
	}
	if doc.Nodes[1].Name != "node3" || doc.Nodes[1].Up || !doc.Nodes[0].Up {
		t.Errorf("nodes %+v, want node3 down", doc.Nodes)
	}
}
