// Package model is postdeck's pure domain: identities, their states as the node
// and the post-services report them, the join of every source into rows, and
// the health flags derived from it. Nothing here does I/O.
package model

// NodeState is what the node says about one identity (PostInfoService.PostStates).
type NodeState int

const (
	// NodeUnknown: the node was not asked (listener not configured) or did not answer.
	NodeUnknown NodeState = iota
	// NodeAbsent: the node answered and does not list this identity.
	NodeAbsent
	NodeUnused
	NodeIdle
	NodeProving
)

var nodeStateNames = [...]string{"unknown", "absent", "UNUSED", "IDLE", "PROVING"}

func (s NodeState) String() string {
	if int(s) < len(nodeStateNames) {
		return nodeStateNames[s]
	}
	return "unknown"
}

// NodeStateFromProto maps the wire enum PostState.State (UNUSED=0, IDLE=1,
// PROVING=2) to a NodeState; unknown numbers from a newer node map to NodeUnknown.
func NodeStateFromProto(v int32) NodeState {
	switch v {
	case 0:
		return NodeUnused
	case 1:
		return NodeIdle
	case 2:
		return NodeProving
	}
	return NodeUnknown
}

// ServiceState is what a post-service's operator API says (GET /status).
type ServiceState int

const (
	// ServiceNone: no post-service is configured for this identity.
	ServiceNone ServiceState = iota
	ServiceIdle
	ServiceProving
	// ServiceDone is post-rs "DoneProving": a proof waits for the node to fetch it.
	ServiceDone
	// ServiceUnreachable: the operator endpoint did not answer.
	ServiceUnreachable
	// ServiceUnknown: it answered something that is not one of the three post-rs shapes.
	ServiceUnknown
	// ServiceStopped: postdeck manages the service and no process runs.
	ServiceStopped
)

var serviceStateNames = [...]string{"none", "idle", "proving", "done", "unreachable", "unknown", "stopped"}

func (s ServiceState) String() string {
	if int(s) < len(serviceStateNames) {
		return serviceStateNames[s]
	}
	return "unknown"
}
