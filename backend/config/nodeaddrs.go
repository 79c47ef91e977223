package config

import (
	"net"
	"path/filepath"
)

// NodeAddrs are the configured node's listeners to dial (post, private,
// public; those that are host:port): one that answers means the node runs.
// The wizard and the merge form probe them before a merge.
func NodeAddrs(cfg *Config) []string {
	if cfg == nil {
		return nil
	}
	return listenersOf(&cfg.Node)
}

// NodeAddrsOf is NodeAddrs of the configured node whose data_folder is
// dataFolder (the target of a merge), the first node's when none is: in
// a fleet, the node that must be stopped is the one whose folder changes.
func NodeAddrsOf(cfg *Config, dataFolder string) []string {
	if cfg == nil {
		return nil
	}
	want := absClean(dataFolder)
	for _, n := range cfg.AllNodes() {
		if n.DataFolder != "" && absClean(n.DataFolder) == want {
			return listenersOf(&n)
		}
	}
	return listenersOf(&cfg.Node)
}

func absClean(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

func listenersOf(n *NodeConfig) []string {
	var out []string
	for _, l := range []string{n.PostListener, n.PrivateListener, n.PublicListener} {
		if l == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(l); err == nil {
			out = append(out, DialAddress(l))
		}
	}
	return out
}
