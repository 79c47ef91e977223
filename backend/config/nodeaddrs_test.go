package config

import "testing"

// NodeAddrs: the listeners to probe, in a form to dial; an empty or
// malformed one is left out.
func TestNodeAddrs(t *testing.T) {
	cfg := &Config{}
	cfg.Node.PostListener, cfg.Node.PrivateListener, cfg.Node.PublicListener = "0.0.0.0:9094", "", "no-port"
	if got := NodeAddrs(cfg); len(got) != 1 || got[0] != "127.0.0.1:9094" {
		t.Errorf("NodeAddrs = %q, want [127.0.0.1:9094]", got)
	}
	if NodeAddrs(nil) != nil {
		t.Error("NodeAddrs(nil) is not empty")
	}
}
