package sim

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// unaryFunc implements one unary method on dynamic messages.
type unaryFunc func(ctx context.Context, req *dynamicpb.Message) (proto.Message, error)

// streamFunc implements one streaming method; it reads the request itself.
type streamFunc func(stream grpc.ServerStream) error

// impl is what a service's methods do, by method name. Methods not listed
// answer Unimplemented, as a node built without them would.
type impl struct {
	unary  map[string]unaryFunc
	stream map[string]streamFunc
}

// serviceDesc builds a grpc.ServiceDesc from a compiled descriptor so that no
// generated Go code is needed: requests decode into dynamicpb messages.
func serviceDesc(sd protoreflect.ServiceDescriptor, im impl) *grpc.ServiceDesc {
	desc := &grpc.ServiceDesc{
		ServiceName: string(sd.FullName()),
		HandlerType: (*any)(nil),
		Metadata:    sd.ParentFile().Path(),
	}
	methods := sd.Methods()
	for i := range methods.Len() {
		md := methods.Get(i)
		name := string(md.Name())
		if md.IsStreamingClient() || md.IsStreamingServer() {
			fn := im.stream[name]
			if fn == nil {
				fn = unimplementedStream(md)
			}
			desc.Streams = append(desc.Streams, grpc.StreamDesc{
				StreamName:    name,
				Handler:       func(_ any, ss grpc.ServerStream) error { return fn(ss) },
				ServerStreams: md.IsStreamingServer(),
				ClientStreams: md.IsStreamingClient(),
			})
			continue
		}
		desc.Methods = append(desc.Methods, grpc.MethodDesc{
			MethodName: name,
			Handler:    unaryHandler(md, im.unary[name]),
		})
	}
	return desc
}

func unaryHandler(md protoreflect.MethodDescriptor, fn unaryFunc) grpc.MethodHandler {
	full := fmt.Sprintf("/%s/%s", md.Parent().FullName(), md.Name())
	return func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		req := dynamicpb.NewMessage(md.Input())
		if err := dec(req); err != nil {
			return nil, err
		}
		if fn == nil {
			return nil, status.Errorf(codes.Unimplemented, "method %s not implemented", full)
		}
		if ic == nil {
			return fn(ctx, req)
		}
		info := &grpc.UnaryServerInfo{Server: srv, FullMethod: full}
		return ic(ctx, req, info, func(ctx context.Context, r any) (any, error) {
			return fn(ctx, r.(*dynamicpb.Message))
		})
	}
}

func unimplementedStream(md protoreflect.MethodDescriptor) streamFunc {
	return func(grpc.ServerStream) error {
		return status.Errorf(codes.Unimplemented, "method %s/%s not implemented", md.Parent().FullName(), md.Name())
	}
}

// newGRPCServer serves the given services plus server reflection v1 and
// v1alpha answered from our compiled descriptors, like a real node. Every
// unary call is counted in calls.
func newGRPCServer(sc *schema, calls *callCounts, descs ...*grpc.ServiceDesc) *grpc.Server {
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		calls.add(info.FullMethod)
		return h(ctx, req)
	}))
	for _, d := range descs {
		srv.RegisterService(d, struct{}{})
	}
	opts := reflection.ServerOptions{
		Services:           srv,
		DescriptorResolver: sc.resolver,
		ExtensionResolver:  protoregistry.GlobalTypes,
	}
	reflectionv1.RegisterServerReflectionServer(srv, reflection.NewServerV1(opts))
	reflectionv1alpha.RegisterServerReflectionServer(srv, reflection.NewServer(opts))
	return srv
}

// listener is one of the node's gRPC listeners. Its address is fixed at the
// first start so that a restarted node comes back where clients expect it.
type listener struct {
	addr  string
	descs []*grpc.ServiceDesc
	srv   *grpc.Server // nil while stopped
}

func (l *listener) start(sc *schema, calls *callCounts) error {
	if l.srv != nil {
		return nil
	}
	addr := l.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := listenRetry(addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	l.addr = ln.Addr().String()
	l.srv = newGRPCServer(sc, calls, l.descs...)
	go l.srv.Serve(ln) //nolint:errcheck // Serve returns when stop closes it
	return nil
}

// listenRetry listens on addr; a fixed port that was ours a moment ago can
// be briefly taken (an ephemeral port of some outgoing connection), so a
// restart retries for up to two seconds before giving up.
func listenRetry(addr string) (net.Listener, error) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || strings.HasSuffix(addr, ":0") || time.Now().After(deadline) {
			return ln, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop drops every connection and stream at once, like a node going down.
func (l *listener) stop() {
	if l.srv != nil {
		l.srv.Stop()
		l.srv = nil
	}
}

// callCounts counts the node's unary calls by full method name.
type callCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *callCounts) add(method string) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[method]++
	c.mu.Unlock()
}

func (c *callCounts) get(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method]
}
