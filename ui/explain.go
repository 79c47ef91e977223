package ui

import "postdeck/model"

// healthHelp says, for each flag, what it means and what to do about it.
var healthHelp = map[model.Health]string{
	model.HealthServiceDown: "The node wants a proof from this identity now and its post-service does not answer: " +
		"the epoch's reward is at risk. Start the post-service (check its log, --address and --operator-address).",
	model.HealthAwaitingFetch: "The proof is done and the node has not fetched it yet. Do not stop the service: " +
		"wait until the node shows IDLE for this identity.",
	model.HealthStuckDone: "The service says DoneProving while the node is IDLE: proof generation failed and the " +
		"service will not recover by itself. Check its log, then restart it.",
	model.HealthNotOnNode: "A configured post-service whose identity the node does not know. Add its key to the " +
		"node's identities/ folder and restart the node, or fix the service's data directory.",
	model.HealthNoService: "The node has this identity but no post-service is configured for it: it cannot prove. " +
		"Add a [[service]] entry, or ignore if the identity is retired.",
	model.HealthDuplicate: "The same public key appears in two services or two key files: running it twice is " +
		"equivocation and gets the identity banned for good. Remove the duplicate now.",
	model.HealthOnTwoNodes: "Another node of the fleet holds this identity too (it lists it, or its key file is in " +
		"that node's identities/ folder): two nodes publishing for one key is equivocation and gets the identity " +
		"banned for good. Move the key file out of all but one node's identities/ folder and restart that node.",
	model.HealthHostDown: "This row is another host's, and that host's postdeck serve does not answer now: what the " +
		"row shows is what it said last (the errors below say since when). postdeck reconnects by itself; check the " +
		"host, its network and its postdeck serve.",
	model.HealthKeyNotLoaded: "A key file the node does not report: keys are read only at start-up. Restart the " +
		"node (when no identity is proving) to load it.",
	model.HealthBadKey: "A key file that is invalid or that the node cannot read as it is (see the errors below). " +
		"Rewrite it as 128 hex characters with no trailing newline.",
	model.HealthNoMetadata: "The service's postdata_metadata.json is missing or corrupt, so its identity is unknown. " +
		"Check the service's dir setting and the file.",
	model.HealthWaiting: "The node wants a proof and automatic proving holds this stopped service back until a slot " +
		"is free (its disk is busy, or max_proving is reached); the header says why. It starts by itself.",
	model.HealthMalicious: "The node holds a malfeasance proof against this identity (the network saw it misbehave, " +
		"such as two ATXs in one epoch): it is banned for good and earns nothing. Check that its key is on one node only.",
}

// explainHealth is healthHelp with a fallback for flags added later.
func explainHealth(h model.Health) string {
	if s, ok := healthHelp[h]; ok {
		return s
	}
	return "No explanation available for this flag."
}

// nodeStateHelp explains what the node's view of an identity means.
var nodeStateHelp = [...]string{
	model.NodeUnknown: "the node was not asked (post listener not configured) or did not answer",
	model.NodeAbsent:  "the node answered and does not list this identity",
	model.NodeUnused:  "the node knows the identity but does not use it",
	model.NodeIdle:    "the node does not need a proof now",
	model.NodeProving: "the node wants a proof from this identity now",
}

// serviceStateHelp explains what the post-service's /status means.
var serviceStateHelp = [...]string{
	model.ServiceNone:        "no post-service is configured for this identity",
	model.ServiceIdle:        "the service is idle; safe to stop when the node is IDLE too",
	model.ServiceProving:     "the service is generating a proof; stopping it throws the work away",
	model.ServiceDone:        "a proof is ready and waits for the node to fetch it; do not stop",
	model.ServiceUnreachable: "the operator endpoint did not answer",
	model.ServiceUnknown:     "the operator endpoint answered something unexpected (see the raw body)",
	model.ServiceStopped:     "postdeck manages this service and it is not running",
}

func explainNode(s model.NodeState) string {
	if int(s) < len(nodeStateHelp) {
		return nodeStateHelp[s]
	}
	return ""
}

func explainService(s model.ServiceState) string {
	if int(s) < len(serviceStateHelp) {
		return serviceStateHelp[s]
	}
	return ""
}
