// Package sim is an embedded simulated go-spacemesh node with simulated
// post-rs operator endpoints: the node's three gRPC listeners (served from
// the compiled spacemesh.proto, with server reflection, like a real node), the
// key files and PoST metadata on disk, and one GET /status endpoint per
// post-service, all driven by a time-compressed proving cycle. It backs
// `postdeck demo`, `postdeck sim`, integration tests and benchmarks.
//
// With Options.RealServices the post-services are separate processes instead:
// the node serves PostService.Register (register.go) and RunService
// (postservice.go, `postdeck sim-service`) plays post-rs on the other end.
package sim

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"postdeck/model"
)

// Fault is a failure injected into one post-service's operator endpoint.
type Fault int

const (
	FaultNone Fault = iota
	// FaultHang: the operator accepts the request and never answers until the
	// sim closes or the client gives up.
	FaultHang
	// FaultGarbage: it answers 200 with a body that is none of the three post-rs shapes.
	FaultGarbage
	// FaultDown: its listener is closed (connection refused) and open
	// connections are dropped; restoring re-listens on the same port.
	FaultDown
)

// Options configure a simulation. The zero value is a usable 12-identity sim.
type Options struct {
	IDs    int     // identities, default 12
	Dir    string  // folder for node data + PoST dirs; "" = a temp dir removed by Close
	Manual bool    // freeze the automatic proving cycle; tests drive states with setters
	Speed  float64 // time compression of the cycle (1 = demo pace, 0 = 1)
	Seed   int64   // deterministic keys, metadata and staggering
	// Demo turns the last three identities (when IDs >= 4) into interesting
	// cases: one on the node with no post-service (node PROVING forever), one
	// stuck DoneProving while the node is IDLE, and one whose key file the
	// node has not loaded.
	Demo          bool
	LabelsPerUnit uint64 // default 1<<20 so passes are readable; NumUnits is 1..8 per identity
	// RealServices: the post-services are external processes (`postdeck
	// sim-service`, or post-rs itself) that dial PostService.Register on the
	// post listener. The sim writes the same files and reserves a free
	// operator port per service in the Layout, but serves no operator
	// endpoints; each identity's node state is IDLE for a while, then PROVING
	// until its proof arrives over Register. SetFault and SetOperatorBody do
	// nothing in this mode, and the Demo's stuck-DoneProving case is left out
	// (only a real service could show it).
	RealServices bool
	// ProofRequestInterval is how often the node sends GenProofRequest to a
	// registered service while it is PROVING, in real time; default 2 s.
	ProofRequestInterval time.Duration
	// HistoryEpochs is how many past epochs of ATXs and rewards the node
	// holds (ActivationService and RewardService List); 0 means
	// DefaultHistoryEpochs, negative none. See HistoryCases for the
	// identities whose history is not the ordinary one.
	HistoryEpochs int
	// ReplayHistory makes a Manual sim replay the last past epoch's events
	// too, as a sim that is not Manual always does: registrations, proofs
	// (the failed one among them), ATXs, eligibilities and proposals.
	ReplayHistory bool
	// Malicious gives one identity a malfeasance proof (MalfeasanceService).
	Malicious bool
	// WithoutV2 runs a node that does not serve the v2alpha1 history
	// services, as one whose api.grpc-public-services leaves them out.
	WithoutV2 bool
	// V2Beta1 serves the history services in their v2beta1 version too,
	// as newer nodes do.
	V2Beta1 bool
	// FirstIndex is the number of the first identity in the names of key
	// files and services (post01.key, data01); default 1. The nodes of a
	// simulated fleet continue one another's numbering with it, so that
	// service names stay unique across one config.
	FirstIndex int
	// IndexWidth is how many digits those numbers have; default enough for
	// the last one, at least 2. A fleet gives every node the width of its
	// last node's last number, so names sort alike on every node.
	IndexWidth int
	// ExtraKeyFiles are key files of other nodes that this node holds too:
	// each is copied into DataFolder/identities under its own name before
	// the node starts, and loaded as a node loads a key at start-up (see
	// loadNewKeys: IDLE, no post-service, out of the proving cycle). One
	// identity on two nodes is the costliest mistake of a fleet (both
	// publish for it); this lets a demo or a test show it. A file that is
	// not a valid key, or whose name is taken in identities/, fails Start.
	ExtraKeyFiles []string
	// FlowFolders writes, beside the node's folders, what trying `keys
	// add` and `merge` needs with no real node: Dir/new-post, a PoST
	// folder as postcli leaves it (identity.key and postdata_metadata.json
	// of an identity the node does not have), and Dir/old-node, an old
	// node's data folder (identities/ and a local.sql at schema version 9).
	// Their keys come from Seed too, but do not change the node's.
	FlowFolders bool
	// Now is the node's clock, read once at Start: the layer it reports and
	// its events' timestamps follow from it, so a dashboard on the same clock
	// agrees with it. Default the machine's clock. A sim that is not Manual
	// proves all the time, as in a cycle gap: outside one its proofs fall
	// in the last round's epoch on the calendar (see ProvingDate).
	Now func() time.Time
}

// Layout is where everything of a running sim lives, enough to write a
// postdeck config.
type Layout struct {
	DataFolder                                    string // node data folder: identities/*.key live here
	PostListener, PrivateListener, PublicListener string // "127.0.0.1:port"
	Services                                      []ServiceLayout
	// NewPostDir and OldNodeFolder are Options.FlowFolders' folders, ""
	// without it: a PoST folder with a key to add, an old node to merge.
	NewPostDir, OldNodeFolder string
}

// ServiceLayout is one simulated post-service.
type ServiceLayout struct {
	Name     string // e.g. data01
	Dir      string // its PoST data directory
	Operator string // operator API address, "127.0.0.1:port"
	NodeID   []byte
	KeyFile  string // path of its identity's key file in DataFolder/identities
}

// Sim is a running simulation. All methods are safe for concurrent use.
type Sim struct {
	opts    Options
	schema  *schema
	tempDir string
	start   time.Time // the machine's time of sim time 0: sim time is measured from it
	startAt time.Time // Options.Now at sim time 0: the node's calendar
	events  *eventLog
	done    chan struct{}
	hist    history // the node's past epochs; its own lock

	mu     sync.Mutex // guards identity and service state, rng and closed
	ids    []*ident
	byID   map[string]*ident
	svcs   map[string]*service
	rng    *rand.Rand
	closed bool
	layout Layout

	byPort map[int]*service // operator port → service; fixed after Start
	regSeq uint64           // last Register token handed out; guarded by mu
	// holdProofs: the node asks for no proof it has asked for already
	// (see HoldProofs); guarded by mu.
	holdProofs bool
	// lastLayer is the top layer of the last step: the layers after it
	// bring eligibilities and proposals; guarded by mu.
	lastLayer uint32
	http      *http.Server

	nodeMu    sync.Mutex // guards the gRPC listeners' lifecycle
	listeners []*listener
	calls     callCounts // unary gRPC calls answered, by method

	ticker    sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start writes the files, opens every listener and starts the cycle.
// Cancelling ctx closes the sim, as Close does.
func Start(ctx context.Context, opts Options) (*Sim, error) {
	sc, err := loadSchema()
	if err != nil {
		return nil, err
	}
	opts = withDefaults(opts)
	s := &Sim{
		opts:   opts,
		schema: sc,
		events: newEventLog(),
		done:   make(chan struct{}),
		byID:   map[string]*ident{},
		svcs:   map[string]*service{},
		byPort: map[int]*service{},
		rng:    rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed)),
	}
	if err := s.setup(); err != nil {
		s.Close()
		return nil, err
	}
	context.AfterFunc(ctx, func() { s.Close() })
	return s, nil
}

func withDefaults(o Options) Options {
	if o.IDs <= 0 {
		o.IDs = 12
	}
	if o.Speed <= 0 {
		o.Speed = 1
	}
	if o.LabelsPerUnit == 0 {
		o.LabelsPerUnit = 1 << 20
	}
	if o.ProofRequestInterval <= 0 {
		o.ProofRequestInterval = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FirstIndex <= 0 {
		o.FirstIndex = 1
	}
	o.IndexWidth = max(o.IndexWidth, 2, len(fmt.Sprint(o.FirstIndex+o.IDs-1)))
	switch {
	case o.HistoryEpochs == 0:
		o.HistoryEpochs = DefaultHistoryEpochs
	case o.HistoryEpochs < 0:
		o.HistoryEpochs = 0
	}
	return o
}

func (s *Sim) setup() error {
	// Before any listener: handlers read them unlocked.
	s.start, s.startAt = time.Now(), s.opts.Now()
	if s.opts.Dir == "" {
		dir, err := os.MkdirTemp("", "postdeck-sim-")
		if err != nil {
			return err
		}
		s.tempDir, s.opts.Dir = dir, dir
	}
	if err := s.createIdentities(); err != nil {
		return err
	}
	if s.opts.FlowFolders {
		if err := s.writeFlowFolders(); err != nil {
			return err
		}
	}
	s.buildHistory()
	s.lastLayer = s.topLayer()
	// A manual sim's tests see only the events they cause, unless they ask
	// for the history's.
	if !s.opts.Manual || s.opts.ReplayHistory {
		s.seedHistoryEvents()
	}
	// After the history: a key from another node has its history there.
	if err := s.loadExtraKeys(); err != nil {
		return err
	}
	err := s.startNode()
	if err != nil {
		return err
	}
	if s.opts.RealServices {
		err = s.reservePorts()
	} else {
		err = s.startOperators()
	}
	if err != nil {
		return err
	}
	s.layout = s.buildLayout()
	if !s.opts.Manual {
		s.mu.Lock()
		s.stagger()
		s.step(s.simNow())
		s.mu.Unlock()
		s.ticker.Add(1)
		go s.runCycle()
	}
	return nil
}

// Layout returns where the node and the services are.
func (s *Sim) Layout() Layout {
	l := s.layout // fixed after Start; copied so callers cannot change it
	l.Services = append([]ServiceLayout(nil), l.Services...)
	for i := range l.Services {
		l.Services[i].NodeID = append([]byte(nil), l.Services[i].NodeID...)
	}
	return l
}

func (s *Sim) buildLayout() Layout {
	l := Layout{
		DataFolder:      s.dataFolder(),
		PublicListener:  s.listeners[lnPublic].addr,
		PrivateListener: s.listeners[lnPrivate].addr,
		PostListener:    s.listeners[lnPost].addr,
	}
	if s.opts.FlowFolders {
		l.NewPostDir = filepath.Join(s.opts.Dir, NewPostFolder)
		l.OldNodeFolder = filepath.Join(s.opts.Dir, OldNodeFolder)
	}
	for _, id := range s.ids {
		if id.svc == nil {
			continue
		}
		l.Services = append(l.Services, ServiceLayout{
			Name:     id.svc.name,
			Dir:      id.svc.dir,
			Operator: id.svc.addr,
			NodeID:   append([]byte(nil), id.pub...),
			KeyFile:  s.keyPath(id),
		})
	}
	return l
}

// SetFault injects (or with FaultNone clears) a fault into a service's
// operator endpoint. If the port cannot be listened on again after
// FaultDown, the service stays down. With RealServices it does nothing.
func (s *Sim) SetFault(service string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.service(service)
	if s.closed || s.opts.RealServices {
		return
	}
	svc.fault = f
	if f == FaultDown {
		svc.down()
		return
	}
	if svc.ln == nil {
		s.relisten(svc)
	}
}

// SetNodeState sets what PostStates reports for an identity. NodeAbsent (or
// NodeUnknown) hides the identity from PostStates and SmesherIDs. Going to
// PROVING emits post_start, leaving it emits post_complete. Without Manual
// the cycle overrides it at the identity's next step; with RealServices and
// without Manual the identity's schedule restarts from the new state (PROVING
// until a proof arrives, IDLE for a while).
func (s *Sim) SetNodeState(id []byte, st model.NodeState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.byID[string(id)]
	if it == nil {
		panic(fmt.Sprintf("sim: SetNodeState: unknown identity %x", id))
	}
	it.onNode = st != model.NodeAbsent && st != model.NodeUnknown
	if !it.onNode {
		return
	}
	now := s.simNow()
	if st == model.NodeProving && it.node != model.NodeProving {
		it.challenge = s.randomBytes(32)
		s.emit(it, now, evPostStart, false)
	}
	if st != model.NodeProving && it.node == model.NodeProving {
		s.emit(it, now, evPostComplete, false)
	}
	it.node = st
	if s.opts.RealServices {
		if !s.opts.Manual {
			if st == model.NodeProving {
				it.phase, it.phaseAt, it.nextAt = phRequested, now, never
			} else {
				it.phase, it.phaseAt, it.nextAt = phIdle, now, now+s.draw(idleFor)
			}
		}
		it.kick()
	}
}

// HoldProofs (RealServices) makes the node ask each registered service for
// a proof once, and then no more until HoldProofs(false): a service starts
// its proof, and keeps it (DoneProving) once it has it, while the node stays
// PROVING. Tests use it to keep proofs under way for as long as they look.
func (s *Sim) HoldProofs(hold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdProofs = hold
	if !hold {
		for _, id := range s.ids {
			id.kick() // the ones that waited ask again at once
		}
	}
}

// SetOperatorBody makes a service's /status answer exactly body; "" returns
// to the body the cycle derives. Faults still take precedence. With
// RealServices the sim serves no /status and this has no effect.
func (s *Sim) SetOperatorBody(service string, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.service(service).body = body
}

// StopNode closes all three gRPC listeners and drops their connections and
// streams, like a node going down: registered post-services are forgotten.
// The cycle and the operators go on.
func (s *Sim) StopNode() error {
	s.nodeMu.Lock()
	defer s.nodeMu.Unlock()
	for _, l := range s.listeners {
		l.stop()
	}
	s.mu.Lock()
	for _, id := range s.ids {
		id.reg = 0 // the handlers, cancelled by stop, may return a little later
	}
	s.mu.Unlock()
	return nil
}

// StartNode brings the listeners back on the same addresses, with an empty
// event buffer as a restarted node has. Like a real node, which reads its
// keys only at start-up, a node that was stopped first re-reads
// DataFolder/identities/*.key and loads every valid key it has not loaded:
// a new one as an IDLE identity named after its file, the demo's unloaded
// key as the identity it is (see loadNewKeys); the others are unchanged.
func (s *Sim) StartNode() error {
	_, err := s.RestartNode()
	return err
}

// RestartNode is StartNode, also returning the names of the key files it
// newly loaded (none when the node was running).
func (s *Sim) RestartNode() ([]string, error) {
	select {
	case <-s.done:
		return nil, errors.New("sim: closed")
	default:
	}
	s.nodeMu.Lock()
	defer s.nodeMu.Unlock()
	var loaded []string
	if s.listeners[0].srv == nil {
		s.events.reset()
		var err error
		if loaded, err = s.loadNewKeys(true); err != nil {
			return nil, err
		}
	}
	return loaded, s.startListeners()
}

// NodeRunning tells whether the node's listeners are up (false after
// StopNode until StartNode).
func (s *Sim) NodeRunning() bool {
	s.nodeMu.Lock()
	defer s.nodeMu.Unlock()
	return s.listeners[0].srv != nil
}

// startListeners opens the three listeners; s.nodeMu must be held.
func (s *Sim) startListeners() error {
	for _, l := range s.listeners {
		if err := l.start(s.schema, &s.calls); err != nil {
			return err
		}
	}
	return nil
}

// Calls is how many times the node has been called on a unary method, named
// in full ("/spacemesh.v1.SmesherService/SmesherIDs"), since Start: tests
// wait for a client to have asked again instead of sleeping.
func (s *Sim) Calls(method string) int { return s.calls.get(method) }

// Close stops everything and removes the temp dir if Start made one.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		close(s.done) // wakes hanging operators and event streams
		s.ticker.Wait()
		s.StopNode()
		s.mu.Lock()
		s.closed = true
		for _, svc := range s.svcs {
			svc.down()
		}
		s.mu.Unlock()
		if s.http != nil {
			s.http.Close()
		}
		if s.tempDir != "" {
			s.closeErr = os.RemoveAll(s.tempDir)
		}
	})
	return s.closeErr
}

// service looks a service up by name; s.mu must be held. An unknown name is
// a mistake in the calling test and panics.
func (s *Sim) service(name string) *service {
	svc := s.svcs[name]
	if svc == nil {
		panic(fmt.Sprintf("sim: unknown service %q", name))
	}
	return svc
}

// simNow is the compressed time since Start.
func (s *Sim) simNow() time.Duration {
	return time.Duration(float64(time.Since(s.start)) * s.opts.Speed)
}

// clockTime is the node's clock at a sim time, for event timestamps.
func (s *Sim) clockTime(t time.Duration) time.Time {
	return s.startAt.Add(time.Duration(float64(t) / s.opts.Speed))
}

func (s *Sim) randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
	return b
}

// ident is one identity: its key, its PoST metadata, what the node says and
// where its proving cycle is.
type ident struct {
	name   string // e.g. post01; the key file is name + ".key"
	pub    ed25519.PublicKey
	priv   ed25519.PrivateKey
	meta   model.PostMetadata
	svc    *service // nil: no post-service runs for it
	onNode bool     // the node loaded its key
	node   model.NodeState
	cycle
	// reg is the token of the Register stream serving this identity, 0 when
	// none is connected (RealServices).
	reg uint64
	// wake tells the identity's Register handler that its state changed.
	wake chan struct{}
	// asked is the challenge last asked for on the Register stream whose
	// token is askedOn (see HoldProofs).
	asked   []byte
	askedOn uint64
}

// kick wakes the identity's Register handler, if any, without blocking.
func (id *ident) kick() {
	select {
	case id.wake <- struct{}{}:
	default:
	}
}

func (id *ident) keyFile() string { return id.name + ".key" }
