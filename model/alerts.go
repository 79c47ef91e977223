package model

import (
	"fmt"
	"strings"
	"time"
)

// Alert kinds: the health flags that raise one keep their flag's name.
const (
	AlertServiceDown = string(HealthServiceDown)
	AlertStuckDone   = string(HealthStuckDone)
	AlertDuplicate   = string(HealthDuplicate)
	AlertOnTwoNodes  = string(HealthOnTwoNodes)
	AlertProofFailed = "proof-failed"
	AlertNotSynced   = "node-not-synced"
	AlertCycleDone   = "cycle-proofs-done"
)

// Alert is one thing an operator should be told about, as sent to the alert
// command (on its stdin) and webhook (POSTed). The JSON is a public interface.
type Alert struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Identity string    `json:"identity"` // the public key in hex; "" for node-wide alerts
	Name     string    `json:"name"`     // the key file or service naming the identity
	Service  string    `json:"service"`
	Node     string    `json:"node,omitempty"` // the row's node in a config of several
	Health   []Health  `json:"health"`         // the identity's flags now
	Message  string    `json:"message"`
}

// alertFlags are the health flags whose appearance raises an alert.
var alertFlags = []Health{HealthServiceDown, HealthStuckDone, HealthDuplicate, HealthOnTwoNodes, HealthMalicious}

// Transitions are the alerts raised by going from prev to cur:
//   - a row gaining service-down-while-proving, stuck-done-proving,
//     duplicate-identity or malicious (a row new in cur counts as gaining its flags, so a
//     postdeck started on a broken rig tells at once: prev may be nil);
//   - a post_complete event with failure in a row's timeline newer than
//     anything prev's row had;
//   - the node going from synced to not synced (both answered);
//   - the last identity the node wanted a proof from leaving PROVING: every
//     proof of the cycle is done (the node's PostStates answered both times).
func Transitions(prev, cur *Snapshot) []Alert {
	if cur == nil {
		return nil
	}
	var out []Alert
	old := map[string]*Row{}
	if prev != nil {
		for i := range prev.Rows {
			old[prev.Rows[i].Key] = &prev.Rows[i]
		}
	}
	for i := range cur.Rows {
		r := &cur.Rows[i]
		was := old[r.Key]
		for _, h := range alertFlags {
			if r.Has(h) && (was == nil || !was.Has(h)) {
				out = append(out, rowAlert(cur.At, string(h), r, flagMessage(h, r)))
			}
		}
		out = append(out, failedProofs(cur.At, r, was)...)
	}
	if prev == nil {
		return out
	}
	if p, c := &prev.Node, &cur.Node; p.HasStatus && c.HasStatus && p.Synced && !c.Synced {
		out = append(out, Alert{Time: cur.At, Kind: AlertNotSynced,
			Message: fmt.Sprintf("the node is not synced any more (top layer %d): it cannot publish proofs until it is", c.TopLayer)})
	}
	if prev.Node.HasPostStates && cur.Node.HasPostStates {
		if n := countProving(prev); n > 0 && countProving(cur) == 0 {
			out = append(out, Alert{Time: cur.At, Kind: AlertCycleDone,
				Message: fmt.Sprintf("no identity is proving any more: every proof the node asked for this cycle is done (%d were proving at the last poll)", n)})
		}
	}
	return out
}

func countProving(s *Snapshot) int {
	n := 0
	for i := range s.Rows {
		if s.Rows[i].NodeState == NodeProving {
			n++
		}
	}
	return n
}

// FailureMaxAge bounds how old a failed proof may be to raise an alert: the
// node replays recent events to a new subscriber, and a failure from long
// before postdeck started is not news.
const FailureMaxAge = time.Hour

// failedProofs are the post_complete failures in r's timeline that are
// newer than every event was had, and than FailureMaxAge before at.
func failedProofs(at time.Time, r, was *Row) []Alert {
	var since time.Time
	if !at.IsZero() {
		since = at.Add(-FailureMaxAge)
	}
	if was != nil {
		if e := was.LastEvent(); e != nil && e.Time.After(since) {
			since = e.Time
		}
	}
	var out []Alert
	for _, e := range r.Events {
		if e.Kind != "post_complete" || !e.Failure || !e.Time.After(since) {
			continue
		}
		msg := "proof generation failed"
		if d := strings.TrimSpace(e.Detail); d != "" {
			msg += ": " + d
		}
		if e.Help != "" {
			msg += " (" + e.Help + ")"
		}
		a := rowAlert(at, AlertProofFailed, r, msg)
		if !e.Time.IsZero() {
			a.Time = e.Time
		}
		out = append(out, a)
	}
	return out
}

func rowAlert(at time.Time, kind string, r *Row, msg string) Alert {
	return Alert{
		Time: at, Kind: kind, Identity: r.IDHex(), Name: r.Label(), Service: r.Service, Node: r.Node,
		Health: append([]Health(nil), r.Health...), Message: r.Label() + ": " + msg,
	}
}

func flagMessage(h Health, r *Row) string {
	switch h {
	case HealthServiceDown:
		return "the node wants a proof and the post-service does not answer: rewards are being lost"
	case HealthStuckDone:
		return "the post-service says DoneProving while the node is IDLE: proof generation failed; restart the post-service"
	case HealthDuplicate:
		return "one identity in two services or key files: equivocation risk, remove one now"
	case HealthOnTwoNodes:
		return "node " + r.Node + " and another node of the fleet both hold this identity: two nodes publishing for one key equivocate and get it banned for good; remove it from all but one node now"
	case HealthMalicious:
		return "the node holds a malfeasance proof against this identity: it is banned for good and earns nothing more"
	}
	return string(h)
}

// DebounceKey is what debouncing tells alerts apart by: kind and identity
// (the service, for a row without one).
func (a *Alert) DebounceKey() string {
	id := a.Identity
	if id == "" {
		id = a.Service
	}
	return a.Kind + "/" + id
}
