// Package clock is what time postdeck takes it to be. What a user sees and
// what postdeck decides by the calendar — the PoET cycle countdown, how old
// the data is, how long a service is up, a simulated node's layer — is read
// from one Clock, handed from main to every component that shows or decides
// it, so that a test or a demo can run the whole program at a chosen date.
//
// Durations that only measure how long something took (timeouts, tickers,
// backoff) keep the machine's clock: they are the same on every date.
package clock

import (
	"fmt"
	"os"
	"time"
)

// Env names the variable that sets the clock: an RFC 3339 time such as
// 2026-12-10T06:00:00Z. The clock starts at that instant when it is read and
// advances with real elapsed time.
const Env = "POSTDECK_NOW"

// Clock is the machine's clock moved by a fixed offset. The zero Clock is
// the machine's own.
type Clock struct{ offset time.Duration }

// Starting is a clock that reads at at this moment and goes on from there.
func Starting(at time.Time) Clock { return Clock{offset: time.Until(at)} }

// Now is the clock's time. It keeps the machine's monotonic reading, so two
// readings subtract to the real time between them.
func (c Clock) Now() time.Time { return time.Now().Add(c.offset) }

// Moved reports whether the clock is set apart from the machine's.
func (c Clock) Moved() bool { return c.offset != 0 }

// Onto moves a time read from the machine's clock (a process's start, a
// poll's stamp) onto this one; the zero time stays zero (unknown).
func (c Clock) Onto(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Add(c.offset)
}

// FromEnv is the clock Env sets, or the machine's when it is unset or empty.
func FromEnv() (Clock, error) {
	v := os.Getenv(Env)
	if v == "" {
		return Clock{}, nil
	}
	at, err := parse(v)
	if err != nil {
		return Clock{}, err
	}
	return Starting(at), nil
}

// TestInstant is the instant Env names, or def when it is unset: tests with
// a fixed "now" use it, so that the whole suite can be run at a chosen date.
// A malformed value panics: a typo must not quietly test today instead.
func TestInstant(def time.Time) time.Time {
	v := os.Getenv(Env)
	if v == "" {
		return def
	}
	at, err := parse(v)
	if err != nil {
		panic(err)
	}
	return at
}

// ForTest is FromEnv for test helpers (sims, dashboards): a malformed value
// panics, as in TestInstant.
func ForTest() Clock {
	c, err := FromEnv()
	if err != nil {
		panic(err)
	}
	return c
}

func parse(v string) (time.Time, error) {
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s=%q: want an RFC 3339 time such as 2026-12-10T06:00:00Z", Env, v)
	}
	return at, nil
}
