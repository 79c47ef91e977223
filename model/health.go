package model

// Health is a flag on a row saying something needs the operator's attention.
// The strings are a public interface (status JSON, alerts, metrics): keep them.
type Health string

const (
	// HealthServiceDown: the node wants a proof now and the post-service does not answer.
	HealthServiceDown Health = "service-down-while-proving"
	// HealthAwaitingFetch: the proof is done; the node has not fetched it yet. Do not stop.
	HealthAwaitingFetch Health = "proof-awaiting-fetch"
	// HealthStuckDone: DoneProving while the node is IDLE: proof generation failed.
	HealthStuckDone Health = "stuck-done-proving"
	// HealthNotOnNode: a configured service whose identity the node does not know.
	HealthNotOnNode Health = "not-on-node"
	// HealthNoService: an identity on the node with no configured post-service.
	HealthNoService Health = "no-service"
	// HealthDuplicate: one public key in two services or two key files: equivocation risk.
	HealthDuplicate Health = "duplicate-identity"
	// HealthKeyNotLoaded: a key file the node does not report: it needs a restart to load it.
	HealthKeyNotLoaded Health = "key-not-loaded"
	// HealthBadKey: a key file that is invalid or that the node cannot read as it is.
	HealthBadKey Health = "bad-key-file"
	// HealthNoMetadata: a service whose postdata_metadata.json is missing or corrupt.
	HealthNoMetadata Health = "no-metadata"
	// HealthWaiting: the node wants a proof, and automatic proving holds the
	// stopped service back for a free slot (its disk is busy, or max_proving).
	HealthWaiting Health = "waiting-for-slot"
	// HealthOnTwoNodes: two nodes of the fleet hold the same identity: both
	// would publish for it, which equivocates and bans it for good.
	HealthOnTwoNodes Health = "identity-on-two-nodes"
	// HealthHostDown: the row is another host's and that host does not
	// answer now: its states are what it said last.
	HealthHostDown Health = "host-unreachable"
	// HealthMalicious: the node holds a malfeasance proof against the
	// identity: it is banned for good and earns nothing.
	HealthMalicious Health = "malicious"
)

// Critical reports whether the flag means rewards are being lost or an
// identity risks a ban right now.
func (h Health) Critical() bool {
	return h == HealthServiceDown || h == HealthDuplicate || h == HealthOnTwoNodes || h == HealthMalicious
}

// healthFor derives a row's flags from the joined facts.
func healthFor(r *Row, f joinFacts) []Health {
	var hs []Health
	add := func(cond bool, h Health) {
		if cond {
			hs = append(hs, h)
		}
	}
	add(f.duplicates, HealthDuplicate)
	down := r.ServiceState == ServiceUnreachable || r.ServiceState == ServiceStopped
	add(r.NodeState == NodeProving && down && !f.anyUp, HealthServiceDown)
	add(r.ServiceState == ServiceDone && r.NodeState == NodeProving, HealthAwaitingFetch)
	add(r.ServiceState == ServiceDone && r.NodeState == NodeIdle, HealthStuckDone)
	add(f.loaded == LoadedNo && r.Service != "", HealthNotOnNode)
	add(f.loaded == LoadedYes && r.Service == "", HealthNoService)
	add(f.loaded == LoadedNo && f.hasKeyFile, HealthKeyNotLoaded)
	add(f.badKey, HealthBadKey)
	add(f.badMetadata, HealthNoMetadata)
	return hs
}

// joinFacts are the per-identity facts the health rules need beyond the row.
type joinFacts struct {
	loaded      Loaded // has the node loaded this identity's key (NodeView.LoadedFrom)
	duplicates  bool
	hasKeyFile  bool
	badKey      bool
	badMetadata bool
	anyUp       bool // some service of this identity answers its operator API
}
