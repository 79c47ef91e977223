package backend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
)

// Services whose bins differ lend none, and neither do other nodes'
// services: the bin then comes from further down (here PATH), and the note
// says why the configured ones were passed over. Keys that differ between
// the services that agree on bin are not copied.
func TestProposeLaunchSkipsDisagreeingBins(t *testing.T) {
	pathDir := t.TempDir()
	testkit.WriteFile(t, filepath.Join(pathDir, "post-service"), "#!/bin/sh\n")
	if err := os.Chmod(filepath.Join(pathDir, "post-service"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", pathDir)
	procRoot := t.TempDir() // no processes

	cfg := &config.Config{Node: config.NodeConfig{PostListener: "127.0.0.1:9094"}, Services: []config.ServiceConfig{
		{Name: "a", Bin: "/opt/a/post-service", RandomXMode: "light"},
		{Name: "b", Bin: "/opt/b/post-service", RandomXMode: "light"},
	}}
	var s config.ServiceConfig
	note := proposeLaunch(cfg, &s, procRoot)
	if s.Bin != filepath.Join(pathDir, "post-service") || s.RandomXMode != "" ||
		!strings.Contains(note, "the configured services' bins differ (/opt/a/post-service, /opt/b/post-service)") {
		t.Errorf("bin %q randomx %q, note %q", s.Bin, s.RandomXMode, note)
	}

	one := 1
	cfg.Services[1].Bin = cfg.Services[0].Bin
	cfg.Services[0].Threads, cfg.Services[1].Threads = &one, nil
	cfg.Services = append(cfg.Services, config.ServiceConfig{Name: "c", Node: "node2", Bin: "/opt/c/post-service"})
	s = config.ServiceConfig{}
	note = proposeLaunch(cfg, &s, procRoot)
	if s.Bin != "/opt/a/post-service" || s.Threads != nil || s.RandomXMode != "light" ||
		note != `bin, randomx_mode copied from [[service]] "a", "b" (the same in each)` {
		t.Errorf("bin %q threads %v randomx %q, note %q", s.Bin, s.Threads, s.RandomXMode, note)
	}
}
