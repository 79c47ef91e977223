package nodeapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"postdeck/model"
)

// Events feed defaults.
const (
	DefaultEventsMinBackoff  = 500 * time.Millisecond
	DefaultEventsMaxBackoff  = 30 * time.Second
	DefaultEventsPerIdentity = 20  // timeline kept per identity
	DefaultEventsNodeWide    = 200 // node-wide list
	// eventsStableAfter is how long a stream must have stayed up for the next
	// reconnection to start again from the shortest backoff.
	eventsStableAfter = 10 * time.Second
	// dedupeWindow is how many recent event keys are remembered to drop the
	// node's replay of its last 100 events after a reconnection.
	dedupeWindow = 1024
	// maxIdentityTimelines bounds the per-identity map (garbage smesher ids
	// must not grow it without end).
	maxIdentityTimelines = 8192
	maxDetail            = 160
	maxHelp              = 200
)

// EventFeedOptions tune an EventFeed; zero values take the defaults.
type EventFeedOptions struct {
	MinBackoff, MaxBackoff time.Duration
	PerIdentity            int
	NodeWide               int
	Now                    func() time.Time
	// ReplayBurst is how long after a stream opens its events may be the
	// node's replay of old ones, which say nothing about its clock
	// (default DefaultReplayBurst).
	ReplayBurst time.Duration
	// OnEvent hears each new event (not a replay), in the feed's goroutine:
	// it must not block. The epoch ledger records them.
	OnEvent func(model.Event)
}

// EventStats counts what the feed has done, for tests and the status line.
type EventStats struct {
	Received   int64 // events stored
	Duplicates int64 // replayed events dropped after a reconnection
	Garbage    int64 // events without details or timestamp (kept as kind "unknown" or with the receive time)
	Streams    int64 // streams opened
	Failures   int64 // attempts that failed to open a stream, or streams that ended (each schedules a retry)
	Connected  bool
	Err        string // why the stream is down, "" while it is up
}

// EventFeed reads the node's AdminService.EventsStream on the private
// listener in its own goroutine, promptly, into a bounded in-memory store, so
// a slow UI never makes the node cut the stream. When the stream ends it
// reconnects with capped exponential backoff and drops the events the node
// replays. Decorate copies the store into a snapshot.
type EventFeed struct {
	node *Client
	opts EventFeedOptions

	mu      sync.Mutex
	ring    []model.Event // node-wide, a ring of opts.NodeWide
	head    int           // next write position in ring
	count   int
	per     map[string][]model.Event // by smesher; copy on write, newest last
	seen    map[eventKey]struct{}
	seenLog []eventKey // ring of the keys in seen, oldest replaced first
	seenPos int
	stats   EventStats
	cancel  context.CancelFunc // ends the current stream

	tmu    sync.Mutex
	timing map[string]model.Throughput // by service name; only Decorate

	offsets [skewSamples]time.Duration // arrival minus event time of live events, a ring; under mu
	nOff    int
}

type eventKey struct {
	at      int64
	kind    string
	smesher string
	detail  string
	failure bool
}

// NewEventFeed prepares a feed on node's private listener; Run reads it.
func NewEventFeed(node *Client, opts EventFeedOptions) *EventFeed {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultEventsMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultEventsMaxBackoff
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.PerIdentity <= 0 {
		opts.PerIdentity = DefaultEventsPerIdentity
	}
	if opts.NodeWide <= 0 {
		opts.NodeWide = DefaultEventsNodeWide
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReplayBurst <= 0 {
		opts.ReplayBurst = DefaultReplayBurst
	}
	if node == nil {
		node = &Client{}
	}
	return &EventFeed{
		node: node, opts: opts,
		ring:    make([]model.Event, opts.NodeWide),
		per:     map[string][]model.Event{},
		seen:    map[eventKey]struct{}{},
		seenLog: make([]eventKey, 0, dedupeWindow),
		timing:  map[string]model.Throughput{},
	}
}

// Run reads the stream until ctx ends, reconnecting with backoff. Without a
// private listener it says so once and returns.
func (f *EventFeed) Run(ctx context.Context) {
	l, serr := f.node.listenerFor(rolePrivate)
	if serr != nil {
		f.setDown("events: " + serr.Message)
		return
	}
	delay := f.opts.MinBackoff
	for ctx.Err() == nil {
		lived, err := f.session(ctx, l)
		if ctx.Err() != nil {
			return
		}
		if lived >= eventsStableAfter {
			delay = f.opts.MinBackoff
		}
		f.mu.Lock()
		f.stats.Failures++
		f.mu.Unlock()
		f.setDown(fmt.Sprintf("events stream: %s (reconnecting in %s)", err, delay.Round(100*time.Millisecond)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, f.opts.MaxBackoff)
	}
}

// session opens one stream and reads it until it ends, storing every event.
// It returns how long the stream was up and why it ended.
func (f *EventFeed) session(ctx context.Context, l *listener) (time.Duration, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f.mu.Lock()
	f.cancel = cancel
	f.mu.Unlock()
	recv, err := l.stream(sctx, rpcEventsStream)
	if status.Code(err) == codes.Unavailable {
		// The connection may be stale after a node restart: try a fresh one.
		rctx, rcancel := context.WithTimeout(sctx, l.timeout)
		up := l.reconnect(rctx)
		rcancel()
		if up {
			recv, err = l.stream(sctx, rpcEventsStream)
		}
	}
	if err != nil {
		return 0, errors.New(l.explain(rpcEventsStream, err))
	}
	start := time.Now()
	f.mu.Lock()
	f.stats.Streams++
	f.stats.Connected, f.stats.Err = true, ""
	f.mu.Unlock()
	for {
		m, err := recv()
		if err != nil {
			return time.Since(start), f.streamEnd(l, err)
		}
		arrived := f.opts.Now()
		e, garbage := EventFromMessage(m, arrived)
		if !f.add(e, garbage) {
			continue
		}
		if !garbage && time.Since(start) > f.opts.ReplayBurst {
			f.clockOffset(arrived.Sub(e.Time))
		}
		if f.opts.OnEvent != nil {
			f.opts.OnEvent(e)
		}
	}
}

// streamEnd says why a stream that was up ended.
func (f *EventFeed) streamEnd(l *listener, err error) error {
	st := status.Convert(err)
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("the node closed the stream")
	// The node says a subscriber fell behind only in the text of a Canceled
	// status (go-spacemesh's events stream).
	case st.Code() == codes.Canceled && strings.Contains(st.Message(), "buffer is full"):
		return errors.New("the node cut the stream: buffer is full (postdeck read too slowly)")
	case st.Code() == codes.Unimplemented:
		l.mu.Lock()
		delete(l.services, rpcEventsStream.service)
		l.mu.Unlock()
	}
	return errors.New(l.explain(rpcEventsStream, err))
}

func (f *EventFeed) setDown(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats.Connected, f.stats.Err = false, msg
}

// reconnectNow ends the current stream; Run opens a new one after its backoff.
func (f *EventFeed) reconnectNow() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil {
		f.cancel()
	}
}

// Stats returns the counters so far.
func (f *EventFeed) Stats() EventStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// Err is why the stream is down, "" while it is up (or before the first try).
func (f *EventFeed) Err() string { return f.Stats().Err }

// add stores e unless it is a replay of one already stored (then false).
// It is O(timeline).
func (f *EventFeed) add(e model.Event, garbage bool) bool {
	k := eventKey{e.Time.UnixNano(), e.Kind, string(e.Smesher), e.Detail, e.Failure}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.seen[k]; dup {
		f.stats.Duplicates++
		return false
	}
	if len(f.seenLog) < dedupeWindow {
		f.seenLog = append(f.seenLog, k)
	} else {
		delete(f.seen, f.seenLog[f.seenPos])
		f.seenLog[f.seenPos] = k
		f.seenPos = (f.seenPos + 1) % dedupeWindow
	}
	f.seen[k] = struct{}{}
	f.stats.Received++
	if garbage {
		f.stats.Garbage++
	}
	f.ring[f.head] = e
	f.head = (f.head + 1) % len(f.ring)
	f.count = min(f.count+1, len(f.ring))
	if len(e.Smesher) == 0 {
		return true
	}
	id := string(e.Smesher)
	old, ok := f.per[id]
	if !ok && len(f.per) >= maxIdentityTimelines {
		for k := range f.per { // forget one at random: a bound, not a policy
			delete(f.per, k)
			break
		}
	}
	drop := max(0, len(old)+1-f.opts.PerIdentity)
	next := make([]model.Event, 0, len(old)-drop+1)
	next = append(append(next, old[drop:]...), e)
	f.per[id] = next
	return true
}

// Events returns the node-wide events, newest last.
func (f *EventFeed) Events() []model.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodeWideLocked()
}

func (f *EventFeed) nodeWideLocked() []model.Event {
	out := make([]model.Event, 0, f.count)
	start := (f.head - f.count + len(f.ring)) % len(f.ring)
	for i := range f.count {
		out = append(out, f.ring[(start+i)%len(f.ring)])
	}
	return out
}

// Timeline returns the events about one identity, newest last. The slice is
// shared: do not change it.
func (f *EventFeed) Timeline(id []byte) []model.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.per[string(id)]
}

// Decorate is the poller hook: it gives the snapshot the node-wide events,
// each row its timeline (shared, read-only slices) and each proving row its
// throughput, and reports a stream that is down as a node error unless the
// private listener already reports one.
func (f *EventFeed) Decorate(s *model.Snapshot) {
	f.mu.Lock()
	s.Events = f.nodeWideLocked()
	for i := range s.Rows {
		if r := &s.Rows[i]; len(r.ID) > 0 {
			r.Events = f.per[string(r.ID)]
		}
	}
	down := f.stats.Err
	skew, known := f.skewLocked()
	f.mu.Unlock()
	if down != "" && !hasSourceError(s.Node.Errors, roleInfo[rolePrivate].source) {
		s.Node.Errors = append(s.Node.Errors, model.SourceError{Source: "node/events", Message: down})
	}
	if msg := skewProblem(skew, known); msg != "" {
		s.Node.Errors = append(s.Node.Errors, model.SourceError{Source: "node/clock", Message: msg})
	}
	f.observe(s)
}

func hasSourceError(errs []model.SourceError, source string) bool {
	for _, e := range errs {
		if e.Source == source {
			return true
		}
	}
	return false
}

// observe feeds each service's /status into its throughput and sets the
// rows' Timing. Services gone from the snapshot are forgotten.
func (f *EventFeed) observe(s *model.Snapshot) {
	f.tmu.Lock()
	defer f.tmu.Unlock()
	at := s.At
	if at.IsZero() {
		at = f.opts.Now()
	}
	live := make(map[string]bool, len(s.Rows))
	for i := range s.Rows {
		r := &s.Rows[i]
		if r.Service == "" {
			continue
		}
		live[r.Service] = true
		th := f.timing[r.Service]
		if sample, ok := throughputSample(r, at); ok {
			th = th.Observe(sample)
			f.timing[r.Service] = th
		}
		r.Timing = th.Timing()
	}
	for name := range f.timing {
		if !live[name] {
			delete(f.timing, name)
		}
	}
}

// throughputSample is a row's /status as a sample; false when the service
// could not be read (no sample: the next one measures across the gap).
func throughputSample(r *model.Row, at time.Time) (model.ThroughputSample, bool) {
	switch r.ServiceState {
	case model.ServiceProving:
		pass := r.SizeBytes
		if r.Progress != nil && r.Progress.PassBytes > 0 {
			pass = r.Progress.PassBytes
		}
		return model.ThroughputSample{At: at, Proving: true,
			NonceStart: r.Status.NonceStart, NonceEnd: r.Status.NonceEnd,
			Position: r.Status.Position, PassBytes: pass}, true
	case model.ServiceIdle, model.ServiceDone:
		return model.ThroughputSample{At: at}, true
	}
	return model.ThroughputSample{}, false
}

// LatestRoundEnd is the PoET round end of the newest event that carries one
// (waiting_for_poet_round_end, registered_in_poet); events newest last.
func LatestRoundEnd(events []model.Event) (time.Time, bool) {
	for i := len(events) - 1; i >= 0; i-- {
		if !events[i].RoundEnd.IsZero() {
			return events[i].RoundEnd, true
		}
	}
	return time.Time{}, false
}

const (
	// DefaultReplayBurst is EventFeedOptions.ReplayBurst's default: the
	// node sends its replay at once.
	DefaultReplayBurst = 3 * time.Second
	// skewSamples is how many live events the clock offset is taken over.
	skewSamples = 32
	// skewTolerance is the clock offset the ledger and the countdown
	// absorb; more is said in the snapshot.
	skewTolerance = 2 * time.Minute
)

// clockOffset keeps how long a live event took from the node's clock to
// ours: network delay plus the difference of the two clocks.
func (f *EventFeed) clockOffset(d time.Duration) {
	f.mu.Lock()
	f.offsets[f.nOff%skewSamples] = d
	f.nOff++
	f.mu.Unlock()
}

// skewLocked is how far the node's clock is behind ours (negative: ahead):
// the smallest offset of the last live events, since delay only adds to
// it. known is false before the first live event; f.mu is held.
func (f *EventFeed) skewLocked() (skew time.Duration, known bool) {
	n := min(f.nOff, skewSamples)
	for i := range n {
		if i == 0 || f.offsets[i] < skew {
			skew = f.offsets[i]
		}
	}
	return skew, n > 0
}

// Skew is how far the node's clock is behind this machine's, from the
// events it streams (negative: ahead); known is false before the first live
// event. The ledger puts what postdeck watched on the node's clock with it.
func (f *EventFeed) Skew() (skew time.Duration, known bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.skewLocked()
}

// skewProblem says what a clock difference beyond the tolerance means.
func skewProblem(skew time.Duration, known bool) string {
	if !known || skew.Abs() <= skewTolerance {
		return ""
	}
	way := "behind"
	if skew < 0 {
		way = "ahead of"
	}
	return fmt.Sprintf("the node's clock is %s %s this machine's (from its events): the countdown and the plan go by this machine's clock, the node's events by its own: sync both with NTP",
		skew.Abs().Round(time.Second), way)
}
