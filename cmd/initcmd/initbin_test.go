package initcmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/cmd/cmdtest"
)

// A post-service running on this machine (the real binary as the simulated
// one, started as post-service is) is written with its bin and flags, so
// postdeck can start it again; before, init wrote no bin and postdeck could
// only watch it.
func TestInitProposesTheRunningServicesBin(t *testing.T) {
	s, _ := cmdtest.StartSim(t, 1)
	l := s.Layout()
	bin := filepath.Join(t.TempDir(), "bin", "post-service")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(cmdtest.Binary, bin); err != nil {
		t.Fatal(err)
	}
	dir := l.Services[0].Dir
	svc := exec.Command(bin, "--address", "http://"+l.PostListener, "--dir", dir,
		"--operator-address", testkit.FreeAddr(t), "--threads", "2", "--randomx-mode", "light", "--reconnect-interval-s", "1")
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Process.Kill(); svc.Wait() })

	path := filepath.Join(t.TempDir(), "config.toml")
	if _, errOut, code := cmdtest.Call(t, Run, "--config", path, "--data-folder", l.DataFolder, "--post-listener", l.PostListener,
		"--private-listener", l.PrivateListener, "--public-listener", l.PublicListener); code != 0 {
		t.Fatalf("init exit %d: %s", code, errOut)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Services {
		if filepath.Clean(c.Dir) != filepath.Clean(dir) {
			continue // another test's post-service
		}
		if c.Bin != bin || c.Threads == nil || *c.Threads != 2 || c.RandomXMode != "light" ||
			len(c.ExtraArgs) != 2 || c.ExtraArgs[0] != "--reconnect-interval-s" {
			t.Errorf("service %+v, want bin %s, threads 2, light, extra --reconnect-interval-s 1", c, bin)
		}
		return
	}
	t.Fatalf("no [[service]] for %s: %+v", dir, cfg.Services)
}
