package backend

import (
	"sync"
	"time"
)

// MaxOperatorBackoff caps how long an unreachable operator endpoint waits
// between attempts.
const MaxOperatorBackoff = 30 * time.Second

// backoffTable remembers failing endpoints so that a dead one is asked less
// and less often (base, 2×base, 4×base … up to max) instead of costing a
// timeout every cycle, while its last error keeps being reported. It is safe
// for concurrent use.
type backoffTable struct {
	base, max time.Duration

	mu      sync.Mutex
	entries map[string]backoffEntry
}

type backoffEntry struct {
	failures int
	next     time.Time // no attempt before this
	lastErr  string
}

func newBackoffTable(base, max time.Duration) *backoffTable {
	return &backoffTable{base: base, max: max, entries: map[string]backoffEntry{}}
}

// wait reports whether addr is backing off at now, with its last error and
// how long until the next attempt.
func (b *backoffTable) wait(addr string, now time.Time) (lastErr string, retryIn time.Duration, waiting bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[addr]
	if !ok || !now.Before(e.next) {
		return "", 0, false
	}
	return e.lastErr, e.next.Sub(now), true
}

// failed records a failure at now and returns the delay before the next attempt.
func (b *backoffTable) failed(addr, errMsg string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[addr]
	e.failures++
	delay := b.base
	for i := 1; i < e.failures && delay < b.max; i++ {
		delay *= 2
	}
	delay = min(delay, b.max)
	e.next, e.lastErr = now.Add(delay), errMsg
	b.entries[addr] = e
	return delay
}

// succeeded forgets addr's failures.
func (b *backoffTable) succeeded(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.entries, addr)
}
