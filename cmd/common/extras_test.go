package common

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/clock"
	"postdeck/model"
	"postdeck/sim"
)

// testClock is the tests' clock (see clock.ForTest).
var testClock = clock.ForTest()

// simConfig starts a manual simulator and points a config at it (package
// simcmd has the same mapping, but imports this package), polling often.
func simConfig(t *testing.T, ids int) (*sim.Sim, *config.Config) {
	t.Helper()
	sm, err := sim.Start(context.Background(), sim.Options{IDs: ids, Manual: true, Seed: 5, Now: testClock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sm.Close() })
	l := sm.Layout()
	cfg := &config.Config{Node: config.NodeConfig{PostListener: l.PostListener, PrivateListener: l.PrivateListener,
		PublicListener: l.PublicListener, DataFolder: l.DataFolder}}
	for _, s := range l.Services {
		cfg.Services = append(cfg.Services, config.ServiceConfig{Name: s.Name, Dir: s.Dir, Operator: s.Operator})
	}
	config.ApplyDefaults(cfg)
	cfg.Poll.Interval.Duration = 100 * time.Millisecond
	return sm, cfg
}

// attachExtras on a simulated node: the countdown fills every snapshot, a
// service going down while proving runs the alert command with the JSON,
// and the metrics endpoint shows the identities and the alert.
func TestAttachExtrasOnSim(t *testing.T) {
	sm, cfg := simConfig(t, 2)
	l := sm.Layout()
	out := filepath.Join(t.TempDir(), "alerts.json")
	cfg.Alerts.Command = "cat >> '" + out + "'; echo >> '" + out + "'"

	addr := testkit.FreeAddr(t)

	s, err := OpenSession(cfg, testClock)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stateDir := t.TempDir()
	stop, err := attachExtras(ctx, s, cfg, stateDir, addr)
	if err != nil {
		t.Fatal(err)
	}
	polling := make(chan struct{})
	go func() { s.Poller.Run(ctx); close(polling) }()
	defer func() { cancel(); <-polling; stop() }()

	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The countdown is to the round mainnet's timing puts next on the
	// tests' clock (POSTDECK_NOW when set).
	wait("a snapshot with the countdown", func() bool {
		snap, ok := s.Poller.Latest()
		want := model.NextCycle(testClock.Now(), model.MainnetTiming())
		return ok && snap.Cycle.Known && snap.Cycle.Source == "mainnet defaults" && snap.Cycle.RoundEnd.Equal(want.RoundEnd)
	})

	sm.SetNodeState(l.Services[0].NodeID, model.NodeProving)
	sm.SetFault(l.Services[0].Name, sim.FaultDown)
	wait("the alert command", func() bool {
		b, _ := os.ReadFile(out)
		return strings.Contains(string(b), `"kind":"service-down-while-proving"`)
	})
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), `"service":"`+l.Services[0].Name+`"`) {
		t.Errorf("alert JSON: %s", b)
	}

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`postdeck_alerts_total{result="raised"} 1`, `postdeck_identity_health{flag="service-down-while-proving"`,
		"postdeck_node_synced 1", "postdeck_poll_duration_seconds_count", "postdeck_cycle_round_end_timestamp_seconds"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if log, _ := os.ReadFile(filepath.Join(stateDir, "alerts.log")); !strings.Contains(string(log), "sent service-down-while-proving") {
		t.Errorf("alerts.log: %s", log)
	}
}

func TestAttachExtrasBadMetricsAddress(t *testing.T) {
	cfg := &config.Config{}
	config.ApplyDefaults(cfg)
	s, err := OpenSession(cfg, testClock)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := attachExtras(context.Background(), s, cfg, t.TempDir(), "localhost"); err == nil ||
		!strings.Contains(err.Error(), `--metrics-listen "localhost"`) {
		t.Fatalf("err %v", err)
	}
}

// A clock set apart from the machine's moves the poll's stamp and the
// processes' start times onto it (so the header's age and UP stay small),
// leaves unknown times unknown, and leaves the node's event times alone.
func TestOnClockMovesMachineStamps(t *testing.T) {
	at := time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.Starting(at)
	machine := time.Now()
	ev := model.Event{Time: at.Add(-time.Minute), Kind: "post_start"}
	snap := model.Snapshot{At: machine, Events: []model.Event{ev}, Rows: []model.Row{
		{Proc: model.ProcInfo{Started: machine.Add(-time.Hour)}},
		{},
	}}
	onClock(clk)(&snap)
	near := func(got, want time.Time) bool { d := got.Sub(want); return d > -time.Minute && d < time.Minute }
	if !near(snap.At, at) || !near(snap.Rows[0].Proc.Started, at.Add(-time.Hour)) {
		t.Errorf("at %s, started %s; want about %s and an hour before", snap.At, snap.Rows[0].Proc.Started, at)
	}
	if !snap.Rows[1].Proc.Started.IsZero() || !snap.Events[0].Time.Equal(ev.Time) {
		t.Errorf("unknown start %s, event at %s (was %s)", snap.Rows[1].Proc.Started, snap.Events[0].Time, ev.Time)
	}
}
