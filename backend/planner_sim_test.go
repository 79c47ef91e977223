package backend

import (
	"os"
	"path/filepath"
	"testing"

	"postdeck/backend/testkit"
	"postdeck/model"
	"postdeck/sim"
)

// Automatic proving starts the proof the plan puts first: on a shared disk,
// the identity with the least data (fewest units), ties by key file name.
func TestAutomaticProvingStartsInThePlansOrder(t *testing.T) {
	t.Parallel()
	r := newCtlRig(t, 3, true, "diskA")
	r.poller.AddHook(NewCycleWatcher(TimingOf(&r.cfg.Timing), testkit.Clock.Now).Hook)
	r.poller.AddHook(NewPlanner(r.cfg, testkit.Clock.Now).Hook)
	var first sim.ServiceLayout
	var firstUnits uint32
	for i := range 3 {
		svc := r.svc(i)
		units := unitsIn(t, svc.Dir)
		if i == 0 || units < firstUnits || units == firstUnits && filepath.Base(svc.KeyFile) < filepath.Base(first.KeyFile) {
			first, firstUnits = svc, units
		}
		r.sim.SetNodeState(svc.NodeID, model.NodeProving)
		t.Logf("%s %s: %d units", svc.Name, filepath.Base(svc.KeyFile), units)
	}
	r.run()
	var started string
	waitSlow(t, "automatic proving to start a service", func() bool {
		for i := range 3 {
			if row := r.row(r.svc(i).Name); row.Proc.State == model.ProcRunning {
				started = row.Service
				return true
			}
		}
		return false
	})
	if started != first.Name {
		t.Errorf("started %s first, want %s (%d units, the fewest)", started, first.Name, firstUnits)
	}
	snap, ok := r.poller.Latest()
	if !ok || snap.Plan == nil || len(snap.Plan.Proofs) != 3 || snap.Plan.Proofs[0].Service != first.Name {
		t.Fatalf("published plan %+v, want three proofs, %s first", snap.Plan, first.Name)
	}
}

func unitsIn(t *testing.T, dir string) uint32 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, model.MetadataFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.ParseMetadata(b)
	if err != nil {
		t.Fatal(err)
	}
	return m.NumUnits
}
