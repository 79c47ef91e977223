package sim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"postdeck/model"
)

func TestOperatorBodies(t *testing.T) {
	s := startSim(t, Options{IDs: 2, Manual: true})
	svc := s.Layout().Services[0]
	if st := mustStatus(t, svc.Operator); st.State != model.ServiceIdle || st.Raw != `"Idle"` {
		t.Errorf("default status %+v, want exactly \"Idle\"", st)
	}
	s.SetOperatorBody(svc.Name, `{"Proving":{"nonces":{"start":128,"end":256},"position":4096}}`)
	st := mustStatus(t, svc.Operator)
	if st.State != model.ServiceProving || st.NonceStart != 128 || st.NonceEnd != 256 || st.Position != 4096 {
		t.Errorf("proving status parsed as %+v", st)
	}
	s.SetOperatorBody(svc.Name, `"DoneProving"`)
	if st := mustStatus(t, svc.Operator); st.State != model.ServiceDone {
		t.Errorf("done status parsed as %+v", st)
	}
	// The other service is untouched: requests are told apart by port.
	if st := mustStatus(t, s.Layout().Services[1].Operator); st.State != model.ServiceIdle {
		t.Errorf("other service %+v, want idle", st)
	}
	s.SetOperatorBody(svc.Name, "")
	if st := mustStatus(t, svc.Operator); st.State != model.ServiceIdle {
		t.Errorf("after clearing the body %+v, want idle", st)
	}
	resp, err := http.Get("http://" + svc.Operator + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics: %s, want 404", resp.Status)
	}
}

func TestFaultHang(t *testing.T) {
	s := startSim(t, Options{IDs: 1, Manual: true})
	svc := s.Layout().Services[0]
	s.SetFault(svc.Name, FaultHang)
	c := http.Client{Timeout: 200 * time.Millisecond}
	// A timeout error is the client giving up at its own deadline: an
	// answer, an error status or a closed connection would each say so.
	_, err := c.Get("http://" + svc.Operator + "/status")
	var timeout interface{ Timeout() bool }
	if !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Fatalf("hanging operator: %v, want a timeout", err)
	}
	s.SetFault(svc.Name, FaultNone)
	if st := mustStatus(t, svc.Operator); st.State != model.ServiceIdle {
		t.Errorf("after clearing the fault %+v", st)
	}
}

func TestFaultHangEndsOnClose(t *testing.T) {
	s, err := Start(context.Background(), Options{IDs: 1, Manual: true})
	if err != nil {
		t.Fatal(err)
	}
	svc := s.Layout().Services[0]
	s.SetFault(svc.Name, FaultHang)
	done := make(chan error, 1)
	go func() {
		_, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + svc.Operator + "/status")
		done <- err
	}()
	waitFor(t, 5*time.Second, "the request to hang", func() bool { return s.http != nil && openConns(s, svc.Name) > 0 })
	s.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a hanging request got an answer")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close left the hanging request hanging")
	}
}

func openConns(s *Sim, name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.svcs[name].conns)
}

func TestFaultGarbage(t *testing.T) {
	s := startSim(t, Options{IDs: 1, Manual: true})
	svc := s.Layout().Services[0]
	s.SetFault(svc.Name, FaultGarbage)
	if st := mustStatus(t, svc.Operator); st.State != model.ServiceUnknown || st.Raw == "" {
		t.Errorf("garbage parsed as %+v, want unknown with the raw body", st)
	}
}

func TestFaultDownAndRestore(t *testing.T) {
	s := startSim(t, Options{IDs: 2, Manual: true})
	svc := s.Layout().Services[0]
	// A keep-alive client, as a poller is: its open connection must break too.
	c := &http.Client{Timeout: 2 * time.Second}
	get := func() error {
		resp, err := c.Get("http://" + svc.Operator + "/status")
		if err == nil {
			io.Copy(io.Discard, resp.Body) // read to the end so the connection is reused
			resp.Body.Close()
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	s.SetFault(svc.Name, FaultDown)
	if err := get(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("down operator: %v, want connection refused", err)
	}
	if st := mustStatus(t, s.Layout().Services[1].Operator); st.State != model.ServiceIdle {
		t.Errorf("the other service went down too: %+v", st)
	}
	s.SetFault(svc.Name, FaultNone)
	if err := get(); err != nil {
		t.Fatalf("restored operator on the same address: %v", err)
	}
	if s.Layout().Services[0].Operator != svc.Operator {
		t.Error("the operator address changed")
	}
}
