package backend

import (
	"errors"
	"strings"
	"testing"
	"time"

	"postdeck/model"
)

func row(name string, node model.NodeState, proc model.ProcState) model.Row {
	return model.Row{Service: name, NodeState: node, Proc: model.ProcInfo{State: proc, LastExit: "exit 1"}}
}

func TestHoldsBackOffFailedAndEarlyExitingStarts(t *testing.T) {
	h := newHolds()
	t0 := time.Unix(1_000_000, 0)
	h.autoStarted("a", errors.New("bin missing"), t0)
	if why := h.reasons(t0)["a"]; !strings.Contains(why, "start failed: bin missing") || !strings.Contains(why, "retrying in 30s") {
		t.Fatalf("reason %q", why)
	}
	if _, held := h.reasons(t0.Add(31 * time.Second))["a"]; held {
		t.Fatal("still held after the first delay")
	}
	// Started fine, but the process is gone 10 s later: a failure, and the
	// second one waits twice as long.
	h.autoStarted("a", nil, t0.Add(31*time.Second))
	h.observe([]model.Row{row("a", model.NodeProving, model.ProcStopped)}, t0.Add(41*time.Second))
	why := h.reasons(t0.Add(41 * time.Second))["a"]
	if !strings.Contains(why, "exited 10s after starting (exit 1)") || !strings.Contains(why, "retrying in 60s") {
		t.Fatalf("reason %q", why)
	}
	// A start that stays up past the early-exit window clears the count.
	h.autoStarted("a", nil, t0.Add(200*time.Second))
	h.observe([]model.Row{row("a", model.NodeProving, model.ProcRunning)}, t0.Add(200*time.Second+earlyExit+time.Second))
	if n := h.failed["a"].count; n != 0 {
		t.Errorf("failure count %d after a start that stuck", n)
	}
}

func TestHoldsKeepAHandStoppedServiceUntilTheNodeIsIdle(t *testing.T) {
	h := newHolds()
	now := time.Unix(1_000_000, 0)
	h.userStopped("b")
	h.observe([]model.Row{row("b", model.NodeProving, model.ProcStopped)}, now)
	if why := h.reasons(now)["b"]; !strings.Contains(why, "stopped by hand") {
		t.Fatalf("reason %q", why)
	}
	h.observe([]model.Row{row("b", model.NodeIdle, model.ProcStopped)}, now)
	if _, held := h.reasons(now)["b"]; held {
		t.Error("still held once the node no longer wants the proof")
	}
	h.userStopped("c")
	h.userStarted("c")
	if _, held := h.reasons(now)["c"]; held {
		t.Error("a start by hand must release the hold")
	}
}

func TestHoldsDoNotCountOwnStopsAsEarlyExits(t *testing.T) {
	h := newHolds()
	now := time.Unix(1_000_000, 0)
	h.autoStarted("a", nil, now)
	h.stopped("a") // the scheduler stopped it once the proof was fetched
	h.observe([]model.Row{row("a", model.NodeProving, model.ProcStopped)}, now.Add(20*time.Second))
	if why, held := h.reasons(now.Add(20 * time.Second))["a"]; held {
		t.Errorf("held after postdeck's own stop: %s", why)
	}
}
