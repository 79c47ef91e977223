package sim

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"

	"postdeck/model"
)

// startReal starts a manual sim whose services are real (here: RunService
// goroutines) and which asks for proofs every interval.
func startReal(t *testing.T, ids int, interval time.Duration) *Sim {
	t.Helper()
	return startSim(t, Options{IDs: ids, Manual: true, RealServices: true, Seed: 3, ProofRequestInterval: interval})
}

// syncBuffer is a log sink safe for the service's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) count(s string) int { return strings.Count(b.String(), s) }

// runningService is a RunService goroutine.
type runningService struct {
	log    *syncBuffer
	cancel context.CancelFunc
	done   chan struct{} // closed when RunService returned err
	err    error
}

// stop cancels the service and waits for RunService to return nil.
func (r *runningService) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Fatalf("RunService: %v", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunService did not return after cancel")
	}
}

func runService(t *testing.T, o ServiceOptions) *runningService {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningService{log: &syncBuffer{}, cancel: cancel, done: make(chan struct{})}
	if o.Log == nil {
		o.Log = r.log
	}
	if o.ReconnectInterval == 0 {
		o.ReconnectInterval = 50 * time.Millisecond
	}
	if o.Speed == 0 {
		o.Speed = 20
	}
	go func() {
		defer close(r.done)
		r.err = RunService(ctx, o)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Error("RunService did not return after cancel")
		}
	})
	return r
}

func serviceFor(s *Sim, svc ServiceLayout) ServiceOptions {
	return ServiceOptions{Address: "http://" + s.Layout().PostListener, Dir: svc.Dir, OperatorAddress: svc.Operator}
}

func nodeState(t *testing.T, s *Sim, id []byte) model.NodeState {
	t.Helper()
	for _, ps := range postStates(t, s) {
		if bytes.Equal(ps.ID, id) {
			return ps.State
		}
	}
	return model.NodeAbsent
}

// postCompletes counts an identity's post_complete events: successes and failures.
func postCompletes(s *Sim, id []byte) (ok, failed int) {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	for _, e := range s.events.ring {
		if e.kind == evPostComplete && bytes.Equal(e.smesher, id) {
			if e.failure {
				failed++
			} else {
				ok++
			}
		}
	}
	return ok, failed
}

func TestRealServicesLayout(t *testing.T) {
	s := startSim(t, Options{IDs: 3, RealServices: true, Manual: true})
	seen := map[string]bool{}
	for _, svc := range s.Layout().Services {
		if seen[svc.Operator] {
			t.Fatalf("operator port %s given twice", svc.Operator)
		}
		seen[svc.Operator] = true
		// The port is free for the real service: the sim does not serve it.
		ln, err := net.Listen("tcp", svc.Operator)
		if err != nil {
			t.Fatalf("%s: operator port %s not free: %v", svc.Name, svc.Operator, err)
		}
		ln.Close()
		if _, err := os.Stat(filepath.Join(svc.Dir, "postdata_metadata.json")); err != nil {
			t.Fatal(err)
		}
		if s.Connected(svc.NodeID) {
			t.Fatalf("%s connected with no service running", svc.Name)
		}
	}
}

// TestServiceProvesForTheNode: the whole round over real sockets — the
// service registers, the node turns PROVING, /status goes through k2pow,
// disk reading and DoneProving, the node takes the proof and shows IDLE,
// and the service is Idle again.
func TestServiceProvesForTheNode(t *testing.T) {
	s := startReal(t, 2, 300*time.Millisecond) // slow asks: DoneProving stays visible
	svc := s.Layout().Services[0]
	pass := s.byID[string(svc.NodeID)].meta.PassBytes()
	r := runService(t, serviceFor(s, svc))
	waitFor(t, 5*time.Second, "registration", func() bool { return s.Connected(svc.NodeID) })
	if st := mustStatus(t, svc.Operator); st.State != model.ServiceIdle {
		t.Fatalf("before proving: %+v", st)
	}
	if !strings.Contains(r.log.String(), "obtained metadata") {
		t.Errorf("no 'obtained metadata' line:\n%s", r.log)
	}

	s.SetNodeState(svc.NodeID, model.NodeProving)
	var k2pow, disk, done bool
	waitFor(t, 10*time.Second, "the proof delivered", func() bool {
		// Node first: once it is IDLE the service must already be Idle
		// (it hands the proof over and forgets it before the node has it).
		ns := nodeState(t, s, svc.NodeID)
		st := mustStatus(t, svc.Operator)
		switch st.State {
		case model.ServiceProving:
			if st.NonceStart%128 != 0 || st.NonceEnd != st.NonceStart+128 || st.Position > pass {
				t.Fatalf("bad Proving status %+v (pass %d bytes)", st, pass)
			}
			if st.Position == 0 {
				k2pow = true
			} else {
				disk = true
			}
		case model.ServiceDone:
			done = true
			if ns != model.NodeProving {
				t.Fatal("node IDLE while the service still holds the proof")
			}
		case model.ServiceIdle:
			return done && ns == model.NodeIdle
		default:
			t.Fatalf("unexpected status %+v", st)
		}
		return false
	})
	if !k2pow || !disk {
		t.Errorf("did not see both phases: k2pow %v, disk %v", k2pow, disk)
	}
	if ok, failed := postCompletes(s, svc.NodeID); ok != 1 || failed != 0 {
		t.Errorf("post_complete events: %d ok, %d failed; want 1, 0", ok, failed)
	}
	for _, line := range []string{"starting proof generation for challenge [", "finished k2pow in", "started reading POST data", "proof is valid"} {
		if !strings.Contains(r.log.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, r.log)
		}
	}
	// The other identity was never asked.
	if other := s.Layout().Services[1]; nodeState(t, s, other.NodeID) != model.NodeIdle {
		t.Error("the other identity moved")
	}
}

func TestSecondServiceForOneIdentityRefused(t *testing.T) {
	s := startReal(t, 1, 50*time.Millisecond)
	svc := s.Layout().Services[0]
	runService(t, serviceFor(s, svc))
	waitFor(t, 5*time.Second, "registration", func() bool { return s.Connected(svc.NodeID) })

	o := serviceFor(s, svc)
	o.OperatorAddress = "" // its own port is taken by the first
	second := runService(t, o)
	waitFor(t, 5*time.Second, "the second service refused twice", func() bool {
		return second.log.count("post service already registered") >= 2
	})
	if !s.Connected(svc.NodeID) {
		t.Fatal("the first service lost its registration")
	}
	// The first still serves the node.
	s.SetNodeState(svc.NodeID, model.NodeProving)
	waitFor(t, 10*time.Second, "the proof from the first service", func() bool {
		return nodeState(t, s, svc.NodeID) == model.NodeIdle
	})
	if strings.Contains(second.log.String(), "starting proof generation") {
		t.Error("the refused service was asked for a proof")
	}
}

func TestKilledServiceLosesItsProof(t *testing.T) {
	s := startReal(t, 1, 50*time.Millisecond)
	svc := s.Layout().Services[0]
	o := serviceFor(s, svc)
	o.Speed = 2 // slow enough to kill mid-proof
	r := runService(t, o)
	waitFor(t, 5*time.Second, "registration", func() bool { return s.Connected(svc.NodeID) })
	s.SetNodeState(svc.NodeID, model.NodeProving)
	waitFor(t, 5*time.Second, "proving", func() bool { return mustStatus(t, svc.Operator).State == model.ServiceProving })

	r.stop(t)
	waitFor(t, 5*time.Second, "the node to notice", func() bool { return !s.Connected(svc.NodeID) })
	if st := nodeState(t, s, svc.NodeID); st != model.NodeProving {
		t.Fatalf("node %v after the service died mid-proof, want PROVING", st)
	}
	if _, err := getStatus(t, svc.Operator); err == nil {
		t.Fatal("operator still answers after the service was killed")
	}
	if ok, _ := postCompletes(s, svc.NodeID); ok != 0 {
		t.Fatal("the node got a proof from a killed service")
	}

	// A new service starts over from k2pow of the first pass and delivers.
	o.Speed = 20
	r2 := runService(t, o)
	waitFor(t, 10*time.Second, "the proof from the restarted service", func() bool {
		return nodeState(t, s, svc.NodeID) == model.NodeIdle
	})
	if n := r2.log.count("starting proof generation"); n != 1 {
		t.Errorf("restarted service started %d proofs, want 1", n)
	}
}

func TestServiceReconnectsAfterNodeRestart(t *testing.T) {
	s := startReal(t, 1, 50*time.Millisecond)
	svc := s.Layout().Services[0]
	o := serviceFor(s, svc)
	o.Speed = 8 // slow enough to be mid-proof when the node goes down
	r := runService(t, o)
	waitFor(t, 5*time.Second, "registration", func() bool { return s.Connected(svc.NodeID) })
	s.SetNodeState(svc.NodeID, model.NodeProving)
	waitFor(t, 5*time.Second, "proving", func() bool { return mustStatus(t, svc.Operator).State == model.ServiceProving })

	if err := s.StopNode(); err != nil {
		t.Fatal(err)
	}
	if s.Connected(svc.NodeID) {
		t.Fatal("connected while the node is down")
	}
	waitFor(t, 5*time.Second, "the service to notice", func() bool {
		return r.log.count("disconnected:") >= 1 && r.log.count("could not connect to the node") >= 1
	})
	// Proving goes on without the node.
	if st := mustStatus(t, svc.Operator); st.State != model.ServiceProving && st.State != model.ServiceDone {
		t.Fatalf("service %+v while the node is down, want its proof kept", st)
	}
	if err := s.StartNode(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "re-registration", func() bool { return s.Connected(svc.NodeID) })
	waitFor(t, 10*time.Second, "the proof after the restart", func() bool {
		return nodeState(t, s, svc.NodeID) == model.NodeIdle
	})
	if n := r.log.count("starting proof generation"); n != 1 {
		t.Errorf("started %d proofs, want 1 carried over the restart", n)
	}
}

func TestServiceForUnknownIdentityRefused(t *testing.T) {
	s := startReal(t, 1, 50*time.Millisecond)
	svc := s.Layout().Services[0]
	s.SetNodeState(svc.NodeID, model.NodeAbsent) // key not loaded
	r := runService(t, serviceFor(s, svc))
	waitFor(t, 5*time.Second, "refusal", func() bool { return r.log.count("unknown identity") >= 1 })
	if s.Connected(svc.NodeID) {
		t.Fatal("an unknown identity registered")
	}
}

func TestRunServiceBadInput(t *testing.T) {
	s := startReal(t, 1, time.Second)
	svc := s.Layout().Services[0]
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt")
	shortID := filepath.Join(dir, "short")
	for d, body := range map[string]string{corrupt: "{not json", shortID: `{"NodeId":"AAEC","LabelsPerUnit":16,"NumUnits":1}`} {
		os.MkdirAll(d, 0o700)
		os.WriteFile(filepath.Join(d, "postdata_metadata.json"), []byte(body), 0o644)
	}
	good := serviceFor(s, svc)
	good.OperatorAddress = ""
	cases := []struct {
		name string
		edit func(*ServiceOptions)
		want string
	}{
		{"missing metadata", func(o *ServiceOptions) { o.Dir = filepath.Join(dir, "none") }, "loading metadata"},
		{"corrupt metadata", func(o *ServiceOptions) { o.Dir = corrupt }, "not valid metadata JSON"},
		{"bad NodeId", func(o *ServiceOptions) { o.Dir = shortID }, "NodeId must be 32 bytes"},
		{"nonces", func(o *ServiceOptions) { o.Nonces = 100 }, "multiple of 16"},
		{"randomx", func(o *ServiceOptions) { o.RandomXMode = "turbo" }, "randomx"},
		{"tls", func(o *ServiceOptions) { o.Address = "https://" + s.Layout().PostListener }, "TLS"},
		{"no scheme", func(o *ServiceOptions) { o.Address = s.Layout().PostListener }, "http://host:port"},
		{"taken operator port", func(o *ServiceOptions) { o.OperatorAddress = s.Layout().PostListener }, "operator API"},
	}
	for _, c := range cases {
		o := good
		c.edit(&o)
		o.Log = &syncBuffer{}
		err := RunService(ctxFor(t, 5*time.Second), o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

func TestServiceGivesUpAfterMaxRetries(t *testing.T) {
	// Not a node: a listener that hangs up on every connection. Keeping it
	// open (rather than closing a free port) means no other test can take
	// the port meanwhile and answer for real.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	s := startReal(t, 1, time.Second)
	o := ServiceOptions{Address: "http://" + addr, Dir: s.Layout().Services[0].Dir, MaxRetries: 3,
		ReconnectInterval: 10 * time.Millisecond, Log: &syncBuffer{}}
	err = RunService(ctxFor(t, 10*time.Second), o)
	if err == nil || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("err %v, want giving up after 3 attempts", err)
	}
	if n := o.Log.(*syncBuffer).count("could not connect to the node"); n != 3 {
		t.Errorf("%d 'could not connect' lines, want 3", n)
	}
}

// TestNodeCountsFailedProofs drives Register by hand: a service that answers
// ERROR gets a failed post_complete and the node stays PROVING and asks again.
func TestNodeCountsFailedProofs(t *testing.T) {
	s := startReal(t, 1, 20*time.Millisecond)
	svc := s.Layout().Services[0]
	meta := s.byID[string(svc.NodeID)].meta
	s.SetNodeState(svc.NodeID, model.NodeProving)

	cc := dial(t, s.Layout().PostListener)
	cs, err := cc.NewStream(ctxFor(t, 10*time.Second), &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/spacemesh.v1.PostService/Register")
	if err != nil {
		t.Fatal(err)
	}
	asks := 0
	for asks < 3 {
		req := s.schema.msg("NodeRequest")
		if err := cs.RecvMsg(req); err != nil {
			t.Fatal(err)
		}
		resp := s.schema.msg("ServiceResponse")
		switch kind(req) {
		case "metadata":
			fillMeta(sub(sub(resp, "metadata"), "meta"), meta)
		case "gen_proof":
			asks++
			set(sub(resp, "gen_proof"), "status", protoreflect.EnumNumber(genProofError))
		default:
			t.Fatalf("request of kind %q", kind(req))
		}
		if err := cs.SendMsg(resp); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "failed post_complete events", func() bool {
		_, failed := postCompletes(s, svc.NodeID)
		return failed >= 2
	})
	if ok, _ := postCompletes(s, svc.NodeID); ok != 0 || nodeState(t, s, svc.NodeID) != model.NodeProving {
		t.Fatal("an ERROR answer counted as a proof")
	}
	if !s.Connected(svc.NodeID) {
		t.Fatal("not connected while the stream is open")
	}
}

// TestRealServicesCycle: without Manual the node turns PROVING by itself,
// waits for the services' proofs and goes IDLE.
func TestRealServicesCycle(t *testing.T) {
	s := startSim(t, Options{IDs: 2, RealServices: true, Speed: 100, Seed: 5, ProofRequestInterval: 50 * time.Millisecond})
	for _, svc := range s.Layout().Services {
		runService(t, serviceFor(s, svc))
	}
	waitFor(t, 10*time.Second, "a proof from every identity", func() bool {
		for _, svc := range s.Layout().Services {
			if ok, _ := postCompletes(s, svc.NodeID); ok == 0 {
				return false
			}
		}
		return true
	})
}

func TestInProcessModeStillRefusesRegister(t *testing.T) {
	s := startSim(t, Options{IDs: 1, Manual: true})
	svc := s.Layout().Services[0]
	o := serviceFor(s, svc)
	o.OperatorAddress = ""
	r := runService(t, o)
	waitFor(t, 5*time.Second, "Unimplemented", func() bool { return r.log.count("Unimplemented") >= 1 })
	if s.Connected(svc.NodeID) {
		t.Fatal("connected in in-process mode")
	}
}

// The operator ports handed to real services lie below the kernel's
// ephemeral range, so no outgoing connection takes one between the sim's
// release and the service's bind; they are distinct.
func TestReservedOperatorPortsAreOutsideTheEphemeralRange(t *testing.T) {
	lo := ephemeralLow()
	s := startSim(t, Options{IDs: 8, RealServices: true, Manual: true, Seed: 3})
	seen := map[string]bool{}
	for _, svc := range s.Layout().Services {
		_, p, err := net.SplitHostPort(svc.Operator)
		port, _ := strconv.Atoi(p)
		if err != nil || port < reserveFloor || port >= lo {
			t.Errorf("operator address %q: want a port in [%d, %d)", svc.Operator, reserveFloor, lo)
		}
		if seen[svc.Operator] {
			t.Errorf("operator address %s drawn twice", svc.Operator)
		}
		seen[svc.Operator] = true
	}
}
