package sim

import (
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/dynamicpb"
)

// replayEvents is how many past events the node replays to a new subscriber.
const replayEvents = 100

// subscriberBuffer is how many live events a subscriber may fall behind
// before it is cut off with "buffer is full", as the node does.
const subscriberBuffer = 1024

type eventKind int

const (
	evPostStart eventKind = iota
	evPostComplete
)

// event is a per-identity event kept compactly; it becomes a dynamic
// spacemesh.v1.Event only when sent.
type event struct {
	at        time.Time
	kind      eventKind
	failure   bool
	smesher   []byte
	challenge []byte
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

func (s *Sim) eventMessage(e event) *dynamicpb.Message {
	m := s.schema.msg("Event")
	ts := sub(m, "timestamp")
	set(ts, "seconds", e.at.Unix())
	set(ts, "nanos", int32(e.at.Nanosecond()))
	set(m, "failure", e.failure)
	detail, help := "post_start", "Node started PoST execution using the initialized PoST data."
	if e.kind == evPostComplete {
		detail, help = "post_complete", "Node finished PoST execution using the initialized PoST data."
		if e.failure {
			help = "Node failed PoST execution."
		}
	}
	set(m, "help", help)
	d := sub(m, detail)
	set(d, "challenge", e.challenge)
	set(d, "smesher", e.smesher)
	return m
}
