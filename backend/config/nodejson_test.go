package config

import (
	"path/filepath"
	"strings"
	"testing"

	"postdeck/backend/testkit"
)

const cfNodeJSON = `{
  "main": {"data-folder": "/var/spacemesh"},
  "api": {
    "grpc-public-listener": "0.0.0.0:9092",
    "grpc-private-listener": "127.0.0.1:9093",
    "grpc-post-listener": "127.0.0.1:9094"
  },
  "smeshing": {"smeshing-coinbase": "sm1qqqq", "smeshing-start": false}
}`

func TestNodeJSONRead(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", "/home/u")
	path := filepath.Join(dir, "node.json")
	testkit.WriteFile(t, path, strings.Replace(cfNodeJSON, "/var/spacemesh", "~/spacemesh", 1))
	n, err := ReadNodeJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if n.PublicListener != "0.0.0.0:9092" || n.PrivateListener != "127.0.0.1:9093" || n.PostListener != "127.0.0.1:9094" ||
		n.DataFolder != "/home/u/spacemesh" || n.Coinbase != "sm1qqqq" || n.SmeshingStart == nil || *n.SmeshingStart || n.JSONConfig != path {
		t.Fatalf("got %+v", n)
	}

	testkit.WriteFile(t, path, "{\n  \"api\": {\n    \"grpc-post-listener\": 9094\n  }\n}")
	if _, err := ReadNodeJSON(path); err == nil || !strings.Contains(err.Error(), path+":3") {
		t.Errorf("type error: %v, want it located at line 3", err)
	}
	testkit.WriteFile(t, path, "{\n\"api\": {,\n}")
	if _, err := ReadNodeJSON(path); err == nil || !strings.Contains(err.Error(), path+":2") {
		t.Errorf("syntax error: %v, want it located at line 2", err)
	}
	if _, err := ReadNodeJSON(filepath.Join(dir, "none.json")); err == nil || !strings.Contains(err.Error(), "none.json") {
		t.Errorf("missing file: %v", err)
	}
}

// cfLoadWithJSON writes node.json and a config.toml naming it, and loads.
func cfLoadWithJSON(t *testing.T, nodeJSON, toml string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFile(t, filepath.Join(dir, "node.json"), nodeJSON)
	path := filepath.Join(dir, "config.toml")
	testkit.WriteFile(t, path, toml)
	return Load(path)
}

func TestNodeJSONMerge(t *testing.T) {
	// TOML wins; only empty values are filled; 0.0.0.0 is dialled on loopback.
	cfg, err := cfLoadWithJSON(t, cfNodeJSON, "[node]\nconfig = \"node.json\"\nprivate_listener = \"127.0.0.1:7000\"\n")
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Node
	if n.PublicListener != "127.0.0.1:9092" || n.PrivateListener != "127.0.0.1:7000" || n.PostListener != "127.0.0.1:9094" ||
		n.DataFolder != "/var/spacemesh" || n.Coinbase != "sm1qqqq" || n.JSONConfig != "node.json" {
		t.Fatalf("merged: %+v", n)
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "postdeck dials 127.0.0.1:7000 for api.grpc-private-listener") {
		t.Errorf("warnings: %q", cfg.Warnings)
	}
}

func TestNodeJSONRandomPostPort(t *testing.T) {
	for name, js := range map[string]string{
		"port 0":    `{"api": {"grpc-post-listener": "127.0.0.1:0", "grpc-public-listener": "0.0.0.0:9092", "grpc-private-listener": "127.0.0.1:9093"}, "smeshing": {"smeshing-coinbase": "c"}}`,
		"left out":  `{"api": {"grpc-public-listener": "0.0.0.0:9092", "grpc-private-listener": "127.0.0.1:9093"}, "smeshing": {"smeshing-coinbase": "c"}}`,
		"all unset": `{"smeshing": {"smeshing-coinbase": "c"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := cfLoadWithJSON(t, js, "[node]\nconfig = \"node.json\"\n")
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Node.PostListener != "" {
				t.Errorf("post listener %q: a random port must not be dialled", cfg.Node.PostListener)
			}
			if cfg.Node.PublicListener != "127.0.0.1:9092" || cfg.Node.PrivateListener != "127.0.0.1:9093" {
				t.Errorf("listeners: %+v", cfg.Node)
			}
			all := strings.Join(cfg.Warnings, "\n")
			if !strings.Contains(all, "api.grpc-post-listener") || !strings.Contains(all, "random port") || !strings.Contains(all, "fixed port") {
				t.Errorf("warnings do not explain the random post port:\n%s", all)
			}
			if name == "all unset" && !strings.Contains(all, "assuming the node's default 127.0.0.1:9093") {
				t.Errorf("warnings do not mention the assumed default:\n%s", all)
			}
		})
	}
	// A fixed port in TOML while the node is on a random one: kept, but warned.
	cfg, err := cfLoadWithJSON(t, `{"api": {"grpc-post-listener": "127.0.0.1:0"}, "smeshing": {"smeshing-coinbase": "c"}}`,
		"[node]\nconfig = \"node.json\"\npost_listener = \"127.0.0.1:9094\"\n")
	if err != nil || cfg.Node.PostListener != "127.0.0.1:9094" || !strings.Contains(strings.Join(cfg.Warnings, "\n"), "random port") {
		t.Errorf("toml fixed, json random: %+v %q %v", cfg.Node, cfg.Warnings, err)
	}
}

func TestNodeJSONCoinbaseAndStart(t *testing.T) {
	cfg, err := cfLoadWithJSON(t, `{"api": {"grpc-post-listener": "127.0.0.1:9094"}, "smeshing": {"smeshing-start": true}}`, "[node]\nconfig = \"node.json\"\n")
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(cfg.Warnings, "\n")
	if !strings.Contains(all, "smeshing-coinbase") || !strings.Contains(all, "smeshing-start true") {
		t.Errorf("warnings: %s", all)
	}
}

func TestNodeJSONErrorsInConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	testkit.WriteFile(t, path, "[node]\n\nconfig = \"missing.json\"\n")
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+`:3: [node]: config "missing.json": cannot read the node's config`) {
		t.Fatalf("err = %v", err)
	}
	_, err = cfLoadWithJSON(t, "{", "[node]\nconfig = \"node.json\"\n")
	if err == nil || !strings.Contains(err.Error(), "node.json:1 is not valid") {
		t.Fatalf("err = %v", err)
	}
}
