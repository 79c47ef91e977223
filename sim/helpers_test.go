package sim

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/jhump/protoreflect/grpcreflect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/dynamicpb"

	"postdeck/clock"
	"postdeck/model"
)

// startSim starts a sim closed at the end of the test, on the clock
// POSTDECK_NOW sets unless opts has one.
func startSim(t testing.TB, opts Options) *Sim {
	t.Helper()
	if opts.Now == nil {
		opts.Now = clock.ForTest().Now
	}
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// call invokes a unary method knowing nothing but what reflection tells,
// as the dashboard does against a real node.
func call(t testing.TB, cc *grpc.ClientConn, service, method string) (*dynamicpb.Message, error) {
	t.Helper()
	ctx := ctxFor(t, 5*time.Second)
	rc := grpcreflect.NewClientAuto(ctx, cc)
	defer rc.Reset()
	sd, err := rc.ResolveService(service)
	if err != nil {
		t.Fatalf("resolve %s: %v", service, err)
	}
	md := sd.FindMethodByName(method)
	if md == nil {
		t.Fatalf("%s has no method %s", service, method)
	}
	m := md.UnwrapMethod()
	req, resp := dynamicpb.NewMessage(m.Input()), dynamicpb.NewMessage(m.Output())
	err = cc.Invoke(ctx, "/"+service+"/"+method, req, resp)
	return resp, err
}

// postStates asks the post listener for PostStates through reflection.
func postStates(t testing.TB, s *Sim) []model.PostState {
	t.Helper()
	resp, err := call(t, dial(t, s.Layout().PostListener), "spacemesh.v1.PostInfoService", "PostStates")
	if err != nil {
		t.Fatalf("PostStates: %v", err)
	}
	var out []model.PostState
	states := resp.Get(field(resp, "states")).List()
	for i := range states.Len() {
		ps := states.Get(i).Message()
		out = append(out, model.PostState{
			ID:    ps.Get(field(ps, "id")).Bytes(),
			State: model.NodeStateFromProto(int32(ps.Get(field(ps, "state")).Enum())),
			Name:  ps.Get(field(ps, "name")).String(),
		})
	}
	return out
}

// getStatus fetches an operator's /status with a fresh connection.
func getStatus(t testing.TB, addr string) (model.OperatorStatus, error) {
	t.Helper()
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/status")
	if err != nil {
		return model.OperatorStatus{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return model.OperatorStatus{}, err
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/status: %s", addr, resp.Status)
	}
	return model.ParseStatus(b), nil
}

func mustStatus(t testing.TB, addr string) model.OperatorStatus {
	t.Helper()
	st, err := getStatus(t, addr)
	if err != nil {
		t.Fatalf("GET %s/status: %v", addr, err)
	}
	return st
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
