package merge

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/merge/mergetest"
	"postdeck/model"
)

// The plan refuses a key another node holds, places it with its typed
// override (listed in Overrides for the caller to audit), and merely notes
// a node compared in part.
func TestPlanGuardsTheFleet(t *testing.T) {
	root := t.TempDir()
	from, to := filepath.Join(root, "old"), filepath.Join(root, "node")
	keys, err := mergetest.Build(from, mergetest.Options{Version: 9, IDs: 2, Prefix: "old"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mergetest.Build(to, mergetest.Options{Version: 9, IDs: 1, Prefix: "new"}); err != nil {
		t.Fatal(err)
	}
	fleet := &model.FleetKeys{Nodes: []string{"node1", "node2", "node3"}, Gaps: []model.NodeGap{{Node: "node3", Listing: "down"}}}
	fleet.Hold(keys[1].Public, "node2", "key file identities/spare.key")
	fleet.Hold(keys[0].Public, "node1", model.HowListed) // the target's own: no conflict
	o := Options{From: from, To: to, Fleet: fleet, TargetNode: "node1"}

	p, err := NewPlan(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Has(KindOnOtherNode) || len(p.Problems) != 1 {
		t.Fatalf("problems %+v", p.Problems)
	}
	prefix := hex.EncodeToString(keys[1].Public)[:8]
	msg := p.Problems[0].Message
	for _, want := range []string{"old1.key", "held by node2 (key file identities/spare.key)", "equivocation", "--place-anyway " + prefix} {
		if !strings.Contains(msg, want) {
			t.Errorf("problem lacks %q: %s", want, msg)
		}
	}
	if !strings.Contains(p.String(), "node3 did not answer (down)") {
		t.Errorf("the partial gap is not noted:\n%s", p)
	}

	o.PlaceAnyway = []string{prefix}
	if p, err = NewPlan(context.Background(), o); err != nil || !p.OK() || len(p.Overrides) != 1 || p.Overrides[0].Target != "node1" {
		t.Fatalf("override: %v %+v %+v", err, p.Problems, p.Overrides)
	}
}
