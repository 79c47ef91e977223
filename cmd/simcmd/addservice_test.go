package simcmd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/cmd/cmdtest"
)

// addFlowKey runs `keys add --add-service --yes` on the sim's PoST folder
// with a key to add, with env, and returns its output and the service it
// appended, as the config file now reads.
func addFlowKey(t *testing.T, cfg *config.Config, env ...string) (string, config.ServiceConfig) {
	t.Helper()
	dir := filepath.Join(filepath.Dir(cfg.Path), "new-post")
	out, errOut, code := cmdtest.PostdeckEnv(t, env, "keys", "add", dir, "--add-service", "--yes", "--config", cfg.Path)
	if code != 0 {
		t.Fatalf("keys add: exit %d\n%s%s", code, out, errOut)
	}
	now, err := config.Load(cfg.Path)
	if err != nil {
		t.Fatalf("the config does not load after keys add: %v", err)
	}
	for _, s := range now.Services {
		if s.Dir == dir {
			return out, s
		}
	}
	t.Fatalf("no [[service]] for %s:\n%s", dir, out)
	return "", config.ServiceConfig{}
}

// pathWith is a PATH of one folder, holding post-service when bin is set.
func pathWith(t *testing.T, bin string) string {
	dir := t.TempDir()
	if bin != "" {
		if err := os.Symlink(bin, filepath.Join(dir, "post-service")); err != nil {
			t.Fatal(err)
		}
	}
	return "PATH=" + dir
}

// In `sim --real-services` every service has the same bin and flags: the
// added one gets them too, says so, and `postdeck start` can start it.
func TestAddServiceTakesTheOtherServicesBin(t *testing.T) {
	cfg, _, _ := runSim(t, "--ids", "2", "--real-services")
	out, svc := addFlowKey(t, cfg, pathWith(t, ""))
	want := cfg.Services[0]
	if svc.Bin != want.Bin || svc.RandomXMode != want.RandomXMode || svc.Env["POSTDECK_SIM_SPEED"] == "" || len(svc.ExtraArgs) != 2 {
		t.Errorf("added %+v, want the bin, randomx_mode, env and extra_args of %+v", svc, want)
	}
	text, _ := os.ReadFile(cfg.Path)
	if !strings.Contains(string(text), `# bin, randomx_mode, extra_args, env copied from [[service]] "data01", "data02" (the same in each).`) {
		t.Errorf("the config does not say where bin came from:\n%s", text)
	}
	if !strings.Contains(out, `service "new-post": bin, randomx_mode`) {
		t.Errorf("the output does not say where bin came from:\n%s", out)
	}
	out, errOut, code := cmdtest.Postdeck(t, "start", "new-post", "--config", cfg.Path)
	if code != 0 || !strings.Contains(out, "new-post: started") {
		t.Errorf("start new-post: exit %d\n%s%s", code, out, errOut)
	}
}

// With no bin configured, a post-service running for the node lends its
// bin and its command line's flags, as init takes them.
func TestAddServiceTakesTheRunningServicesBin(t *testing.T) {
	cfg, _, _ := runSim(t, "--ids", "2")
	bin := filepath.Join(t.TempDir(), "post-service")
	if err := os.Symlink(cmdtest.Binary, bin); err != nil {
		t.Fatal(err)
	}
	ps := exec.Command(bin, "--address", "http://"+cfg.Node.PostListener, "--dir", cfg.Services[0].Dir,
		"--operator-address", testkit.FreeAddr(t), "--threads", "2", "--reconnect-interval-s", "1")
	if err := ps.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Process.Kill(); ps.Wait() })
	cmdtest.WaitFor(t, "the post-service's command line in /proc", func() bool {
		b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(ps.Process.Pid), "cmdline"))
		return strings.Contains(string(b), "--reconnect-interval-s")
	})
	out, svc := addFlowKey(t, cfg, pathWith(t, ""))
	if svc.Bin != bin || svc.Threads == nil || *svc.Threads != 2 || strings.Join(svc.ExtraArgs, " ") != "--reconnect-interval-s 1" {
		t.Errorf("added %+v, want bin %s, threads 2, extra_args --reconnect-interval-s 1", svc, bin)
	}
	if !strings.Contains(out, "bin, threads, extra_args from the command line of the post-service running as pid "+strconv.Itoa(ps.Process.Pid)) {
		t.Errorf("the output does not say where bin came from:\n%s", out)
	}
}

// With neither, post-service on PATH is the bin; without that either, the
// service is left watch-only and the output and the config say why.
func TestAddServiceBinFromPathOrWhyNone(t *testing.T) {
	t.Run("on PATH", func(t *testing.T) {
		cfg, _, _ := runSim(t, "--ids", "2")
		path := pathWith(t, cmdtest.Binary)
		out, svc := addFlowKey(t, cfg, path)
		want := filepath.Join(strings.TrimPrefix(path, "PATH="), "post-service")
		if svc.Bin != want || !strings.Contains(out, "bin "+want+": post-service on PATH") {
			t.Errorf("bin %q, want %s, said:\n%s", svc.Bin, want, out)
		}
	})
	t.Run("none", func(t *testing.T) {
		cfg, _, _ := runSim(t, "--ids", "2")
		out, svc := addFlowKey(t, cfg, pathWith(t, ""))
		why := "bin not set, so postdeck only watches this service: no configured [[service]] has a bin; " +
			"no post-service whose executable can be read runs dialling the node's post listener " + cfg.Node.PostListener +
			"; and no post-service is on PATH"
		if svc.Bin != "" || !strings.Contains(out, why) {
			t.Errorf("bin %q, want none and the output saying %q:\n%s", svc.Bin, why, out)
		}
		text, _ := os.ReadFile(cfg.Path)
		if !strings.Contains(string(text), "# "+why) || !strings.Contains(string(text), `# bin = ""`) {
			t.Errorf("the config does not say why bin is unset:\n%s", text)
		}
	})
}
