package nodeapi

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"postdeck/backend/testkit"
	"postdeck/model"
	"postdeck/sim"
)

func startEventSim(t *testing.T, ids int) (*sim.Sim, sim.Layout, *Client) {
	t.Helper()
	s, err := sim.Start(context.Background(), sim.Options{IDs: ids, Manual: true, Seed: 1, Dir: t.TempDir(), Now: testkit.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	l := s.Layout()
	return s, l, newNode(t, simNodeOptions(l))
}

func runFeed(t *testing.T, node *Client, opts EventFeedOptions) *EventFeed {
	t.Helper()
	f := NewEventFeed(node, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func TestEventFeedReadsByReflectionAndDropsReplay(t *testing.T) {
	s, l, node := startEventSim(t, 3)
	f := runFeed(t, node, EventFeedOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	id := l.Services[0].NodeID
	s.SetNodeState(id, model.NodeProving)
	s.SetNodeState(id, model.NodeIdle)
	testkit.Eventually(t, 5*time.Second, "two events", func() bool { return len(f.Timeline(id)) == 2 })
	tl := f.Timeline(id)
	if tl[0].Kind != "post_start" || tl[1].Kind != "post_complete" || tl[1].Failure {
		t.Fatalf("timeline %+v", tl)
	}
	for _, e := range tl {
		if !bytes.Equal(e.Smesher, id) || e.Time.IsZero() || e.Help == "" {
			t.Errorf("event %+v", e)
		}
	}
	if st := f.Stats(); st.Streams != 1 || !st.Connected || st.Err != "" || st.Garbage != 0 {
		t.Fatalf("stats %+v", st)
	}

	// A new stream gets the node's replay of its last events: none is stored twice.
	f.reconnectNow()
	testkit.Eventually(t, 5*time.Second, "second stream and its replay", func() bool {
		st := f.Stats()
		return st.Streams == 2 && st.Duplicates == 2
	})
	s.SetNodeState(id, model.NodeProving)
	testkit.Eventually(t, 5*time.Second, "third event", func() bool { return len(f.Timeline(id)) == 3 })
	if all := f.Events(); len(all) != 3 || f.Stats().Received != 3 {
		t.Fatalf("node-wide %d events, received %d", len(all), f.Stats().Received)
	}
}

func TestEventFeedReconnectsAfterNodeRestart(t *testing.T) {
	s, l, node := startEventSim(t, 2)
	f := runFeed(t, node, EventFeedOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	id := l.Services[1].NodeID
	testkit.Eventually(t, 5*time.Second, "stream up", func() bool { return f.Stats().Connected })
	if err := s.StopNode(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "stream down reported", func() bool {
		st := f.Stats()
		return !st.Connected && strings.Contains(st.Err, "reconnecting in")
	})
	// The error reaches the snapshot while the private listener itself is fine.
	var snap model.Snapshot
	f.Decorate(&snap)
	if len(snap.Node.Errors) != 1 || snap.Node.Errors[0].Source != "node/events" {
		t.Fatalf("snapshot errors %+v", snap.Node.Errors)
	}
	// A few failed attempts with backoff while the node is down, counted by
	// the feed rather than guessed from a sleep.
	down := f.Stats().Failures
	testkit.Eventually(t, 10*time.Second, "three failed reconnection attempts", func() bool {
		st := f.Stats()
		return st.Failures >= down+3 && !st.Connected
	})
	if err := s.StartNode(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "stream back", func() bool { return f.Stats().Connected })
	s.SetNodeState(id, model.NodeProving)
	testkit.Eventually(t, 5*time.Second, "event after restart", func() bool { return len(f.Timeline(id)) == 1 })
	if st := f.Stats(); st.Streams < 2 || st.Err != "" {
		t.Fatalf("stats %+v", st)
	}
}

func TestEventFeedSlowConsumerNeverBlocksReader(t *testing.T) {
	s, l, node := startEventSim(t, 4)
	f := runFeed(t, node, EventFeedOptions{})
	testkit.Eventually(t, 5*time.Second, "stream up", func() bool { return f.Stats().Connected })
	// The client's stream is open before the node's handler subscribes it:
	// two events received for sure mean the node now sends live ones.
	const probes = 2
	s.SetNodeState(l.Services[3].NodeID, model.NodeProving)
	s.SetNodeState(l.Services[3].NodeID, model.NodeIdle)
	waitBurst(t, f, probes)
	// 3000 events in bursts of 500 while nobody takes a snapshot: in all
	// more than the node buffers for a subscriber (1024), so a reader that
	// waited for the UI would be cut off; this one keeps up with each burst.
	const n, burst = 3000, 500
	for i := range n {
		id := l.Services[i%4].NodeID
		if (i/4)%2 == 0 {
			s.SetNodeState(id, model.NodeProving)
		} else {
			s.SetNodeState(id, model.NodeIdle)
		}
		if (i+1)%burst == 0 {
			waitBurst(t, f, int64(probes+i+1))
		}
	}
	st := f.Stats()
	if st.Streams != 1 || !st.Connected || st.Received != probes+n {
		t.Fatalf("the reader fell behind, or stored %d events of %d: %+v", st.Received, probes+n, st)
	}
	if got := len(f.Events()); got != DefaultEventsNodeWide {
		t.Errorf("node-wide list holds %d, want %d", got, DefaultEventsNodeWide)
	}
	if got := len(f.Timeline(l.Services[0].NodeID)); got != DefaultEventsPerIdentity {
		t.Errorf("timeline holds %d, want %d", got, DefaultEventsPerIdentity)
	}
}

// waitBurst waits until the feed has stored want events, failing with its
// counters (not just "timed out") when it does not, or when the stream was
// cut and reopened meanwhile (the reader fell behind).
func waitBurst(t *testing.T, f *EventFeed, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := f.Stats()
		switch {
		case st.Streams > 1:
			t.Fatalf("the reader fell behind: %+v", st)
		case st.Received >= want:
			return
		case time.Now().After(deadline):
			t.Fatalf("stored %d of %d events after 30s: %+v", st.Received, want, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// eventDescriptor is spacemesh.v1.Event as the sim's server reflection
// describes it.
func eventDescriptor(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	_, _, node := startEventSim(t, 1)
	l, serr := node.listenerFor(rolePrivate)
	if serr != nil {
		t.Fatal(serr.Message)
	}
	md, err := l.method(context.Background(), rpcEventsStream)
	if err != nil {
		t.Fatal(err)
	}
	return md.Output()
}

func TestEventFromMessage(t *testing.T) {
	ed := eventDescriptor(t)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	at := time.Date(2025, 3, 1, 11, 59, 0, 5, time.UTC)
	smesher := bytes.Repeat([]byte{0xab}, 32)
	set := func(m protoreflect.Message, name string, v any) {
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			t.Fatalf("%s has no field %s", m.Descriptor().FullName(), name)
		}
		m.Set(fd, protoreflect.ValueOf(v))
	}
	sub := func(m protoreflect.Message, name string) protoreflect.Message {
		return m.Mutable(m.Descriptor().Fields().ByName(protoreflect.Name(name))).Message()
	}
	stamp := func(m protoreflect.Message, name string, t time.Time) {
		ts := sub(m, name)
		set(ts, "seconds", t.Unix())
		set(ts, "nanos", int32(t.Nanosecond()))
	}
	event := func(kind string, fill func(d protoreflect.Message)) protoreflect.Message {
		m := dynamicpb.NewMessage(ed)
		stamp(m, "timestamp", at)
		set(m, "help", "some help")
		if kind != "" {
			d := sub(m, kind)
			if fill != nil {
				fill(d)
			}
		}
		return m
	}
	roundEnd := time.Date(2025, 3, 8, 8, 0, 0, 0, time.UTC)

	failed := event("post_complete", func(d protoreflect.Message) {
		set(d, "smesher", smesher)
		set(d, "challenge", []byte{1, 2, 3})
	})
	set(failed, "failure", true)
	noTime := event("proposal", func(d protoreflect.Message) { set(d, "layer", uint32(1234)) })
	noTime.Clear(ed.Fields().ByName("timestamp"))

	tests := []struct {
		name    string
		m       protoreflect.Message
		want    model.Event
		garbage bool
	}{
		{"failed post_complete", failed,
			model.Event{Time: at, Kind: "post_complete", Failure: true, Help: "some help", Smesher: smesher}, false},
		{"atx published", event("atx_published", func(d protoreflect.Message) {
			set(d, "current", uint32(12))
			set(d, "target", uint32(13))
			set(d, "id", []byte{0xa7, 0x01, 0x02, 0x03, 0x04})
			set(d, "smesher", smesher)
			wait := sub(d, "wait")
			set(wait, "seconds", int64(90))
		}), model.Event{Time: at, Kind: "atx_published", Help: "some help", Smesher: smesher, Detail: "current 12 target 13 id a7010203 wait 1m30s",
			Epoch: 13, ATXID: []byte{0xa7, 0x01, 0x02, 0x03, 0x04}}, false},
		{"eligibilities", event("eligibilities", func(d protoreflect.Message) {
			set(d, "epoch", uint32(14))
			l := d.Mutable(d.Descriptor().Fields().ByName("eligibilities")).List()
			for _, c := range []uint32{1, 2} {
				pe := l.NewElement().Message()
				set(pe, "layer", 14*4032+c)
				set(pe, "count", c)
				l.Append(protoreflect.ValueOfMessage(pe))
			}
			set(d, "smesher", smesher)
		}), model.Event{Time: at, Kind: "eligibilities", Help: "some help", Smesher: smesher, Detail: "epoch 14 eligibilities 2",
			Epoch: 14, Eligibilities: 3, EligibleLayers: 2}, false},
		{"round end", event("waiting_for_poet_round_end", func(d protoreflect.Message) {
			stamp(d, "round_end", roundEnd)
			set(d, "smesher", smesher)
		}), model.Event{Time: at, Kind: "waiting_for_poet_round_end", Help: "some help", Smesher: smesher,
			Detail: "round_end 2025-03-08T08:00:00Z", RoundEnd: roundEnd}, false},
		{"node-wide beacon", event("beacon", func(d protoreflect.Message) {
			set(d, "epoch", uint32(7))
			set(d, "beacon", []byte{0xde, 0xad, 0xbe, 0xef, 0x01})
		}), model.Event{Time: at, Kind: "beacon", Help: "some help", Detail: "epoch 7 beacon deadbeef"}, false},
		{"details with no fields", event("post_service_started", nil),
			model.Event{Time: at, Kind: "post_service_started", Help: "some help"}, false},
		{"no details at all", event("", nil),
			model.Event{Time: at, Kind: "unknown", Help: "some help", Detail: "no details"}, true},
		{"no timestamp", noTime,
			model.Event{Time: now, Kind: "proposal", Help: "some help", Detail: "layer 1234", Layer: 1234}, true},
		{"empty message", dynamicpb.NewMessage(ed),
			model.Event{Time: now, Kind: "unknown", Detail: "no details"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, garbage := EventFromMessage(tc.m, now)
			if len(got.Smesher) == 0 {
				got.Smesher = nil
			}
			if !got.Time.Equal(tc.want.Time) || got.Kind != tc.want.Kind || got.Failure != tc.want.Failure ||
				got.Help != tc.want.Help || !bytes.Equal(got.Smesher, tc.want.Smesher) || got.Detail != tc.want.Detail ||
				!got.RoundEnd.Equal(tc.want.RoundEnd) || garbage != tc.garbage || got.Epoch != tc.want.Epoch ||
				got.Eligibilities != tc.want.Eligibilities || got.EligibleLayers != tc.want.EligibleLayers || got.Layer != tc.want.Layer || !bytes.Equal(got.ATXID, tc.want.ATXID) {
				t.Errorf("got %+v garbage %v\nwant %+v garbage %v", got, garbage, tc.want, tc.garbage)
			}
		})
	}
	if re, ok := LatestRoundEnd([]model.Event{{RoundEnd: roundEnd}, {Kind: "post_start"}}); !ok || !re.Equal(roundEnd) {
		t.Errorf("LatestRoundEnd %v %v", re, ok)
	}

	// A garbage event is stored (kind unknown) and counted, never a crash.
	f := NewEventFeed(nil, EventFeedOptions{})
	for _, m := range []protoreflect.Message{dynamicpb.NewMessage(ed), failed, failed} {
		e, g := EventFromMessage(m, now)
		f.add(e, g)
	}
	if st := f.Stats(); st.Received != 2 || st.Garbage != 1 || st.Duplicates != 1 {
		t.Errorf("stats %+v", st)
	}
	if tl := f.Timeline(smesher); len(tl) != 1 || !tl[0].Failure {
		t.Errorf("timeline %+v", tl)
	}
}

func TestDecorateTiming(t *testing.T) {
	f := NewEventFeed(nil, EventFeedOptions{})
	t0 := time.Unix(1_700_000_000, 0)
	const mb = 1 << 20
	row := func(pos uint64) model.Row {
		return model.Row{Service: "post0", ServiceState: model.ServiceProving,
			Status:   model.OperatorStatus{State: model.ServiceProving, NonceStart: 0, NonceEnd: 128, Position: pos},
			Progress: &model.Progress{Position: pos, PassBytes: 100 * mb}}
	}
	var snap model.Snapshot
	for i, pos := range []uint64{10 * mb, 30 * mb, 50 * mb} {
		snap = model.Snapshot{At: t0.Add(time.Duration(2*i) * time.Second), Rows: []model.Row{row(pos)}}
		f.Decorate(&snap)
	}
	if tm := snap.Rows[0].Timing; tm.Rate != 10*mb || tm.ETA != 5*time.Second {
		t.Fatalf("timing %+v", tm)
	}
	snap = model.Snapshot{At: t0.Add(10 * time.Second)}
	f.Decorate(&snap)
	if len(f.timing) != 0 {
		t.Errorf("a service gone from the snapshot is still timed")
	}
}

func TestStreamRefusesOutsideAllowList(t *testing.T) {
	_, _, node := startEventSim(t, 1)
	l, _ := node.listenerFor(rolePost)
	if _, err := l.stream(context.Background(), rpc{rolePost, "spacemesh.v1.PostInfoService", "PostStates"}); err == nil {
		t.Error("stream opened a unary method")
	}
	if _, err := l.stream(context.Background(), rpc{rolePost, "spacemesh.v1.Admin", "Nope"}); err == nil {
		t.Error("stream opened a method outside the allow-list")
	}
}

// A node whose clock runs ahead of this machine's: the feed measures the
// difference from the live events and says so in the snapshot; a node on
// time says nothing.
func TestEventFeedTellsANodeClockAhead(t *testing.T) {
	for _, c := range []struct {
		ahead time.Duration
		want  string
	}{{5 * time.Minute, "the node's clock is 5m0s ahead of this machine's"}, {0, ""}} {
		now := func() time.Time { return testkit.Clock.Now().Add(c.ahead) }
		s, err := sim.Start(context.Background(), sim.Options{IDs: 1, Manual: true, Seed: 1, Dir: t.TempDir(), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		l := s.Layout()
		f := runFeed(t, newNode(t, simNodeOptions(l)), EventFeedOptions{Now: testkit.Clock.Now, ReplayBurst: time.Nanosecond})
		testkit.Eventually(t, 5*time.Second, "stream up", func() bool { return f.Stats().Connected })
		id := l.Services[0].NodeID
		s.SetNodeState(id, model.NodeProving)
		testkit.Eventually(t, 5*time.Second, "the event", func() bool { return len(f.Timeline(id)) == 1 })
		skew, known := f.Skew()
		var snap model.Snapshot
		f.Decorate(&snap)
		var got string
		for _, e := range snap.Node.Errors {
			if e.Source == "node/clock" {
				got = e.Message
			}
		}
		// The measured skew is the clocks' difference less the delay.
		if d := skew + c.ahead; !known || d < 0 || d > time.Second {
			t.Errorf("ahead %s: skew %s known %v", c.ahead, skew, known)
		}
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("ahead %s: snapshot says %q, want %q", c.ahead, got, c.want)
		}
	}
}
