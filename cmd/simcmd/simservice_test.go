package simcmd_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"postdeck/backend/testkit"
	"postdeck/cmd/cmdtest"
	"postdeck/model"
	"postdeck/sim"
)

// waitUntil polls cond until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// operatorStatus asks a post-service's /status; ok is false when it does not answer.
func operatorStatus(addr string) (model.OperatorStatus, bool) {
	c := http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/status")
	if err != nil {
		return model.OperatorStatus{}, false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return model.ParseStatus(b), err == nil && resp.StatusCode == http.StatusOK
}

// startRealSim runs a sim that waits for real post-service processes.
func startRealSim(t *testing.T) (*sim.Sim, sim.ServiceLayout) {
	t.Helper()
	s, err := sim.Start(context.Background(), sim.Options{IDs: 1, Manual: true, RealServices: true, Seed: testkit.Seed(t),
		Dir: t.TempDir(), ProofRequestInterval: 100 * time.Millisecond, Now: cmdtest.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, s.Layout().Services[0]
}

// postServiceArgs is the command line the supervisor gives post-rs.
func postServiceArgs(s *sim.Sim, svc sim.ServiceLayout) []string {
	return []string{"--address", "http://" + s.Layout().PostListener, "--dir", svc.Dir,
		"--operator-address", svc.Operator, "--threads", "1", "--nonces", "128", "--randomx-mode", "fast",
		"--reconnect-interval-s", "1"}
}

// proveWithChild runs a child post-service through one proof and stops it
// with SIGTERM, expecting exit status 0.
func proveWithChild(t *testing.T, s *sim.Sim, svc sim.ServiceLayout, cmd *exec.Cmd) string {
	t.Helper()
	stderr := &cmdtest.SyncBuf{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	})

	waitUntil(t, 5*time.Second, "/status Idle and registered", func() bool {
		st, ok := operatorStatus(svc.Operator)
		return ok && st.State == model.ServiceIdle && s.Connected(svc.NodeID)
	})
	s.SetNodeState(svc.NodeID, model.NodeProving)
	proving := false
	waitUntil(t, 10*time.Second, "the proof at the node", func() bool {
		if st, ok := operatorStatus(svc.Operator); ok && st.State == model.ServiceProving {
			proving = true
		}
		return s.NodeState(svc.NodeID) == model.NodeIdle
	})
	if !proving {
		t.Error("never saw /status Proving")
	}
	waitUntil(t, 5*time.Second, "/status Idle after the proof", func() bool {
		st, ok := operatorStatus(svc.Operator)
		return ok && st.State == model.ServiceIdle
	})

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5 s after SIGTERM\n%s", stderr)
	}
	waitUntil(t, 5*time.Second, "the node to see it gone", func() bool { return !s.Connected(svc.NodeID) })
	log := stderr.String()
	for _, line := range []string{"obtained metadata", "starting proof generation for challenge", "started reading POST data", "proof is valid"} {
		if !strings.Contains(log, line) {
			t.Errorf("log lacks %q:\n%s", line, log)
		}
	}
	return log
}

func TestSimServiceProcess(t *testing.T) {
	s, svc := startRealSim(t)
	cmd := exec.Command(cmdtest.Binary, append([]string{"sim-service", "--speed", "20"}, postServiceArgs(s, svc)...)...)
	cmd.Env = append(os.Environ(), "POSTDECK_SIM_SPEED=0.001") // --speed wins over the environment
	proveWithChild(t, s, svc, cmd)
}

// TestSimServiceAsPostService: postdeck linked as post-service takes
// post-rs's arguments as they are, and the speed from the environment.
func TestSimServiceAsPostService(t *testing.T) {
	s, svc := startRealSim(t)
	link := filepath.Join(t.TempDir(), "bin", "post-service")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(cmdtest.Binary, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, postServiceArgs(s, svc)...)
	cmd.Env = append(os.Environ(), "POSTDECK_SIM_SPEED=20")
	proveWithChild(t, s, svc, cmd)
}

func TestSimServiceBadDirExits1(t *testing.T) {
	stdout, stderr, code := cmdtest.Postdeck(t, "sim-service", "--address", "http://127.0.0.1:9", "--dir", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "loading metadata") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 1 and a metadata error", code, stdout, stderr)
	}
}
