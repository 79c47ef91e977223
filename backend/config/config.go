package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is postdeck's config file (TOML). Field tags are the file's keys.
type Config struct {
	// Path is the file the config was read from ("" when built in memory).
	Path string `toml:"-"`
	// Node is the node postdeck watches: the [node] section, or the first
	// [[node]] when the file names several. MoreNodes are the others, in
	// the file's order (see AllNodes). The loader decodes them (fileDoc).
	Node      NodeConfig      `toml:"-"`
	MoreNodes []NodeConfig    `toml:"-"`
	Poll      PollConfig      `toml:"poll"`
	UI        UIConfig        `toml:"ui"`
	Proving   ProvingConfig   `toml:"proving"`
	Timing    TimingConfig    `toml:"timing"`
	Plan      PlanConfig      `toml:"plan"`
	Alerts    AlertsConfig    `toml:"alerts"`
	Services  []ServiceConfig `toml:"service"`
	// Hosts are other machines whose `postdeck serve` this postdeck
	// watches and acts through, over SSH.
	Hosts []HostConfig `toml:"host"`
	// Warnings are things LoadConfig found worth telling the user that do not
	// stop postdeck (e.g. the node's post listener is on a random port).
	Warnings []string `toml:"-"`
}

// NodeConfig says where the node's three gRPC listeners and data folder are.
// Any listener may be empty: what it would show is then "unavailable".
type NodeConfig struct {
	// Name tells nodes apart in a config with several ([[node]] blocks):
	// the NODE column, a [[service]]'s node, metrics' node label. A lone
	// [node] may leave it empty.
	Name            string `toml:"name"`
	PostListener    string `toml:"post_listener"`
	PrivateListener string `toml:"private_listener"`
	PublicListener  string `toml:"public_listener"`
	DataFolder      string `toml:"data_folder"`
	// JSONConfig is the node's own config.mainnet.json; listeners and the data
	// folder missing above are read from it.
	JSONConfig string `toml:"config"`
	// TLS for a node reached over the network; all empty means plaintext.
	TLSCACert     string `toml:"tls_ca_cert"`
	TLSCert       string `toml:"tls_cert"`
	TLSKey        string `toml:"tls_key"`
	TLSServerName string `toml:"tls_server_name"`

	// Read from the node's JSON config when one is given; not in the TOML.
	// Coinbase is smeshing.smeshing-coinbase: without it the node refuses
	// every post-service. SmeshingStart is smeshing.smeshing-start (nil when
	// the file does not say).
	Coinbase      string `toml:"-"`
	SmeshingStart *bool  `toml:"-"`
}

// PollConfig tunes the poller.
type PollConfig struct {
	Interval Duration `toml:"interval"` // default 2s
	Timeout  Duration `toml:"timeout"`  // per operator call, default 1s
	Workers  int      `toml:"workers"`  // operator calls in flight, default 32
	// NodeTimeout bounds each node gRPC call, default 3s.
	NodeTimeout Duration `toml:"node_timeout"`
}

// UIConfig holds display preferences.
type UIConfig struct {
	Theme string `toml:"theme"` // "dark" (default) or "light"
}

// ProvingConfig governs starting and stopping post-services.
type ProvingConfig struct {
	// Auto turns automatic proving on at start (the `a` key toggles it).
	Auto bool `toml:"auto"`
	// MaxPerDisk bounds proving services per disk group (default 1).
	MaxPerDisk int `toml:"max_proving_per_disk"`
	// MaxTotal bounds proving services overall; 0 = no limit. Fast RandomX
	// mode needs about 2 GiB of RAM per service.
	MaxTotal int `toml:"max_proving"`
	// StopGrace is how long a stopped service gets after SIGTERM before
	// SIGKILL (default 10s).
	StopGrace Duration `toml:"stop_grace"`
}

// TimingConfig is the network's clock for the cycle-gap countdown; the
// defaults are mainnet's. Community PoETs use other phase shifts and gaps.
type TimingConfig struct {
	Genesis        Timestamp `toml:"genesis"`          // RFC 3339, default 2023-07-14T08:00:00Z
	LayerDuration  Duration  `toml:"layer_duration"`   // default 5m
	LayersPerEpoch int       `toml:"layers_per_epoch"` // default 4032
	PoetPhaseShift Duration  `toml:"poet_phase_shift"` // default 240h
	PoetCycleGap   Duration  `toml:"poet_cycle_gap"`   // default 12h
}

// PlanConfig is what the deadline planner assumes of a proof before one of
// the identity's proofs was measured.
type PlanConfig struct {
	ReadMiBs int      `toml:"read_mib_s"` // PoST read throughput per disk, MiB/s (default 100)
	K2Pow    Duration `toml:"k2pow"`      // k2pow time per proof (default 30m)
}

// AlertsConfig says how postdeck tells the operator: a shell command getting
// the alert as JSON on its stdin, and/or a webhook the alert is POSTed to.
type AlertsConfig struct {
	Command string `toml:"command"`
	Webhook string `toml:"webhook"`
	// Debounce: the same alert for the same identity is not repeated within
	// it (default 5m; "0s" repeats every time).
	Debounce Duration `toml:"debounce"`
	// Timeout bounds each run of the command and each POST (default 10s).
	Timeout Duration `toml:"timeout"`
	// RewardsStopped: an identity whose ATX earns rewards this epoch and
	// that got none for this long raises rewards-stopped (default 24h).
	RewardsStopped Duration `toml:"rewards_stopped"`
}

// ServiceConfig is one post-service: its PoST data directory, its
// --operator-address and, optionally, how postdeck launches it: either from
// Bin and the fields after it, or through a systemd unit.
type ServiceConfig struct {
	Name     string `toml:"name"`
	Dir      string `toml:"dir"`
	Operator string `toml:"operator"`
	// Node names the [[node]] this service proves for; empty means the
	// first (the only one, in most configs).
	Node string `toml:"node"`

	Bin         string            `toml:"bin"`          // the post-service executable
	Threads     *int              `toml:"threads"`      // --threads (post-service default 1; 0 = all cores)
	Nonces      int               `toml:"nonces"`       // --nonces, multiple of 16, at most 4096 (default 128)
	RandomXMode string            `toml:"randomx_mode"` // --randomx-mode fast|light
	Address     string            `toml:"address"`      // --address; default http://<node post_listener>
	ExtraArgs   []string          `toml:"extra_args"`   // appended as given (TLS files, --max-retries …)
	Env         map[string]string `toml:"env"`          // added to the environment (RUST_LOG …)
	Disk        string            `toml:"disk"`         // proving group; default the data dir's device
	SystemdUnit string            `toml:"systemd_unit"` // start/stop through systemctl instead of Bin
	// Remote k2pow on a k2pow-service: --remote-k2pow URL, and how many jobs
	// it runs there at once and how long it waits between asks (post-rs's
	// defaults 5 and 5 s when unset).
	RemoteK2Pow            string   `toml:"remote_k2pow"`
	RemoteK2PowParallelism int      `toml:"remote_k2pow_parallelism"`
	RemoteK2PowBackoff     Duration `toml:"remote_k2pow_backoff"`
}

// HostConfig is another machine running `postdeck serve`: its rows join
// the table and a key press on one acts there, within what that host's
// authorized keys allow.
type HostConfig struct {
	Name    string `toml:"name"`
	Address string `toml:"address"` // host:port of its postdeck serve
	User    string `toml:"user"`    // SSH user name (default: the local user's)
	// IdentityFile is the private key to log in with; default: the SSH
	// agent, then ~/.ssh/id_ed25519, id_ecdsa and id_rsa.
	IdentityFile string `toml:"identity_file"`
	// KnownHosts is checked as OpenSSH does (default ~/.ssh/known_hosts).
	KnownHosts string `toml:"known_hosts"`
}

// Duration is a time.Duration written in the config as a string ("2s", "500ms").
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Timestamp is a time written in the config as an RFC 3339 string
// ("2023-07-14T08:00:00Z").
type Timestamp struct{ time.Time }

// UnmarshalText parses an RFC 3339 time.
func (t *Timestamp) UnmarshalText(b []byte) error {
	v, err := time.Parse(time.RFC3339, string(b))
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

// MarshalText writes the time in RFC 3339.
func (t Timestamp) MarshalText() ([]byte, error) { return []byte(t.Format(time.RFC3339)), nil }

// problem is one thing wrong with a config's values, tied to the key so a
// loader can point at its line.
type problem struct {
	table string
	index int // which [[service]], from 0
	key   string
	msg   string
}

// problems checks the values: addresses are host:port, services are named,
// unique and have a dir, durations and workers are positive, theme is known.
func (c *Config) problems() []problem {
	var ps []problem
	add := func(table string, index int, key, format string, args ...any) {
		ps = append(ps, problem{table, index, key, fmt.Sprintf(format, args...)})
	}
	ps = append(ps, c.nodeProblems()...)
	ps = append(ps, c.hostProblems()...)
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"interval", c.Poll.Interval.Duration}, {"timeout", c.Poll.Timeout.Duration}, {"node_timeout", c.Poll.NodeTimeout.Duration}} {
		if d.v <= 0 {
			add("poll", 0, d.key, "%s %q: must be more than 0, such as \"2s\"", d.key, d.v.String())
		}
	}
	if c.Poll.Workers <= 0 {
		add("poll", 0, "workers", "workers %d: must be at least 1 (default %d)", c.Poll.Workers, DefaultWorkers)
	}
	if c.UI.Theme != "dark" && c.UI.Theme != "light" {
		add("ui", 0, "theme", "theme %q: expected \"dark\" or \"light\"", c.UI.Theme)
	}
	ps = append(ps, c.extraProblems()...)
	return append(ps, c.serviceProblems()...)
}

// extraProblems checks [timing] and [alerts].
func (c *Config) extraProblems() []problem {
	var ps []problem
	add := func(table, key, format string, args ...any) {
		ps = append(ps, problem{table, 0, key, fmt.Sprintf(format, args...)})
	}
	t := &c.Timing
	if t.Genesis.IsZero() {
		add("timing", "genesis", "genesis: expected the network's genesis time, such as \"2023-07-14T08:00:00Z\" (mainnet)")
	}
	if t.LayerDuration.Duration <= 0 {
		add("timing", "layer_duration", "layer_duration %q: must be more than 0, such as \"5m\" (mainnet)", t.LayerDuration.String())
	}
	if t.LayersPerEpoch <= 0 {
		add("timing", "layers_per_epoch", "layers_per_epoch %d: must be at least 1, such as 4032 (mainnet)", t.LayersPerEpoch)
	}
	epoch := time.Duration(max(t.LayersPerEpoch, 0)) * t.LayerDuration.Duration
	if t.PoetPhaseShift.Duration < 0 {
		add("timing", "poet_phase_shift", "poet_phase_shift %q: must be 0 or more, such as \"240h\" (mainnet)", t.PoetPhaseShift.String())
	}
	switch g := t.PoetCycleGap.Duration; {
	case g <= 0:
		add("timing", "poet_cycle_gap", "poet_cycle_gap %q: must be more than 0, such as \"12h\" (mainnet)", t.PoetCycleGap.String())
	case epoch > 0 && g >= epoch:
		add("timing", "poet_cycle_gap", "poet_cycle_gap %q: must be shorter than an epoch (%s = layers_per_epoch × layer_duration)", t.PoetCycleGap.String(), epoch)
	}
	a := &c.Alerts
	if a.Webhook != "" {
		if u, err := url.Parse(a.Webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("alerts", "webhook", "webhook %q: expected an http or https URL, such as \"https://hooks.example.com/postdeck\"", a.Webhook)
		}
	}
	if strings.TrimSpace(a.Command) == "" && a.Command != "" {
		add("alerts", "command", "command is blank: leave it out, or give a shell command such as \"cat >> ~/alerts.json\"")
	}
	if a.Debounce.Duration < 0 {
		add("alerts", "debounce", "debounce %q: must be 0 (repeat every time) or more, such as \"5m\"", a.Debounce.String())
	}
	if a.Timeout.Duration <= 0 {
		add("alerts", "timeout", "timeout %q: must be more than 0, such as \"10s\"", a.Timeout.String())
	}
	if a.RewardsStopped.Duration < 0 {
		add("alerts", "rewards_stopped", "rewards_stopped %q: must be more than 0, such as \"24h\"", a.RewardsStopped.String())
	}
	return ps
}

// serviceProblems checks each [[service]] and that no two share a name, a
// dir or an operator address.
func (c *Config) serviceProblems() []problem {
	var ps []problem
	add := func(index int, key, format string, args ...any) {
		ps = append(ps, problem{"service", index, key, fmt.Sprintf(format, args...)})
	}
	names, dirs, ops := map[string]int{}, map[string]int{}, map[string]int{}
	unique := func(seen map[string]int, i int, key, v, why string) {
		if j, dup := seen[v]; dup {
			add(i, key, "%s %q is also used by [[service]] #%d: %s", key, v, j+1, why)
			return
		}
		seen[v] = i
	}
	for i, s := range c.Services {
		if s.Name == "" {
			add(i, "name", "name is empty: give each service a name, such as its data directory's name")
		} else {
			unique(names, i, "name", s.Name, "names must be unique")
		}
		if s.Dir == "" {
			add(i, "dir", "dir is empty: set it to the --dir given to this post-service")
		} else {
			unique(dirs, i, "dir", filepath.Clean(s.Dir), "one PoST data directory can have only one service")
		}
		if s.Operator == "" {
			continue // allowed: the service's state is then unknown
		}
		if msg := AddrProblem(s.Operator); msg != "" {
			add(i, "operator", "operator %q: %s", s.Operator, msg)
		} else {
			unique(ops, i, "operator", DialAddress(s.Operator), "each post-service needs its own --operator-address")
		}
	}
	return ps
}

// ListenerProblem checks one node listener; empty is allowed (unavailable).
func ListenerProblem(key, v string) string {
	if v == "" {
		return ""
	}
	if msg := AddrProblem(v); msg != "" {
		return fmt.Sprintf("%s %q: %s", key, v, msg)
	}
	if _, port, _ := net.SplitHostPort(v); port == "0" {
		if key == "post_listener" {
			return fmt.Sprintf("%s %q: port 0 makes the node pick a random port at each start; "+
				"set api.grpc-post-listener to a fixed port (such as \"127.0.0.1:9094\") in the node's config and here", key, v)
		}
		return fmt.Sprintf("%s %q: port 0 is not a port postdeck can dial; use the node's fixed port", key, v)
	}
	return ""
}

// AddrProblem says why v is not host:port, or "". The host may be empty
// (":9092" listens everywhere), port 0 is accepted here.
func AddrProblem(v string) string {
	if strings.Contains(v, "://") {
		return "expected host:port without a scheme, such as 127.0.0.1:50051"
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil || strings.ContainsAny(host, "/ ") {
		return "expected host:port, such as 127.0.0.1:9094"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "expected host:port with a port from 1 to 65535"
	}
	return ""
}

// DialAddress turns a listen address into one to dial: a node listening on
// all interfaces (0.0.0.0, ::, or no host) is reached through loopback.
// Anything that is not host:port is returned unchanged.
func DialAddress(listener string) string {
	host, port, err := net.SplitHostPort(listener)
	if err != nil {
		return listener
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
