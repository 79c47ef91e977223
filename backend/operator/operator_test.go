package operator

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"postdeck/backend/testkit"
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

func TestOperatorShapes(t *testing.T) {
	c := NewClient(5 * time.Second)
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
	c := NewClient(5 * time.Second)
	st, err := c.Status(context.Background(), operatorServer(t, 200, strings.Repeat("x", 1<<20)))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != model.ServiceUnknown || len(st.Raw) > model.MaxRawStatus+len("…") {
		t.Errorf("got %v with %d raw bytes", st.State, len(st.Raw))
	}
}

func TestOperatorHTTPError(t *testing.T) {
	c := NewClient(5 * time.Second)
	addr := operatorServer(t, 500, "boom")
	_, err := c.Status(context.Background(), addr)
	if err == nil || !strings.Contains(err.Error(), "HTTP 500") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err = %v, want HTTP 500 naming %s", err, addr)
	}
}

func TestOperatorHangTimesOut(t *testing.T) {
	c := NewClient(200 * time.Millisecond)
	addr := testkit.HangingServer(t)
	// The server never answers: returning at all, with this error, is the
	// per-call timeout applying.
	err := testkit.NoHang(t, "Status of a hung operator", func() error {
		_, err := c.Status(context.Background(), addr)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestOperatorRefused(t *testing.T) {
	c := NewClient(5 * time.Second)
	addr := testkit.FreeAddr(t)
	_, err := c.Status(context.Background(), addr)
	want := "operator " + addr + ": connection refused — is post-service running with --operator-address " + addr + "?"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

// connCountingServer serves "Idle" on /status and counts the connections it
// accepted; closeAfter makes it close each connection after one answer
// without saying so (as a service restarting between polls would).
func connCountingServer(t *testing.T, closeAfter bool) (string, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "6")
		_, _ = w.Write([]byte(`"Idle"`))
		if closeAfter {
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), &conns
}

func TestOperatorKeepsOneConnectionAcrossPolls(t *testing.T) {
	c := NewClient(5 * time.Second)
	defer c.Close()
	addr, conns := connCountingServer(t, false)
	for i := 0; i < 5; i++ {
		if st, err := c.Status(context.Background(), addr); err != nil || st.State != model.ServiceIdle {
			t.Fatalf("poll %d: %v %v", i, st.State, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("5 polls used %d connections, want 1 kept alive", n)
	}
}

func TestOperatorRetriesAConnectionClosedWhileIdle(t *testing.T) {
	c := NewClient(5 * time.Second)
	defer c.Close()
	addr, conns := connCountingServer(t, true)
	for i := 0; i < 3; i++ {
		if st, err := c.Status(context.Background(), addr); err != nil || st.State != model.ServiceIdle {
			t.Fatalf("poll %d after the service closed the kept connection: %v %v", i, st.State, err)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("got %d connections, want a new one for each poll", n)
	}
}

func TestOperatorChunkedAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Two flushes without a Content-Length make net/http send it chunked.
		_, _ = w.Write([]byte(`{"Proving":{"nonces":{"start":0,"end":128},`))
		w.(http.Flusher).Flush()
		_, _ = w.Write([]byte(`"position":77}}`))
	}))
	defer srv.Close()
	c := NewClient(5 * time.Second)
	defer c.Close()
	st, err := c.Status(context.Background(), srv.Listener.Addr().String())
	if err != nil || st.State != model.ServiceProving || st.Position != 77 {
		t.Fatalf("got %v pos %d err %v, want Proving at 77", st.State, st.Position, err)
	}
}

func TestOperatorNotHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = conn.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
			conn.Close()
		}
	}()
	c := NewClient(5 * time.Second)
	defer c.Close()
	addr := ln.Addr().String()
	_, err = c.Status(context.Background(), addr)
	if err == nil || !strings.HasPrefix(err.Error(), "operator "+addr+": ") {
		t.Fatalf("err = %v, want an error naming %s", err, addr)
	}
}

func TestOperatorCancelledByCaller(t *testing.T) {
	c := NewClient(time.Minute)
	defer c.Close()
	addr := testkit.HangingServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Status(ctx, addr); done <- err }()
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("err = %v, want canceled", err)
	}
}
