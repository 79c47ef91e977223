package sim

import (
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// replayEvents is how many past events the node replays to a new subscriber.
const replayEvents = 100

// subscriberBuffer is how many live events a subscriber may fall behind
// before it is cut off with "buffer is full", as the node does.
const subscriberBuffer = 1024

type eventKind int

const (
	evPostStart          eventKind = iota
	evPostComplete                 // failure set when the proof failed
	evAtxPublished                 // current, target, atx
	evEligibilities                // target (the epoch), atx, layers
	evProposal                     // layer
	evRegistrationWindow           // current, target (the publish epoch)
	evRegisteredInPoet             // roundEnd
)

// event is a per-identity event kept compactly; it becomes a dynamic
// spacemesh.v1.Event only when sent. Each kind uses some of the fields.
type event struct {
	at        time.Time
	kind      eventKind
	failure   bool
	smesher   []byte
	challenge []byte

	current, target uint32
	atx             []byte
	roundEnd        time.Time
	layer           uint32
	layers          []uint32 // eligible layers, one eligibility each
}

// eventLog keeps the last events and fans new ones out to subscribers.
// Emitting never blocks: a subscriber that cannot keep up is dropped.
type eventLog struct {
	mu   sync.Mutex
	ring []event // oldest first, at most replayEvents
	subs map[*subscriber]struct{}
}

type subscriber struct {
	ch   chan event
	full chan struct{} // closed when the subscriber fell behind
}

func newEventLog() *eventLog {
	return &eventLog{subs: map[*subscriber]struct{}{}}
}

func (l *eventLog) emit(e event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) == replayEvents {
		copy(l.ring, l.ring[1:])
		l.ring = l.ring[:replayEvents-1]
	}
	l.ring = append(l.ring, e)
	for s := range l.subs {
		select {
		case s.ch <- e:
		default:
			close(s.full)
			delete(l.subs, s)
		}
	}
}

// subscribe returns the replay and a subscriber registered atomically with
// it, so no event is lost or repeated between the two.
func (l *eventLog) subscribe() ([]event, *subscriber) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &subscriber{ch: make(chan event, subscriberBuffer), full: make(chan struct{})}
	l.subs[s] = struct{}{}
	return append([]event(nil), l.ring...), s
}

func (l *eventLog) unsubscribe(s *subscriber) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.subs, s)
}

// reset forgets past events: a restarted node starts with an empty buffer.
func (l *eventLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring = nil
}

// eventsStream implements AdminService.EventsStream.
func (s *Sim) eventsStream(ss grpc.ServerStream) error {
	if err := ss.RecvMsg(s.schema.msg("EventStreamRequest")); err != nil {
		return err
	}
	replay, sub := s.events.subscribe()
	defer s.events.unsubscribe(sub)
	for _, e := range replay {
		if err := ss.SendMsg(s.eventMessage(e)); err != nil {
			return err
		}
	}
	for {
		select {
		case e := <-sub.ch:
			if err := ss.SendMsg(s.eventMessage(e)); err != nil {
				return err
			}
		case <-sub.full:
			return status.Error(codes.Canceled, "buffer is full")
		case <-ss.Context().Done():
			return ss.Context().Err()
		case <-s.done:
			return status.Error(codes.Unavailable, "node shutting down")
		}
	}
}

// eventHelp is the node's help text per kind, in the node's manner.
var eventHelp = [...]string{
	evPostStart:          "Node started PoST execution using the initialized PoST data.",
	evPostComplete:       "Node finished PoST execution using the initialized PoST data.",
	evAtxPublished:       "Published an activation for the current epoch; it earns rewards from the start of the target epoch.",
	evEligibilities:      "Computed eligibilities for the epoch: rewards follow from proposals at these layers.",
	evProposal:           "Published a proposal; its reward comes once a block includes it.",
	evRegistrationWindow: "Waiting for the PoET registration window to open; then the node submits its challenge.",
	evRegisteredInPoet:   "Registered in the PoET round; the node waits for it to end.",
}

func (s *Sim) eventMessage(e event) *dynamicpb.Message {
	m := s.schema.msg("Event")
	setTime(sub(m, "timestamp"), e.at)
	set(m, "failure", e.failure)
	help := eventHelp[e.kind]
	if e.kind == evPostComplete && e.failure {
		help = "Node failed PoST execution."
	}
	set(m, "help", help)
	switch e.kind {
	case evPostStart, evPostComplete:
		name := map[eventKind]string{evPostStart: "post_start", evPostComplete: "post_complete"}[e.kind]
		d := sub(m, name)
		set(d, "challenge", e.challenge)
		set(d, "smesher", e.smesher)
	case evAtxPublished:
		d := sub(m, "atx_published")
		set(d, "current", e.current)
		set(d, "target", e.target)
		set(d, "id", e.atx)
		set(d, "smesher", e.smesher)
	case evEligibilities:
		s.eligibilitiesDetail(sub(m, "eligibilities"), e)
	case evProposal:
		d := sub(m, "proposal")
		set(d, "layer", e.layer)
		set(d, "proposal", atxID(e.smesher, e.layer)[:20])
		set(d, "smesher", e.smesher)
	case evRegistrationWindow:
		d := sub(m, "waiting_for_poet_registration_window")
		set(d, "current", e.current)
		set(d, "publish", e.target)
		setTime(sub(d, "until"), e.roundEnd)
		set(d, "smesher", e.smesher)
	case evRegisteredInPoet:
		d := sub(m, "registered_in_poet")
		set(d, "poet_address", simPoet)
		set(d, "round_id", fmt.Sprint(e.target))
		setTime(sub(d, "round_end"), e.roundEnd)
		set(d, "smesher", e.smesher)
	}
	return m
}

// simPoet is the PoET the simulated node registers in.
const simPoet = "https://poet-1.sim.postdeck"

func (s *Sim) eligibilitiesDetail(d protoreflect.Message, e event) {
	set(d, "epoch", e.target)
	set(d, "beacon", atxID(nil, e.target)[:4])
	set(d, "atx", e.atx)
	set(d, "active_set_size", uint32(len(s.ids)))
	l := list(d, "eligibilities")
	for _, layer := range e.layers {
		pe := l.NewElement().Message()
		set(pe, "layer", layer)
		set(pe, "count", uint32(1))
		l.Append(protoreflect.ValueOfMessage(pe))
	}
	set(d, "smesher", e.smesher)
}

// setTime fills a google.protobuf.Timestamp.
func setTime(ts protoreflect.Message, t time.Time) {
	set(ts, "seconds", t.Unix())
	set(ts, "nanos", int32(t.Nanosecond()))
}
