package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"postdeck/backend/testkit"
)

// cfLoad writes content as config.toml in a temp folder and loads it. The
// error text comes back with the folder removed, so it starts "config.toml:".
func cfLoad(t *testing.T, content string) (*Config, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	testkit.WriteFile(t, path, content)
	cfg, err := Load(path)
	if err != nil {
		return cfg, strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
	}
	return cfg, ""
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name, toml string
		want       []string // each a line of the error; "..." at the end: a prefix
	}{
		{"unknown key in a service, with suggestion", `[node]
post_listener = "127.0.0.1:9094"

[[service]]
name = "data1"
dir = "/d1"

[[service]]
name = "data2"
dir = "/d2"
operater = "127.0.0.1:50052"
`, []string{`config.toml:11: [[service]] #2 "data2": key "operater" is not known (did you mean "operator"?)`}},
		{"unknown key in node", "[node]\npost_listner = \"127.0.0.1:9094\"\n",
			[]string{`config.toml:2: [node]: key "post_listner" is not known (did you mean "post_listener"?)`}},
		{"key in the wrong table", "[node]\ninterval = \"2s\"\n",
			[]string{`config.toml:2: [node]: key "interval" is not known (it belongs in [poll])`}},
		{"key at the top level", "interval = \"2s\"\n",
			[]string{`config.toml:1: key "interval" is not known at the top level (it belongs in [poll])`}},
		{"unknown table", "# comment\n[nod]\npost_listener = \"127.0.0.1:9094\"\n",
			[]string{`config.toml:2: table [nod] is not known (did you mean [node]?)`}},
		{"bad listener", "[node]\n\npost_listener = \"127.0.0.1:90x4\"\n",
			[]string{`config.toml:3: [node]: post_listener "127.0.0.1:90x4": expected host:port with a port from 1 to 65535`}},
		{"listener without port", "[node]\nprivate_listener = \"localhost\"\n",
			[]string{`config.toml:2: [node]: private_listener "localhost": expected host:port, such as 127.0.0.1:9094`}},
		{"random post port", "[node]\npost_listener = \"127.0.0.1:0\"\n",
			[]string{`config.toml:2: [node]: post_listener "127.0.0.1:0": port 0 makes the node pick a random port at each start; set api.grpc-post-listener to a fixed port (such as "127.0.0.1:9094") in the node's config and here`}},
		{"workers as text", "[poll]\nworkers = \"x\"\n",
			[]string{`config.toml:2: [poll]: workers: expected a whole number without quotes, such as 32, found text`}},
		{"duration as number", "[poll]\ninterval = 5\n",
			[]string{`config.toml:2: [poll]: interval: expected a duration in quotes, such as "2s" or "500ms", found a number`}},
		{"bad duration", "[poll]\ninterval = \"2x\"\n",
			[]string{`config.toml:2: [poll]: interval "2x": expected a duration in quotes, such as "2s" or "500ms"`}},
		{"zero interval", "[poll]\ninterval = \"0s\"\n",
			[]string{`config.toml:2: [poll]: interval "0s": must be more than 0, such as "2s"`}},
		{"negative timeout", "[poll]\ntimeout = \"-1s\"\n",
			[]string{`config.toml:2: [poll]: timeout "-1s": must be more than 0, such as "2s"`}},
		{"zero node timeout", "[poll]\n\nnode_timeout = \"0ms\"\n",
			[]string{`config.toml:3: [poll]: node_timeout "0s": must be more than 0, such as "2s"`}},
		{"genesis not RFC 3339", "[timing]\ngenesis = \"2023-07-14 08:00\"\n",
			[]string{`config.toml:2: [timing]: genesis "2023-07-14 08:00": expected an RFC 3339 time in quotes, such as "2023-07-14T08:00:00Z"`}},
		{"genesis as a TOML date", "[timing]\ngenesis = 2023-07-14T08:00:00Z\n",
			[]string{`config.toml:2: [timing]: genesis: expected an RFC 3339 time in quotes, such as "2023-07-14T08:00:00Z", found a date or time`}},
		{"timing values", "[timing]\nlayer_duration = \"0s\"\nlayers_per_epoch = 0\npoet_phase_shift = \"-1h\"\npoet_cycle_gap = \"0s\"\n",
			[]string{`config.toml:2: [timing]: layer_duration "0s": must be more than 0, such as "5m" (mainnet)`,
				`config.toml:3: [timing]: layers_per_epoch 0: must be at least 1, such as 4032 (mainnet)`,
				`config.toml:4: [timing]: poet_phase_shift "-1h0m0s": must be 0 or more, such as "240h" (mainnet)`,
				`config.toml:5: [timing]: poet_cycle_gap "0s": must be more than 0, such as "12h" (mainnet)`}},
		{"plan values", "[plan]\nread_mib_s = 0\nk2pow = \"-1m\"\n",
			[]string{`config.toml:2: [plan]: read_mib_s 0: must be at least 1 MiB/s (default 100)`,
				`config.toml:3: [plan]: k2pow "-1m0s": must be 0 or more, such as "30m"`}},
		{"plan throughput as text", "[plan]\nread_mib_s = \"100\"\n",
			[]string{`config.toml:2: [plan]: read_mib_s: expected a whole number of MiB/s without quotes, such as 100, found text`}},
		{"remote k2pow settings", "[[service]]\nname = \"a\"\ndir = \"/a\"\nremote_k2pow = \"10.0.0.5:3000\"\nremote_k2pow_parallelism = 0\nremote_k2pow_backoff = \"1500ms\"\n" +
			"[[service]]\nname = \"b\"\ndir = \"/b\"\nremote_k2pow_backoff = \"5s\"\n",
			[]string{`config.toml:4: [[service]] #1 "a": remote_k2pow "10.0.0.5:3000": expected the k2pow-service's URL, such as "http://10.0.0.5:3000"`,
				`config.toml:5: [[service]] #1 "a": remote_k2pow_parallelism 0: must be at least 1 (post-rs's default is 5)`,
				`config.toml:6: [[service]] #1 "a": remote_k2pow_backoff "1.5s": must be whole seconds from 1s, such as "5s" (post-rs takes seconds)`,
				`config.toml:10: [[service]] #2 "b": remote_k2pow_backoff without remote_k2pow: set remote_k2pow to the k2pow-service's URL, or leave remote_k2pow_backoff out`}},
		{"cycle gap longer than an epoch", "[timing]\nlayers_per_epoch = 10\npoet_cycle_gap = \"1h\"\n",
			[]string{`config.toml:3: [timing]: poet_cycle_gap "1h0m0s": must be shorter than an epoch (50m0s = layers_per_epoch × layer_duration)`}},
		{"alerts values", "[alerts]\ncommand = \"  \"\nwebhook = \"hooks.example.com/x\"\ndebounce = \"-1s\"\ntimeout = \"0s\"\n",
			[]string{`config.toml:2: [alerts]: command is blank: leave it out, or give a shell command such as "cat >> ~/alerts.json"`,
				`config.toml:3: [alerts]: webhook "hooks.example.com/x": expected an http or https URL, such as "https://hooks.example.com/postdeck"`,
				`config.toml:4: [alerts]: debounce "-1s": must be 0 (repeat every time) or more, such as "5m"`,
				`config.toml:5: [alerts]: timeout "0s": must be more than 0, such as "10s"`}},
		{"alert key in the wrong table", "[alerts]\nalert_command = \"x\"\n",
			[]string{`config.toml:2: [alerts]: key "alert_command" is not known (write it as command in [alerts])`}},
		{"alert_webhook at the top level", "alert_webhook = \"https://x\"\n",
			[]string{`config.toml:1: key "alert_webhook" is not known at the top level (write it as webhook in [alerts])`}},
		{"zero workers", "[poll]\nworkers = 0\n",
			[]string{`config.toml:2: [poll]: workers 0: must be at least 1 (default 32)`}},
		{"theme", "[ui]\ntheme = \"blue\"\n",
			[]string{`config.toml:2: [ui]: theme "blue": expected "dark" or "light"`}},
		{"duplicate names", "[[service]]\nname = \"a\"\ndir = \"/d1\"\n[[service]]\nname = \"a\"\ndir = \"/d2\"\n",
			[]string{`config.toml:5: [[service]] #2 "a": name "a" is also used by [[service]] #1: names must be unique`}},
		{"missing name points at the header", "[[service]]\ndir = \"/d1\"\n",
			[]string{`config.toml:1: [[service]] #1: name is empty: give each service a name, such as its data directory's name`}},
		{"empty dir", "[[service]]\nname = \"a\"\ndir = \"\"\n",
			[]string{`config.toml:3: [[service]] #1 "a": dir is empty: set it to the --dir given to this post-service`}},
		{"duplicate dir", "[[service]]\nname = \"a\"\ndir = \"/d1\"\n[[service]]\nname = \"b\"\ndir = \"/d1/\"\n",
			[]string{`config.toml:6: [[service]] #2 "b": dir "/d1" is also used by [[service]] #1: one PoST data directory can have only one service`}},
		{"duplicate operator via 0.0.0.0", `[[service]]
name = "a"
dir = "/d1"
operator = "127.0.0.1:50051"
[[service]]
name = "b"
dir = "/d2"
operator = "0.0.0.0:50051"
`, []string{`config.toml:8: [[service]] #2 "b": operator "127.0.0.1:50051" is also used by [[service]] #1: each post-service needs its own --operator-address`}},
		{"operator with scheme", "[[service]]\nname = \"a\"\ndir = \"/d\"\noperator = \"http://127.0.0.1:50051\"\n",
			[]string{`config.toml:4: [[service]] #1 "a": operator "http://127.0.0.1:50051": expected host:port without a scheme, such as 127.0.0.1:50051`}},
		{"tls cert without key", "[node]\ntls_cert = \"/c.pem\"\n",
			[]string{`config.toml:2: [node]: tls_cert and tls_key go together: set both or neither`}},
		{"several problems, in line order", "[ui]\ntheme = \"x\"\n[poll]\nworkers = -1\n", []string{
			`config.toml:2: [ui]: theme "x": expected "dark" or "light"`,
			`config.toml:4: [poll]: workers -1: must be at least 1 (default 32)`}},
		{"several unknown keys", "[node]\nfoo = 1\n[poll]\nbar = 2\n", []string{
			`config.toml:2: [node]: key "foo" is not known`,
			`config.toml:4: [poll]: key "bar" is not known`}},
		{"launch settings", `[proving]
max_proving_per_disk = -1
max_proving = -2
stop_grace = "0s"
[[service]]
name = "a"
dir = "/d1"
bin = "/opt/post-service"
threads = -1
nonces = 100
randomx_mode = "medium"
address = "127.0.0.1:9094"
systemd_unit = "post-a.service"
[[service]]
name = "b"
dir = "/d2"
nonces = 0
env = { "A=B" = "x" }
`, []string{
			`config.toml:2: [proving]: max_proving_per_disk -1: must be 0 (no limit) or more (default 1)`,
			`config.toml:3: [proving]: max_proving -2: must be 0 (no limit) or more`,
			`config.toml:4: [proving]: stop_grace "0s": must be more than 0, such as "10s"`,
			`config.toml:9: [[service]] #1 "a": threads -1: must be 0 (all cores) or more`,
			`config.toml:10: [[service]] #1 "a": nonces 100: must be a multiple of 16 from 16 to 4096 (post-service's default is 128)`,
			`config.toml:11: [[service]] #1 "a": randomx_mode "medium": expected "fast" (about 2 GiB of RAM) or "light" (about 256 MiB)`,
			`config.toml:12: [[service]] #1 "a": address "127.0.0.1:9094": expected the node's post listener as a URL, such as "http://127.0.0.1:9094"`,
			`config.toml:13: [[service]] #1 "a": bin and systemd_unit are both set: postdeck launches a service one way; keep one`,
			`config.toml:17: [[service]] #2 "b": nonces 0: must be a multiple of 16 from 16 to 4096 (post-service's default is 128)`,
			`config.toml:18: [[service]] #2 "b": env "A=B": not a valid environment variable name`}},
		{"nonces too many", "[[service]]\nname = \"a\"\ndir = \"/d\"\nnonces = 4112\n",
			[]string{`config.toml:4: [[service]] #1 "a": nonces 4112: must be a multiple of 16 from 16 to 4096 (post-service's default is 128)`}},
		{"launch value types", `[proving]
auto = "yes"
[[service]]
name = "a"
dir = "/d"
extra_args = "--x"
env = { A = 1 }
threads = "2"
[[service]]
name = "b"
dir = "/d2"
extra_args = ["--max-retries", 10]
`, []string{
			`config.toml:2: [proving]: auto: expected true or false, found text`,
			`config.toml:6: [[service]] #1 "a": extra_args: expected a list of texts, such as ["--max-retries", "10"], found text`,
			`config.toml:7: [[service]] #1 "a": env: expected a table of texts, such as { RUST_LOG = "info" }, found a number in it`,
			`config.toml:8: [[service]] #1 "a": threads: expected a whole number without quotes, such as 1 (0 = all cores), found text`,
			`config.toml:12: [[service]] #2 "b": extra_args: expected a list of texts, such as ["--max-retries", "10"], found a number in it`}},
		{"syntax error", "[node]\npost_listener = \"x\n",
			[]string{"config.toml:2: not valid TOML: ..."}},
		{"wrong shape for service", "service = 3\n",
			[]string{`config.toml:1: "service" must be written as [[service]] sections`}},
		{"array where a table is expected", "[[poll]]\ninterval = \"2s\"\n",
			[]string{`config.toml:1: "poll" must be written as one [poll] section`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, got := cfLoad(t, c.toml)
			if got == "" {
				t.Fatal("no error")
			}
			lines := strings.Split(got, "\n")
			if len(lines) != len(c.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(lines), len(c.want), got)
			}
			for i, w := range c.want {
				prefix, isPrefix := strings.CutSuffix(w, "...")
				if isPrefix && !strings.HasPrefix(lines[i], prefix) || !isPrefix && lines[i] != w {
					t.Errorf("error %d:\n got  %s\n want %s", i, lines[i], w)
				}
			}
		})
	}
}

func TestConfigMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.toml")
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "postdeck init") {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := cfLoad(t, "# nothing but a comment\n")
	if err != "" {
		t.Fatal(err)
	}
	want := PollConfig{Interval: Duration{2 * time.Second}, Timeout: Duration{time.Second}, Workers: 32, NodeTimeout: Duration{3 * time.Second}}
	if cfg.Poll != want || cfg.UI.Theme != "dark" {
		t.Fatalf("defaults: %+v %+v", cfg.Poll, cfg.UI)
	}
	if p := (ProvingConfig{MaxPerDisk: 1, StopGrace: Duration{10 * time.Second}}); cfg.Proving != p {
		t.Fatalf("proving defaults: %+v", cfg.Proving)
	}
	if cfg.Node.PostListener != "" || len(cfg.Services) != 0 || len(cfg.Warnings) != 0 {
		t.Fatalf("empty config came back with %+v", cfg)
	}
	mainnet := TimingConfig{Genesis: Timestamp{time.Date(2023, 7, 14, 8, 0, 0, 0, time.UTC)}, LayerDuration: Duration{5 * time.Minute},
		LayersPerEpoch: 4032, PoetPhaseShift: Duration{240 * time.Hour}, PoetCycleGap: Duration{12 * time.Hour}}
	if cfg.Timing != mainnet || cfg.Alerts != (AlertsConfig{Debounce: Duration{5 * time.Minute}, Timeout: Duration{10 * time.Second}, RewardsStopped: Duration{24 * time.Hour}}) {
		t.Fatalf("timing/alerts defaults: %+v %+v", cfg.Timing, cfg.Alerts)
	}
	if cfg.Plan != (PlanConfig{ReadMiBs: 100, K2Pow: Duration{30 * time.Minute}}) {
		t.Fatalf("plan defaults: %+v", cfg.Plan)
	}
	// A debounce of 0 written out is kept: repeat every time.
	cfg, err = cfLoad(t, "[alerts]\ndebounce = \"0s\"\nwebhook = \"http://127.0.0.1:9/x\"\n[timing]\npoet_cycle_gap = \"6h\"\n")
	if err != "" || cfg.Alerts.Debounce.Duration != 0 || cfg.Timing.PoetCycleGap.Duration != 6*time.Hour || cfg.Timing.LayersPerEpoch != 4032 {
		t.Fatalf("set alerts/timing: %v %+v %+v", err, cfg.Alerts, cfg.Timing)
	}

	// Set values are kept; only the rest is defaulted.
	cfg, err = cfLoad(t, "[poll]\ninterval = \"500ms\"\nworkers = 4\n[ui]\ntheme = \"light\"\n")
	if err != "" {
		t.Fatal(err)
	}
	want = PollConfig{Interval: Duration{500 * time.Millisecond}, Timeout: Duration{time.Second}, Workers: 4, NodeTimeout: Duration{3 * time.Second}}
	if cfg.Poll != want || cfg.UI.Theme != "light" {
		t.Fatalf("partial: %+v %+v", cfg.Poll, cfg.UI)
	}
}

func TestConfigListenersAreDialable(t *testing.T) {
	cfg, err := cfLoad(t, `[node]
post_listener = "127.0.0.1:9094"
private_listener = ":9093"
public_listener = "0.0.0.0:9092"
[[service]]
name = "a"
dir = "/d"
operator = "0.0.0.0:50051"
`)
	if err != "" {
		t.Fatal(err)
	}
	n := cfg.Node
	if n.PostListener != "127.0.0.1:9094" || n.PrivateListener != "127.0.0.1:9093" || n.PublicListener != "127.0.0.1:9092" {
		t.Errorf("listeners: %+v", n)
	}
	if cfg.Services[0].Operator != "127.0.0.1:50051" {
		t.Errorf("operator: %q", cfg.Services[0].Operator)
	}
	if DialAddress("[::]:9092") != "[::1]:9092" || DialAddress("10.0.0.5:9092") != "10.0.0.5:9092" || DialAddress("junk") != "junk" {
		t.Error("DialAddress")
	}
}

// The schema drives checks and suggestions; it must list exactly the toml
// keys of the Config types.
func TestConfigSchemaMatchesStruct(t *testing.T) {
	tags := func(v any) []string {
		var out []string
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumField(); i++ {
			if tag := rt.Field(i).Tag.Get("toml"); tag != "" && tag != "-" {
				out = append(out, tag)
			}
		}
		return out
	}
	want := map[string][]string{
		"node":    tags(NodeConfig{}),
		"poll":    tags(PollConfig{}),
		"ui":      tags(UIConfig{}),
		"proving": tags(ProvingConfig{}),
		"timing":  tags(TimingConfig{}),
		"plan":    tags(PlanConfig{}),
		"alerts":  tags(AlertsConfig{}),
		"service": tags(ServiceConfig{}),
		"host":    tags(HostConfig{}),
	}
	if top := tags(Config{}); !reflect.DeepEqual(top, []string{"poll", "ui", "proving", "timing", "plan", "alerts", "service", "host"}) {
		t.Fatalf("Config has tables %v: update configSchema", top)
	}
	// The nodes are decoded beside Config, in either shape.
	if a, b := tags(fileDoc{}), tags(fileDocs{}); !reflect.DeepEqual(a, []string{"node"}) || !reflect.DeepEqual(b, []string{"node"}) {
		t.Fatalf("the file's node tables are %v and %v", a, b)
	}
	for _, tbl := range configSchema {
		var got []string
		for _, k := range tbl.keys {
			got = append(got, k.key)
		}
		if !reflect.DeepEqual(got, want[tbl.name]) {
			t.Errorf("[%s]: schema %v, struct %v", tbl.name, got, want[tbl.name])
		}
	}
}

func TestConfigDefaultPath(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/x/conf")
	if p := DefaultPath(); p != "/x/conf/postdeck/config.toml" {
		t.Errorf("with XDG_CONFIG_HOME: %s", p)
	}
	t.Setenv("XDG_CONFIG_HOME", "relative/ignored")
	t.Setenv("HOME", "/home/u")
	if p := DefaultPath(); p != "/home/u/.config/postdeck/config.toml" {
		t.Errorf("fallback: %s", p)
	}
}
