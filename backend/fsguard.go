package backend

import (
	"fmt"
	"sync"
	"time"
)

// fsGuard bounds blocking file-system calls made while polling. A read from a
// dead disk or a hung network mount cannot be cancelled: fsGuard stops
// waiting at the deadline, and starts no second call for the same key while
// the first is still stuck, so a hung mount costs one goroutine, not one per
// poll, and never stalls the rest of the table.
type fsGuard struct {
	mu    sync.Mutex
	stuck map[string]time.Time // key → when its stuck call started
}

func newFSGuard() *fsGuard { return &fsGuard{stuck: map[string]time.Time{}} }

type guardResult[T any] struct {
	v   T
	err error
}

// guarded runs f for key within timeout; what it names is the thing read,
// for the error message.
func guarded[T any](g *fsGuard, key, what string, timeout time.Duration, f func() (T, error)) (T, error) {
	var zero T
	g.mu.Lock()
	if since, ok := g.stuck[key]; ok {
		g.mu.Unlock()
		return zero, fmt.Errorf("%s has not answered for %s: a dead disk or a hung mount?", what, time.Since(since).Round(time.Second))
	}
	g.stuck[key] = time.Now()
	g.mu.Unlock()

	done := make(chan guardResult[T], 1)
	go func() {
		v, err := f()
		done <- guardResult[T]{v, err}
		g.mu.Lock()
		delete(g.stuck, key)
		g.mu.Unlock()
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(timeout):
		return zero, fmt.Errorf("%s did not answer within %s: a dead disk or a hung mount?", what, timeout)
	}
}
