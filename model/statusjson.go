package model

import (
	"slices"
	"time"
)

// StatusDoc is the `postdeck status --json` document. Its field names are a
// public interface for scripts: change them only compatibly.
type StatusDoc struct {
	Node NodeDoc `json:"node"`
	// Nodes is every node of a config of several, the first (Node) first;
	// absent with one node.
	Nodes      []NodeDoc     `json:"nodes,omitempty"`
	Identities []IdentityDoc `json:"identities"`
}

type NodeDoc struct {
	Name     string        `json:"name,omitempty"`
	Host     string        `json:"host,omitempty"` // the [[host]] that reported it
	Up       bool          `json:"up"`
	Version  string        `json:"version"`
	Synced   bool          `json:"synced"`
	TopLayer uint32        `json:"top_layer"`
	Peers    uint64        `json:"peers"`
	Errors   []SourceError `json:"errors"`
	// LastAnswer is when a node of several last answered (RFC 3339).
	LastAnswer string `json:"last_answer,omitempty"`
}

type IdentityDoc struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	Node string `json:"node,omitempty"` // its node, in a config of several
	Host string `json:"host,omitempty"` // the [[host]] that reported it; "" for this machine's
	// Held: the node holds the identity (lists it, or a key file of it is
	// in its identities folder): what the fleet's equivocation check
	// compares across hosts.
	Held         bool          `json:"held,omitempty"`
	NodeState    string        `json:"node_state"`
	Service      string        `json:"service"`
	ServiceState string        `json:"service_state"`
	Progress     *Progress     `json:"progress"`
	NumUnits     uint32        `json:"num_units"`
	Health       []Health      `json:"health"`
	Errors       []SourceError `json:"errors"`
	RawStatus    string        `json:"raw_status,omitempty"`
	Process      *ProcessDoc   `json:"process,omitempty"`
	PendingStop  bool          `json:"pending_stop,omitempty"`
}

// ProcessDoc is the process side of an identity, when postdeck sees one.
type ProcessDoc struct {
	State    string `json:"state"`             // running | stopped
	Manager  string `json:"manager,omitempty"` // postdeck | systemd | external
	PID      int    `json:"pid,omitempty"`
	Started  string `json:"started,omitempty"` // RFC 3339
	LastExit string `json:"last_exit,omitempty"`
	Restarts int    `json:"restarts"`
	// Startable: postdeck there can start it (bin or systemd_unit set).
	Startable bool `json:"startable,omitempty"`
}

func processDoc(p ProcInfo) *ProcessDoc {
	if p.State == ProcUnknown {
		return nil
	}
	d := &ProcessDoc{State: p.State.String(), Manager: string(p.Manager), PID: p.PID, LastExit: p.LastExit, Restarts: p.Restarts, Startable: p.Startable}
	if !p.Started.IsZero() {
		d.Started = p.Started.UTC().Format(time.RFC3339)
	}
	return d
}

// Doc renders the snapshot as the status document, rows sorted by name.
func (s *Snapshot) Doc() StatusDoc {
	d := StatusDoc{Identities: make([]IdentityDoc, 0, len(s.Rows))}
	nodes := s.Nodes
	if len(nodes) == 0 { // a snapshot not made by Join
		nodes = []NodeStatus{{View: s.Node, KeysErr: s.KeysErr}}
	}
	for i := range nodes {
		d.Nodes = append(d.Nodes, nodeDoc(&nodes[i]))
	}
	d.Node = d.Nodes[0]
	if len(d.Nodes) == 1 {
		d.Nodes = nil
	}
	for i := range s.Rows {
		r := &s.Rows[i]
		id := IdentityDoc{
			Name: r.Name, ID: r.IDHex(), Node: r.Node, Host: r.Host, Held: r.Held, NodeState: r.NodeState.String(), Service: r.Service,
			ServiceState: r.ServiceState.String(), Progress: r.Progress, NumUnits: r.NumUnits,
			Health: nonNil(r.Health), Errors: nonNil(r.Errors),
			Process: processDoc(r.Proc), PendingStop: r.PendingStop,
		}
		if r.ServiceState == ServiceUnknown {
			id.RawStatus = r.Status.Raw
		}
		d.Identities = append(d.Identities, id)
	}
	return d
}

func nodeDoc(n *NodeStatus) NodeDoc {
	v := &n.View
	d := NodeDoc{Name: n.Name, Host: n.Host, Up: n.Up(), Version: v.Version, Synced: v.Synced, TopLayer: v.TopLayer,
		Peers: v.Peers, Errors: nonNil(slices.Clone(v.Errors))}
	if n.KeysErr != "" {
		d.Errors = append(d.Errors, SourceError{Source: "keys", Message: n.KeysErr})
	}
	if !n.LastAnswer.IsZero() && (n.Name != "" || n.Host != "") {
		d.LastAnswer = n.LastAnswer.UTC().Format(time.RFC3339)
	}
	return d
}

// Exit codes of `postdeck status` (README, "status --json"). 3 is
// `postdeck stop`'s refusal, so a node that cannot be reached has 4.
const (
	ExitOK       = 0
	ExitUsage    = 1
	ExitCritical = 2
	ExitNodeDown = 4
)

// ExitCode is 2 when any identity has a critical flag; else 4 when any
// node (this machine's, or another host's) answered on none of its
// listeners, since then its rows say "unknown" and a cron check must not
// read that as fine; else 0. Critical comes first: it names a proof at
// risk now, which the operator can act on, while the document's nodes
// still say which node is down.
func (s *Snapshot) ExitCode() int {
	if c := s.Count(); c.Critical > 0 {
		return ExitCritical
	}
	nodes := s.Nodes
	if len(nodes) == 0 { // a snapshot not made by Join
		nodes = []NodeStatus{{View: s.Node}}
	}
	for i := range nodes {
		if !nodes[i].Up() {
			return ExitNodeDown
		}
	}
	return ExitOK
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
