package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"postdeck/backend"
	"postdeck/clock"
	"postdeck/model"
	"postdeck/sim"
)

// testClock is the tests' clock: the one POSTDECK_NOW sets, so that the
// suite can be run at a chosen date, else the machine's. The binary run as a
// child process reads the same variable.
var testClock = clock.ForTest()

// binary is the postdeck executable built once for the tests that run it as
// a real child process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "postdeck-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "postdeck")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startSim runs a simulator in manual mode (states move only when a test
// says) and writes a config for it; benchmarks use it too.
func startSim(t testing.TB, ids int) (*sim.Sim, string) {
	t.Helper()
	s, err := sim.Start(context.Background(), sim.Options{IDs: ids, Manual: true, Seed: 7, Dir: t.TempDir(), Now: testClock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	path := filepath.Join(t.TempDir(), "postdeck.toml")
	if err := backend.WriteConfigFile(path, backend.RenderConfig(configFromLayout(s.Layout())), false); err != nil {
		t.Fatal(err)
	}
	return s, path
}

// postdeck runs the binary and returns stdout, stderr and the exit code.
func postdeck(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return postdeckEnv(t, nil, args...)
}

// postdeckEnv is postdeck with extra environment variables. The config and
// state folders are the test's own unless env says otherwise.
func postdeckEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestStatusJSONAgainstSimulator(t *testing.T) {
	s, cfg := startSim(t, 5)
	l := s.Layout()
	proving := l.Services[2]
	s.SetNodeState(proving.NodeID, model.NodeProving)
	s.SetOperatorBody(proving.Name, `{"Proving":{"nonces":{"start":128,"end":256},"position":0}}`)

	// Global flags after the subcommand, as scripts write them.
	out, errOut, code := postdeck(t, "status", "--json", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr: %s", code, errOut)
	}
	var doc model.StatusDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !strings.HasPrefix(doc.Node.Version, "v") || !doc.Node.Synced {
		t.Errorf("node %+v, want the simulator's version, synced", doc.Node)
	}
	if len(doc.Identities) != 5 {
		t.Fatalf("%d identities, want 5", len(doc.Identities))
	}
	var names []string
	for _, id := range doc.Identities {
		names = append(names, id.Name)
		if len(id.ID) != 64 {
			t.Errorf("id %q is not 64 hex characters", id.ID)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("identities not sorted by name: %v", names)
	}
	for _, id := range doc.Identities {
		if id.Service != proving.Name {
			continue
		}
		if id.NodeState != "PROVING" || id.ServiceState != "proving" || id.Progress == nil ||
			id.Progress.Phase != "k2pow" || id.Progress.Pass != 2 {
			t.Errorf("proving identity = %+v, progress %+v", id, id.Progress)
		}
	}
}

func TestStatusExitsTwoWhenAServiceIsDownWhileProving(t *testing.T) {
	s, cfg := startSim(t, 3)
	victim := s.Layout().Services[0]
	s.SetNodeState(victim.NodeID, model.NodeProving)
	s.SetFault(victim.Name, sim.FaultDown)

	out, _, code := postdeck(t, "--config", cfg, "status")
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, out)
	}
	if !strings.Contains(out, string(model.HealthServiceDown)) || !strings.Contains(out, victim.Operator) {
		t.Errorf("table does not name the problem and the operator address:\n%s", out)
	}
}

func TestStatusWithNodeDownStillShowsServices(t *testing.T) {
	s, cfg := startSim(t, 2)
	if err := s.StopNode(); err != nil {
		t.Fatal(err)
	}
	out, _, code := postdeck(t, "status", "--json", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d with the node down and no identity critical", code)
	}
	var doc model.StatusDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Node.Errors) == 0 {
		t.Error("node down but no node error reported")
	}
	if len(doc.Identities) != 2 || doc.Identities[0].ServiceState != "idle" || doc.Identities[0].NodeState != "unknown" {
		t.Errorf("identities %+v, want both services idle with the node state unknown", doc.Identities)
	}
}

func TestConfigTypoIsAUsageError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte("[node]\npost_listener = \"127.0.0.1:9094\"\n\n[[service]]\nname = \"data1\"\ndir = \"/tmp/d1\"\noperater = \"127.0.0.1:50051\"\n"), 0o600)
	_, errOut, code := postdeck(t, "status", "--config", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"config.toml:7", "operater"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error %q does not contain %q", errOut, want)
		}
	}
}

func TestMissingDefaultConfigSaysWhatToDo(t *testing.T) {
	_, errOut, code := postdeck(t, "status")
	if code != 1 || !strings.Contains(errOut, "postdeck init") {
		t.Errorf("exit %d, stderr %q: want 1 and a pointer to `postdeck init`", code, errOut)
	}
}

func TestUnknownCommand(t *testing.T) {
	_, errOut, code := postdeck(t, "stauts")
	if code != 1 || !strings.Contains(errOut, `unknown command "stauts"`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestInitWritesAConfigThatStatusReads(t *testing.T) {
	s, _ := startSim(t, 3)
	l := s.Layout()
	cfg := filepath.Join(t.TempDir(), "pd", "config.toml")
	args := []string{"init", "--config", cfg, "--data-folder", l.DataFolder, "--post-listener", l.PostListener,
		"--private-listener", l.PrivateListener, "--public-listener", l.PublicListener}
	if _, errOut, code := postdeck(t, args...); code != 0 {
		t.Fatalf("init exit %d: %s", code, errOut)
	}
	if _, errOut, code := postdeck(t, args...); code != 1 || !strings.Contains(errOut, "--force") {
		t.Errorf("second init: exit %d, stderr %q; want a refusal that mentions --force", code, errOut)
	}
	out, errOut, code := postdeck(t, "status", "--json", "--config", cfg)
	if code != 0 {
		t.Fatalf("status exit %d: %s", code, errOut)
	}
	var doc model.StatusDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	// No post-service for these identities runs on this machine, so init
	// found none for them: every identity the node has shows up without a
	// service. (Other tests' post-services may be running; init adds those.)
	ours := map[string]bool{}
	for _, svc := range l.Services {
		ours[filepath.Base(svc.KeyFile)] = true
	}
	found := 0
	for _, id := range doc.Identities {
		if !ours[id.Name] {
			continue
		}
		found++
		if !slices.Contains(id.Health, model.HealthNoService) {
			t.Errorf("%s health %v, want no-service", id.Name, id.Health)
		}
	}
	if found != 3 {
		t.Fatalf("identities %+v, want the node's 3", doc.Identities)
	}
}
