package merge

import (
	"context"
	"net"
	"os"
	"slices"
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
