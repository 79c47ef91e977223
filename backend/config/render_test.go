package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"postdeck/backend/testkit"
	"postdeck/safefile"
)

// cfRoundTrip renders cfg, writes it into dir and loads it back.
func cfRoundTrip(t *testing.T, dir string, cfg *Config) (*Config, []byte) {
	t.Helper()
	data := Render(cfg)
	path := filepath.Join(dir, "config.toml")
	if err := WriteFile(path, data, true); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatalf("rendered config does not load: %v\n%s", err, data)
	}
	got.Path, got.Warnings = "", nil
	return got, data
}

func TestRenderRoundTrip(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFile(t, filepath.Join(dir, "node.json"), cfNodeJSON)
	no := false
	zero := 0
	full := &Config{
		Node: NodeConfig{
			PostListener: "127.0.0.1:9094", PrivateListener: "127.0.0.1:9093", PublicListener: "10.0.0.2:9092",
			DataFolder: "/var/spacemesh", JSONConfig: filepath.Join(dir, "node.json"),
			TLSCACert: "/etc/ca.pem", TLSCert: "/etc/c.pem", TLSKey: "/etc/k.pem", TLSServerName: "node.example",
			Coinbase: "sm1qqqq", SmeshingStart: &no,
		},
		Poll: PollConfig{Interval: Duration{1500 * time.Millisecond}, Timeout: Duration{700 * time.Millisecond},
			Workers: 8, NodeTimeout: Duration{5 * time.Second}},
		UI:      UIConfig{Theme: "light"},
		Proving: ProvingConfig{Auto: true, MaxPerDisk: 2, MaxTotal: 3, StopGrace: Duration{30 * time.Second}},
		Timing: TimingConfig{Genesis: Timestamp{time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)}, LayerDuration: Duration{5 * time.Minute},
			LayersPerEpoch: 288, PoetPhaseShift: Duration{10 * time.Hour}, PoetCycleGap: Duration{6 * time.Hour}},
		Plan: PlanConfig{ReadMiBs: 250, K2Pow: Duration{12 * time.Minute}},
		Alerts: AlertsConfig{Command: `cat >> "$HOME/alerts.json"`, Webhook: "https://hooks.example.com/p?x=1",
			Debounce: Duration{30 * time.Second}, Timeout: Duration{3 * time.Second}, RewardsStopped: Duration{6 * time.Hour}},
		Services: []ServiceConfig{
			{Name: "data1", Dir: "/mnt/d1/data1", Operator: "127.0.0.1:50051",
				Bin: "/opt/post/post-service", Threads: &zero, Nonces: 288, RandomXMode: "light",
				Address: "https://10.0.0.2:9094", ExtraArgs: []string{"--max-retries", "10", `we "ird"`},
				Env: map[string]string{"RUST_LOG": "info", "odd key": `v"1`}, Disk: "disk1"},
			{Name: `odd "name" \ é`, Dir: "/mnt/with space/tab\there", Operator: ""},
			{Name: "data3", Dir: "/mnt/d3/data3", Operator: "[::1]:50053", SystemdUnit: "post-data3.service",
				RemoteK2Pow: "http://10.0.0.5:3000", RemoteK2PowParallelism: 8, RemoteK2PowBackoff: Duration{10 * time.Second}},
			{Name: "data4", Dir: "/mnt/d4/data4", Operator: "127.0.0.1:50054", Bin: "post-service"},
		},
	}
	got, data := cfRoundTrip(t, dir, full)
	if !reflect.DeepEqual(got, full) {
		t.Errorf("round trip changed the config:\n got  %+v\n want %+v\n%s", got, full, data)
	}
	text := string(data)
	for _, want := range []string{"# api.grpc-post-listener", "[[service]]", "No --operator-address known", "\n# operator = \"\"\n",
		"[proving]", "\nstop_grace = \"30s\"\n", "\n# bin = \"\"", "\n# threads = 1\n", "\n# nonces = 128\n",
		`env = { RUST_LOG = "info", "odd key" = "v\"1" }`, "[timing]", "\ngenesis = \"2024-03-01T12:30:00Z\"\n",
		"\nlayers_per_epoch = 288\n", "[alerts]", "\ndebounce = \"30s\"\n", `command = "cat >> \"$HOME/alerts.json\""`, `extra_args = ["--max-retries", "10", "we \"ird\""]`} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered file lacks %q:\n%s", want, text)
		}
	}

	// An empty config renders with defaults and an example service, all
	// commented, and loads back to the defaults.
	empty := &Config{}
	got, data = cfRoundTrip(t, t.TempDir(), empty)
	ApplyDefaults(empty)
	if !reflect.DeepEqual(got, empty) {
		t.Errorf("empty round trip: got %+v want %+v\n%s", got, empty, data)
	}
	for _, want := range []string{"\ngenesis = \"2023-07-14T08:00:00Z\"\n", "\nlayer_duration = \"5m0s\"\n", "\nlayers_per_epoch = 4032\n",
		"\npoet_phase_shift = \"240h0m0s\"\n", "\npoet_cycle_gap = \"12h0m0s\"\n", "\n# command = \"\"\n", "\n# webhook = \"\"\n",
		"\ndebounce = \"5m0s\"\n", "\ntimeout = \"10s\"\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("empty config renders without %q:\n%s", want, data)
		}
	}
	if !strings.Contains(string(data), "# [[service]]") {
		t.Errorf("no example service:\n%s", data)
	}
}

func TestWriteConfigFile(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "new", "postdeck")
	path := filepath.Join(dir, "config.toml")
	if err := WriteFile(path, []byte("one\n"), false); err != nil {
		t.Fatal(err)
	}
	cfCheckFile(t, path, "one\n")
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("parent folder: %v %v, want mode 0700", fi.Mode(), err)
	}

	err := WriteFile(path, []byte("two\n"), false)
	if err == nil || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), path) {
		t.Fatalf("overwrite without force: %v", err)
	}
	cfCheckFile(t, path, "one\n")

	// An existing file with loose permissions is replaced by a 0600 one.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("three\n"), true); err != nil {
		t.Fatal(err)
	}
	cfCheckFile(t, path, "three\n")
}

// cfCheckFile checks content, mode 0600 and that no temp file is left.
func cfCheckFile(t *testing.T, path, content string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != content {
		t.Errorf("%s: %q %v, want %q", path, b, err, content)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v %v, want 0600", path, fi.Mode(), err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want only %s", names, filepath.Base(path))
	}
}

func TestWriteFileAtomicNoClobberRace(t *testing.T) {
	// Many writers without overwrite: exactly one wins, the others get
	// fs.ErrExist, and the file is one writer's whole content.
	path := filepath.Join(t.TempDir(), "f")
	const n = 8
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			errs <- safefile.WriteAtomic(path, []byte(strings.Repeat(string(rune('a'+i)), 1000)), 0o600, false)
		}(i)
	}
	wins := 0
	for i := 0; i < n; i++ {
		if err := <-errs; err == nil {
			wins++
		} else if !os.IsExist(err) && !strings.Contains(err.Error(), "exists") {
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won, want 1", wins)
	}
	b, _ := os.ReadFile(path)
	if len(b) != 1000 || strings.Count(string(b), string(b[:1])) != 1000 {
		t.Errorf("file is not one writer's content: %q…", b[:20])
	}
	cfCheckFile(t, path, string(b))
}
