package backend

import (
	"testing"
	"time"
)

// hangGuard bounds how long noHang waits for a call that should return.
const hangGuard = 60 * time.Second

// noHang runs f and returns its result, failing the test if f has not
// returned within hangGuard. It is a guard, not a speed check: the callers'
// f face something that never answers until the test ends (a hung server, a
// FIFO nobody writes, a process that ignores SIGTERM), so f either returns
// because its own timeout or grace did its job, or, broken, waits forever;
// the guard turns the second into a failure that says what hung instead of a
// stuck test binary. How fast f returns is for benchmarks.
func noHang[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(hangGuard):
		t.Fatalf("%s did not return (waited %s): it waits on what hangs", what, hangGuard)
		panic("unreachable")
	}
}
