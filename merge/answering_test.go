package merge

import (
	"context"
	"net"
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
