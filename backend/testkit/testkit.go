// Package testkit holds the waits and fixtures the tests of backend and
// its rooms (and the commands' tests) share. Only tests import it.
package testkit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"postdeck/clock"
	"postdeck/model"
	"postdeck/sim"
)

// hangGuard bounds how long NoHang waits for a call that should return.
const hangGuard = 60 * time.Second

// NoHang runs f and returns its result, failing the test if f has not
// returned within hangGuard. It is a guard, not a speed check: the callers'
// f face something that never answers until the test ends (a hung server, a
// FIFO nobody writes, a process that ignores SIGTERM), so f either returns
// because its own timeout or grace did its job, or, broken, waits forever;
// the guard turns the second into a failure that says what hung instead of a
// stuck test binary. How fast f returns is for benchmarks.
func NoHang[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(hangGuard):
		t.Fatalf("%s did not return (waited %s): it waits on what hangs", what, hangGuard)
		panic("unreachable")
	}
}

// WaitFor is Eventually with a generous deadline (20 s).
func WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	Eventually(t, 20*time.Second, what, cond)
}

// Eventually polls cond every 5 ms until it holds, failing the test with
// what it waited for once d passes.
func Eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	EventuallyEvery(t, d, 5*time.Millisecond, what, cond)
}

// EventuallyEvery is Eventually checking every interval: for a cond that is
// costly to ask (it polls real services).
func EventuallyEvery(t *testing.T, d, every time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(every)
	}
}

// WriteFile writes a file, creating its folders, and fails the test on error.
func WriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Key returns a deterministic key pair from one byte of seed and its hex
// key file content.
func Key(b byte) (ed25519.PublicKey, string) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), hex.EncodeToString(priv)
}

// IdentityKey is a deterministic identity: the key file's hex (lower case, no
// newline) and the public key.
func IdentityKey(seed byte) (string, []byte) {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed*7 + byte(i)
	}
	priv := ed25519.NewKeyFromSeed(s)
	return hex.EncodeToString(priv), []byte(priv.Public().(ed25519.PublicKey))
}

// Metadata writes a valid postdata_metadata.json for id into dir.
func Metadata(t *testing.T, dir string, id []byte, units uint32) {
	t.Helper()
	m := model.PostMetadata{NodeID: id, CommitmentAtxID: bytes.Repeat([]byte{9}, 32),
		LabelsPerUnit: 4294967296, NumUnits: units, MaxFileSize: 4294967296}
	b, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, filepath.Join(dir, model.MetadataFile), string(b))
}

// PostDir writes a PoST dir's metadata for identity id.
func PostDir(t *testing.T, dir string, id []byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(model.PostMetadata{NodeID: id, CommitmentAtxID: make([]byte, 32), LabelsPerUnit: 1 << 20, NumUnits: 4, MaxFileSize: 1 << 32}, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, filepath.Join(dir, model.MetadataFile), string(b))
}

func NoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("leftover %s in %s", e.Name(), dir)
		}
	}
}

func WantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

// FakeProc adds a fake /proc/<pid> with argv (NUL-separated, trailing NUL
// unless noTrailingNUL) and, if cwd is set, a cwd symlink.
func FakeProc(t *testing.T, root, pid string, argv []string, cwd string, noTrailingNUL bool) {
	t.Helper()
	content := strings.Join(argv, "\x00")
	if len(argv) > 0 && !noTrailingNUL {
		content += "\x00"
	}
	WriteFile(t, filepath.Join(root, pid, "cmdline"), content)
	if cwd != "" {
		if err := os.Symlink(cwd, filepath.Join(root, pid, "cwd")); err != nil {
			t.Fatal(err)
		}
	}
}

func AlertFor(kind, id string) model.Alert {
	return model.Alert{Time: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC), Kind: kind, Identity: id,
		Name: "post-" + id + ".key", Service: "svc-" + id, Health: []model.Health{model.HealthServiceDown}, Message: "m " + id}
}

// HangingServer accepts /status and never answers until the test ends.
func HangingServer(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv.Listener.Addr().String()
}

func StartSim(t testing.TB, ids int) *sim.Sim {
	t.Helper()
	s, err := sim.Start(context.Background(), sim.Options{IDs: ids, Manual: true, Seed: 1, Now: Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Clock is the simulated nodes' clock: POSTDECK_NOW's when set, so the
// suite can be run at a chosen date.
var Clock = clock.ForTest()

// SyncBuf is a bytes.Buffer safe for a writer and a reader goroutine.
type SyncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *SyncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// FreeAddr is a loopback address nothing listens on (one was just closed
// there): a dial to it is refused.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
