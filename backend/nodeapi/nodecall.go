package nodeapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jhump/protoreflect/grpcreflect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// role is one of the node's three gRPC listeners.
type role int

const (
	rolePost role = iota
	rolePrivate
	rolePublic
)

// roleInfo names a listener for people: the error source, how to call it, and
// the node config key that sets its address.
var roleInfo = [...]struct{ source, label, key string }{
	rolePost:    {"node/post", "post listener", "api.grpc-post-listener"},
	rolePrivate: {"node/private", "private listener", "api.grpc-private-listener"},
	rolePublic:  {"node/public", "public listener", "api.grpc-public-listener"},
}

// rpc is one node method postdeck may call, and the listener it lives on.
type rpc struct {
	role    role
	service string
	method  string
}

func (r rpc) fullName() string { return "/" + r.service + "/" + r.method }

// The node methods postdeck uses. PostService (the stream a post-service dials
// to register) is deliberately absent: calling it would pose as a
// post-service. call refuses anything not in allowedRPCs.
var (
	rpcPostStates = rpc{rolePost, "spacemesh.v1.PostInfoService", "PostStates"}
	rpcSmesherIDs = rpc{rolePrivate, "spacemesh.v1.SmesherService", "SmesherIDs"}
	rpcStatus     = rpc{rolePublic, "spacemesh.v1.NodeService", "Status"}
	rpcVersion    = rpc{rolePublic, "spacemesh.v1.NodeService", "Version"}
	rpcNodeInfo   = rpc{rolePublic, "spacemesh.v1.NodeService", "NodeInfo"}
	// The history services (public listener), each v2beta1 first: a node
	// has either or both (history.go).
	rpcATXsBeta         = rpc{rolePublic, "spacemesh.v2beta1.ActivationService", "List"}
	rpcATXsAlpha        = rpc{rolePublic, "spacemesh.v2alpha1.ActivationService", "List"}
	rpcRewardsBeta      = rpc{rolePublic, "spacemesh.v2beta1.RewardService", "List"}
	rpcRewardsAlpha     = rpc{rolePublic, "spacemesh.v2alpha1.RewardService", "List"}
	rpcMalfeasanceBeta  = rpc{rolePublic, "spacemesh.v2beta1.MalfeasanceService", "List"}
	rpcMalfeasanceAlpha = rpc{rolePublic, "spacemesh.v2alpha1.MalfeasanceService", "List"}
	// rpcEventsStream is a server stream: only listener.stream opens it.
	rpcEventsStream = rpc{rolePrivate, "spacemesh.v1.AdminService", "EventsStream"}
)

var allowedRPCs = map[rpc]bool{
	rpcPostStates: true,
	rpcSmesherIDs: true,
	rpcStatus:     true,
	rpcVersion:    true,
	rpcNodeInfo:   true,
	// Read-only Lists of the node's history.
	rpcATXsBeta: true, rpcATXsAlpha: true,
	rpcRewardsBeta: true, rpcRewardsAlpha: true,
	rpcMalfeasanceBeta: true, rpcMalfeasanceAlpha: true,
	// Server streams, opened by listener.stream; call refuses them.
	rpcEventsStream: true,
}

// listener is one persistent connection to a node listener plus the service
// descriptors learnt from its server reflection.
type listener struct {
	role    role
	addr    string
	conn    *grpc.ClientConn
	timeout time.Duration

	// resolving is a lock that honours a context: one reflection resolution
	// at a time per listener, and a waiter gives up at its own deadline.
	resolving chan struct{}

	mu       sync.Mutex
	services map[string]protoreflect.ServiceDescriptor
}

func newListener(r role, addr string, conn *grpc.ClientConn, timeout time.Duration) *listener {
	return &listener{
		role: r, addr: addr, conn: conn, timeout: timeout,
		resolving: make(chan struct{}, 1),
		services:  map[string]protoreflect.ServiceDescriptor{},
	}
}

// call invokes a unary allow-listed method with an empty request and returns
// the response as a dynamic message, within the listener's call timeout.
func (l *listener) call(ctx context.Context, r rpc) (protoreflect.Message, error) {
	return l.callWith(ctx, r, nil)
}

// callWith is call with a request that fill sets (nil: empty), by field
// names, on the message the node's reflection describes.
func (l *listener) callWith(ctx context.Context, r rpc, fill func(req protoreflect.Message) error) (protoreflect.Message, error) {
	if !allowedRPCs[r] {
		return nil, fmt.Errorf("postdeck does not call %s", r.fullName())
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	resp, err := l.attempt(ctx, r, fill)
	// Unavailable is often stale: gRPC fails a call at once while the
	// connection is in transient failure (with the last attempt's error), and
	// a call can land on a connection the node just closed. Try one fresh
	// connection within the same deadline, and call again if it comes up, so
	// a restarted node is seen by the very next call. The methods are
	// read-only, so calling twice is harmless.
	if status.Code(err) == codes.Unavailable && l.reconnect(ctx) {
		resp, err = l.attempt(ctx, r, fill)
	}
	if status.Code(err) == codes.Unimplemented {
		// The node behind this address changed: re-learn its descriptors.
		l.mu.Lock()
		delete(l.services, r.service)
		l.mu.Unlock()
	}
	return resp, err
}

func (l *listener) attempt(ctx context.Context, r rpc, fill func(protoreflect.Message) error) (protoreflect.Message, error) {
	md, err := l.method(ctx, r)
	if err != nil {
		return nil, err
	}
	if md.IsStreamingClient() || md.IsStreamingServer() {
		return nil, fmt.Errorf("%s is a stream on this node, expected a unary method", r.fullName())
	}
	req := dynamicpb.NewMessage(md.Input())
	if fill != nil {
		if err := fill(req); err != nil {
			return nil, err
		}
	}
	resp := dynamicpb.NewMessage(md.Output())
	if err := l.conn.Invoke(ctx, r.fullName(), req, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// stream opens an allow-listed server-streaming method with an empty request
// and returns a function that reads its next message as a dynamic message.
// Resolving the method is bounded by the call timeout; the stream itself
// lives until ctx ends or the server closes it. Only server streams are
// opened: a client stream (PostService.Register) would pose as a post-service.
func (l *listener) stream(ctx context.Context, r rpc) (recv func() (protoreflect.Message, error), err error) {
	if !allowedRPCs[r] {
		return nil, fmt.Errorf("postdeck does not call %s", r.fullName())
	}
	rctx, cancel := context.WithTimeout(ctx, l.timeout)
	md, err := l.method(rctx, r)
	cancel()
	if err != nil {
		return nil, err
	}
	if md.IsStreamingClient() || !md.IsStreamingServer() {
		return nil, fmt.Errorf("%s is not a server stream on this node", r.fullName())
	}
	desc := &grpc.StreamDesc{StreamName: r.method, ServerStreams: true}
	cs, err := l.conn.NewStream(ctx, desc, r.fullName())
	if err == nil {
		err = cs.SendMsg(dynamicpb.NewMessage(md.Input()))
	}
	if err == nil {
		err = cs.CloseSend()
	}
	if err != nil {
		if status.Code(err) == codes.Unimplemented {
			l.mu.Lock()
			delete(l.services, r.service)
			l.mu.Unlock()
		}
		return nil, err
	}
	out := md.Output()
	return func() (protoreflect.Message, error) {
		m := dynamicpb.NewMessage(out)
		if err := cs.RecvMsg(m); err != nil {
			return nil, err
		}
		return m, nil
	}, nil
}

// reconnect reports whether a fresh connection to the listener came up
// before ctx ended. gRPC's channel state stays in transient failure through
// new attempts until one succeeds, so it cannot tell "still down" from
// "coming up"; a plain TCP dial can, and a refused dial answers at once, so a
// node that is down costs no more than before.
func (l *listener) reconnect(ctx context.Context) bool {
	var d net.Dialer
	probe, err := d.DialContext(ctx, "tcp", l.addr)
	if err != nil {
		return false
	}
	probe.Close()
	l.conn.ResetConnectBackoff()
	l.conn.Connect()
	for st := l.conn.GetState(); st != connectivity.Ready; st = l.conn.GetState() {
		if st == connectivity.Shutdown || !l.conn.WaitForStateChange(ctx, st) {
			return false
		}
	}
	return true
}

// method returns the descriptor of r, from the cache or by reflection.
func (l *listener) method(ctx context.Context, r rpc) (protoreflect.MethodDescriptor, error) {
	sd := l.cached(r.service)
	if sd == nil {
		var err error
		if sd, err = l.resolveOnce(ctx, r.service); err != nil {
			return nil, err
		}
	}
	md := sd.Methods().ByName(protoreflect.Name(r.method))
	if md == nil {
		return nil, fmt.Errorf("%s has no method %s on this node", r.service, r.method)
	}
	return md, nil
}

func (l *listener) cached(service string) protoreflect.ServiceDescriptor {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.services[service]
}

// resolveOnce learns a service by reflection unless a concurrent caller just did.
func (l *listener) resolveOnce(ctx context.Context, service string) (protoreflect.ServiceDescriptor, error) {
	select {
	case l.resolving <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.resolving }()
	if sd := l.cached(service); sd != nil {
		return sd, nil
	}
	sd, err := resolveService(ctx, l.conn, service)
	if err != nil {
		return nil, err
	}
	sd = shareDescriptor(sd)
	l.mu.Lock()
	l.services[service] = sd
	l.mu.Unlock()
	return sd, nil
}

// resolveService asks the server's reflection (v1, falling back to v1alpha)
// for a service. A fresh reflection client per resolution, bound to this
// call's context: grpcreflect ties its stream to the context it was built
// with, so this is what bounds a resolution by the call timeout, and a stream
// broken by a node restart is never reused. Resolutions are rare (once per
// service, again only after Unimplemented); the descriptors are cached above.
func resolveService(ctx context.Context, conn *grpc.ClientConn, service string) (protoreflect.ServiceDescriptor, error) {
	rc := grpcreflect.NewClientAuto(ctx, conn)
	defer rc.Reset()
	sd, err := rc.ResolveService(service)
	if err != nil {
		return nil, err
	}
	return sd.UnwrapService(), nil
}

// explain turns a call failure into one line naming the listener, its address
// and what to check.
func (l *listener) explain(r rpc, err error) string {
	info := roleInfo[l.role]
	prefix := fmt.Sprintf("%s %s: ", info.label, l.addr)
	// gRPC hands a transport failure (refused, TLS) over only as the text of
	// an Unavailable status, so those two cases read the library's words;
	// postdeck's own outcomes are never told apart by text.
	msg := status.Convert(err).Message()
	switch {
	case strings.Contains(msg, "connection refused"):
		return prefix + "connection refused — is the node running, and is " + info.key + " set to this address?"
	case errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded:
		return prefix + fmt.Sprintf("no answer within %s — is it the node's gRPC listener (%s), and is the node overloaded?", l.timeout, info.key)
	case status.Code(err) == codes.Unimplemented || grpcreflect.IsElementNotFoundError(err) || status.Code(err) == codes.NotFound:
		return prefix + fmt.Sprintf("does not serve %s — is %s set to this address, and is the node 1.4 or newer?", r.service, info.key)
	case errors.Is(err, context.Canceled) || status.Code(err) == codes.Canceled:
		return prefix + "canceled"
	case strings.Contains(msg, "tls") || strings.Contains(msg, "x509") || strings.Contains(msg, "handshake"):
		return prefix + msg + " — check the node TLS settings (tls_ca_cert, tls_cert, tls_key, tls_server_name)"
	}
	return prefix + msg + " — check " + info.key
}

// Field access by name: a node with extra or missing fields still works.

// field follows a path of field names through nested messages. ok is false
// when a field is not in the schema or a step is not a singular message.
func field(m protoreflect.Message, path ...string) (protoreflect.Value, bool) {
	for i, name := range path {
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return protoreflect.Value{}, false
		}
		v := m.Get(fd)
		if i == len(path)-1 {
			return v, true
		}
		if fd.Message() == nil || fd.IsList() || fd.IsMap() {
			return protoreflect.Value{}, false
		}
		m = v.Message()
	}
	return protoreflect.Value{}, false
}

func fieldUint(m protoreflect.Message, path ...string) uint64 {
	v, ok := field(m, path...)
	if !ok {
		return 0
	}
	switch x := v.Interface().(type) {
	case uint64:
		return x
	case uint32:
		return uint64(x)
	case int64:
		return uint64(max(x, 0))
	case int32:
		return uint64(max(x, 0))
	}
	return 0
}

func fieldBool(m protoreflect.Message, path ...string) bool {
	v, ok := field(m, path...)
	b, _ := v.Interface().(bool)
	return ok && b
}

func fieldString(m protoreflect.Message, path ...string) string {
	v, ok := field(m, path...)
	s, _ := v.Interface().(string)
	if !ok {
		return ""
	}
	return s
}

func fieldBytes(m protoreflect.Message, path ...string) []byte {
	v, ok := field(m, path...)
	if !ok {
		return nil
	}
	b, _ := v.Interface().([]byte)
	return b
}

func fieldEnum(m protoreflect.Message, path ...string) (int32, bool) {
	v, ok := field(m, path...)
	if !ok {
		return 0, false
	}
	e, ok := v.Interface().(protoreflect.EnumNumber)
	return int32(e), ok
}

// fieldList returns a repeated field, nil when absent or not a list.
func fieldList(m protoreflect.Message, name string) protoreflect.List {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil || !fd.IsList() {
		return nil
	}
	return m.Get(fd).List()
}
