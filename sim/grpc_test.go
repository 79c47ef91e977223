package sim

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/jhump/protoreflect/grpcreflect"
	"google.golang.org/grpc/codes"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"

	"postdeck/model"
)

func TestReflectionListsServicesPerListener(t *testing.T) {
	s := startSim(t, Options{IDs: 3, Manual: true})
	l := s.Layout()
	want := map[string][]string{
		l.PublicListener: {"spacemesh.v1.NodeService", "spacemesh.v2alpha1.ActivationService",
			"spacemesh.v2alpha1.MalfeasanceService", "spacemesh.v2alpha1.RewardService"},
		l.PrivateListener: {"spacemesh.v1.AdminService", "spacemesh.v1.SmesherService"},
		l.PostListener:    {"spacemesh.v1.PostInfoService", "spacemesh.v1.PostService"},
	}
	reflect := []string{"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}
	for addr, services := range want {
		cc := dial(t, addr)
		ctx := ctxFor(t, 5*time.Second)
		clients := map[string]*grpcreflect.Client{
			"v1":      grpcreflect.NewClientV1(ctx, reflectionv1.NewServerReflectionClient(cc)),
			"v1alpha": grpcreflect.NewClientV1Alpha(ctx, reflectionv1alpha.NewServerReflectionClient(cc)),
		}
		for version, rc := range clients {
			got, err := rc.ListServices()
			rc.Reset()
			if err != nil {
				t.Fatalf("%s ListServices on %s: %v", version, addr, err)
			}
			sort.Strings(got)
			exp := append(append([]string(nil), services...), reflect...)
			sort.Strings(exp)
			if !slices.Equal(got, exp) {
				t.Errorf("%s on %s lists %v, want %v", version, addr, got, exp)
			}
		}
	}
}

func TestPostStatesByReflection(t *testing.T) {
	s := startSim(t, Options{IDs: 5, Manual: true, Seed: 3})
	l := s.Layout()
	s.SetNodeState(l.Services[1].NodeID, model.NodeProving)
	states := postStates(t, s)
	if len(states) != 5 {
		t.Fatalf("PostStates has %d states, want 5", len(states))
	}
	byName := map[string]model.PostState{}
	for _, ps := range states {
		byName[ps.Name] = ps
	}
	for i, svc := range l.Services {
		ps, ok := byName[filepathBase(svc.KeyFile)]
		if !ok {
			t.Fatalf("no state named %s in %v", filepathBase(svc.KeyFile), states)
		}
		if !bytes.Equal(ps.ID, svc.NodeID) {
			t.Errorf("%s: id %x, want %x", ps.Name, ps.ID, svc.NodeID)
		}
		want := model.NodeIdle
		if i == 1 {
			want = model.NodeProving
		}
		if ps.State != want {
			t.Errorf("%s: state %v, want %v", ps.Name, ps.State, want)
		}
	}
	// An identity the node does not report disappears from both lists.
	s.SetNodeState(l.Services[0].NodeID, model.NodeAbsent)
	if n := len(postStates(t, s)); n != 4 {
		t.Errorf("after NodeAbsent PostStates has %d states, want 4", n)
	}
	resp, err := call(t, dial(t, l.PrivateListener), "spacemesh.v1.SmesherService", "SmesherIDs")
	if err != nil {
		t.Fatal(err)
	}
	if n := resp.Get(field(resp, "public_keys")).List().Len(); n != 4 {
		t.Errorf("SmesherIDs has %d keys, want 4", n)
	}
}

func filepathBase(p string) string { return p[bytes.LastIndexByte([]byte(p), '/')+1:] }

func TestNodeServiceAnswers(t *testing.T) {
	s := startSim(t, Options{IDs: 1, Manual: true})
	cc := dial(t, s.Layout().PublicListener)

	v, err := call(t, cc, "spacemesh.v1.NodeService", "Version")
	if err != nil {
		t.Fatal(err)
	}
	vs := v.Get(field(v, "version_string")).Message()
	if got := vs.Get(field(vs, "value")).String(); got != "v1.7.6-sim" {
		t.Errorf("version %q", got)
	}

	info, err := call(t, cc, "spacemesh.v1.NodeService", "NodeInfo")
	if err != nil {
		t.Fatal(err)
	}
	if hrp, es := info.Get(field(info, "hrp")).String(), info.Get(field(info, "epoch_size")).Uint(); hrp != "sm" || es != 4032 {
		t.Errorf("NodeInfo hrp %q epoch_size %d", hrp, es)
	}

	st, err := call(t, cc, "spacemesh.v1.NodeService", "Status")
	if err != nil {
		t.Fatal(err)
	}
	ns := st.Get(field(st, "status")).Message()
	if !ns.Get(field(ns, "is_synced")).Bool() || ns.Get(field(ns, "connected_peers")).Uint() == 0 {
		t.Errorf("status not synced with peers: %v", ns)
	}
}

// The top layer is mainnet's at the node's clock: 2026-01-05 08:00Z is 906
// days after genesis (2023-07-14 08:00Z: 731 days to 2025-07-14, then 17 +
// 31 + 30 + 31 + 30 + 31 + 5), at 288 five-minute layers a day 260928. It
// then moves on one layer per 5 s at Speed 1.
func TestTopLayerFollowsTheNodesClock(t *testing.T) {
	at := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	s := startSim(t, Options{IDs: 1, Manual: true, Now: func() time.Time { return at }})
	cc := dial(t, s.Layout().PublicListener)
	st, err := call(t, cc, "spacemesh.v1.NodeService", "Status")
	if err != nil {
		t.Fatal(err)
	}
	ns := st.Get(field(st, "status")).Message()
	top := ns.Get(field(ns, "top_layer")).Message()
	if n := top.Get(field(top, "number")).Uint(); n < 260928 || n > 260928+12 {
		t.Errorf("top layer %d at %s, want 260928 (a minute's compressed advance at most)", n, at)
	}
}

func TestRegisterIsUnimplemented(t *testing.T) {
	s := startSim(t, Options{IDs: 1, Manual: true})
	cc := dial(t, s.Layout().PostListener)
	stream, err := cc.NewStream(ctxFor(t, 5*time.Second), &s.listeners[lnPost].descs[1].Streams[0], "/spacemesh.v1.PostService/Register")
	if err != nil {
		t.Fatal(err)
	}
	err = stream.RecvMsg(s.schema.msg("NodeRequest"))
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("Register: %v, want Unimplemented", err)
	}
}

func TestStopStartNodeKeepsAddresses(t *testing.T) {
	s := startSim(t, Options{IDs: 2, Manual: true})
	before := s.Layout()
	postStates(t, s) // works while up
	if err := s.StopNode(); err != nil {
		t.Fatal(err)
	}
	cc := dial(t, before.PostListener)
	ctx := ctxFor(t, 2*time.Second)
	req, resp := s.schema.msg("PostStatesRequest"), s.schema.msg("PostStatesResponse")
	if err := cc.Invoke(ctx, "/spacemesh.v1.PostInfoService/PostStates", req, resp); status.Code(err) != codes.Unavailable {
		t.Fatalf("PostStates on a stopped node: %v, want Unavailable", err)
	}
	if err := s.StartNode(); err != nil {
		t.Fatal(err)
	}
	after := s.Layout()
	if after.PostListener != before.PostListener || after.PrivateListener != before.PrivateListener ||
		after.PublicListener != before.PublicListener {
		t.Fatalf("addresses moved: %+v → %+v", before, after)
	}
	if n := len(postStates(t, s)); n != 2 {
		t.Errorf("after restart PostStates has %d states", n)
	}
}

type recvEvent struct {
	kind    string // the details field: post_start, post_complete
	failure bool
	smesher []byte
	at      time.Time
}

// eventsClient opens AdminService.EventsStream on the private listener.
func eventsClient(t *testing.T, s *Sim, ctx context.Context) func() (recvEvent, error) {
	t.Helper()
	cc := dial(t, s.Layout().PrivateListener)
	desc := &s.listeners[lnPrivate].descs[1].Streams[0]
	stream, err := cc.NewStream(ctx, desc, "/spacemesh.v1.AdminService/EventsStream")
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SendMsg(s.schema.msg("EventStreamRequest")); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	return func() (recvEvent, error) {
		ev := s.schema.msg("Event")
		if err := stream.RecvMsg(ev); err != nil {
			return recvEvent{}, err
		}
		fd := ev.WhichOneof(ev.Descriptor().Oneofs().ByName("details"))
		d := ev.Get(fd).Message()
		ts := ev.Get(field(ev, "timestamp")).Message()
		return recvEvent{
			kind:    string(fd.Name()),
			failure: ev.Get(field(ev, "failure")).Bool(),
			smesher: d.Get(field(d, "smesher")).Bytes(),
			at:      time.Unix(ts.Get(field(ts, "seconds")).Int(), ts.Get(field(ts, "nanos")).Int()),
		}, nil
	}
}

func TestEventsReplayThenLive(t *testing.T) {
	s := startSim(t, Options{IDs: 2, Manual: true})
	id := s.Layout().Services[0].NodeID
	s.SetNodeState(id, model.NodeProving) // before subscribing: replayed
	recv := eventsClient(t, s, ctxFor(t, 5*time.Second))
	ev, err := recv()
	if err != nil || ev.kind != "post_start" || ev.failure || !bytes.Equal(ev.smesher, id) {
		t.Fatalf("replayed event: %+v %v", ev, err)
	}
	s.SetNodeState(id, model.NodeIdle) // after: live
	ev, err = recv()
	if err != nil || ev.kind != "post_complete" || ev.failure || !bytes.Equal(ev.smesher, id) {
		t.Fatalf("live event: %+v %v", ev, err)
	}
	if now := s.opts.Now(); now.Sub(ev.at) > time.Minute || ev.at.Sub(now) > time.Second {
		t.Errorf("event timestamp %v is not the node's now (%v)", ev.at, now)
	}
}

func TestEventsReplayKeepsLast100(t *testing.T) {
	s := startSim(t, Options{IDs: 2, Manual: true})
	id, marker := s.Layout().Services[0].NodeID, s.Layout().Services[1].NodeID
	for range 60 { // 120 events, of which the node keeps 100
		s.SetNodeState(id, model.NodeProving)
		s.SetNodeState(id, model.NodeIdle)
	}
	recv := eventsClient(t, s, ctxFor(t, 5*time.Second))
	for n := 0; ; n++ {
		ev, err := recv()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 { // subscribed for sure: the next event is live
			s.SetNodeState(marker, model.NodeProving)
		}
		if bytes.Equal(ev.smesher, marker) {
			if n != 100 {
				t.Errorf("replayed %d events, want 100", n)
			}
			return
		}
	}
}

func TestSlowSubscriberIsCutOff(t *testing.T) {
	l := newEventLog()
	_, slow := l.subscribe()
	replay, fast := l.subscribe()
	if len(replay) != 0 {
		t.Fatalf("replay of an empty log: %d events", len(replay))
	}
	for i := range subscriberBuffer + 1 {
		l.emit(event{kind: evPostStart})
		if i < subscriberBuffer {
			<-fast.ch // a prompt reader keeps up
		}
	}
	select {
	case <-slow.full:
	default:
		t.Fatal("a subscriber that read nothing was not cut off")
	}
	select {
	case <-fast.full:
		t.Fatal("a subscriber that kept up was cut off")
	default:
	}
}
