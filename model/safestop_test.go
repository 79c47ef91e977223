package model

import (
	"fmt"
	"strings"
	"testing"
)

// TestStopVerdictTable covers every operator state × node state, for a
// running process, plus a stopped process (always safe).
func TestStopVerdictTable(t *testing.T) {
	ops := []ServiceState{ServiceIdle, ServiceProving, ServiceDone, ServiceUnreachable, ServiceUnknown, ServiceNone}
	nodes := []NodeState{NodeUnknown, NodeAbsent, NodeUnused, NodeIdle, NodeProving}
	// safe[op][node] for a running process; everything not listed is unsafe.
	safe := map[ServiceState]map[NodeState]bool{
		ServiceIdle: {NodeIdle: true, NodeUnused: true, NodeAbsent: true},
		// Stuck DoneProving: the node is IDLE only once it has the proof.
		ServiceDone: {NodeIdle: true},
	}
	// What the reason must mention, per operator state (or node state when idle).
	opWords := map[ServiceState]string{
		ServiceProving: "throws that work away", ServiceDone: "not fetched",
		ServiceUnreachable: "cannot tell", ServiceUnknown: "cannot tell", ServiceNone: "no operator address",
	}
	nodeWords := map[NodeState]string{NodeProving: "node wants a proof", NodeUnknown: "node cannot be asked", NodeIdle: "idle"}
	for _, op := range ops {
		for _, node := range nodes {
			t.Run(fmt.Sprintf("%v/%v", op, node), func(t *testing.T) {
				r := Row{ServiceState: op, NodeState: node, Proc: ProcInfo{State: ProcRunning}}
				if op == ServiceProving {
					r.Progress = &Progress{Pass: 2, Position: 3 << 30, PassBytes: 64 << 30, Percent: 4.7, Phase: "disk"}
				}
				v := StopVerdict(&r)
				if v.Safe != safe[op][node] {
					t.Fatalf("safe = %v, want %v (%s)", v.Safe, safe[op][node], v.Reason)
				}
				want := opWords[op]
				if op == ServiceIdle {
					want = nodeWords[node]
				}
				if op == ServiceDone && node == NodeIdle {
					want = "stuck in DoneProving"
				}
				if !strings.Contains(v.Reason, want) {
					t.Errorf("reason %q does not say %q", v.Reason, want)
				}
				r.Proc.State = ProcStopped
				if v := StopVerdict(&r); !v.Safe {
					t.Errorf("stopped process judged unsafe: %s", v.Reason)
				}
			})
		}
	}
}

func TestStopVerdictShowsHowFarProvingGot(t *testing.T) {
	r := Row{ServiceState: ServiceProving, NodeState: NodeProving, Proc: ProcInfo{State: ProcRunning},
		Progress: &Progress{Pass: 2, Position: 3 << 30, PassBytes: 64 << 30, Percent: 4.7, Phase: "disk"}}
	if got := StopVerdict(&r).Reason; !strings.Contains(got, "pass 2, 4.7% read, 3 GiB of 64 GiB") {
		t.Errorf("reason %q does not show the progress", got)
	}
	r.Progress = &Progress{Pass: 1, Phase: "k2pow"}
	if got := StopVerdict(&r).Reason; !strings.Contains(got, "k2pow") {
		t.Errorf("reason %q does not name the k2pow phase", got)
	}
}

func TestStopVerdictWithoutProcessKnowledge(t *testing.T) {
	// A service on another machine: the operator API is the only evidence.
	remote := Row{ServiceState: ServiceUnreachable, NodeState: NodeProving}
	if v := StopVerdict(&remote); !v.Safe {
		t.Errorf("an unreachable service with no process seen is not running: %s", v.Reason)
	}
	remote.ServiceState = ServiceProving
	if v := StopVerdict(&remote); v.Safe {
		t.Error("a remote service that says Proving judged safe")
	}
}
