package versioncmd

import (
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/cmd/cmdtest"
	"postdeck/cmd/simcmd"
)

// `postdeck version` of the real binary names the module, the toolchain and
// the revision, or says plainly that none was recorded: these machines
// build with GOFLAGS=-buildvcs=false, so either is right here.
func TestVersionPrintsTheBuild(t *testing.T) {
	out, errOut, code := cmdtest.Postdeck(t, "version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "postdeck ") || lines[0] == "postdeck " {
		t.Errorf("first line %q, want postdeck and a version", lines[0])
	}
	if !strings.Contains(out, "module    postdeck") || !strings.Contains(out, "go        "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH) {
		t.Errorf("no module or toolchain:\n%s", out)
	}
	rev := regexp.MustCompile(`(?m)^  revision  ([0-9a-f]{40}|not recorded \(built with -buildvcs=false)`)
	if !rev.MatchString(out) {
		t.Errorf("no revision, nor why there is none:\n%s", out)
	}
}

// With --node: the node's version and each bin's, here the simulator and
// its simulated post-services run as post-service (as the dashboard does).
func TestVersionNodeAsksTheNodeAndEachBin(t *testing.T) {
	s, _ := cmdtest.StartSim(t, 3)
	cfg, err := simcmd.RealServicesConfig(s.Layout(), cmdtest.Binary, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	// One service whose bin is gone, one with none.
	gone := filepath.Join(t.TempDir(), "old", "post-service")
	cfg.Services[1].Bin = gone
	cfg.Services[2].Bin = ""
	path := filepath.Join(t.TempDir(), "postdeck.toml")
	if err := config.WriteFile(path, config.Render(cfg), false); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := cmdtest.Postdeck(t, "version", "--node", "--config", path)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	svc := cfg.Services
	for _, want := range []string{
		"node  v1.7.6-sim (public listener " + cfg.Node.PublicListener + ")",
		"post-service  " + svc[0].Bin + ": simulated by postdeck ",
		"(" + svc[0].Name + ")",
		"post-service  " + gone + ": unknown: " + gone + " does not exist (" + svc[1].Name + ")",
		"post-service  no bin set for " + svc[2].Name + ": postdeck only watches them",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
}

// A node that does not answer is said so, and the exit code tells a script.
func TestVersionNodeDown(t *testing.T) {
	addr := testkit.FreeAddr(t)
	path := filepath.Join(t.TempDir(), "postdeck.toml")
	testkit.WriteFile(t, path, "[node]\npost_listener = \""+addr+"\"\nprivate_listener = \""+addr+"\"\npublic_listener = \""+addr+"\"\n")
	out, _, code := cmdtest.Postdeck(t, "version", "--node", "--config", path)
	if code != 1 || !strings.Contains(out, "node  unknown: ") || !strings.HasPrefix(out, "postdeck ") {
		t.Errorf("exit %d, want 1 with the node unknown:\n%s", code, out)
	}
}
