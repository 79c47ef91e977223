package backend

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/fsguard"
	"postdeck/backend/identities"
	"postdeck/backend/nodeapi"
	"postdeck/backend/operator"
	"postdeck/model"
)

// Poll defaults for a config that leaves them out.
const (
	DefaultPollInterval = 2 * time.Second
	DefaultPollWorkers  = 32
)

// Poller gathers every source once per interval, joins them into a snapshot
// and hands the newest snapshot to its subscribers. One poller serves every
// view of a process.
type Poller struct {
	cfg   *config.Config
	nodes []*polledNode // the config's nodes, the first first
	ops   *operator.Client
	meta  *identities.MetadataCache
	fsg   *fsguard.Guard
	// remote gives other hosts' parts of each snapshot (SetRemote).
	remote func() []model.Part
	// byService is each service's node, by service name.
	byService map[string]*polledNode
	backoff   *backoffTable
	now       func() time.Time // the backoff clock; tests move it
	// recheck is how long a file found good (a service's metadata, the key
	// files) is taken as it was without looking again: at 1000 services
	// two stats per service every cycle were a tenth of the dashboard's CPU.
	recheck time.Duration

	busy    atomic.Bool
	cycles  atomic.Int64
	skipped atomic.Int64

	// decorate adds what the poller does not observe itself (processes,
	// disk groups, pending stops); hook sees each snapshot before it is
	// published. Both are set once before Run.
	decorate func([]model.ServiceObs)
	hook     func(*model.Snapshot)
	// hooks are added by AddHook and run before hook, in order.
	hooks []func(*model.Snapshot)

	mu        sync.Mutex
	urgent    map[string]bool // operator addresses asked despite backoff
	subs      map[int]chan model.Snapshot
	nextSub   int
	latest    model.Snapshot
	hasLatest bool
}

// polledNode is one configured node: its client, its services and what
// the poll cycle keeps of it.
type polledNode struct {
	name     string // "" when the config has one node
	cfg      *config.NodeConfig
	client   *nodeapi.Client
	services []int // its services' places in cfg.Services
	keys     *identities.KeyDirCache
	// lastKeys is the last good read of the identities folder, shown while
	// the folder does not answer; only the poll cycle touches it.
	lastKeys []model.KeyFile
	// lastUp is when the node last answered (Unix ns; 0: not yet). Atomic:
	// PollOnce may run beside Run's cycles.
	lastUp atomic.Int64
	// hooks see this node's part of each snapshot before the parts are
	// merged (its event feed), in order.
	hooks []func(*model.Snapshot)
}

// NewPoller polls the config's first node through node (nil = no node
// configured), any others through the clients SetNodeClients gives, and
// the configured services' operator endpoints through ops.
func NewPoller(cfg *config.Config, node *nodeapi.Client, ops *operator.Client) *Poller {
	p := &Poller{
		cfg: cfg, ops: ops,
		meta: identities.NewMetadataCache(),
		fsg:  fsguard.New(),
		now:  time.Now,
		subs: map[int]chan model.Snapshot{},

		recheck:   identities.FileRecheck,
		byService: map[string]*polledNode{},
	}
	// A nil client reports every listener "not configured".
	for _, nc := range cfg.NodeRefs() {
		pn := &polledNode{cfg: nc, client: &nodeapi.Client{}, keys: identities.NewKeyDirCache()}
		if cfg.Fleet() {
			pn.name = nc.Name
		}
		for i := range cfg.Services {
			if cfg.NodeOf(&cfg.Services[i]) == nc {
				pn.services = append(pn.services, i)
				p.byService[cfg.Services[i].Name] = pn
			}
		}
		p.nodes = append(p.nodes, pn)
	}
	if node != nil {
		p.nodes[0].client = node
	}
	// The first retry skips about one cycle; later ones double up to the cap.
	p.backoff = newBackoffTable(min(2*p.interval(), MaxOperatorBackoff), MaxOperatorBackoff)
	return p
}

func (p *Poller) interval() time.Duration {
	if d := p.cfg.Poll.Interval.Duration; d > 0 {
		return d
	}
	return DefaultPollInterval
}

func (p *Poller) workers() int {
	if n := p.cfg.Poll.Workers; n > 0 {
		return n
	}
	return DefaultPollWorkers
}

// SetRemote installs the source of other hosts' parts (backend/remote),
// merged into each snapshot after this machine's nodes; it must not
// block. Call it before polling.
func (p *Poller) SetRemote(parts func() []model.Part) { p.remote = parts }

// SetNodeClients gives the clients of the nodes after the first, in the
// config's order (a missing one reports every listener "not configured").
// Call it before polling.
func (p *Poller) SetNodeClients(clients []*nodeapi.Client) {
	for i, c := range clients {
		if i+1 < len(p.nodes) && c != nil {
			p.nodes[i+1].client = c
		}
	}
}

// AddNodeHook adds h to the hooks run on the named node's part of each
// snapshot before the parts are merged ("" is the first node). Call it
// before Run.
func (p *Poller) AddNodeHook(name string, h func(*model.Snapshot)) {
	n := p.nodes[0]
	for _, x := range p.nodes {
		if x.name == name {
			n = x
		}
	}
	n.hooks = append(n.hooks, h)
}

// PollOnce gathers one cycle's inputs and joins them, without the node
// hooks (Run's cycles run them).
func (p *Poller) PollOnce(ctx context.Context) model.Snapshot {
	return p.merge(p.pollParts(ctx))
}

// pollParts gathers one cycle's inputs and joins each node's. The nodes,
// their key folders and the services are asked concurrently; every call
// has its own timeout, so the cycle lasts about as long as its slowest
// single call, and a node that hangs holds up no other's part.
func (p *Poller) pollParts(ctx context.Context) []model.Snapshot {
	start := time.Now()
	ins := make([]model.Inputs, len(p.nodes))
	var wg sync.WaitGroup
	for i, n := range p.nodes {
		ins[i].At = start
		wg.Go(func() { ins[i].Node = n.client.View(ctx) })
		wg.Go(func() { ins[i].Keys, ins[i].KeysErr = n.keyFiles(p) })
	}
	obs := p.services(ctx)
	wg.Wait()
	if p.decorate != nil {
		p.decorate(obs)
	}
	parts := make([]model.Snapshot, len(p.nodes))
	for i, n := range p.nodes {
		ins[i].Services, obs = obs[:len(n.services)], obs[len(n.services):]
		parts[i] = model.Join(ins[i])
		parts[i].Duration = time.Since(start)
	}
	return parts
}

// merge puts the nodes' parts into one snapshot (model.MergeNodes).
func (p *Poller) merge(parts []model.Snapshot) model.Snapshot {
	all := make([]model.Part, len(p.nodes), len(p.nodes)+8)
	for i, n := range p.nodes {
		all[i] = model.Part{Node: n.name, Snap: parts[i]}
	}
	if p.remote != nil {
		all = append(all, p.remote()...)
	}
	snap := model.MergeNodes(all)
	for i := range p.nodes {
		n := p.nodes[i]
		if snap.Nodes[i].Up() {
			n.lastUp.Store(snap.At.UnixNano())
		}
		if at := n.lastUp.Load(); at != 0 {
			snap.Nodes[i].LastAnswer = time.Unix(0, at)
		}
	}
	p.noteUrgent(&snap)
	return snap
}

// noteUrgent remembers the operator endpoints of identities the node wants a
// proof from: those are asked every cycle even while backing off, so a
// service that comes back is seen at once, not up to 30 s later.
func (p *Poller) noteUrgent(s *model.Snapshot) {
	urgent := map[string]bool{}
	for i := range s.Rows {
		if r := &s.Rows[i]; r.NodeState == model.NodeProving && r.Operator != "" {
			urgent[r.Operator] = true
		}
	}
	p.mu.Lock()
	p.urgent = urgent
	p.mu.Unlock()
}

func (p *Poller) isUrgent(addr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.urgent[addr]
}

// SetDecorator installs d, called with each cycle's service observations
// before the join. Call it before Run.
func (p *Poller) SetDecorator(d func([]model.ServiceObs)) { p.decorate = d }

// SetHook installs h, called with each snapshot Run is about to publish, in
// the poller's goroutine: h must not block. Call it before Run.
func (p *Poller) SetHook(h func(*model.Snapshot)) { p.hook = h }

// AddHook adds h to the hooks run on each snapshot Run is about to publish,
// before the one SetHook installs (which may read what they add), in the
// poller's goroutine: h must not block. Call it before Run.
func (p *Poller) AddHook(h func(*model.Snapshot)) { p.hooks = append(p.hooks, h) }

// PollService observes one service afresh — the node's view and its operator
// API now, ignoring any backoff — and returns its row. Used to re-check a
// verdict at the moment of acting on it, not from a snapshot seconds old.
func (p *Poller) PollService(ctx context.Context, name string) (model.Row, error) {
	var svc *config.ServiceConfig
	for i := range p.cfg.Services {
		if p.cfg.Services[i].Name == name {
			svc = &p.cfg.Services[i]
		}
	}
	node := p.byService[name]
	if svc == nil || node == nil {
		return model.Row{}, fmt.Errorf("no service %q in the config", name)
	}
	in := model.Inputs{At: time.Now(), Node: node.client.View(ctx)}
	o := p.metadata(*svc)
	if svc.Operator == "" {
		o.StatusErr = noOperatorMsg
	} else if st, err := p.ops.Status(ctx, svc.Operator); err != nil {
		o.StatusErr = err.Error()
	} else {
		o.Status = st
	}
	in.Services = []model.ServiceObs{o}
	if p.decorate != nil {
		p.decorate(in.Services)
	}
	for _, r := range model.Join(in).Rows {
		if r.Service == name {
			r.Node = node.name
			return r, nil
		}
	}
	return model.Row{}, fmt.Errorf("service %q did not come out of the join", name)
}

// keyFiles reads the node's identities folder within the file timeout.
func (n *polledNode) keyFiles(p *Poller) ([]model.KeyFile, string) {
	if n.cfg.DataFolder == "" {
		return nil, ""
	}
	folder := n.cfg.DataFolder
	keys, err := fsguard.Guarded(p.fsg, "keys:"+folder, "identities folder in "+folder, p.fileTimeout(), func() ([]model.KeyFile, error) {
		return n.keys.Read(folder, p.recheck)
	})
	if err != nil {
		return n.lastKeys, err.Error()
	}
	n.lastKeys = keys
	if _, err := fsguard.Guarded(p.fsg, "journal:"+folder, "node data folder "+folder, p.fileTimeout(), func() (os.FileInfo, error) {
		return os.Stat(filepath.Join(folder, model.MergeJournalName))
	}); err == nil {
		return keys, fmt.Sprintf("an interrupted merge left %s in %s: run `postdeck merge --recover --to %s` before starting the node",
			model.MergeJournalName, folder, folder)
	}
	return keys, ""
}

// services observes every configured service with at most workers() calls in
// flight, results in the nodes' order, each node's in config order.
func (p *Poller) services(ctx context.Context) []model.ServiceObs {
	var svcs []config.ServiceConfig
	for _, n := range p.nodes {
		for _, i := range n.services {
			svcs = append(svcs, p.cfg.Services[i])
		}
	}
	obs := make([]model.ServiceObs, len(svcs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(p.workers(), len(svcs)) {
		wg.Go(func() {
			for i := range jobs {
				obs[i] = p.observe(ctx, svcs[i])
			}
		})
	}
	for i := range svcs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return obs
}

// observe reads one service's metadata (cached) and asks its operator API.
func (p *Poller) observe(ctx context.Context, s config.ServiceConfig) model.ServiceObs {
	o := p.metadata(s)
	o.Status, o.StatusErr = p.operatorStatus(ctx, s.Operator)
	return o
}

// metadata reads a service's metadata within the file timeout. When it
// cannot, the last good read still tells whose data the directory holds.
func (p *Poller) metadata(s config.ServiceConfig) model.ServiceObs {
	o := model.ServiceObs{Name: s.Name, Dir: s.Dir, Operator: s.Operator, RemoteK2Pow: s.RemoteK2Pow != ""}
	if m, ok := p.meta.Recent(s.Dir, p.recheck); ok {
		o.Meta = m
		return o
	}
	m, err := fsguard.Guarded(p.fsg, "meta:"+s.Dir, model.MetadataFile+" in "+s.Dir, p.fileTimeout(), func() (*model.PostMetadata, error) {
		return p.meta.Shared(s.Dir)
	})
	if err == nil {
		o.Meta = m
		return o
	}
	o.MetaErr = err.Error()
	if last, ok := p.meta.LastGood(s.Dir); ok {
		o.Meta = last
	}
	return o
}

// fileTimeout bounds each file read of a cycle, like an operator call.
func (p *Poller) fileTimeout() time.Duration {
	if d := p.cfg.Poll.Timeout.Duration; d > 0 {
		return d
	}
	return operator.DefaultTimeout
}

// operatorStatus asks addr unless it is backing off; while it is, the last
// error is reported again with the time to the next attempt, so the row never
// looks fine.
func (p *Poller) operatorStatus(ctx context.Context, addr string) (model.OperatorStatus, string) {
	if addr == "" {
		return model.OperatorStatus{}, noOperatorMsg
	}
	if lastErr, in, waiting := p.backoff.wait(addr, p.now()); waiting && !p.isUrgent(addr) {
		return model.OperatorStatus{}, retrying(lastErr, in)
	}
	st, err := p.ops.Status(ctx, addr)
	if err != nil {
		if ctx.Err() == nil { // shutting down is not the endpoint's fault
			p.backoff.failed(addr, err.Error(), p.now())
		}
		return model.OperatorStatus{}, err.Error()
	}
	p.backoff.succeeded(addr)
	return st, ""
}

const noOperatorMsg = "no operator address for this service — start post-service with --operator-address ip:port and set operator in postdeck's config"

func retrying(msg string, in time.Duration) string {
	return fmt.Sprintf("%s (retrying in %ds)", msg, int((in+time.Second-1)/time.Second))
}

// PollStats counts Run's cycles, for tests and the status line.
type PollStats struct {
	Cycles  int64 // cycles completed and published
	Skipped int64 // ticks that found the previous cycle still running
}

// Stats returns the counters so far.
func (p *Poller) Stats() PollStats {
	return PollStats{Cycles: p.cycles.Load(), Skipped: p.skipped.Load()}
}

// Run polls at once and then every interval until ctx ends, publishing each
// snapshot. A tick that finds the previous cycle still running is skipped,
// never queued. Run returns after the cycle in flight has finished.
func (p *Poller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	ticker := time.NewTicker(p.interval())
	defer ticker.Stop()
	p.tick(ctx, &wg)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			p.tick(ctx, &wg)
		}
	}
}

func (p *Poller) tick(ctx context.Context, wg *sync.WaitGroup) {
	if !p.busy.CompareAndSwap(false, true) {
		p.skipped.Add(1)
		return
	}
	wg.Go(func() {
		defer p.busy.Store(false)
		parts := p.pollParts(ctx)
		if ctx.Err() != nil {
			return // cut short by shutdown: not a true picture
		}
		for i, n := range p.nodes {
			for _, h := range n.hooks {
				h(&parts[i])
			}
		}
		snap := p.merge(parts)
		for _, h := range p.hooks {
			h(&snap)
		}
		if p.hook != nil {
			p.hook(&snap)
		}
		p.publish(snap)
		p.cycles.Add(1)
	})
}

// Subscribe returns a channel that always holds the newest snapshot not yet
// read: an unread older one is replaced, so a slow reader skips snapshots and
// never holds up the poller. The latest snapshot, if any, is there at once.
// Snapshots are shared between subscribers: treat them as read-only. The
// returned func unsubscribes and closes the channel.
func (p *Poller) Subscribe() (<-chan model.Snapshot, func()) {
	ch := make(chan model.Snapshot, 1)
	p.mu.Lock()
	id := p.nextSub
	p.nextSub++
	p.subs[id] = ch
	if p.hasLatest {
		ch <- p.latest
	}
	p.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			p.mu.Lock()
			delete(p.subs, id)
			close(ch)
			p.mu.Unlock()
		})
	}
}

// Latest returns the newest published snapshot, false before the first.
func (p *Poller) Latest() (model.Snapshot, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latest, p.hasLatest
}

func (p *Poller) publish(s model.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latest, p.hasLatest = s, true
	for _, ch := range p.subs {
		// Only publish sends, under p.mu: once an unread snapshot is taken
		// out, the buffer of one is free and the send cannot block.
		select {
		case <-ch:
		default:
		}
		ch <- s
	}
}

// AttachEvents starts an events feed on every node for as long as ctx
// lasts and adds each one's Decorate to its node's hooks, so every
// published snapshot carries the node-wide events and every row its
// timeline and throughput; onEvent (may be nil) hears each new event (the
// epoch ledger's HistoryKeeper.OnEvent). The first node's feed is
// returned. Call it before p.Run.
func AttachEvents(ctx context.Context, p *Poller, onEvent func(model.Event)) *nodeapi.EventFeed {
	var first *nodeapi.EventFeed
	for _, n := range p.nodes {
		f := nodeapi.NewEventFeed(n.client, nodeapi.EventFeedOptions{OnEvent: onEvent})
		n.hooks = append(n.hooks, f.Decorate)
		go f.Run(ctx)
		if first == nil {
			first = f
		}
	}
	return first
}
