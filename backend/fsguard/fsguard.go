package fsguard

import (
	"fmt"
	"sync"
	"time"
)

// Guard bounds blocking file-system calls made while polling. A read from a
// dead disk or a hung network mount cannot be cancelled: the guard stops
// waiting at the deadline, and starts no second call for the same key while
// the first is still stuck, so a hung mount costs one goroutine, not one per
// poll, and never stalls the rest of the table.
//
// The calls run on kept goroutines (see run): a new goroutine per call grew
// its stack again through every JSON decode, which at a thousand metadata
// files was a twentieth of a cold `postdeck status`.
type Guard struct {
	mu    sync.Mutex
	stuck map[string]time.Time // key → when its stuck call started
	work  chan func()          // unbuffered: a send succeeds only to an idle worker
}

// workerIdle is how long a guard's worker waits for its next call.
const workerIdle = 30 * time.Second

func New() *Guard { return &Guard{stuck: map[string]time.Time{}, work: make(chan func())} }

// run gives job to an idle worker, or starts one. A worker stuck in a hung
// call is simply not idle, so it never holds up another call.
func (g *Guard) run(job func()) {
	select {
	case g.work <- job:
	default:
		go g.worker(job)
	}
}

func (g *Guard) worker(job func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		job()
		idle.Reset(workerIdle)
		select {
		case job = <-g.work:
		case <-idle.C:
			return
		}
	}
}

type guardResult[T any] struct {
	v   T
	err error
}

// Guarded runs f for key within timeout; what it names is the thing read,
// for the error message.
func Guarded[T any](g *Guard, key, what string, timeout time.Duration, f func() (T, error)) (T, error) {
	var zero T
	g.mu.Lock()
	if since, ok := g.stuck[key]; ok {
		g.mu.Unlock()
		return zero, fmt.Errorf("%s has not answered for %s: a dead disk or a hung mount?", what, time.Since(since).Round(time.Second))
	}
	g.stuck[key] = time.Now()
	g.mu.Unlock()

	done := make(chan guardResult[T], 1)
	g.run(func() {
		v, err := f()
		// Not stuck any more before the caller hears: a caller that reads
		// the same key again at once must not find it still marked.
		g.mu.Lock()
		delete(g.stuck, key)
		g.mu.Unlock()
		done <- guardResult[T]{v, err}
	})
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.v, r.err
	case <-timer.C:
		return zero, fmt.Errorf("%s did not answer within %s: a dead disk or a hung mount?", what, timeout)
	}
}
