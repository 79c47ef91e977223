package backend

import (
	"path/filepath"
	"testing"

	"postdeck/backend/config"
	"postdeck/backend/nodeapi"
	"postdeck/sim"
)

func topNodeOptions(l sim.Layout) nodeapi.Options {
	return nodeapi.Options{PostListener: l.PostListener, PrivateListener: l.PrivateListener, PublicListener: l.PublicListener}
}

func topNode(t testing.TB, opts nodeapi.Options) *nodeapi.Client {
	t.Helper()
	c, err := nodeapi.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// topRoundTrip renders cfg, writes it into dir and loads it back.
func topRoundTrip(t *testing.T, dir string, cfg *config.Config) (*config.Config, []byte) {
	t.Helper()
	data := config.Render(cfg)
	path := filepath.Join(dir, "config.toml")
	if err := config.WriteFile(path, data, true); err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(path)
	if err != nil {
		t.Fatalf("rendered config does not load: %v\n%s", err, data)
	}
	got.Path, got.Warnings = "", nil
	return got, data
}
