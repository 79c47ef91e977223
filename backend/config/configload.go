package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	toml "github.com/pelletier/go-toml/v2"
)

// Defaults for keys the config file leaves out.
const (
	DefaultInterval    = 2 * time.Second
	DefaultTimeout     = 1 * time.Second
	DefaultWorkers     = 32
	DefaultNodeTimeout = 3 * time.Second
	DefaultTheme       = "dark"
	DefaultMaxPerDisk  = 1
	DefaultStopGrace   = 10 * time.Second
	// [timing]: mainnet.
	DefaultLayerDuration  = 5 * time.Minute
	DefaultLayersPerEpoch = 4032
	DefaultPoetPhaseShift = 240 * time.Hour
	DefaultPoetCycleGap   = 12 * time.Hour
	// [plan]
	DefaultReadMiBs = 100
	DefaultK2Pow    = 30 * time.Minute
	// [alerts]
	DefaultAlertDebounce = 5 * time.Minute
	// DefaultRewardsStopped is how long an identity earning this epoch may
	// go without a reward before rewards-stopped is raised.
	DefaultRewardsStopped = 24 * time.Hour
	DefaultAlertTimeout   = 10 * time.Second
)

// DefaultGenesis is mainnet's genesis, 2023-07-14T08:00:00Z.
var DefaultGenesis = time.Date(2023, 7, 14, 8, 0, 0, 0, time.UTC)

// DefaultPath is $XDG_CONFIG_HOME/postdeck/config.toml, falling back to
// ~/.config/postdeck/config.toml, and to postdeck.toml in the current folder
// when there is no home either.
func DefaultPath() string {
	if x := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "postdeck", "config.toml")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".config", "postdeck", "config.toml")
	}
	return "postdeck.toml"
}

// ConfigError is one problem in a config file, located for the user:
// "config.toml:12: [[service]] #2 "data2": key "operater" is not known".
type ConfigError struct {
	File    string
	Line    int    // 0 when unknown
	Context string // "[node]", `[[service]] #2 "data2"`, or ""
	Message string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Context != "" {
		b.WriteString(e.Context + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Load reads, checks and completes postdeck's TOML config. Every
// problem found at one stage is reported (joined, in line order), each naming
// the file, line and key and saying what is expected. Defaults fill keys the
// file leaves out; if [node] config names the node's JSON config, it fills the
// listeners and data folder left empty. Listeners come back dialable
// (0.0.0.0 becomes 127.0.0.1).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no config file at %s: run `postdeck init` to write one", path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read config file %s: %v", path, err)
	}
	idx, err := indexDoc(data)
	if err != nil {
		return nil, syntaxError(path, data)
	}
	if errs := idx.typeErrors(path); len(errs) > 0 {
		return nil, joinConfigErrors(errs)
	}
	cfg := &Config{Path: path}
	if err := decodeStrict(data, cfg, idx.arrayOf("node")); err != nil {
		return nil, decodeError(path, idx, err)
	}
	applyDefaults(cfg, idx.has)
	if errs := locate(path, idx, cfg.allProblems(idx.hasAt)); len(errs) > 0 {
		return nil, joinConfigErrors(errs)
	}
	NormalizeListeners(cfg)
	if err := mergeJSONInto(cfg, idx); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Validate checks a config built in memory (by `postdeck init`, say) with the
// same rules LoadConfig applies to a file.
func (c *Config) Validate() error {
	var errs []*ConfigError
	for _, p := range c.allProblems(nil) {
		errs = append(errs, &ConfigError{File: "config", Context: c.context(p.table, p.index), Message: p.msg})
	}
	return joinConfigErrors(errs)
}

// fileDoc and fileDocs are the file's shapes: one [node] section, or
// several [[node]] blocks. Config itself keeps the first node apart from
// the rest, so code that knows one node reads Config.Node either way.
type fileDoc struct {
	*Config
	Node NodeConfig `toml:"node"`
}

type fileDocs struct {
	*Config
	Nodes []NodeConfig `toml:"node"`
}

func decodeStrict(data []byte, cfg *Config, nodeBlocks bool) error {
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if nodeBlocks {
		doc := fileDocs{Config: cfg}
		err := dec.Decode(&doc)
		cfg.setNodes(doc.Nodes)
		return err
	}
	doc := fileDoc{Config: cfg}
	err := dec.Decode(&doc)
	cfg.Node = doc.Node
	return err
}

// syntaxError reports a file that is not TOML at all; the decoder's error
// carries the position.
func syntaxError(path string, data []byte) error {
	var c fileDoc
	err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		return &ConfigError{File: path, Line: line, Message: "not valid TOML: " + strings.TrimPrefix(de.Error(), "toml: ")}
	}
	return &ConfigError{File: path, Message: fmt.Sprintf("not valid TOML: %v", err)}
}

// decodeError turns the decoder's errors into located ConfigErrors: unknown
// keys get a suggestion, anything else its position and key.
func decodeError(path string, idx *docIndex, err error) error {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) {
		var errs []*ConfigError
		for i := range sm.Errors {
			errs = append(errs, unknownKeyError(path, idx, &sm.Errors[i]))
		}
		return joinConfigErrors(errs)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if k := de.Key(); len(k) == 1 && schemaTable(k[0]) != nil {
			msg = shapeMessage(schemaTable(k[0]))
		} else if len(k) > 0 {
			msg = fmt.Sprintf("key %q: %s", strings.Join(k, "."), msg)
		}
		return &ConfigError{File: path, Line: line, Message: msg}
	}
	return &ConfigError{File: path, Message: err.Error()}
}

// shapeMessage explains a table written in the wrong form.
func shapeMessage(t *schemaTbl) string {
	if t.array {
		return fmt.Sprintf("%q must be written as [[%s]] sections", t.name, t.name)
	}
	return fmt.Sprintf("%q must be written as one [%s] section", t.name, t.name)
}

// unknownKeyError words one key or table the config does not have.
func unknownKeyError(path string, idx *docIndex, e *toml.DecodeError) *ConfigError {
	line, _ := e.Position()
	key := []string(e.Key())
	ce := &ConfigError{File: path, Line: line}
	if len(key) == 0 {
		ce.Message = strings.TrimPrefix(e.Error(), "toml: ")
		return ce
	}
	if schemaTable(key[0]) == nil && (len(key) > 1 || !idx.rootHasKey(key[0])) {
		ce.Message = fmt.Sprintf("table [%s] is not known%s", key[0], suggestTable(key[0]))
		return ce
	}
	if s := idx.sectionAt(line); s != nil && s.table != "" {
		ce.Context = idx.sectionContext(s)
	}
	name := key[len(key)-1]
	table := ""
	if len(key) > 1 {
		table = key[len(key)-2]
	}
	where := ""
	if table == "" {
		where = " at the top level"
	}
	ce.Message = fmt.Sprintf("key %q is not known%s%s", name, where, suggestKey(table, name))
	return ce
}

// ApplyDefaults fills every poll and ui setting left at zero with its
// default, for configs built in memory.
func ApplyDefaults(c *Config) { applyDefaults(c, notPresent) }

// applyDefaults fills the keys that are not present; present says whether
// the file set a key (a value set to 0 in the file is an error, not a
// request for the default).
func applyDefaults(c *Config, present func(table, key string) bool) {
	set := func(table, key string, isZero bool, fill func()) {
		if isZero && !present(table, key) {
			fill()
		}
	}
	set("poll", "interval", c.Poll.Interval.Duration == 0, func() { c.Poll.Interval.Duration = DefaultInterval })
	set("poll", "timeout", c.Poll.Timeout.Duration == 0, func() { c.Poll.Timeout.Duration = DefaultTimeout })
	set("poll", "workers", c.Poll.Workers == 0, func() { c.Poll.Workers = DefaultWorkers })
	set("poll", "node_timeout", c.Poll.NodeTimeout.Duration == 0, func() { c.Poll.NodeTimeout.Duration = DefaultNodeTimeout })
	set("ui", "theme", c.UI.Theme == "", func() { c.UI.Theme = DefaultTheme })
	set("proving", "max_proving_per_disk", c.Proving.MaxPerDisk == 0, func() { c.Proving.MaxPerDisk = DefaultMaxPerDisk })
	set("proving", "stop_grace", c.Proving.StopGrace.Duration == 0, func() { c.Proving.StopGrace.Duration = DefaultStopGrace })
	t := &c.Timing
	set("timing", "genesis", t.Genesis.IsZero(), func() { t.Genesis.Time = DefaultGenesis })
	set("timing", "layer_duration", t.LayerDuration.Duration == 0, func() { t.LayerDuration.Duration = DefaultLayerDuration })
	set("timing", "layers_per_epoch", t.LayersPerEpoch == 0, func() { t.LayersPerEpoch = DefaultLayersPerEpoch })
	set("timing", "poet_phase_shift", t.PoetPhaseShift.Duration == 0, func() { t.PoetPhaseShift.Duration = DefaultPoetPhaseShift })
	set("timing", "poet_cycle_gap", t.PoetCycleGap.Duration == 0, func() { t.PoetCycleGap.Duration = DefaultPoetCycleGap })
	set("plan", "read_mib_s", c.Plan.ReadMiBs == 0, func() { c.Plan.ReadMiBs = DefaultReadMiBs })
	set("plan", "k2pow", c.Plan.K2Pow.Duration == 0, func() { c.Plan.K2Pow.Duration = DefaultK2Pow })
	a := &c.Alerts
	set("alerts", "debounce", a.Debounce.Duration == 0, func() { a.Debounce.Duration = DefaultAlertDebounce })
	set("alerts", "timeout", a.Timeout.Duration == 0, func() { a.Timeout.Duration = DefaultAlertTimeout })
	set("alerts", "rewards_stopped", a.RewardsStopped.Duration == 0, func() { a.RewardsStopped.Duration = DefaultRewardsStopped })
}

// allProblems is problems plus the checks of the launch settings. present
// says whether the file sets a key of the index-th table of that name (nil
// for a config built in memory): "nonces = 0" written out is an error,
// while a missing nonces means the post-service's default.
func (c *Config) allProblems(present func(table string, index int, key string) bool) []problem {
	if present == nil {
		present = func(string, int, string) bool { return false }
	}
	return append(c.problems(), c.launchProblems(present)...)
}

// launchProblems checks [proving] and each service's launch settings against
// what post-service accepts, so a bad value is caught here and not by a
// post-service that exits at once.
func (c *Config) launchProblems(present func(table string, index int, key string) bool) []problem {
	var ps []problem
	add := func(table string, index int, key, format string, args ...any) {
		ps = append(ps, problem{table, index, key, fmt.Sprintf(format, args...)})
	}
	p := c.Proving
	if p.MaxPerDisk < 0 {
		add("proving", 0, "max_proving_per_disk", "max_proving_per_disk %d: must be 0 (no limit) or more (default %d)", p.MaxPerDisk, DefaultMaxPerDisk)
	}
	if p.MaxTotal < 0 {
		add("proving", 0, "max_proving", "max_proving %d: must be 0 (no limit) or more", p.MaxTotal)
	}
	if p.StopGrace.Duration <= 0 {
		add("proving", 0, "stop_grace", "stop_grace %q: must be more than 0, such as \"10s\"", p.StopGrace.String())
	}
	if c.Plan.ReadMiBs <= 0 {
		add("plan", 0, "read_mib_s", "read_mib_s %d: must be at least 1 MiB/s (default %d)", c.Plan.ReadMiBs, DefaultReadMiBs)
	}
	if c.Plan.K2Pow.Duration < 0 {
		add("plan", 0, "k2pow", "k2pow %q: must be 0 or more, such as \"30m\"", c.Plan.K2Pow.String())
	}
	for i, s := range c.Services {
		if s.Bin != "" && s.SystemdUnit != "" {
			add("service", i, "systemd_unit", "bin and systemd_unit are both set: postdeck launches a service one way; keep one")
		}
		if s.Threads != nil && *s.Threads < 0 {
			add("service", i, "threads", "threads %d: must be 0 (all cores) or more", *s.Threads)
		}
		if (s.Nonces != 0 || present("service", i, "nonces")) && (s.Nonces < 16 || s.Nonces > 4096 || s.Nonces%16 != 0) {
			add("service", i, "nonces", "nonces %d: must be a multiple of 16 from 16 to 4096 (post-service's default is 128)", s.Nonces)
		}
		if s.RandomXMode != "" && s.RandomXMode != "fast" && s.RandomXMode != "light" {
			add("service", i, "randomx_mode", "randomx_mode %q: expected \"fast\" (about 2 GiB of RAM) or \"light\" (about 256 MiB)", s.RandomXMode)
		}
		if s.Address != "" {
			if u, err := url.Parse(s.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add("service", i, "address", "address %q: expected the node's post listener as a URL, such as \"http://127.0.0.1:9094\"", s.Address)
			}
		}
		ps = append(ps, remoteK2PowProblems(i, &s, present)...)
		for k := range s.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				add("service", i, "env", "env %q: not a valid environment variable name", k)
			}
		}
	}
	return ps
}

// remoteK2PowProblems checks a service's remote k2pow settings: a URL, and
// parallelism and backoff only beside it, as post-rs takes them.
func remoteK2PowProblems(i int, s *ServiceConfig, present func(table string, index int, key string) bool) []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{"service", i, key, fmt.Sprintf(format, args...)})
	}
	if s.RemoteK2Pow != "" {
		if u, err := url.Parse(s.RemoteK2Pow); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("remote_k2pow", "remote_k2pow %q: expected the k2pow-service's URL, such as \"http://10.0.0.5:3000\"", s.RemoteK2Pow)
		}
	}
	par := s.RemoteK2PowParallelism != 0 || present("service", i, "remote_k2pow_parallelism")
	backoff := s.RemoteK2PowBackoff.Duration != 0 || present("service", i, "remote_k2pow_backoff")
	if s.RemoteK2Pow == "" && (par || backoff) {
		key := "remote_k2pow_parallelism"
		if !par {
			key = "remote_k2pow_backoff"
		}
		add(key, "%s without remote_k2pow: set remote_k2pow to the k2pow-service's URL, or leave %s out", key, key)
	}
	if par && s.RemoteK2PowParallelism < 1 {
		add("remote_k2pow_parallelism", "remote_k2pow_parallelism %d: must be at least 1 (post-rs's default is 5)", s.RemoteK2PowParallelism)
	}
	if b := s.RemoteK2PowBackoff.Duration; backoff && (b < time.Second || b%time.Second != 0) {
		add("remote_k2pow_backoff", "remote_k2pow_backoff %q: must be whole seconds from 1s, such as \"5s\" (post-rs takes seconds)", s.RemoteK2PowBackoff.String())
	}
	return ps
}

func notPresent(string, string) bool { return false }

// NormalizeListeners makes every address dialable: a listener bound to all
// interfaces is reached through loopback.
func NormalizeListeners(c *Config) {
	for _, n := range c.NodeRefs() {
		for _, p := range []*string{&n.PostListener, &n.PrivateListener, &n.PublicListener} {
			*p = DialAddress(*p)
		}
	}
	for i := range c.Services {
		c.Services[i].Operator = DialAddress(c.Services[i].Operator)
	}
}

// mergeJSONInto reads each node's JSON config named by its config key
// (relative to the TOML file's folder) and fills what the TOML left empty.
func mergeJSONInto(cfg *Config, idx *docIndex) error {
	for i, n := range cfg.NodeRefs() {
		if n.JSONConfig == "" {
			continue
		}
		p := n.JSONConfig
		if !filepath.IsAbs(p) && cfg.Path != "" {
			p = filepath.Join(filepath.Dir(cfg.Path), p)
		}
		js, err := ReadNodeJSON(p)
		if err != nil {
			return &ConfigError{File: cfg.Path, Line: idx.line("node", i, "config"), Context: idx.context("node", i),
				Message: fmt.Sprintf("config %q: %v", n.JSONConfig, err)}
		}
		cfg.Warnings = append(cfg.Warnings, MergeNodeJSON(n, js)...)
	}
	return nil
}

// locate turns problems into ConfigErrors at the line of their key.
func locate(path string, idx *docIndex, ps []problem) []*ConfigError {
	var errs []*ConfigError
	for _, p := range ps {
		errs = append(errs, &ConfigError{
			File:    path,
			Line:    idx.line(p.table, p.index, p.key),
			Context: idx.context(p.table, p.index),
			Message: p.msg,
		})
	}
	return errs
}

// joinConfigErrors sorts errors by line and joins them; nil when there are none.
func joinConfigErrors(errs []*ConfigError) error {
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	if len(errs) == 1 {
		return errs[0]
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// context names a section for a person when there is no file to point into.
func (c *Config) context(table string, index int) string {
	name := ""
	if table == "service" && index < len(c.Services) {
		name = c.Services[index].Name
	}
	if table == "host" && index < len(c.Hosts) {
		name = c.Hosts[index].Name
	}
	if table == "node" && c.Fleet() && index < len(c.AllNodes()) {
		name = c.AllNodes()[index].Name
	}
	return sectionName(table, index, name, c.Fleet())
}

// sectionName is "[node]", or `[[service]] #2 "data2"` for the array.
func sectionName(table string, index int, name string, array bool) string {
	switch {
	case table == "":
		return ""
	case table == "service" && name != "":
		return fmt.Sprintf("[[service]] #%d %q", index+1, name)
	case table == "service":
		return fmt.Sprintf("[[service]] #%d", index+1)
	case table == "host" && name != "":
		return fmt.Sprintf("[[host]] #%d %q", index+1, name)
	case table == "host":
		return fmt.Sprintf("[[host]] #%d", index+1)
	case table == "node" && array && name != "":
		return fmt.Sprintf("[[node]] #%d %q", index+1, name)
	case table == "node" && array:
		return fmt.Sprintf("[[node]] #%d", index+1)
	}
	return "[" + table + "]"
}
