package backend

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"postdeck/model"
)

// operatorServer serves body with code on /status.
func operatorServer(t *testing.T, code int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// hangingServer accepts /status and never answers until the test ends.
func hangingServer(t *testing.T) string {
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

// refusedAddr is a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestOperatorShapes(t *testing.T) {
	c := NewOperatorClient(5 * time.Second)
	defer c.Close()
	cases := []struct {
		body  string
		state model.ServiceState
		pos   uint64
	}{
		{`"Idle"`, model.ServiceIdle, 0},
		{`{"Proving":{"nonces":{"start":128,"end":256},"position":4096}}`, model.ServiceProving, 4096},
		{`"DoneProving"`, model.ServiceDone, 0},
		{`<html>oops</html>`, model.ServiceUnknown, 0},
	}
	for _, tc := range cases {
		st, err := c.Status(context.Background(), operatorServer(t, 200, tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if st.State != tc.state || st.Position != tc.pos {
			t.Errorf("%s: got %v pos %d, want %v pos %d", tc.body, st.State, st.Position, tc.state, tc.pos)
		}
		if tc.state == model.ServiceUnknown && st.Raw != tc.body {
			t.Errorf("garbage raw = %q, want the body", st.Raw)
		}
	}
}

func TestOperatorHugeBodyIsCapped(t *testing.T) {
	c := NewOperatorClient(5 * time.Second)
	st, err := c.Status(context.Background(), operatorServer(t, 200, strings.Repeat("x", 1<<20)))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != model.ServiceUnknown || len(st.Raw) > model.MaxRawStatus+len("…") {
		t.Errorf("got %v with %d raw bytes", st.State, len(st.Raw))
	}
}

func TestOperatorHTTPError(t *testing.T) {
	c := NewOperatorClient(5 * time.Second)
	addr := operatorServer(t, 500, "boom")
	_, err := c.Status(context.Background(), addr)
	if err == nil || !strings.Contains(err.Error(), "HTTP 500") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err = %v, want HTTP 500 naming %s", err, addr)
	}
}

func TestOperatorHangTimesOut(t *testing.T) {
	c := NewOperatorClient(200 * time.Millisecond)
	addr := hangingServer(t)
	start := time.Now()
	_, err := c.Status(context.Background(), addr)
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v: the per-call timeout did not apply", d)
	}
}

func TestOperatorRefused(t *testing.T) {
	c := NewOperatorClient(5 * time.Second)
	addr := refusedAddr(t)
	_, err := c.Status(context.Background(), addr)
	want := "operator " + addr + ": connection refused — is post-service running with --operator-address " + addr + "?"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}
