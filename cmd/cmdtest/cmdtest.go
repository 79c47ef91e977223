// Package cmdtest holds what the subcommands' tests share: the postdeck
// binary built once per test process, running it as a child, a simulator
// with a config written for it, and a real terminal (tmux, term.go).
package cmdtest

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/clock"
	"postdeck/cmd/common"
	"postdeck/cmd/simcmd"
	"postdeck/sim"
)

// Clock is the tests' clock: the one POSTDECK_NOW sets, so that the suite
// can be run at a chosen date, else the machine's. The binary run as a
// child process reads the same variable.
var Clock = clock.ForTest()

// Binary is the postdeck executable, built by Main for the tests that run it
// as a real child process.
var Binary string

// Main builds the binary, runs the package's tests and removes the binary;
// a test package's TestMain calls it.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "postdeck-bin")
	if err != nil {
		panic(err)
	}
	Binary = filepath.Join(dir, "postdeck")
	if out, err := exec.Command("go", "build", "-o", Binary, "postdeck").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// StartSim runs a simulator in manual mode (states move only when a test
// says) and writes a config for it; benchmarks use it too.
func StartSim(t testing.TB, ids int) (*sim.Sim, string) {
	t.Helper()
	s, err := sim.Start(context.Background(), sim.Options{IDs: ids, Manual: true, Seed: 7, Dir: t.TempDir(), Now: Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	path := filepath.Join(t.TempDir(), "postdeck.toml")
	if err := config.WriteFile(path, config.Render(simcmd.ConfigFromLayout(s.Layout())), false); err != nil {
		t.Fatal(err)
	}
	return s, path
}

// StartFleet runs three manual simulated nodes, node2 also holding
// node1's first key, and writes their config, changed first by edit (nil:
// as the fleet is).
func StartFleet(t *testing.T, edit func(*config.Config)) (*simcmd.Fleet, string) {
	t.Helper()
	f, err := simcmd.StartFleet(context.Background(), 3, sim.Options{IDs: 2, Manual: true, Seed: 1, Dir: t.TempDir(), Now: testkit.Clock.Now}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cfg, err := f.Config(func(l sim.Layout) (*config.Config, error) { return simcmd.ConfigFromLayout(l), nil })
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg)
	}
	path := filepath.Join(t.TempDir(), "fleet.toml")
	if err := config.WriteFile(path, config.Render(cfg), true); err != nil {
		t.Fatal(err)
	}
	return f, path
}

// Postdeck runs the binary and returns stdout, stderr and the exit code.
func Postdeck(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return PostdeckEnv(t, nil, args...)
}

// PostdeckEnv is Postdeck with extra environment variables. The config and
// state folders are the test's own unless env says otherwise.
func PostdeckEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return run(t, nil, env, args)
}

// PostdeckIn is Postdeck reading stdin (the answers to its questions).
func PostdeckIn(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return run(t, strings.NewReader(stdin), nil, args)
}

func run(t *testing.T, stdin io.Reader, env, args []string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary, args...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = stdin
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

// WaitFor polls cond until it holds, failing with what it waited for.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SyncBuf is a bytes.Buffer safe for a child's or a logger's writes while
// the test reads it.
type SyncBuf = testkit.SyncBuf

// Command is a subcommand's entry point, as main calls it.
type Command func(*common.Common, []string, io.Writer, io.Writer) int

// Call runs cmd in this process with args (what follows the subcommand's
// name) on the tests' clock, the config and state folders the test's own:
// cheaper than the binary where no signal, stdin or process name matters.
// It sets the environment, so a test that calls it cannot run in parallel.
func Call(t *testing.T, cmd Command, args ...string) (string, string, int) {
	t.Helper()
	return CallOn(t, Clock, cmd, args...)
}

// CallOn is Call on clk: a test that needs a chosen "now" (before a cycle
// gap, say) gives one.
func CallOn(t *testing.T, clk clock.Clock, cmd Command, args ...string) (string, string, int) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	var out, errb bytes.Buffer
	code := cmd(&common.Common{Clock: clk}, args, &out, &errb)
	return out.String(), errb.String(), code
}
