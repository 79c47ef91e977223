package serve

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/proc"
	"postdeck/backend/testkit"
	"postdeck/cmd/cmdtest"
	"postdeck/cmd/simcmd"
	"postdeck/model"
	"postdeck/sim"
)

// sshKey makes an ed25519 key pair with ssh-keygen and returns the private
// key's path and the public key's authorized_keys line.
func sshKey(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ssh-keygen is missing in CI: .ci/run should install openssh-client")
		}
		t.Skip("ssh-keygen not installed")
	}
	path := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(pub))
}

// served is a `postdeck serve` running in the test process.
type served struct {
	addr     *net.TCPAddr
	stateDir string
	stderr   *cmdtest.SyncBuf
	stop     func() // ends serve and waits for it
}

func startServe(t *testing.T, cfg *config.Config, f serveFlags) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &served{addr: ln.Addr().(*net.TCPAddr), stateDir: filepath.Join(t.TempDir(), "state"), stderr: &cmdtest.SyncBuf{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, f, s.stateDir, ln, s.stderr) }()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("serve did not return after its context ended; stderr:\n%s", s.stderr)
			}
		})
	}
	t.Cleanup(s.stop)
	cmdtest.WaitFor(t, "serve to listen", func() bool { return strings.Contains(s.stderr.String(), "listening on") })
	return s
}

// sshCmd is the OpenSSH command line for key against s.
func (s *served) sshCmd(key string, extra ...string) []string {
	args := []string{"-p", strconv.Itoa(s.addr.Port), "-i", key, "-F", "/dev/null",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "LogLevel=ERROR"}
	args = append(args, extra...)
	return append(args, "127.0.0.1")
}

// auditLines reads the audit log's entries.
func (s *served) audit(t *testing.T) []map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.stateDir, "audit.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var e map[string]string
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

func hasAudit(lines []map[string]string, action, fingerprintPrefix string) map[string]string {
	for _, e := range lines {
		if e["action"] == action && strings.HasPrefix(e["key"], fingerprintPrefix) {
			return e
		}
	}
	return nil
}

// rowHas holds when a screen line names the row and shows word.
func rowHas(name, word string) func(string) bool {
	return func(screen string) bool {
		for _, l := range strings.Split(screen, "\n") {
			if strings.Contains(l, name) && strings.Contains(l, word) {
				return true
			}
		}
		return false
	}
}

func fingerprint(t *testing.T, pubPath string) string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", pubPath).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[1]
}

// needSSH skips a test that drives OpenSSH's client where it is missing
// (CI installs it, so there it fails).
func needSSH(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ssh"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ssh is missing in CI: .ci/run should install openssh-client")
		}
		t.Skip("ssh not installed")
	}
}

// sshTerm is the OpenSSH client in a terminal of width w, logged in with
// key: the dashboard as a user over SSH sees it.
func (s *served) sshTerm(t *testing.T, w int, key string) *cmdtest.Term {
	t.Helper()
	return cmdtest.NewTerm(t, w, 30, "ssh -tt "+strings.Join(s.sshCmd(key), " ")+"; echo SSH-EXITED; sleep 60")
}

func TestServeOverOpenSSH(t *testing.T) {
	needSSH(t)
	// A seed of its own: another test proving the same identity at the same
	// moment would make the supervisor refuse the second.
	simr, err := sim.Start(context.Background(), sim.Options{IDs: 1, Manual: true, RealServices: true, Seed: testkit.Seed(t),
		Dir: t.TempDir(), ProofRequestInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { simr.Close() })
	// Speed 1: a proof takes minutes, so the row stays proving while the test looks.
	cfg, err := simcmd.RealServicesConfig(simr.Layout(), cmdtest.Binary, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Proving.Auto = false
	cfg.Proving.StopGrace.Duration = 3 * time.Second
	cfg.Poll.Interval.Duration = 200 * time.Millisecond
	svc := simr.Layout().Services[0]

	keys := t.TempDir()
	full, fullPub := sshKey(t, keys, "full")
	ro, roPub := sshKey(t, keys, "readonly")
	wrong, _ := sshKey(t, keys, "wrong")
	authorized := filepath.Join(keys, "authorized_keys")
	// A malformed line first: it is reported with its line number, and the key after it still works.
	os.WriteFile(authorized, []byte("# admins\nssh-ed25519 AAAAthis-is-not-base64 broken@paste\n"+fullPub+"\n"), 0o600)
	readOnly := filepath.Join(keys, "readonly_keys")
	os.WriteFile(readOnly, []byte(roPub+"\n"), 0o600)

	srv := startServe(t, cfg, serveFlags{authorized: authorized, readOnly: readOnly, idleTimeout: time.Minute})
	// The services the sessions start are detached: stop them, or they
	// outlive the test (and prove the same identities as the next one).
	t.Cleanup(func() {
		sup, err := proc.NewSupervisor(cfg, srv.stateDir)
		if err != nil {
			t.Error(err)
			return
		}
		for _, s := range cfg.Services {
			sup.Stop(context.Background(), s.Name)
		}
	})
	if !strings.Contains(srv.stderr.String(), authorized+":2: not a public key") {
		t.Errorf("the malformed line 2 was not reported; stderr:\n%s", srv.stderr)
	}
	st, err := os.Stat(filepath.Join(srv.stateDir, "ssh_host_ed25519_key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("host key: %v, mode %v; want 0600", err, st)
	}

	t.Run("wrong key is refused", func(t *testing.T) {
		cmd := exec.Command("ssh", srv.sshCmd(wrong, "-T")...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Permission denied") {
			t.Errorf("wrong key: %v, %q; want a refusal saying Permission denied", err, out)
		}
	})
	t.Run("no terminal is refused politely", func(t *testing.T) {
		out, err := exec.Command("ssh", srv.sshCmd(full, "-T")...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "postdeck needs a terminal for the dashboard: ssh -t") {
			t.Errorf("ssh -T: %v, %q; want the terminal message", err, out)
		}
	})

	t.Run("a command runs without a terminal, within the key's rights", func(t *testing.T) {
		out, err := exec.Command("ssh", append(srv.sshCmd(full), "status", "--json")...).Output()
		var doc model.StatusDoc
		if jerr := json.Unmarshal(out, &doc); jerr != nil || len(doc.Identities) != 1 || doc.Identities[0].Service != svc.Name {
			t.Fatalf("ssh status --json: %v, %v, %q", err, jerr, out)
		}
		out, _ = exec.Command("ssh", append(srv.sshCmd(ro), "status")...).Output()
		if !strings.Contains(string(out), "NAME") || !strings.Contains(string(out), svc.Name) {
			t.Errorf("ssh status (read-only key): %q, want the status table", out)
		}
		cmd := exec.Command("ssh", append(srv.sshCmd(ro), "stop", svc.Name)...)
		out, err = cmd.Output()
		var reply model.MachineReply
		json.Unmarshal(out, &reply)
		if cmd.ProcessState.ExitCode() != 3 || !reply.ReadOnly || !strings.Contains(reply.Error, "read-only") {
			t.Errorf("read-only stop: %v, %q; want exit 3 and a read-only refusal", err, out)
		}
	})
	t.Run("a key added to the file works without a restart", func(t *testing.T) {
		later, laterPub := sshKey(t, keys, "later")
		f, err := os.OpenFile(authorized, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(laterPub + "\n")
		f.Close()
		// Past authentication, it is told it needs a terminal.
		out, _ := exec.Command("ssh", srv.sshCmd(later, "-T")...).CombinedOutput()
		if !strings.Contains(string(out), "postdeck needs a terminal") {
			t.Errorf("key added to %s: %q; want it let in", authorized, out)
		}
	})

	fullTerm := srv.sshTerm(t, 120, full)
	fullTerm.WaitFor("the table over SSH", cmdtest.Contains(svc.Name, "postdeck"))

	// Start the service from the full session: the audit log gets the line.
	fullTerm.Keys("s")
	cmdtest.WaitFor(t, "the start in the audit log", func() bool { return hasAudit(srv.audit(t), "start", fingerprint(t, full+".pub")) != nil })
	e := hasAudit(srv.audit(t), "start", fingerprint(t, full+".pub"))
	if e["service"] != svc.Name || e["remote"] == "" || !strings.HasPrefix(e["result"], "ok") || e["time"] == "" {
		t.Errorf("audit entry %v: want service %s, a remote address, result ok and a time", e, svc.Name)
	}
	simr.SetNodeState(svc.NodeID, model.NodeProving)
	proving := rowHas(svc.Name, "proving")
	fullTerm.WaitFor("the service to prove", proving)

	roTerm := srv.sshTerm(t, 120, ro)
	roTerm.WaitFor("the read-only table", cmdtest.Contains(svc.Name, "READ-ONLY"))
	roTerm.WaitFor("the proving row", proving)
	// x then ?: a stop dialog opened by x would take the ? too, so the help
	// showing means x opened none.
	roTerm.Keys("x", "?")
	// "Sort keys" is the help's own (the table's footer has "again reverses" too).
	help := roTerm.WaitFor("the help", cmdtest.Contains("Sort keys", "sort; again reverses"))
	if strings.Contains(help, "Cancel") || strings.Contains(help, "when safe") {
		t.Errorf("x opened a stop dialog in a read-only session:\n%s", help)
	}
	t.Logf("read-only help:\n%s", help)
	for _, word := range []string{"stop…", "start", "auto proving", "add identity key", "merge nodes"} {
		if strings.Contains(help, word) {
			t.Errorf("read-only help offers %q:\n%s", word, help)
		}
	}
	if a := hasAudit(srv.audit(t), "stop", ""); a != nil {
		t.Errorf("a stop was audited after the read-only x: %v", a)
	}

	roTerm.Keys("?")
	roTerm.WaitFor("the proving row, still", proving)

	// The full key can: x opens the dialog; queue the stop for when it is safe.
	fullTerm.Keys("x")
	fullTerm.WaitFor("the stop dialog", cmdtest.Contains("Cancel"))
	// Tab until "Stop when safe" has the focus, each Tab waited for (the
	// focus moved) before the screen is judged again. A new dialog drops
	// keys for a grace period the screen does not show: a Tab that moved
	// nothing within a second was dropped, and is sent again.
	for i := 0; !strings.Contains(fullTerm.Screen(), "> Stop when safe <"); i++ {
		if i == 10 {
			t.Fatalf("no \"Stop when safe\" after 10 Tabs:\n%s", fullTerm.Screen())
		}
		before := focusedButton(fullTerm.Screen())
		fullTerm.Keys("Tab")
		fullTerm.Poll(time.Second, func(s string) bool { return focusedButton(s) != before })
	}
	fullTerm.Keys("Enter")
	fp := fingerprint(t, full+".pub")
	cmdtest.WaitFor(t, "the stop in the audit log", func() bool { return hasAudit(srv.audit(t), "stop", fp) != nil })
	if e := hasAudit(srv.audit(t), "stop", fp); e["mode"] != "when-safe" || e["service"] != svc.Name || !strings.HasPrefix(e["result"], "ok") {
		t.Errorf("audited stop %v: want mode when-safe on %s, ok", e, svc.Name)
	}
	if e := hasAudit(srv.audit(t), "session-start", fingerprint(t, ro+".pub")); e == nil || e["access"] != "read-only" {
		t.Errorf("read-only session start audited as %v", e)
	}
	srv.stop()
	t.Logf("after shutdown:\n%s", fullTerm.WaitFor("the goodbye", cmdtest.Contains("shutting down", "SSH-EXITED")))
	roTerm.WaitFor("the goodbye", cmdtest.Contains("SSH-EXITED"))
}

// focusedButton is the dialog button drawn with the focus ("> Name <").
func focusedButton(screen string) string {
	if m := regexp.MustCompile(`> ([^<>]+?) <`).FindStringSubmatch(screen); m != nil {
		return m[1]
	}
	return ""
}
