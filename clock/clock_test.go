package clock

import (
	"strings"
	"testing"
	"time"
)

func TestStartingReadsItsInstantAndAdvances(t *testing.T) {
	at := time.Date(2026, 12, 10, 6, 0, 0, 0, time.UTC)
	c := Starting(at)
	first := c.Now()
	if d := first.Sub(at); d < 0 || d > time.Minute {
		t.Fatalf("first reading %s, want about %s", first, at)
	}
	// Real elapsed time carries on: between two readings the clock moves
	// exactly as the machine's does, read around each.
	m0 := time.Now()
	before := c.Now()
	m1 := time.Now()
	for !time.Now().After(m1) { // the machine's clock has ticked since
	}
	m2 := time.Now()
	after := c.Now()
	m3 := time.Now()
	if d := after.Sub(before); d < m2.Sub(m1) || d > m3.Sub(m0) {
		t.Fatalf("the clock moved %s while the machine's moved %s to %s", d, m2.Sub(m1), m3.Sub(m0))
	}
	if !c.Moved() || (Clock{}).Moved() {
		t.Errorf("moved: set %v, zero %v", c.Moved(), (Clock{}).Moved())
	}
}

func TestOntoMovesMachineTimesByTheOffset(t *testing.T) {
	at := time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC)
	c := Starting(at)
	machine := time.Now()
	if d := c.Onto(machine).Sub(at); d < 0 || d > time.Minute {
		t.Errorf("a machine time now lands at %s, want about %s", c.Onto(machine), at)
	}
	if !c.Onto(time.Time{}).IsZero() {
		t.Error("an unknown (zero) time was moved")
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(Env, "")
	if c, err := FromEnv(); err != nil || c.Moved() {
		t.Fatalf("unset: %+v %v, want the machine's clock", c, err)
	}
	t.Setenv(Env, "2026-12-10T06:00:00Z")
	c, err := FromEnv()
	if err != nil || c.Now().Year() != 2026 || c.Now().Month() != time.December {
		t.Fatalf("set: now %s %v", c.Now(), err)
	}
	if got := TestInstant(time.Time{}); !got.Equal(time.Date(2026, 12, 10, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("TestInstant %s", got)
	}
	t.Setenv(Env, "10 Dec 2026")
	if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), "POSTDECK_NOW=\"10 Dec 2026\": want an RFC 3339 time") {
		t.Errorf("malformed: %v", err)
	}
}
