package model

import (
	"encoding/hex"
	"slices"
	"time"
)

// The machine channel is what a central postdeck asks of another host's
// `postdeck serve` over SSH (exec requests, see sshserve/machine.go and
// backend/remote): `status --json --watch` streams a MachineHello line,
// then one StatusDoc line per snapshot; `start`, `stop`, `restart` answer
// one MachineReply line; `logs NAME --from N` a MachineLogHead line and
// the log's bytes.

// MachineProtocol is the machine channel's version. A central postdeck
// reading a hello of another protocol says so and shows what it can.
const MachineProtocol = 1

// MachineHello opens a watch: which postdeck answers, and its protocol.
type MachineHello struct {
	Postdeck string `json:"postdeck"`
	Protocol int    `json:"protocol"`
	ReadOnly bool   `json:"read_only,omitempty"` // the key connected may watch, not act
	// Now is the host's clock at the hello: the central postdeck moves
	// the host's times by the difference.
	Now time.Time `json:"now"`
}

// MachineReply is the outcome of an action over the machine channel.
type MachineReply struct {
	Service string `json:"service"`
	OK      bool   `json:"ok"`
	Result  string `json:"result,omitempty"` // the outcome, as the CLI prints it
	Reason  string `json:"reason,omitempty"` // a stop's verdict: why it was safe, why not yet (queued), or why refused (Unsafe)
	// Warnings are a start's (model.StartOutcome's), as values: the
	// central postdeck never reads them back out of Result.
	Warnings []string `json:"warnings,omitempty"`
	Error    string   `json:"error,omitempty"`
	// Unsafe: the host's safe-stop rule refused the stop; ReadOnly: the
	// key may not act; Queued: a stop when safe is pending there.
	Unsafe   bool `json:"unsafe,omitempty"`
	ReadOnly bool `json:"read_only,omitempty"`
	Queued   bool `json:"queued,omitempty"`
	// NotRunning: a stop found nothing to stop; AlreadyRunning: a start
	// found the service running (a success).
	NotRunning     bool `json:"not_running,omitempty"`
	AlreadyRunning bool `json:"already_running,omitempty"`
}

// MachineLogHead precedes a chunk of a log read over the machine channel.
type MachineLogHead struct {
	Next    string `json:"next"` // the cursor to ask from next time (logs --from)
	Reset   bool   `json:"reset,omitempty"`
	Missing bool   `json:"missing,omitempty"`
	Skipped int64  `json:"skipped,omitempty"`
	Bytes   int    `json:"bytes"` // how many bytes of log follow the line
	Error   string `json:"error,omitempty"`
}

// Parts turns a status document read from another host back into one
// snapshot part per node of it, rows and nodes tagged with host and each
// row's service named host:service (unique beside this machine's).
// What the document does not carry (events, epochs, timings) is left
// out; the host's health flags are kept as they are.
func (d *StatusDoc) Parts(host string, at time.Time) []Part {
	nodes := d.Nodes
	if len(nodes) == 0 {
		nodes = []NodeDoc{d.Node}
	}
	parts := make([]Part, len(nodes))
	index := map[string]int{}
	for i, n := range nodes {
		index[n.Name] = i
		parts[i] = Part{Host: host, Node: n.Name, Snap: Snapshot{At: at, Node: NodeView{Version: n.Version, Synced: n.Synced,
			TopLayer: n.TopLayer, Peers: n.Peers, HasStatus: n.Up, HasSmesherIDs: n.Up, Errors: slices.Clone(n.Errors)}}}
	}
	for _, id := range d.Identities {
		r := id.row(host)
		s := &parts[index[id.Node]].Snap
		s.Rows = append(s.Rows, r)
	}
	return parts
}

func (id *IdentityDoc) row(host string) Row {
	pub, _ := hex.DecodeString(id.ID)
	r := Row{
		Key: id.ID + "/" + id.Service, Name: id.Name, ID: pub, Node: id.Node, Held: id.Held, Host: host,
		NodeState: parseState(nodeStateNames[:], id.NodeState, NodeUnknown), ServiceState: parseState(serviceStateNames[:], id.ServiceState, ServiceUnknown),
		Progress: id.Progress, NumUnits: id.NumUnits, Health: slices.Clone(id.Health), Errors: slices.Clone(id.Errors), PendingStop: id.PendingStop,
	}
	if id.Service != "" {
		r.Service = host + ":" + id.Service
	}
	if p := id.Process; p != nil {
		r.Proc = ProcInfo{State: parseState(procStateNames[:], p.State, ProcUnknown), Manager: Manager(p.Manager), PID: p.PID,
			LastExit: p.LastExit, Restarts: p.Restarts, Startable: p.Startable}
		if t, err := time.Parse(time.RFC3339, p.Started); err == nil {
			r.Proc.Started = t
		}
	}
	return r
}

// parseState finds name among a state type's names; an unknown name (a
// newer postdeck's) is def.
func parseState[S ~int](names []string, name string, def S) S {
	if i := slices.Index(names, name); i >= 0 {
		return S(i)
	}
	return def
}
