package demo

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/cmd/cmdtest"
	"postdeck/cmd/simcmd"
	"postdeck/model"
	"postdeck/sim"
)

// `postdeck plan` on the demo's config, two hours before epoch 89's gap
// (2026-12-21 08:00Z to 20:00Z): the demo's 11 services (12 identities, one
// without a service), 5 h of k2pow each before any proof is measured, the
// first three on disk1 and two a disk after that, one prover a disk. Two
// proofs fit a disk's 12 h; disk1's third, the largest there (shortest
// first), misses. By hand, reading num_units × 16 MiB at 100 MiB/s:
// disk1's proofs finish at 08:00 + 5h + r1, + 5h + r2, + 5h + r3.
func TestDemoPlanMissesOnTheCrowdedDisk(t *testing.T) {
	now := time.Date(2026, 12, 21, 6, 0, 0, 0, time.UTC)
	gap := now.Add(2 * time.Hour)
	s, err := sim.Start(context.Background(), sim.Options{IDs: 12, Demo: true, RealServices: true, Seed: testkit.Seed(t),
		Dir: t.TempDir(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg, err := simcmd.DemoConfig(s.Layout(), simcmd.SelfBinary(), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "postdeck.toml")
	if err := config.WriteFile(path, config.Render(cfg), false); err != nil {
		t.Fatal(err)
	}
	read := map[string]time.Duration{} // by key file name
	var disk1 []string
	for i, svc := range s.Layout().Services {
		b, err := os.ReadFile(filepath.Join(svc.Dir, model.MetadataFile))
		if err != nil {
			t.Fatal(err)
		}
		m, err := model.ParseMetadata(b)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(svc.KeyFile)
		read[name] = time.Duration(m.NumUnits) * 16 * time.Second / 100 // 16 MiB a unit at 100 MiB/s
		if i < simcmd.DemoCrowded {
			disk1 = append(disk1, name)
		}
	}

	out, errOut, code := cmdtest.PostdeckEnv(t, []string{"POSTDECK_NOW=" + now.Format(time.RFC3339), "XDG_STATE_HOME=" + t.TempDir()},
		"plan", "--json", "--config", path)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (a proof will miss)\n%s\n%s", code, out, errOut)
	}
	var doc model.PlanDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.Fits != 10 || doc.Misses != 1 || len(doc.Proofs) != 11 {
		t.Fatalf("fits %d, misses %d, %d proofs; want 10, 1, 11\n%s", doc.Fits, doc.Misses, len(doc.Proofs), out)
	}
	var onDisk1 []model.PlanProofDoc
	for _, p := range doc.Proofs {
		if p.Disk == "disk1" {
			onDisk1 = append(onDisk1, p)
		} else if !p.Fits {
			t.Errorf("%s on %s misses: %s", p.Name, p.Disk, p.Reason)
		}
	}
	if len(onDisk1) != 3 {
		t.Fatalf("disk1 has %d proofs, want %v", len(onDisk1), disk1)
	}
	finish := gap
	for i, p := range onDisk1 { // in the plan's order: shortest first
		if i > 0 && read[p.Name] < read[onDisk1[i-1].Name] {
			t.Errorf("%s (read %s) after %s (read %s): not shortest first", p.Name, read[p.Name], onDisk1[i-1].Name, read[onDisk1[i-1].Name])
		}
		start := finish
		finish = finish.Add(simcmd.DemoK2Pow + read[p.Name])
		if p.Start == nil || p.Finish == nil || *p.Start != start.Format(time.RFC3339) || *p.Finish != finish.Format(time.RFC3339) {
			t.Errorf("%s: %v – %v, want %s – %s", p.Name, p.Start, p.Finish, start.Format(time.RFC3339), finish.Format(time.RFC3339))
		}
		if fits := i < 2; p.Fits != fits {
			t.Errorf("%s fits %v, want %v", p.Name, p.Fits, fits)
		}
	}
	if want := "disk disk1: 3 proofs, 15h of k2pow in a 12h gap (max_proving_per_disk = 1)"; onDisk1[2].Reason != want {
		t.Errorf("reason %q, want %q", onDisk1[2].Reason, want)
	}
}
