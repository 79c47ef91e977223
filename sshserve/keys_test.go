package sshserve

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

func newPub(t *testing.T) (gossh.PublicKey, string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k)))
}

type reports struct {
	mu  sync.Mutex
	got []string
}

func (r *reports) add(s string) { r.mu.Lock(); r.got = append(r.got, s); r.mu.Unlock() }
func (r *reports) all() string  { r.mu.Lock(); defer r.mu.Unlock(); return strings.Join(r.got, "\n") }

func TestKeyringSkipsMalformedLinesAndRereadsChangedFiles(t *testing.T) {
	dir := t.TempDir()
	a, aLine := newPub(t)
	b, bLine := newPub(t)
	c, cLine := newPub(t)
	auth := filepath.Join(dir, "authorized_keys")
	ro := filepath.Join(dir, "readonly")
	os.WriteFile(auth, []byte("# comment\n\nnot a key at all\n"+`from="10.0.0.1",no-pty `+aLine+" alice\n"+"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0rken= cut short\n"), 0o600)
	os.WriteFile(ro, []byte(bLine+"\n"+aLine+"\n"), 0o600)
	// Explicit times, older than the clock's grain (a file changed within
	// it is read again on every lookup), so the rewrite below is seen by
	// its new stamp.
	then := time.Now().Add(-time.Hour)
	setMtime(t, then, auth, ro)
	var r reports
	k, err := NewKeyring(auth, ro, r.add)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.all(), auth+":3: not a public key") {
		t.Errorf("line 3 not reported: %q", r.all())
	}
	if !strings.Contains(r.all(), auth+":5: not a public key") {
		t.Errorf("line 5 not reported: %q", r.all())
	}
	if got := k.Lookup(b); got != ReadOnly {
		t.Errorf("b: %v, want read-only", got)
	}
	if got := k.Lookup(a); got != ReadOnly {
		t.Errorf("a in both files: %v, want read-only (the safer)", got)
	}
	if got := k.Lookup(c); got != Denied {
		t.Errorf("c, in no file: %v, want denied", got)
	}

	// Rewritten: c becomes a full key, a is gone from the read-only file.
	os.WriteFile(auth, []byte(cLine+"\n"+aLine+"\n"), 0o600)
	os.WriteFile(ro, []byte(bLine+"\n"), 0o600)
	setMtime(t, then.Add(time.Minute), auth, ro)
	if got := k.Lookup(c); got != Full {
		t.Errorf("c after the change: %v, want full", got)
	}
	if got := k.Lookup(a); got != Full {
		t.Errorf("a after the change: %v, want full", got)
	}
	// Removed: nobody from it logs in, and it is said once.
	os.Remove(auth)
	if got := k.Lookup(c); got != Denied {
		t.Errorf("c with the file gone: %v, want denied", got)
	}
	k.Lookup(c)
	if n := strings.Count(r.all(), "no key in it can log in"); n != 1 {
		t.Errorf("missing file reported %d times: %q", n, r.all())
	}
	if got := k.Lookup(b); got != ReadOnly {
		t.Errorf("b: %v, want read-only still", got)
	}
	if k.Lookup(nil) != Denied {
		t.Error("nil key allowed")
	}
}

func TestHostKeyIsGeneratedOnceAndKeptPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "postdeck", "ssh_host_ed25519_key")
	s1, err := HostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", st.Mode().Perm())
	}
	dst, _ := os.Stat(filepath.Dir(path))
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v, want 0700", dst.Mode().Perm())
	}
	s2, err := HostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if gossh.FingerprintSHA256(s1.PublicKey()) != gossh.FingerprintSHA256(s2.PublicKey()) {
		t.Error("a second start made a new host key")
	}
	os.Chmod(path, 0o644)
	if _, err := HostKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable host key: %v, want a refusal", err)
	}
}

// setMtime sets the access and modification times of paths to at.
func setMtime(t *testing.T, at time.Time, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
}
