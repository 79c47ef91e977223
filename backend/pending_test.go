package backend

import (
	"slices"
	"testing"
)

// TestPendingStopsAreSharedBetweenPostdecks: two postdecks (a local
// dashboard and one over SSH) queue stops in the same state folder; neither
// loses the other's, and each sees the other's after a refresh.
func TestPendingStopsAreSharedBetweenPostdecks(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadPendingStops(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadPendingStops(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add("data03"); err != nil {
		t.Fatal(err)
	}
	if err := a.Add("data02"); err != nil {
		t.Fatal(err)
	}
	if got := a.Names(); !slices.Equal(got, []string{"data02", "data03"}) {
		t.Errorf("a sees %v, want both queued stops", got)
	}
	if err := b.Refresh(); err != nil {
		t.Fatal(err)
	}
	if !b.Has("data02") {
		t.Error("b does not see a's queued stop after a refresh")
	}
	if err := a.Remove("data03"); err != nil {
		t.Fatal(err)
	}
	b.Refresh()
	if b.Has("data03") {
		t.Error("b still sees a stop a removed")
	}
	c, _ := LoadPendingStops(dir) // a postdeck started later
	if got := c.Names(); !slices.Equal(got, []string{"data02"}) {
		t.Errorf("a new postdeck sees %v", got)
	}
}
