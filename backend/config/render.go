package config

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Render writes cfg as a commented TOML file that LoadConfig reads
// back to the same values. Unset optional keys are written commented out, so
// the file shows everything that can be set. Defaults are written out.
func Render(cfg *Config) []byte {
	c := *cfg
	applyDefaults(&c, notPresent)
	var w tomlWriter
	w.comment("postdeck configuration. Durations are written like \"2s\" or \"500ms\".")
	w.comment("Check it with `postdeck --config <this file>`: errors name the line.")
	w.blank()
	if c.Fleet() || c.Node.Name != "" {
		for i, n := range c.AllNodes() {
			renderNode(&w, &n, i)
		}
	} else {
		renderNode(&w, &c.Node, -1)
	}
	renderPoll(&w, &c.Poll)
	w.table("ui", "Display preferences.")
	w.key("theme", c.UI.Theme, `"dark" or "light": the colours that read best on your terminal.`)
	w.blank()
	renderProving(&w, &c.Proving)
	renderTiming(&w, &c.Timing)
	renderPlan(&w, &c.Plan)
	renderAlerts(&w, &c.Alerts)
	renderServices(&w, c.Services)
	renderHosts(&w, c.Hosts)
	return []byte(w.String())
}

// renderNode writes one node: the lone [node] (index -1), else the
// index-th [[node]] block, explained in full only once.
func renderNode(w *tomlWriter, n *NodeConfig, index int) {
	if index > 0 {
		w.line("[[node]]")
		w.key("name", n.Name)
		renderNodeKeys(w, n, false)
		return
	}
	intro := []string{"The go-spacemesh node: where its gRPC listeners and data folder are.",
		"A listener left empty makes what it would show \"unavailable\"; it is not an error.",
		"A listener bound to 0.0.0.0 is dialled on 127.0.0.1."}
	if index < 0 {
		w.table("node", intro...)
	} else {
		w.comment(append([]string{"One [[node]] per go-spacemesh node; each [[service]] names its node."}, intro...)...)
		w.line("[[node]]")
		w.key("name", n.Name, "What the NODE column and the services' node key call it; unique.")
	}
	renderNodeKeys(w, n, true)
}

// renderNodeKeys writes a node's keys, with their explanations when
// explain (the first node's).
func renderNodeKeys(w *tomlWriter, n *NodeConfig, explain bool) {
	key := func(k string, v any, doc ...string) {
		if !explain {
			doc = nil
		}
		w.key(k, v, doc...)
	}
	key("post_listener", n.PostListener,
		"api.grpc-post-listener: which identities the node wants proofs from now (PostStates).",
		"Needs a fixed port: the node's default 127.0.0.1:0 is a new random port at each start.")
	key("private_listener", n.PrivateListener,
		"api.grpc-private-listener: the node's identities (SmesherIDs) and its event stream.")
	key("public_listener", n.PublicListener,
		"api.grpc-public-listener: version, sync status, peers.")
	key("data_folder", n.DataFolder,
		"main.data-folder: postdeck checks the key files in its identities/ folder.")
	key("config", n.JSONConfig,
		"The node's own JSON config (config.mainnet.json). Listeners and data_folder left",
		"empty above are read from it each time postdeck starts; values set above win.")
	key("tls_ca_cert", n.TLSCACert, "TLS for a node reached over the network; leave all four unset for plaintext.",
		"CA certificate that signed the node's certificate.")
	key("tls_cert", n.TLSCert, "Client certificate and its key (both or neither).")
	key("tls_key", n.TLSKey)
	key("tls_server_name", n.TLSServerName, "Name to expect in the node's certificate, if not the host dialled.")
	w.blank()
}

func renderPoll(w *tomlWriter, p *PollConfig) {
	w.table("poll", "How often and how patiently postdeck asks the node and the post-services.")
	w.key("interval", p.Interval.String(), "Time between two polls.")
	w.key("timeout", p.Timeout.String(), "How long to wait for one post-service's operator API.")
	w.key("workers", p.Workers, "How many post-services are asked at the same time.")
	w.key("node_timeout", p.NodeTimeout.String(), "How long to wait for each gRPC call to the node.")
	w.blank()
}

func renderProving(w *tomlWriter, p *ProvingConfig) {
	w.table("proving", "Starting and stopping post-services. A service that is proving, or whose proof",
		"the node has not fetched yet, is only stopped when you force it.")
	w.key("auto", p.Auto, "Automatic proving at start (the a key toggles it): start a stopped service when the",
		"node wants a proof from its identity, stop it once the node has fetched the proof.")
	w.key("max_proving_per_disk", p.MaxPerDisk, "Services proving at once on one disk (the service's disk); 0 = no limit.",
		"Proving reads all the data: two on one disk only slow each other down.")
	w.key("max_proving", p.MaxTotal, "Services proving at once overall; 0 = no limit.",
		"RAM: randomx_mode fast needs about 2 GiB per service, light about 256 MiB.")
	w.key("stop_grace", p.StopGrace.String(), "How long a stopped service gets after SIGTERM before SIGKILL.")
	w.blank()
}

func renderTiming(w *tomlWriter, t *TimingConfig) {
	w.table("timing", "The network's clock, for the cycle-gap countdown in the header. The defaults are",
		"mainnet's; a community PoET has its own phase shift and cycle gap: copy them from its",
		"operator (or from the node's config, poet section).")
	w.key("genesis", t.Genesis.Format(time.RFC3339), "The network's genesis time (RFC 3339).")
	w.key("layer_duration", t.LayerDuration.String(), "Length of a layer.")
	w.key("layers_per_epoch", t.LayersPerEpoch, "Layers in an epoch (the node reports its own: a difference is shown).")
	w.key("poet_phase_shift", t.PoetPhaseShift.String(), "How long after an epoch starts the PoET round ends and the cycle gap opens.")
	w.key("poet_cycle_gap", t.PoetCycleGap.String(), "How long the cycle gap lasts: proofs are generated in it.")
	w.blank()
}

func renderPlan(w *tomlWriter, p *PlanConfig) {
	w.table("plan", "The deadline planner (`postdeck plan`, the header's \"plan:\"): will every proof finish in",
		"the cycle gap? A proof does k2pow, then reads all its PoST data once. Until one of an",
		"identity's proofs was measured, the planner assumes these.")
	w.key("read_mib_s", p.ReadMiBs, "PoST read throughput of one disk, in MiB/s.")
	w.key("k2pow", p.K2Pow.String(), "k2pow (proof-of-work) time of one proof.")
	w.blank()
}

func renderAlerts(w *tomlWriter, a *AlertsConfig) {
	w.table("alerts", "Being told when something needs you: a service down while the node wants a proof, a",
		"failed proof, a proof stuck in DoneProving, a duplicate identity, the node losing sync, once",
		"when every proof of the cycle is done, an ATX missing after the cycle gap, rewards stopped, a",
		"plan that does not fit the coming gap and a malicious identity. Each alert is one JSON object:",
		`  {"time", "kind", "identity", "name", "service", "health", "message"}`,
		"Failures are retried (after 5s, 30s and 2m) and written to alerts.log in the state folder.")
	w.key("command", a.Command, "A shell command (sh -c) run with the alert on its stdin, such as",
		`"cat >> ~/postdeck-alerts.json" or "mail -s postdeck me@example.com".`)
	w.key("webhook", a.Webhook, "An http(s) URL the alert is POSTed to as application/json.")
	w.key("debounce", a.Debounce.String(), "The same alert for the same identity is not repeated within this.")
	w.key("timeout", a.Timeout.String(), "How long one run of the command or one POST may take.")
	w.key("rewards_stopped", a.RewardsStopped.String(), "An identity whose ATX earns rewards this epoch and that got none for this long raises",
		"rewards-stopped.")
	w.blank()
}

func renderServices(w *tomlWriter, services []ServiceConfig) {
	w.comment("One [[service]] per post-service, that is per PoST data directory.",
		"  name     what the dashboard calls it; unique",
		"  dir      the --dir given to the post-service (postdeck reads its postdata_metadata.json)",
		"  operator the post-service's --operator-address; without it postdeck cannot see its state",
		"To let postdeck start and stop it, set either bin (postdeck runs it detached, logs under",
		"~/.local/state/postdeck/logs) or systemd_unit (postdeck calls systemctl start/stop):",
		"  bin          the post-service executable; its arguments come from the keys below",
		"  threads      --threads (post-service's default 1; 0 = all cores)",
		"  nonces       --nonces, a multiple of 16 up to 4096 (default 128)",
		`  randomx_mode --randomx-mode "fast" (about 2 GiB of RAM) or "light" (about 256 MiB)`,
		"  address      --address; default http:// and [node] post_listener",
		`  extra_args   added after the others, such as ["--max-retries", "10"] or TLS files`,
		`  env          added to the environment, such as { RUST_LOG = "info" }`,
		"  disk         proving group for max_proving_per_disk; default the data dir's device",
		"  remote_k2pow --remote-k2pow: the URL of a k2pow-service doing this service's k2pow; it",
		"               then does not count against max_proving (it needs no RandomX memory here)",
		"  remote_k2pow_parallelism, remote_k2pow_backoff  its jobs at once (5), wait between asks (\"5s\")",
		"  systemd_unit a systemd unit that runs this post-service, instead of bin")
	if len(services) == 0 {
		w.comment("", "[[service]]", `name = "data1"`, `dir = "/mnt/d1/data1"`, `operator = "127.0.0.1:50051"`,
			`bin = "/opt/post/post-service"`, "threads = 1", "nonces = 128", `randomx_mode = "fast"`)
		return
	}
	for _, s := range services {
		w.blank()
		renderService(w, &s)
	}
}

// renderService writes one [[service]] block.
func renderService(w *tomlWriter, s *ServiceConfig) {
	w.line("[[service]]")
	w.key("name", s.Name)
	w.key("dir", s.Dir)
	if s.Operator == "" {
		w.comment("No --operator-address known: postdeck cannot see this service's state.")
	}
	w.key("operator", s.Operator)
	if s.Node != "" {
		w.key("node", s.Node)
	}
	renderLaunch(w, s)
}

// renderHosts writes the [[host]] blocks, or one commented as an example.
func renderHosts(w *tomlWriter, hosts []HostConfig) {
	w.blank()
	w.comment("One [[host]] per other machine running `postdeck serve`: its services join the table,",
		"and a key press on one acts there, within what that host's authorized keys allow.",
		"  name          what the NODE column calls it; unique",
		"  address       host:port of its postdeck serve (--listen)",
		"  user          the SSH user name (default: yours)",
		"  identity_file the private key to log in with (default: your SSH agent, then ~/.ssh/id_*)",
		"  known_hosts   checked as OpenSSH does (default ~/.ssh/known_hosts)")
	if len(hosts) == 0 {
		w.comment("", "[[host]]", `name = "rig2"`, `address = "10.0.0.2:2222"`)
		return
	}
	for _, h := range hosts {
		w.blank()
		w.line("[[host]]")
		w.key("name", h.Name)
		w.key("address", h.Address)
		w.key("user", h.User)
		w.key("identity_file", h.IdentityFile)
		w.key("known_hosts", h.KnownHosts)
	}
}

// renderLaunch writes a service's launch keys. A service postdeck cannot
// start gets the two ways to let it, commented; a bin service also gets its
// unset argument keys commented with post-service's defaults.
func renderLaunch(w *tomlWriter, s *ServiceConfig) {
	if s.Bin == "" && s.SystemdUnit == "" {
		w.line(`# bin = ""            # or systemd_unit = "": to let postdeck start and stop it`)
	}
	if s.Bin != "" {
		w.key("bin", s.Bin)
		if s.Threads != nil {
			w.key("threads", *s.Threads)
		} else {
			w.line("# threads = 1")
		}
		if s.Nonces != 0 {
			w.key("nonces", s.Nonces)
		} else {
			w.line("# nonces = 128")
		}
		if s.RandomXMode != "" {
			w.key("randomx_mode", s.RandomXMode)
		} else {
			w.line(`# randomx_mode = "fast"`)
		}
		if s.Address != "" {
			w.key("address", s.Address)
		} else {
			w.line(`# address = ""       # default: http:// and [node] post_listener`)
		}
	} else {
		// Kept even without bin, so nothing set is lost.
		if s.Threads != nil {
			w.key("threads", *s.Threads)
		}
		if s.Nonces != 0 {
			w.key("nonces", s.Nonces)
		}
		if s.RandomXMode != "" {
			w.key("randomx_mode", s.RandomXMode)
		}
		if s.Address != "" {
			w.key("address", s.Address)
		}
	}
	if len(s.ExtraArgs) > 0 {
		w.line("extra_args = " + tomlStringList(s.ExtraArgs))
	}
	if len(s.Env) > 0 {
		w.line("env = " + tomlStringTable(s.Env))
	}
	if s.Disk != "" {
		w.key("disk", s.Disk)
	}
	if s.RemoteK2Pow != "" {
		w.key("remote_k2pow", s.RemoteK2Pow)
	}
	if s.RemoteK2PowParallelism != 0 {
		w.key("remote_k2pow_parallelism", s.RemoteK2PowParallelism)
	}
	if s.RemoteK2PowBackoff.Duration != 0 {
		w.key("remote_k2pow_backoff", s.RemoteK2PowBackoff.String())
	}
	if s.SystemdUnit != "" {
		w.key("systemd_unit", s.SystemdUnit)
	}
}

// tomlWriter builds the file line by line.
type tomlWriter struct{ strings.Builder }

func (w *tomlWriter) line(s string) { w.WriteString(s + "\n") }
func (w *tomlWriter) blank()        { w.line("") }

func (w *tomlWriter) comment(lines ...string) {
	for _, l := range lines {
		w.line(strings.TrimRight("# "+l, " "))
	}
}

func (w *tomlWriter) table(name string, doc ...string) {
	w.comment(doc...)
	w.line("[" + name + "]")
}

// key writes `key = value` after its comment lines; an empty string value
// is written commented out, which reads back as empty.
func (w *tomlWriter) key(key string, value any, doc ...string) {
	w.comment(doc...)
	switch v := value.(type) {
	case string:
		if v == "" {
			w.line("# " + key + ` = ""`)
			return
		}
		w.line(key + " = " + tomlString(v))
	default:
		w.line(fmt.Sprintf("%s = %v", key, v))
	}
}

// tomlStringList writes ["a", "b"].
func tomlStringList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = tomlString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// tomlStringTable writes { A = "x", B = "y" } with the keys sorted, so the
// file does not change between two renders of the same config.
func tomlStringTable(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = tomlKey(k) + " = " + tomlString(m[k])
	}
	return "{ " + strings.Join(q, ", ") + " }"
}

// tomlKey writes a key bare when TOML allows it, else quoted.
func tomlKey(k string) string {
	for _, r := range k {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return tomlString(k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
