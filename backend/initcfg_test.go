package backend

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
)

// cfInitWorld is a machine for `postdeck init`: a node data folder with
// three keys, PoST dirs, a node JSON config and a fake /proc.
type cfInitWorld struct {
	root, data, proc, nodeJSON string
	d1, d2, d3                 string
}

func cfNewInitWorld(t *testing.T) cfInitWorld {
	t.Helper()
	root := t.TempDir()
	w := cfInitWorld{
		root: root, data: filepath.Join(root, "node"), proc: filepath.Join(root, "proc"),
		nodeJSON: filepath.Join(root, "node.json"),
		d1:       filepath.Join(root, "d1", "data1"), d2: filepath.Join(root, "d2", "data1"), d3: filepath.Join(root, "d3", "data3"),
	}
	for i, name := range []string{"post0.key", "post1.key", "post2.key"} {
		pub, hx := testkit.Key(byte(i + 1))
		testkit.WriteFile(t, filepath.Join(w.data, "identities", name), hx)
		switch i {
		case 0:
			testkit.Metadata(t, w.d1, pub, 4)
		case 1:
			testkit.Metadata(t, w.d2, pub, 8)
		}
	}
	testkit.WriteFile(t, filepath.Join(w.d3, "postdata_0.bin"), "") // no metadata
	testkit.WriteFile(t, w.nodeJSON, fmt.Sprintf(`{"main": {"data-folder": %q},
"api": {"grpc-public-listener": "0.0.0.0:9092", "grpc-private-listener": "127.0.0.1:9093", "grpc-post-listener": "127.0.0.1:0"},
"smeshing": {"smeshing-coinbase": "sm1qqqq", "smeshing-start": false}}`, w.data))
	testkit.FakeProc(t, w.proc, "10", []string{"/usr/bin/post-service", "--address", "http://127.0.0.1:9094", "--dir", w.d1,
		"--operator-address", "127.0.0.1:50051"}, "", false)
	testkit.FakeProc(t, w.proc, "11", []string{"post-service", "--address=http://127.0.0.1:9094", "--dir=" + w.d2}, "", false)
	testkit.FakeProc(t, w.proc, "12", []string{"post-service", "-a", "http://127.0.0.1:9094", "-d", "data3",
		"--operator-address", "0.0.0.0:50053"}, filepath.Dir(w.d3), false)
	testkit.FakeProc(t, w.proc, "13", []string{"post-service", "-a", "http://127.0.0.1:9094", "-d", w.d1 + "/"}, "", false)
	return w
}

func TestInitFromNodeConfigAndProc(t *testing.T) {
	w := cfNewInitWorld(t)
	cfg, notes, err := BuildInitConfig(InitOptions{NodeJSONConfig: w.nodeJSON, ProcRoot: w.proc})
	if err != nil {
		t.Fatal(err)
	}
	wantNode := config.NodeConfig{
		PostListener:    "127.0.0.1:9094", // from the services' --address: the node's is random
		PrivateListener: "127.0.0.1:9093", PublicListener: "127.0.0.1:9092",
		DataFolder: w.data, JSONConfig: w.nodeJSON, Coinbase: "sm1qqqq", SmeshingStart: cfg.Node.SmeshingStart,
	}
	if !reflect.DeepEqual(cfg.Node, wantNode) || cfg.Node.SmeshingStart == nil {
		t.Errorf("node:\n got  %+v\n want %+v", cfg.Node, wantNode)
	}
	wantSvc := []config.ServiceConfig{
		{Name: "data1", Dir: w.d1, Operator: "127.0.0.1:50051"},
		{Name: "data1-2", Dir: w.d2, Operator: ""},
		{Name: "data3", Dir: w.d3, Operator: "127.0.0.1:50053"},
	}
	if !reflect.DeepEqual(cfg.Services, wantSvc) {
		t.Errorf("services:\n got  %+v\n want %+v", cfg.Services, wantSvc)
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{
		"api.grpc-post-listener is \"127.0.0.1:0\"",
		"found 3 key file(s)",
		"post_listener 127.0.0.1:9094 taken from the --address",
		"post-service for " + w.d2 + " has no --operator-address: postdeck cannot see its state; add --operator-address 127.0.0.1:50052",
		w.d1 + " proves for identity post0.key",
		w.d2 + " proves for identity post1.key",
		"no postdata_metadata.json in " + w.d3,
		"post-services pid 10 and pid 13 both use " + w.d1,
		"no running post-service found for post2.key",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("notes lack %q:\n%s", want, all)
		}
	}

	// What init found renders to a file that loads back the same.
	got, _ := topRoundTrip(t, t.TempDir(), cfg)
	if !reflect.DeepEqual(got, cfg) {
		t.Errorf("init config does not round-trip:\n got  %+v\n want %+v", got, cfg)
	}
}

func TestInitFlagsWin(t *testing.T) {
	w := cfNewInitWorld(t)
	cfg, notes, err := BuildInitConfig(InitOptions{NodeJSONConfig: w.nodeJSON, ProcRoot: w.proc,
		PostListener: "127.0.0.1:7777", PublicListener: "0.0.0.0:7092"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Node.PostListener != "127.0.0.1:7777" || cfg.Node.PublicListener != "127.0.0.1:7092" {
		t.Errorf("node: %+v", cfg.Node)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "dials http://127.0.0.1:9094 but the node's post listener is 127.0.0.1:7777") {
		t.Errorf("no mismatch note:\n%s", strings.Join(notes, "\n"))
	}
}

func TestInitNothingFound(t *testing.T) {
	proc := t.TempDir()
	cfg, notes, err := BuildInitConfig(InitOptions{ProcRoot: proc})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Services) != 0 || cfg.Poll.Workers != config.DefaultWorkers {
		t.Errorf("cfg: %+v", cfg)
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{"no data folder known", "no running post-service found in " + proc, "no post listener known"} {
		if !strings.Contains(all, want) {
			t.Errorf("notes lack %q:\n%s", want, all)
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}

func TestInitErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		opts InitOptions
		want string
	}{
		{InitOptions{PostListener: "127.0.0.1:90x4", ProcRoot: dir}, `--post-listener: post_listener "127.0.0.1:90x4": expected host:port`},
		{InitOptions{PrivateListener: "127.0.0.1:0", ProcRoot: dir}, "--private-listener"},
		{InitOptions{NodeJSONConfig: filepath.Join(dir, "none.json"), ProcRoot: dir}, "none.json"},
	}
	for _, c := range cases {
		_, _, err := BuildInitConfig(c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.opts, err, c.want)
		}
	}
}

// TestInitAddNodeTakesOnlyItsServices: beside a config whose node listens
// on 9094, init --add-node keeps to the post-services that dial the new
// node and that the config does not hold yet.
func TestInitAddNodeTakesOnlyItsServices(t *testing.T) {
	w := cfNewInitWorld(t)
	existing := &config.Config{Node: config.NodeConfig{PostListener: "127.0.0.1:9094", DataFolder: w.data},
		Services: []config.ServiceConfig{{Name: "data1", Dir: w.d1, Operator: "127.0.0.1:50051"}}}
	proc := filepath.Join(w.root, "proc2")
	e1, e2, e3, e4 := filepath.Join(w.root, "e1", "data1"), filepath.Join(w.root, "e2", "big"), filepath.Join(w.root, "e3", "x"), filepath.Join(w.root, "e4", "y")
	node2 := filepath.Join(w.root, "node2")
	pub, hx := testkit.Key(7)
	testkit.WriteFile(t, filepath.Join(node2, "identities", "n2.key"), hx)
	testkit.Metadata(t, e1, pub, 4)
	for pid, argv := range map[string][]string{
		"10": {"post-service", "--address", "http://127.0.0.1:9094", "--dir", w.d1, "--operator-address", "127.0.0.1:50051"},
		"11": {"post-service", "--address", "http://127.0.0.1:9094", "--dir", w.d2},
		"20": {"post-service", "--address", "http://0.0.0.0:9194", "--dir", e1, "--operator-address", "127.0.0.1:50051"},
		"21": {"post-service", "--address", "http://127.0.0.1:9194", "--dir", e2, "--operator-address", "127.0.0.1:50062"},
		"22": {"post-service", "--address", "http://127.0.0.1:9294", "--dir", e3},
		"23": {"post-service", "--address", "127.0.0.1:9194", "--dir", e4},
	} {
		testkit.FakeProc(t, proc, pid, argv, "", false)
	}
	cfg, notes, err := BuildInitConfig(InitOptions{DataFolder: node2, PostListener: "127.0.0.1:9194", ProcRoot: proc, Existing: existing})
	if err != nil {
		t.Fatal(err)
	}
	want := []config.ServiceConfig{
		{Name: "data1-2", Dir: e1}, // its operator is the configured data1's
		{Name: "big", Dir: e2, Operator: "127.0.0.1:50062"},
	}
	if !reflect.DeepEqual(cfg.Services, want) {
		t.Errorf("services:\n got  %+v\n want %+v", cfg.Services, want)
	}
	all := strings.Join(notes, "\n")
	for _, s := range []string{
		"post-service for " + w.d1 + ` is [[service]] "data1" already`,
		"post-service for " + w.d2 + " dials 127.0.0.1:9094, the post listener of the config's first node: not added",
		"post-service for " + e1 + " uses --operator-address 127.0.0.1:50051 like another one",
		e1 + " proves for identity n2.key",
		"post-service for " + e3 + " dials http://127.0.0.1:9294, not this node's post listener 127.0.0.1:9194: not added",
		"post-service for " + e4 + `: --address "127.0.0.1:9194" is not a URL`,
	} {
		if !strings.Contains(all, s) {
			t.Errorf("notes lack %q:\n%s", s, all)
		}
	}

	// Without a post listener, the first service that dials no configured
	// node gives it (e1 and e2 dial 9194; the order of /proc is by PID).
	cfg, _, err = BuildInitConfig(InitOptions{DataFolder: node2, ProcRoot: proc, Existing: existing})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Node.PostListener != "127.0.0.1:9194" || len(cfg.Services) != 2 {
		t.Errorf("node %+v, services %+v", cfg.Node, cfg.Services)
	}
}
