// Package backend is everything in postdeck that touches the outside world:
// the node over gRPC reflection, the post-services' operator HTTP API, the
// poller that joins them, key files, PoST metadata and the config file.
package backend

import "time"

// Config is postdeck's config file (TOML). Field tags are the file's keys.
type Config struct {
	// Path is the file the config was read from ("" when built in memory).
	Path     string          `toml:"-"`
	Node     NodeConfig      `toml:"node"`
	Poll     PollConfig      `toml:"poll"`
	UI       UIConfig        `toml:"ui"`
	Services []ServiceConfig `toml:"service"`
}

// NodeConfig says where the node's three gRPC listeners and data folder are.
// Any listener may be empty: what it would show is then "unavailable".
type NodeConfig struct {
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

// ServiceConfig is one post-service: its PoST data directory and its
// --operator-address.
type ServiceConfig struct {
	Name     string `toml:"name"`
	Dir      string `toml:"dir"`
	Operator string `toml:"operator"`
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
