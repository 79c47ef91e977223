package merge

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Answering names the listeners something accepts on, in order, skipping
// empty addresses and ports nothing listens on.
func TestAnsweringNamesTheListenersThatAccept(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := gone.Addr().String()
	gone.Close()
	got := Answering(context.Background(), []string{down, "", up.Addr().String()})
	if want := []string{up.Addr().String()}; !slices.Equal(got, want) {
		t.Errorf("Answering = %v, want %v", got, want)
	}
}

// Interrupted sees the journal a merge leaves until it is recovered.
func TestInterruptedSeesTheJournal(t *testing.T) {
	to := t.TempDir()
	if Interrupted(to) {
		t.Fatal("interrupted without a journal")
	}
	if err := os.WriteFile(journalPath(to), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !Interrupted(to) {
		t.Fatal("the journal is there, but not seen")
	}
}

// A merge that ran but fails its check afterwards says so as ErrUnverified
// (the UI words it from that, not from the message).
func TestExecuteReportsAFailedVerification(t *testing.T) {
	pr := newPair(t, 9, 3, 1)
	p := mustPlan(t, Options{From: pr.from, To: pr.to})
	if !p.OK() {
		t.Fatal(p.Problems)
	}
	testHook = func(point string) {
		if point == "moved" { // a key gone between the move and the check
			os.Remove(filepath.Join(pr.to, "identities", p.Keys[0].Name))
		}
	}
	defer func() { testHook = nil }()
	_, err := Execute(context.Background(), p, nil)
	if !errors.Is(err, ErrUnverified) || errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), p.Keys[0].Name) {
		t.Fatalf("err %v, want ErrUnverified naming %s", err, p.Keys[0].Name)
	}
}
