package plan

import (
	"cmp"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"postdeck/clock"
	"postdeck/cmd/cmdtest"
	"postdeck/model"
)

// gapClock is an hour before mainnet's next cycle gap opens.
func gapClock() (clock.Clock, time.Time) {
	mn := model.MainnetTiming()
	opens := mn.RoundEnd(mn.Epoch(cmdtest.Clock.Now()) + 1)
	return clock.Starting(opens.Add(-time.Hour)), opens
}

// runPlan calls `postdeck plan` in this process on clk.
func runPlan(t *testing.T, clk clock.Clock, args ...string) (string, string, int) {
	t.Helper()
	return cmdtest.CallOn(t, clk, Run, args...)
}

// setPlan rewrites the config's [plan] keys.
func setPlan(t *testing.T, path, readMiBs, k2pow string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "read_mib_s = 100", "read_mib_s = "+readMiBs, 1)
	s = strings.Replace(s, `k2pow = "30m0s"`, `k2pow = "`+k2pow+`"`, 1)
	if s == string(b) {
		t.Fatalf("no [plan] keys to change in\n%s", b)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// unitsOf is each service's NumUnits, read from its metadata.
func unitsOf(t *testing.T, dirs map[string]string) map[string]uint32 {
	out := map[string]uint32{}
	for name, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, model.MetadataFile))
		if err != nil {
			t.Fatal(err)
		}
		m, err := model.ParseMetadata(b)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = m.NumUnits
	}
	return out
}

func TestPlanJSONThatDoesNotFit(t *testing.T) {
	s, cfg := cmdtest.StartSim(t, 3)
	// 1 MiB/s reads the simulator's 16 MiB units in 16 s each; 5h of k2pow
	// per proof puts three proofs on one disk past the 12h gap.
	setPlan(t, cfg, "1", "5h")
	dirs, names := map[string]string{}, map[string]string{}
	for _, svc := range s.Layout().Services {
		dirs[svc.Name] = svc.Dir
		names[filepath.Base(svc.KeyFile)] = svc.Name
	}
	units := unitsOf(t, dirs)
	clk, opens := gapClock()

	out, errOut, code := runPlan(t, clk, "--json", "--config", cfg)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (a proof will miss); stderr: %s\n%s", code, errOut, out)
	}
	var doc model.PlanDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if doc.GapStart != opens.UTC().Format(time.RFC3339) || doc.GapEnd != opens.Add(12*time.Hour).UTC().Format(time.RFC3339) {
		t.Errorf("gap %s – %s, want mainnet's next, opening %s", doc.GapStart, doc.GapEnd, opens)
	}
	if doc.Fits != 2 || doc.Misses != 1 || len(doc.Proofs) != 3 {
		t.Fatalf("fits %d misses %d proofs %d, want 2, 1 and 3:\n%s", doc.Fits, doc.Misses, len(doc.Proofs), out)
	}
	// Shortest first: by units, each proof 5h plus 16 s a unit after the last.
	var order []string
	for _, p := range doc.Proofs {
		order = append(order, names[p.Name])
	}
	want := slices.Sorted(maps.Keys(units))
	slices.SortStableFunc(want, func(a, b string) int { return cmp.Compare(units[a], units[b]) })
	if !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v (fewest units first)", order, want)
	}
	at := opens
	for i, p := range doc.Proofs {
		start := at
		at = at.Add(5*time.Hour + time.Duration(units[order[i]])*16*time.Second)
		if p.Start == nil || *p.Start != start.UTC().Format(time.RFC3339) || *p.Finish != at.UTC().Format(time.RFC3339) {
			t.Errorf("%s: %v – %v, want %s – %s", p.Name, deref(p.Start), deref(p.Finish), start.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
		}
		if p.Disk != doc.Proofs[0].Disk {
			t.Errorf("%s on disk %q, the others on %q: the simulator's folders share one disk", p.Name, p.Disk, doc.Proofs[0].Disk)
		}
	}
	last := doc.Proofs[2]
	if last.Fits || !strings.HasPrefix(last.Reason, "disk "+last.Disk+": 3 proofs,") || !strings.Contains(last.Reason, "15h of k2pow in a 12h gap") {
		t.Errorf("last proof fits=%v, reason %q", last.Fits, last.Reason)
	}
	if doc.Proofs[0].Reason != "" || !doc.Proofs[0].Fits {
		t.Errorf("first proof %+v, want it to fit without a reason", doc.Proofs[0])
	}
}

func TestPlanTableThatFits(t *testing.T) {
	_, cfg := cmdtest.StartSim(t, 3)
	clk, _ := gapClock()
	out, errOut, code := runPlan(t, clk, "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{"plan: all 3 fit", "order: shortest proof first", "+0m", "+30m", "+1h "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "will miss") {
		t.Errorf("a plan that fits names a miss:\n%s", out)
	}
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
