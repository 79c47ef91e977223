package model

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// PostState is one entry of the node's PostInfoService.PostStates.
type PostState struct {
	ID    []byte
	State NodeState
	Name  string // the key file name, e.g. post0.key
}

// SourceError is a failure of one source, named so the user knows where to look.
type SourceError struct {
	Source  string `json:"source"`
	Message string `json:"message"`
}

// NodeView is everything the node said in one poll cycle. A part whose
// listener is not configured or failed is marked by its Has flag being false.
type NodeView struct {
	Version       string
	Synced        bool
	TopLayer      uint32
	Peers         uint64
	HasStatus     bool
	PostStates    []PostState
	HasPostStates bool
	SmesherIDs    [][]byte
	HasSmesherIDs bool
	Errors        []SourceError
}

// ServiceObs is one configured post-service as observed in one poll cycle.
type ServiceObs struct {
	Name     string
	Dir      string
	Operator string
	Meta     *PostMetadata // nil when MetaErr is set
	MetaErr  string
	Status   OperatorStatus
	// StatusErr is set when the operator endpoint could not be asked.
	StatusErr string
	// Proc is the service's process as the supervisor sees it.
	Proc ProcInfo
	// Disk is the proving group: services on one disk should not prove at once.
	Disk string
	// PendingStop: the user asked to stop it as soon as that is safe.
	PendingStop bool
	// RemoteK2Pow: it runs k2pow on a k2pow-service (--remote-k2pow), so
	// it does not count against max_proving (see plan.go).
	RemoteK2Pow bool
}

// Inputs are the raw observations of one poll cycle, before the join.
type Inputs struct {
	Node     NodeView
	Services []ServiceObs
	Keys     []KeyFile
	KeysErr  string
	At       time.Time
}

// Progress of the current proving pass of a post-service.
type Progress struct {
	Pass      uint64  `json:"pass"`
	Position  uint64  `json:"position"`
	PassBytes uint64  `json:"pass_bytes"`
	Percent   float64 `json:"percent"`
	Phase     string  `json:"phase"` // "k2pow" while position is 0, "disk" after
}

// Row is one line of the identity table: an identity joined across sources,
// or a source that could not be tied to an identity (bad key, no metadata).
type Row struct {
	Key  string // stable across cycles
	Name string // key file name as the node reports it, or the files found
	ID   []byte
	// Node is the configured node the row belongs to, "" when the config
	// has one; Held says that node holds the identity: it lists it, or a
	// key file of it is in its identities folder (what the fleet's
	// equivocation check compares, see fleet.go).
	Node string
	Held bool
	// Host is the [[host]] whose `postdeck serve` reported the row, ""
	// for this machine's rows.
	Host         string
	NodeState    NodeState
	Service      string
	Dir          string
	Operator     string
	ServiceState ServiceState
	Status       OperatorStatus
	Progress     *Progress
	NumUnits     uint32
	SizeBytes    uint64
	Health       []Health
	Errors       []SourceError
	Proc         ProcInfo
	Disk         string
	PendingStop  bool
	RemoteK2Pow  bool
	// Events about this identity from the node, newest last (a short
	// timeline); Timing is throughput and ETA while proving.
	Events []Event
	Timing ProofTiming
	// Auto is what automatic proving is doing with this service and why
	// ("waiting: disk d1 is busy with data03"), empty when nothing.
	Auto string
	// Epochs is what the epoch ledger knows of the identity's recent publish
	// epochs, oldest first; nil without a ledger.
	Epochs []EpochRecord
}

// LastEpoch is the ledger's record of the newest complete publish epoch:
// the last one whose rewards epoch has begun (the one before the current
// epoch). ok is false without one.
func (r *Row) LastEpoch(current uint32) (EpochRecord, bool) {
	for i := len(r.Epochs) - 1; i >= 0; i-- {
		if r.Epochs[i].Epoch < current {
			return r.Epochs[i], true
		}
	}
	return EpochRecord{}, false
}

// LastEvent is the newest event about the row's identity, nil if none.
func (r *Row) LastEvent() *Event {
	if len(r.Events) == 0 {
		return nil
	}
	return &r.Events[len(r.Events)-1]
}

// IDHex is the identity's public key in hex, empty when unknown.
func (r *Row) IDHex() string { return hex.EncodeToString(r.ID) }

// ShortID is the first n hex characters of an identity (all of them when it
// is shorter), "" when unknown: how tables, metrics and messages name it.
func ShortID(id []byte, n int) string {
	s := hex.EncodeToString(id[:min(len(id), (n+1)/2)])
	return s[:min(len(s), n)]
}

// Label is what names the row for a person: the key file, else the service.
func (r *Row) Label() string {
	if r.Name != "" {
		return r.Name
	}
	return r.Service
}

// Has reports whether the row carries flag h.
func (r *Row) Has(h Health) bool {
	for _, x := range r.Health {
		if x == h {
			return true
		}
	}
	return false
}

// Critical reports whether any of the row's flags is critical.
func (r *Row) Critical() bool {
	for _, h := range r.Health {
		if h.Critical() {
			return true
		}
	}
	return false
}

// Snapshot is the joined result of one poll cycle.
type Snapshot struct {
	// Node is the (first) node's view; Nodes is every node's, the first
	// first, named when the config names several (see MergeNodes).
	Node     NodeView
	Nodes    []NodeStatus
	Rows     []Row
	KeysErr  string
	At       time.Time
	Duration time.Duration
	// Scheduler is what automatic proving is doing, set by the controller.
	Scheduler SchedulerStatus
	// Events are the node's recent events, newest last (node-wide panel).
	Events []Event
	// Cycle is the PoET cycle countdown.
	Cycle CycleInfo
	// Plan is the deadline plan of the coming cycle gap; nil when no
	// planner ran.
	Plan *Plan
	// Ledger is the epoch ledger's state; zero without one.
	Ledger LedgerInfo
}

// group collects everything known about one public key.
type group struct {
	id        []byte
	postState *PostState
	onIDs     bool
	keyFiles  []string
	keyWarn   []string
	services  []ServiceObs
}

// Join builds the rows over the union of the node's PostStates and
// SmesherIDs, the configured services (by their metadata's NodeId) and the key
// files, sorted by label.
func Join(in Inputs) Snapshot {
	// The groups live in one slice, in the order first seen (so rows of the
	// same name keep a stable order); its capacity is their most possible,
	// so the pointers into it stay valid.
	most := len(in.Node.PostStates) + len(in.Node.SmesherIDs) + len(in.Keys) + len(in.Services)
	all := make([]group, 0, most)
	groups := make(map[string]*group, most)
	get := func(id []byte) *group {
		g := groups[string(id)]
		if g == nil {
			all = append(all, group{id: id})
			g = &all[len(all)-1]
			groups[string(id)] = g
		}
		return g
	}
	for i := range in.Node.PostStates {
		ps := &in.Node.PostStates[i]
		get(ps.ID).postState = ps
	}
	for _, id := range in.Node.SmesherIDs {
		get(id).onIDs = true
	}
	var badKeys, orphans []Row
	for _, k := range in.Keys {
		if k.Public == nil {
			badKeys = append(badKeys, badKeyRow(k))
			continue
		}
		g := get(k.Public)
		g.keyFiles = append(g.keyFiles, k.Name)
		if k.Problem != "" {
			g.keyWarn = append(g.keyWarn, k.Name+": "+k.Problem)
		}
	}
	for _, s := range in.Services {
		if s.Meta == nil {
			orphans = append(orphans, noMetadataRow(s))
			continue
		}
		g := get(s.Meta.NodeID)
		g.services = append(g.services, s)
	}
	n := len(badKeys) + len(orphans)
	for i := range all {
		n += max(1, len(all[i].services))
	}
	rows := append(make([]Row, 0, n), badKeys...)
	for i := range all {
		rows = all[i].appendRows(rows, &in.Node)
	}
	rows = append(rows, blameOrphans(rows[len(badKeys):], orphans)...)
	sort.SliceStable(rows, func(i, j int) bool { return lessByName(&rows[i], &rows[j]) })
	return Snapshot{Node: in.Node, Nodes: []NodeStatus{{View: in.Node, KeysErr: in.KeysErr}}, Rows: rows, KeysErr: in.KeysErr, At: in.At}
}

// appendRows appends the identity's rows: one per service, or one alone.
func (g *group) appendRows(rows []Row, node *NodeView) []Row {
	base := Row{ID: g.id, NodeState: NodeUnknown, Held: g.postState != nil || g.onIDs || len(g.keyFiles) > 0}
	if node.HasPostStates {
		base.NodeState = NodeAbsent
	}
	if g.postState != nil {
		base.NodeState = g.postState.State
		base.Name = g.postState.Name
	}
	if base.Name == "" {
		base.Name = strings.Join(g.keyFiles, ", ")
	}
	for _, w := range g.keyWarn {
		base.Errors = append(base.Errors, SourceError{Source: "key", Message: w})
	}
	if len(g.keyFiles) > 1 {
		base.Errors = append(base.Errors, SourceError{Source: "key", Message: fmt.Sprintf(
			"one identity in %d key files: %s — keep one, move the others out of identities/ before the node restarts",
			len(g.keyFiles), strings.Join(g.keyFiles, ", "))})
	}
	facts := joinFacts{
		loaded:     node.LoadedFrom(g.postState != nil, g.onIDs),
		duplicates: len(g.services) > 1 || len(g.keyFiles) > 1,
		hasKeyFile: len(g.keyFiles) > 0,
		badKey:     len(g.keyWarn) > 0,
		anyUp:      g.anyServiceAnswers(),
	}
	if len(g.services) == 0 {
		r := base
		r.Key = hex.EncodeToString(g.id)
		r.Health = healthFor(&r, facts)
		return append(rows, r)
	}
	for _, s := range g.services {
		r := base
		r.Errors = append([]SourceError(nil), base.Errors...)
		applyService(&r, s)
		r.Key = hex.EncodeToString(g.id) + "/" + s.Name
		facts.badMetadata = s.MetaErr != ""
		r.Health = healthFor(&r, facts)
		rows = append(rows, r)
	}
	return rows
}

// anyServiceAnswers reports whether some service of the identity answers its
// operator API: then the identity is served, whatever its duplicates say.
func (g *group) anyServiceAnswers() bool {
	for _, s := range g.services {
		if s.StatusErr == "" {
			return true
		}
	}
	return false
}

// blameOrphans ties services whose metadata is unreadable (so whose identity
// is unknown) to what the node says: an identity on the node without a
// service may well be served by one of them. The rows without a service get
// a note naming them, and an orphan that does not answer while such an
// identity is PROVING is critical: a proof may be lost.
func blameOrphans(rows, orphans []Row) []Row {
	if len(orphans) == 0 {
		return nil
	}
	names := make([]string, len(orphans))
	for i := range orphans {
		names[i] = orphans[i].Service
	}
	note := SourceError{Source: "service", Message: "no configured service matches this identity, but the metadata of " +
		strings.Join(names, ", ") + " is unreadable: if one of them serves it, fix its postdata_metadata.json"}
	provingUnserved := false
	for i := range rows {
		if r := &rows[i]; r.Service == "" && (r.NodeState != NodeAbsent && r.NodeState != NodeUnknown) {
			r.Errors = append(r.Errors, note)
			provingUnserved = provingUnserved || r.NodeState == NodeProving
		}
	}
	for i := range orphans {
		if o := &orphans[i]; provingUnserved && o.ServiceState == ServiceUnreachable {
			o.Health = append(o.Health, HealthServiceDown)
		}
	}
	return orphans
}

// applyService copies a service's observation into the row.
func applyService(r *Row, s ServiceObs) {
	r.Service, r.Dir, r.Operator = s.Name, s.Dir, s.Operator
	r.Proc, r.Disk, r.PendingStop, r.RemoteK2Pow = s.Proc, s.Disk, s.PendingStop, s.RemoteK2Pow
	r.Status = s.Status
	r.ServiceState = s.Status.State
	switch {
	case s.Proc.State == ProcStopped && s.StatusErr != "":
		// Not running, as the supervisor knows: not answering is expected.
		r.ServiceState = ServiceStopped
	case s.StatusErr != "":
		r.ServiceState = ServiceUnreachable
		r.Errors = append(r.Errors, SourceError{Source: "operator", Message: s.StatusErr})
	}
	if s.MetaErr != "" && s.Meta != nil {
		// A file that went bad after a good read: the last good read still
		// tells whose data it is.
		r.Errors = append(r.Errors, SourceError{Source: "metadata", Message: s.MetaErr + " (showing the last good read)"})
	}
	if s.Meta != nil {
		r.NumUnits = s.Meta.NumUnits
		r.SizeBytes = s.Meta.PassBytes()
		r.Progress = progressOf(r.ServiceState, s.Status, *s.Meta)
	}
}

// progressOf derives the pass, percent and phase of a proving service.
func progressOf(st ServiceState, os OperatorStatus, m PostMetadata) *Progress {
	if st != ServiceProving || os.NonceEnd <= os.NonceStart {
		return nil
	}
	perPass := os.NonceEnd - os.NonceStart
	p := &Progress{
		Pass:      os.NonceStart/perPass + 1,
		Position:  os.Position,
		PassBytes: m.PassBytes(),
		Phase:     "k2pow",
	}
	if os.Position > 0 {
		p.Phase = "disk"
	}
	if p.PassBytes > 0 {
		p.Percent = min(100, 100*float64(os.Position)/float64(p.PassBytes))
	}
	return p
}

func badKeyRow(k KeyFile) Row {
	return Row{
		Key:       "key:" + k.Name,
		Name:      k.Name,
		NodeState: NodeUnknown,
		Health:    []Health{HealthBadKey},
		Errors:    []SourceError{{Source: "key", Message: k.Name + ": " + k.Problem}},
	}
}

func noMetadataRow(s ServiceObs) Row {
	r := Row{Key: "svc:" + s.Name, NodeState: NodeUnknown}
	applyService(&r, s)
	r.Errors = append(r.Errors, SourceError{Source: "metadata", Message: s.MetaErr})
	r.Health = []Health{HealthNoMetadata}
	return r
}

// lessByName orders rows by label, then service, then key: stable and total.
func lessByName(a, b *Row) bool {
	if la, lb := a.Label(), b.Label(); la != lb {
		return la < lb
	}
	if a.Service != b.Service {
		return a.Service < b.Service
	}
	return a.Key < b.Key
}
