package sim

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/dynamicpb"

	"postdeck/model"
)

// The node side of spacemesh.v1.PostService/Register, used with
// Options.RealServices: post-services are external processes that dial the
// post listener, and the node drives them over this one stream.

// GenProofStatus values of the proto.
const (
	genProofOK    = 1
	genProofError = 2
)

// errAlreadyRegistered is the node's wording for a second connection of one identity.
const errAlreadyRegistered = "post service already registered"

// reservePorts picks a free loopback port per service for its
// --operator-address. All are held open until every one is chosen, so they
// differ, then released for the real processes to take. They are drawn
// below the kernel's ephemeral range: a port from there, once released,
// may be handed to any outgoing connection before the service binds it.
func (s *Sim) reservePorts() error {
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	lo := ephemeralLow()
	for _, id := range s.ids {
		if id.svc == nil {
			continue
		}
		ln, err := listenBelow(lo)
		if err != nil {
			return fmt.Errorf("reserve an operator port: %w", err)
		}
		held = append(held, ln)
		id.svc.addr = ln.Addr().String()
	}
	return nil
}

// The ports reservePorts draws from: [reserveFloor, the ephemeral range).
const reserveFloor = 10000

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if lo, err := strconv.Atoi(f[0]); err == nil && lo > reserveFloor+1000 {
				return lo
			}
		}
	}
	return 32768
}

// listenBelow listens on a random free loopback port in [reserveFloor, lo),
// drawn unseeded: two sims of one seed must not draw the same ports.
func listenBelow(lo int) (net.Listener, error) {
	var err error
	for range 100 {
		var ln net.Listener
		port := reserveFloor + rand.IntN(lo-reserveFloor)
		if ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			return ln, nil
		}
	}
	return nil, err
}

func (s *Sim) postServiceImpl() impl {
	if !s.opts.RealServices {
		return impl{}
	}
	return impl{stream: map[string]streamFunc{"Register": s.register}}
}

// Connected tells whether a post-service is registered for the identity
// right now (RealServices; always false otherwise).
func (s *Sim) Connected(id []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.byID[string(id)]
	return it != nil && it.reg != 0
}

// register serves one post-service connection: ask for its metadata, admit
// it for its identity, then ask for a proof every ProofRequestInterval while
// the node is PROVING for that identity.
func (s *Sim) register(ss grpc.ServerStream) error {
	req := s.schema.msg("NodeRequest")
	sub(req, "metadata")
	if err := ss.SendMsg(req); err != nil {
		return err
	}
	resp := s.schema.msg("ServiceResponse")
	if err := ss.RecvMsg(resp); err != nil {
		return err
	}
	if kind(resp) != "metadata" {
		return status.Error(codes.InvalidArgument, "expected a metadata response")
	}
	md := resp.Get(field(resp, "metadata")).Message()
	meta := md.Get(field(md, "meta")).Message()
	nodeID := meta.Get(field(meta, "node_id")).Bytes()
	id, tok, err := s.attach(nodeID)
	if err != nil {
		return err
	}
	defer s.detach(id, tok)
	return s.serveProofs(ss, id, tok)
}

// attach admits a service for the identity named by its metadata.
func (s *Sim) attach(nodeID []byte) (*ident, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.byID[string(nodeID)]
	if id == nil || !id.onNode {
		return nil, 0, status.Errorf(codes.FailedPrecondition, "unknown identity %x: the node has not loaded its key", nodeID)
	}
	if id.reg != 0 {
		return nil, 0, status.Error(codes.FailedPrecondition, errAlreadyRegistered)
	}
	s.regSeq++
	id.reg = s.regSeq
	return id, id.reg, nil
}

// detach forgets the registration unless a newer one took its place (after
// StopNode cleared it and the service reconnected).
func (s *Sim) detach(id *ident, tok uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id.reg == tok {
		id.reg = 0
	}
}

// wanted is the challenge the node wants a proof for, nil when it wants none
// or this stream no longer serves the identity.
func (s *Sim) wanted(id *ident, tok uint64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id.reg != tok || !id.onNode || id.node != model.NodeProving {
		return nil
	}
	if s.holdProofs && id.askedOn == tok && bytes.Equal(id.asked, id.challenge) {
		return nil // asked once already: the proof is held
	}
	id.asked, id.askedOn = id.challenge, tok
	return append([]byte(nil), id.challenge...)
}

func (s *Sim) serveProofs(ss grpc.ServerStream, id *ident, tok uint64) error {
	ctx := ss.Context()
	every := s.opts.ProofRequestInterval
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		ch := s.wanted(id, tok)
		if ch != nil {
			req := s.schema.msg("NodeRequest")
			set(sub(req, "gen_proof"), "challenge", ch)
			if err := ss.SendMsg(req); err != nil {
				return err
			}
			resp := s.schema.msg("ServiceResponse")
			if err := ss.RecvMsg(resp); err != nil {
				return err
			}
			s.proofResponse(id, tok, ch, resp)
		}
		// Idle, wait for a state change (or look again after a while);
		// proving, ask again after the interval as the node does.
		t.Reset(every)
		wake := id.wake
		if ch != nil {
			wake = nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return status.Error(codes.Unavailable, "node shutting down")
		case <-wake:
		case <-t.C:
		}
	}
}

// proofResponse applies the answer to a GenProofRequest for challenge ch.
// post-rs answers OK without a proof while it is still proving.
func (s *Sim) proofResponse(id *ident, tok uint64, ch []byte, resp *dynamicpb.Message) {
	if kind(resp) != "gen_proof" {
		return
	}
	gp := resp.Get(field(resp, "gen_proof")).Message()
	st := gp.Get(field(gp, "status")).Enum()
	s.mu.Lock()
	defer s.mu.Unlock()
	if id.reg != tok || id.node != model.NodeProving || !bytes.Equal(id.challenge, ch) {
		return // the node moved on while the service answered
	}
	switch st {
	case genProofOK:
		if !gp.Has(field(gp, "proof")) {
			return // in progress
		}
		if pm := gp.Get(field(gp, "metadata")).Message(); gp.Has(field(gp, "metadata")) {
			if c := pm.Get(field(pm, "challenge")).Bytes(); len(c) > 0 && !bytes.Equal(c, ch) {
				return // a proof for another challenge is no proof
			}
		}
		s.proofReceived(id)
	case genProofError:
		s.emit(id, s.simNow(), evPostComplete, true)
	}
}

// kind names the field set in a message's oneof "kind", "" when none.
func kind(m *dynamicpb.Message) string {
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("kind"))
	if fd == nil {
		return ""
	}
	return string(fd.Name())
}

// NodeState is what PostStates reports for the identity now (NodeAbsent
// when the node has not loaded it), without a gRPC round trip.
func (s *Sim) NodeState(id []byte) model.NodeState {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.byID[string(id)]
	if it == nil || !it.onNode {
		return model.NodeAbsent
	}
	return it.node
}
