package history

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/backend/ledger"
	"postdeck/clock"
	"postdeck/cmd/cmdtest"
	"postdeck/cmd/common"
	"postdeck/model"
	"postdeck/sim"
)

// fleet is a simulator with three identities and a state folder whose
// ledger holds, for the last complete publish epoch: an ATX with two
// rewards for the first, a failed proof for the second, a malfeasance
// proof against the third.
type fleet struct {
	sim      *sim.Sim
	cfg      string
	state    string
	clk      clock.Clock
	last     uint32 // the last complete publish epoch
	names    []string
	services []string
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	s, cfgPath := cmdtest.StartSim(t, 3)
	f := &fleet{sim: s, cfg: cfgPath, state: t.TempDir(), clk: clock.Starting(cmdtest.Clock.Now())}
	for _, svc := range s.Layout().Services {
		f.names = append(f.names, filepath.Base(svc.KeyFile))
		f.services = append(f.services, svc.Name)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	tm := backend.TimingOf(&cfg.Timing)
	f.last = uint32(tm.Epoch(f.clk.Now()) - 1)
	l, err := ledger.Open(ledger.PathIn(f.state), ledger.Options{Timing: tm, Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.write(s.Layout().Services, tm.LayersPerEpoch, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fleet) write(svcs []sim.ServiceLayout, lpe uint32, l *ledger.Ledger) {
	a, b, c := svcs[0].NodeID, svcs[1].NodeID, svcs[2].NodeID
	e := f.last
	q := ledger.HistoryQuery{IDs: [][]byte{a, b, c}, FromEpoch: e - 3, ToEpoch: e + 1}
	l.AddATXs(q, []model.ATX{{ID: []byte{0xa7, 1}, SmesherID: a, PublishEpoch: e, Weight: 4096, NumUnits: 4}})
	layer := (e+1)*lpe + 5
	l.AddRewards(q, []model.Reward{{Layer: layer, Total: 12_000_000_000, Smesher: a}, {Layer: layer + 1, Total: 400_000_000, Smesher: a}})
	l.AddProof(ledger.Proof{ID: b, Epoch: e, K2Pow: time.Minute, Disk: time.Hour, Failed: true})
	l.AddMalfeasance([]model.Malfeasance{{SmesherID: c, Kind: "double publish"}})
}

// history runs `postdeck history` in this process on the fleet's clock and
// state folder.
func (f *fleet) history(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(&common.Common{Clock: f.clk}, append(args, "--config", f.cfg), &out, &errb, f.state)
	return out.String(), errb.String(), code
}

func (f *fleet) records(t *testing.T, args ...string) []model.HistoryRecord {
	t.Helper()
	out, errOut, code := f.history(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var recs []model.HistoryRecord
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	return recs
}

func TestHistoryJSONIsTheContract(t *testing.T) {
	f := newFleet(t)
	out, errOut, code := f.history(t, "--json", "--epochs", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The exact shape: these keys, nothing more, nothing less.
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil || len(raw) != 3 {
		t.Fatalf("want an array of 3 records: %v\n%s", err, out)
	}
	keysOf := func(m map[string]json.RawMessage) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	for _, r := range raw {
		if got := keysOf(r); !slices.Equal(got, []string{"atx", "id", "malicious", "name", "publish_epoch", "rewards", "why"}) {
			t.Errorf("record keys %v", got)
		}
		var rew map[string]json.RawMessage
		json.Unmarshal(r["rewards"], &rew)
		if got := keysOf(rew); !slices.Equal(got, []string{"count", "epoch", "sum"}) {
			t.Errorf("rewards keys %v", got)
		}
	}
	var atx map[string]json.RawMessage
	json.Unmarshal(raw[0]["atx"], &atx)
	if got := keysOf(atx); !slices.Equal(got, []string{"id", "num_units", "weight"}) {
		t.Errorf("atx keys %v in %s", got, out)
	}
	if string(raw[1]["atx"]) != "null" {
		t.Errorf("a missing ATX is %s, want null", raw[1]["atx"])
	}

	recs := f.records(t, "--epochs", "1")
	e, ids := f.last, f.sim.Layout().Services
	want := []model.HistoryRecord{
		{Name: f.names[0], ID: hex.EncodeToString(ids[0].NodeID), PublishEpoch: e,
			ATX:     &model.HistoryATX{ID: "a701", Weight: 4096, NumUnits: 4},
			Rewards: model.HistoryRewards{Epoch: e + 1, Count: 2, Sum: 12_400_000_000}},
		{Name: f.names[1], ID: hex.EncodeToString(ids[1].NodeID), PublishEpoch: e,
			Rewards: model.HistoryRewards{Epoch: e + 1}, Why: model.WhyProofFailed},
		{Name: f.names[2], ID: hex.EncodeToString(ids[2].NodeID), PublishEpoch: e,
			Rewards: model.HistoryRewards{Epoch: e + 1}, Malicious: true, Why: model.WhyNotObserved},
	}
	for i := range want {
		if got, _ := json.Marshal(recs[i]); string(got) != mustJSON(want[i]) {
			t.Errorf("record %d:\n got %s\nwant %s", i, got, mustJSON(want[i]))
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestHistoryEpochs(t *testing.T) {
	f := newFleet(t)
	recs := f.records(t, "--epochs", "4")
	if len(recs) != 3*4 {
		t.Fatalf("%d records, want 3 identities × 4 epochs", len(recs))
	}
	for i, r := range recs[:4] { // one identity's, oldest first
		if want := f.last - 3 + uint32(i); r.PublishEpoch != want || r.Name != f.names[0] {
			t.Errorf("record %d: %s epoch %d, want %s epoch %d", i, r.Name, r.PublishEpoch, f.names[0], want)
		}
	}
	// Listed and missing: the node's history says there was no ATX.
	if r := recs[0]; r.ATX != nil || r.Why != model.WhyNotObserved {
		t.Errorf("epoch %d: atx %v why %q", r.PublishEpoch, r.ATX, r.Why)
	}
	for _, r := range recs[8:] {
		if !r.Malicious {
			t.Errorf("%s epoch %d is not malicious: a proof marks every record", r.Name, r.PublishEpoch)
		}
	}
	if _, errOut, code := f.history(t, "--epochs", "0"); code != 1 || !strings.Contains(errOut, "--epochs 0: must be at least 1") {
		t.Errorf("--epochs 0: exit %d, %q", code, errOut)
	}
}

func TestHistoryNames(t *testing.T) {
	f := newFleet(t)
	for _, name := range []string{f.names[1], f.services[1], hex.EncodeToString(f.sim.Layout().Services[1].NodeID)[:10]} {
		recs := f.records(t, name, "--epochs", "1")
		if len(recs) != 1 || recs[0].Name != f.names[1] || recs[0].Why != model.WhyProofFailed {
			t.Errorf("history %s: %+v, want the one record of %s", name, recs, f.names[1])
		}
	}
	_, errOut, code := f.history(t, "nosuch.key")
	if code != 1 || !strings.Contains(errOut, `no identity, key file or service named "nosuch.key"`) {
		t.Errorf("unknown name: exit %d, %q", code, errOut)
	}
}

func TestHistoryTable(t *testing.T) {
	f := newFleet(t)
	out, errOut, code := f.history(t, "--epochs", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"NAME", "EPOCH", "WHY",
		"✓ weight 4096, 4 units", "2 · 12.4 SMH",
		model.WhyProofFailed, "MALICIOUS (banned for good)",
		"ATXs: 1 published, 1 missing, 4 not observed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestHistoryWithoutLedger(t *testing.T) {
	_, cfg := cmdtest.StartSim(t, 1)
	state := filepath.Join(t.TempDir(), "state")
	var out, errb bytes.Buffer
	code := run(&common.Common{Clock: cmdtest.Clock}, []string{"--config", cfg}, &out, &errb, state)
	if code != 1 || !strings.Contains(errb.String(), "no ledger yet: run the dashboard or `postdeck serve` once") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("history created the state folder: %v", err)
	}
}

func TestHistoryNodeDownKeepsKeyFileNames(t *testing.T) {
	f := newFleet(t)
	if err := f.sim.StopNode(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := f.history(t, "--json", "--epochs", "1")
	if code != 0 || !strings.Contains(errOut, "names from the identities folder only") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var recs []model.HistoryRecord
	if err := json.Unmarshal([]byte(out), &recs); err != nil || len(recs) != 3 || recs[1].Name != f.names[1] {
		t.Errorf("want the three records named from the key files: %v\n%s", err, out)
	}
}

func TestHistoryCorruptLedger(t *testing.T) {
	f := newFleet(t)
	path := ledger.PathIn(f.state)
	os.Remove(path + "-wal")
	if err := os.WriteFile(path, []byte("this is not a database, it is a note"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := f.history(t)
	if code != 1 || !strings.Contains(errOut, "corrupt") || !strings.Contains(errOut, "move it aside") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
