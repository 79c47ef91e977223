package model

import "fmt"

// Verdict says whether stopping a post-service now would throw work away.
type Verdict struct {
	Safe bool
	// Reason is the verdict in words, for the stop dialog and the CLI.
	Reason string
}

// StopVerdict applies the rule operators live by: stopping is safe only when
// the service is not running, or the operator says Idle and the node says
// IDLE for the identity (or does not ask it for proofs at all). Proving state
// lives in the service's memory only, so anything else loses a proof or the
// work towards one.
func StopVerdict(r *Row) Verdict {
	if !r.Running() {
		return Verdict{true, "the service is not running"}
	}
	switch r.ServiceState {
	case ServiceProving:
		return Verdict{false, "it is proving (" + workDone(r) + "): stopping throws that work away"}
	case ServiceDone:
		if r.NodeState == NodeIdle {
			// The node goes IDLE only once it has the proof: a service still
			// saying DoneProving failed to generate it and will not recover.
			return Verdict{true, "it is stuck in DoneProving while the node is IDLE (proof generation failed): restarting it is the fix"}
		}
		return Verdict{false, "its proof is finished but the node has not fetched it yet: stopping throws the proof away"}
	case ServiceUnreachable, ServiceUnknown:
		return Verdict{false, "its operator API does not answer clearly, so postdeck cannot tell whether it is proving"}
	case ServiceNone:
		return Verdict{false, "it has no operator address configured, so postdeck cannot tell whether it is proving"}
	}
	// The operator says Idle; now the node decides.
	switch r.NodeState {
	case NodeIdle, NodeUnused, NodeAbsent:
		return Verdict{true, "the service is idle and the node does not need a proof from it now"}
	case NodeProving:
		return Verdict{false, "the node wants a proof from this identity now: the service is about to start proving"}
	}
	return Verdict{false, "the node cannot be asked whether it needs a proof from this identity now"}
}

// workDone describes how far a proving service got.
func workDone(r *Row) string {
	p := r.Progress
	if p == nil {
		return "progress unknown"
	}
	if p.Phase == "k2pow" {
		return fmt.Sprintf("pass %d, still in the k2pow phase", p.Pass)
	}
	return fmt.Sprintf("pass %d, %.1f%% read, %s of %s", p.Pass, p.Percent, HumanBytes(p.Position), HumanBytes(p.PassBytes))
}

// StopMode is how the user asked to stop a service.
type StopMode int

const (
	// StopIfSafe stops now if the verdict, re-checked at that moment, is safe.
	StopIfSafe StopMode = iota
	// StopWhenSafe queues the stop; it runs by itself once the verdict turns safe.
	StopWhenSafe
	// StopForce stops regardless of the verdict.
	StopForce
	// StopCancel drops a queued stop.
	StopCancel
)

func (m StopMode) String() string {
	return [...]string{"stop", "stop when safe", "force stop", "cancel pending stop"}[m]
}
