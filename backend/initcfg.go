package backend

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"

	"postdeck/backend/config"
	"postdeck/backend/identities"
	"postdeck/backend/proc"
	"postdeck/model"
)

// InitOptions are what `postdeck init` is told; everything else it finds.
type InitOptions struct {
	NodeJSONConfig  string // the node's config.mainnet.json
	DataFolder      string // the node's data folder (holds identities/)
	PostListener    string
	PrivateListener string
	PublicListener  string
	ProcRoot        string // where to look for running post-services; "/proc" when empty
	// Existing is the config a node is being added to (`init --add-node`),
	// nil for a first config. The post-services it configures already, and
	// those that dial another of its nodes, are not this node's.
	Existing *config.Config
}

// BuildInitConfig puts together a first config: the node section from the
// flags and the node's JSON config (flags win), one [[service]] per running
// post-service, checked against the identities folder. The notes tell the
// user what was found and what to check; an error means the options
// themselves are wrong.
func BuildInitConfig(opts InitOptions) (*config.Config, []string, error) {
	cfg := &config.Config{Node: config.NodeConfig{
		PostListener:    opts.PostListener,
		PrivateListener: opts.PrivateListener,
		PublicListener:  opts.PublicListener,
		DataFolder:      absPath(opts.DataFolder),
	}}
	if err := checkListenerFlags(cfg.Node); err != nil {
		return nil, nil, err
	}
	var notes []string
	if opts.NodeJSONConfig != "" {
		js, err := config.ReadNodeJSON(opts.NodeJSONConfig)
		if err != nil {
			return nil, nil, err
		}
		cfg.Node.JSONConfig = absPath(opts.NodeJSONConfig)
		notes = append(notes, config.MergeNodeJSON(&cfg.Node, js)...)
	}
	config.NormalizeListeners(cfg)
	in := &initScan{cfg: cfg, existing: opts.Existing}
	in.readKeys()
	in.scanServices(opts.ProcRoot)
	in.unservedKeys()
	if cfg.Node.PostListener == "" {
		in.note("no post listener known: give --post-listener or --node-config; without it postdeck cannot tell which identities the node wants proofs from")
	}
	config.ApplyDefaults(cfg)
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("the config found is not usable: %v", err)
	}
	return cfg, append(notes, in.notes...), nil
}

// checkListenerFlags rejects a listener flag that is not host:port.
func checkListenerFlags(n config.NodeConfig) error {
	for _, f := range []struct{ flag, key, v string }{
		{"--post-listener", "post_listener", n.PostListener},
		{"--private-listener", "private_listener", n.PrivateListener},
		{"--public-listener", "public_listener", n.PublicListener},
	} {
		if msg := config.ListenerProblem(f.key, f.v); msg != "" {
			return fmt.Errorf("%s: %s", f.flag, msg)
		}
	}
	return nil
}

func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// initScan carries what init has found so far.
type initScan struct {
	cfg      *config.Config
	existing *config.Config // see InitOptions.Existing
	keys     []model.KeyFile
	keysOK   bool
	served   map[string]bool // public keys (as string) some service proves for
	notes    []string
	byDir    map[string]int // dir → PID of the service already added
	ops      map[string]bool
	metaIDs  map[string]string // NodeId → dir, to catch one identity in two services
}

func (in *initScan) note(format string, args ...any) {
	in.notes = append(in.notes, fmt.Sprintf(format, args...))
}

// readKeys lists the identities folder and notes every problem.
func (in *initScan) readKeys() {
	dataFolder := in.cfg.Node.DataFolder
	if dataFolder == "" {
		in.note("no data folder known: give --data-folder or --node-config so postdeck can check the key files")
		return
	}
	keys, err := identities.ReadKeyDir(dataFolder)
	if err != nil {
		in.note("%v", err)
		return
	}
	in.keys, in.keysOK = keys, true
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
		if k.Problem != "" {
			in.note("identities/%s: %s", k.Name, k.Problem)
		}
	}
	if len(keys) == 0 {
		in.note("no .key files in %s: the node will create local.key and run a single supervised identity", filepath.Join(dataFolder, "identities"))
		return
	}
	in.note("found %d key file(s) in %s: %s", len(keys), filepath.Join(dataFolder, "identities"), strings.Join(names, ", "))
}

// scanServices adds one [[service]] per running post-service.
func (in *initScan) scanServices(procRoot string) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	procs, err := proc.ScanPostServices(procRoot)
	if err != nil {
		in.note("%v: add a [[service]] per PoST data directory by hand", err)
		return
	}
	if len(procs) == 0 {
		in.note("no running post-service found in %s: add a [[service]] per PoST data directory by hand", procRoot)
		return
	}
	in.byDir, in.ops, in.metaIDs, in.served = map[string]int{}, map[string]bool{}, map[string]string{}, map[string]bool{}
	if in.existing != nil {
		// Their operator addresses are taken as much as this node's are.
		for _, s := range in.existing.Services {
			if s.Operator != "" {
				in.ops[config.DialAddress(s.Operator)] = true
			}
		}
	}
	for _, p := range procs {
		in.addService(p)
	}
}

func (in *initScan) addService(p proc.PostServiceProc) {
	if p.Dir == "" {
		in.note("post-service pid %d has no --dir: skipped", p.PID)
		return
	}
	dir := filepath.Clean(p.Dir)
	if pid, dup := in.byDir[dir]; dup {
		in.note("post-services pid %d and pid %d both use %s: only one can prove for it; stop one", pid, p.PID, dir)
		return
	}
	in.byDir[dir] = p.PID
	if in.existing != nil && !in.ofNewNode(p, dir) {
		return
	}
	s := config.ServiceConfig{Name: in.uniqueName(filepath.Base(dir)), Dir: dir, Operator: config.DialAddress(p.Operator)}
	switch {
	case s.Operator == "":
		in.note("post-service for %s has no --operator-address: postdeck cannot see its state; add --operator-address %s", dir, in.freeOperator())
	case config.AddrProblem(s.Operator) != "":
		in.note("post-service for %s: --operator-address %q is not host:port; fix it, then set operator in the config", dir, p.Operator)
		s.Operator = ""
	case in.ops[s.Operator]:
		in.note("post-service for %s uses --operator-address %s like another one: only one of them can listen there; give it %s", dir, s.Operator, in.freeOperator())
		s.Operator = ""
	}
	if s.Operator != "" {
		in.ops[s.Operator] = true
	}
	in.checkAddress(p, dir)
	in.checkIdentity(dir)
	in.proposeBin(&s, p, dir)
	in.cfg.Services = append(in.cfg.Services, s)
}

// uniqueName is base, or base-2, base-3… when taken.
func (in *initScan) uniqueName(base string) string {
	if base == "" || base == "." || base == string(filepath.Separator) {
		base = "service"
	}
	var existing []config.ServiceConfig
	if in.existing != nil {
		existing = in.existing.Services
	}
	taken := func(n string) bool {
		for _, s := range append(existing, in.cfg.Services...) {
			if s.Name == n {
				return true
			}
		}
		return false
	}
	name := base
	for i := 2; taken(name); i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}

// freeOperator suggests an operator address no service uses yet.
func (in *initScan) freeOperator() string {
	for port := 50051; ; port++ {
		a := fmt.Sprintf("127.0.0.1:%d", port)
		if !in.ops[a] {
			return a
		}
	}
}

// ofNewNode says whether a post-service found running proves for the node
// being added to an existing config: it is not configured there yet and
// dials this node's post listener (taken from the first such service when
// none is known), not another configured node's. It notes why when not.
func (in *initScan) ofNewNode(p proc.PostServiceProc, dir string) bool {
	for _, s := range in.existing.Services {
		if filepath.Clean(s.Dir) == dir {
			in.note("post-service for %s is [[service]] %q already: left as it is", dir, s.Name)
			return false
		}
	}
	addr := hostPortOfURL(p.Address)
	if addr == "" {
		in.note("post-service for %s: --address %q is not a URL such as http://127.0.0.1:9094, so which node it proves for is unknown: not added", dir, p.Address)
		return false
	}
	addr = config.DialAddress(addr)
	for _, n := range in.existing.AllNodes() {
		if n.PostListener != "" && n.PostListener == addr {
			who := "the config's first node"
			if n.Name != "" {
				who = fmt.Sprintf("the config's node %q", n.Name)
			}
			in.note("post-service for %s dials %s, the post listener of %s: not added to this one", dir, addr, who)
			return false
		}
	}
	if post := in.cfg.Node.PostListener; post != "" && post != addr {
		in.note("post-service for %s dials %s, not this node's post listener %s: not added", dir, p.Address, post)
		return false
	}
	return true
}

// checkAddress compares the post-service's --address with the node's post
// listener, and takes the listener from it when none is known yet.
func (in *initScan) checkAddress(p proc.PostServiceProc, dir string) {
	addr := hostPortOfURL(p.Address)
	node := &in.cfg.Node
	switch {
	case addr == "":
		in.note("post-service for %s: --address %q is not a URL such as http://127.0.0.1:9094", dir, p.Address)
	case node.PostListener == "" && !config.IsPortZero(addr):
		node.PostListener = config.DialAddress(addr)
		in.note("post_listener %s taken from the --address of the post-service for %s", node.PostListener, dir)
	case node.PostListener != "" && config.DialAddress(addr) != node.PostListener:
		in.note("post-service for %s dials %s but the node's post listener is %s: one of them is wrong", dir, p.Address, node.PostListener)
	}
}

// hostPortOfURL is host:port of http(s)://host:port, or "".
func hostPortOfURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Port() != "" {
		return u.Host
	}
	switch u.Scheme {
	case "http":
		return net.JoinHostPort(u.Hostname(), "80")
	case "https":
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return ""
}

// checkIdentity ties the service's data directory to a key file through its
// metadata's NodeId.
func (in *initScan) checkIdentity(dir string) {
	m, err := identities.ReadMetadata(dir)
	if err != nil {
		in.note("%v", err)
		return
	}
	id := string(m.NodeID)
	short := model.ShortID(m.NodeID, 12)
	if other, dup := in.metaIDs[id]; dup {
		in.note("%s and %s hold the same identity %s…: the node accepts only one post-service per identity", other, dir, short)
	}
	in.metaIDs[id] = dir
	in.served[id] = true
	if !in.keysOK {
		return
	}
	for _, k := range in.keys {
		if bytes.Equal(k.Public, m.NodeID) {
			in.note("%s proves for identity %s (%s…)", dir, k.Name, short)
			return
		}
	}
	in.note("%s proves for identity %s…, which has no key file in %s: the node does not know it",
		dir, short, filepath.Join(in.cfg.Node.DataFolder, "identities"))
}

// unservedKeys notes the identities no running post-service proves for.
func (in *initScan) unservedKeys() {
	var names []string
	for _, k := range in.keys {
		if k.Public != nil && !in.served[string(k.Public)] {
			names = append(names, k.Name)
		}
	}
	if len(names) > 0 {
		in.note("no running post-service found for %s: add a [[service]] for each identity's PoST data directory", strings.Join(names, ", "))
	}
}
