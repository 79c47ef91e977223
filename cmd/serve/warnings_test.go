package serve

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
)

// Every warning `postdeck serve` prints at start, and every refusal that
// stops it starting, is one whole line: brackets open and close on it, and
// no line starts with the closing bracket of the one before. Covered: a
// line that is not a key, a certificate, a line too long to read, the
// listening line, a host key readable by others, one that is not a key,
// a missing key file and a listen address that cannot be had.
func TestServeWarningsAreWholeLines(t *testing.T) {
	dir := t.TempDir()
	key, pub := sshKey(t, dir, "full")
	if out, err := exec.Command("ssh-keygen", "-q", "-s", key, "-I", "cert", "-n", "someone", key+".pub").CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -s: %v: %s", err, out)
	}
	cert, err := os.ReadFile(key + "-cert.pub")
	if err != nil {
		t.Fatal(err)
	}
	ak := filepath.Join(dir, "authorized_keys")
	writeText(t, ak, "not a key at all\n"+pub+"\n"+string(cert)+strings.Repeat("A", 2<<20)+"\n")
	_, cfg := cmdtest.StartSim(t, 1)
	open, shared, notKey := filepath.Join(dir, "hk-open"), filepath.Join(dir, "hk-shared"), filepath.Join(dir, "hk-bad")
	writeText(t, notKey, "not a key\n")
	writeText(t, shared, "x\n")
	if err := os.Chmod(shared, 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"serve", "--config", cfg, "--authorized-keys", ak}
	var all []string
	// A serve that starts: its warnings, then the listening line.
	all = append(all, serveUntilListening(t, append(base, "--listen", "127.0.0.1:0", "--host-key", open))...)
	for _, args := range [][]string{
		{"--listen", "127.0.0.1:0", "--host-key", shared},
		{"--listen", "127.0.0.1:0", "--host-key", notKey},
		{"--listen", "127.0.0.1:99999", "--host-key", open},
		{"--listen", "127.0.0.1:0", "--readonly-keys", filepath.Join(dir, "none")},
	} {
		_, errOut, code := cmdtest.Postdeck(t, append(base, args...)...)
		if code == 0 {
			t.Errorf("serve %v started", args)
		}
		all = append(all, strings.Split(strings.TrimSpace(errOut), "\n")...)
	}
	for _, want := range []string{"authorized_keys:1: not a public key", "authorized_keys:3: certificates are not accepted",
		"authorized_keys: bufio.Scanner: token too long", "listening on 127.0.0.1:", "is readable by others",
		"hk-bad: ssh: no key found", "invalid port", "--readonly-keys"} {
		if !strings.Contains(strings.Join(all, "\n"), want) {
			t.Errorf("no line says %q:\n%s", want, strings.Join(all, "\n"))
		}
	}
	for _, l := range all {
		if strings.Count(l, "(") != strings.Count(l, ")") || strings.Count(l, "[") != strings.Count(l, "]") ||
			strings.HasPrefix(l, ")") || strings.HasPrefix(l, "]") {
			t.Errorf("a line broken in its brackets: %q", l)
		}
	}
}

func writeText(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// serveUntilListening runs the real binary's serve until it says it
// listens, and returns its lines so far.
func serveUntilListening(t *testing.T, args []string) []string {
	t.Helper()
	cmd := exec.Command(cmdtest.Binary, args...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir())
	errOut := &cmdtest.SyncBuf{}
	cmd.Stderr = errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	cmdtest.WaitFor(t, "serve listening", func() bool { return strings.Contains(errOut.String(), "listening on") })
	return strings.Split(strings.TrimSpace(errOut.String()), "\n")
}
