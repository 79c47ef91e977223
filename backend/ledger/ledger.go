// Package ledger is the epoch ledger: per identity and publish epoch, what
// happened on the way to its ATX and rewards (PoET registration, the PoST
// proof, the ATX, eligibilities, proposals, rewards, malfeasance), kept in
// an SQLite file in postdeck's state folder so it outlives the node's short
// event replay.
//
// One goroutine writes; callers only queue (see Ledger.queue). Every method
// works on a nil *Ledger and does nothing, so a dashboard whose ledger could
// not be opened runs on without it.
package ledger

import (
	"database/sql"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"postdeck/model"
)

// FileName is the ledger's file inside the state folder.
const FileName = "ledger.sqlite"

// PathIn is the ledger's path in a state folder.
func PathIn(stateDir string) string { return filepath.Join(stateDir, FileName) }

// QueueSize is how many writes may wait for the writer. A write that finds
// the queue full is dropped and counted (Status.Dropped): ATXs and rewards
// come back with the next List of the node's history; a dropped event is
// lost, and its step reads "not observed" rather than a guess.
const QueueSize = 1024

// Options configure a ledger.
type Options struct {
	// Timing places events, proofs and watched time in epochs; required.
	Timing model.Timing
	// Now is the clock that says which epochs are still open (default
	// time.Now); tests and demos pass their clock.Clock's Now.
	Now func() time.Time
	// Grace bridges a gap in watching shorter than this (a restart): the
	// node replays its last events on reconnect. Default 10 minutes.
	Grace time.Duration
}

// Identity names an identity for Records.
type Identity struct {
	Name string // key file name
	ID   []byte
}

// Proof is one PoST proof as measured from the post-service's /status: its
// k2pow and disk-read phases, the bytes the read covered, and whether it
// failed.
type Proof struct {
	ID          []byte
	Epoch       uint32 // publish epoch the proof is for
	K2Pow, Disk time.Duration
	Bytes       uint64 // num_units × labels_per_unit × 16
	Failed      bool
}

// Measured is an identity's last successful measured proof, for the planner.
type Measured struct {
	Epoch    uint32
	K2Pow    time.Duration
	ReadRate float64 // bytes per second of the disk-read phase
}

// HistoryQuery says what one List of the node's history covered: these
// identities, these epochs (inclusive). Inside it, an ATX or reward the
// node did not return is known to be missing.
type HistoryQuery struct {
	IDs       [][]byte
	FromEpoch uint32
	ToEpoch   uint32
}

// Status is the writer's state, for a health line.
type Status struct {
	Queued  int
	Dropped int   // writes dropped because the queue was full
	Lost    int   // writes lost because their transaction failed
	Err     error // the last failed write, nil after one succeeds
}

// Ledger is an open epoch ledger. Its methods are safe for concurrent use
// and never block on the disk, except Flush and Close.
type Ledger struct {
	path     string
	db       *sql.DB
	readOnly bool // OpenReadOnly: no lock, no writer
	opts     Options
	lock     func()

	queue chan op
	done  chan struct{} // closed when the writer has ended

	dropped, lost atomic.Int64

	mu      sync.RWMutex // guards closed, lastErr and the cache
	closed  bool
	lastErr error
	cache   cache
}

// Path is the ledger's file; "" for a nil ledger.
func (l *Ledger) Path() string {
	if l == nil {
		return ""
	}
	return l.path
}

// Status reports the queue and the last write error.
func (l *Ledger) Status() Status {
	if l == nil {
		return Status{}
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return Status{Queued: len(l.queue), Dropped: int(l.dropped.Load()), Lost: int(l.lost.Load()), Err: l.lastErr}
}

func (l *Ledger) now() time.Time {
	if l.opts.Now != nil {
		return l.opts.Now()
	}
	return time.Now()
}
