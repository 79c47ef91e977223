package config

import "net"

// NodeAddrs are the configured node's listeners to dial (post, private,
// public; those that are host:port): one that answers means the node runs.
// The wizard and the merge form probe them before a merge.
func NodeAddrs(cfg *Config) []string {
	if cfg == nil {
		return nil
	}
	var out []string
	for _, l := range []string{cfg.Node.PostListener, cfg.Node.PrivateListener, cfg.Node.PublicListener} {
		if l == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(l); err == nil {
			out = append(out, DialAddress(l))
		}
	}
	return out
}
