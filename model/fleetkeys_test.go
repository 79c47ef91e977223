package model

import (
	"strings"
	"testing"
)

func TestConflictIsTheHoldersOtherThanTheTarget(t *testing.T) {
	id := []byte{0x2d, 0xad, 0xeb, 0xa6, 1, 2, 3, 4}
	var f FleetKeys
	f.Nodes = []string{"node1", "node2", "node3", "node4"}
	f.Hold(id, "node2", "key file identities/post03.key")
	f.Hold(id, "node1", HowListed)
	f.Hold(id, "node1", "key file identities/post01.key")
	f.Hold(id, "node1", HowListed) // once per way
	f.Gaps = []NodeGap{{Node: "node3", Listing: "down"}, {Node: "node4", Listing: "down", KeyFiles: "hung"}}

	c := f.Conflict(id, "node2")
	if !c.Refused() || len(c.Holders) != 2 || c.HolderText() != "node1 (listed by the node, key file identities/post01.key)" {
		t.Fatalf("conflict %+v: %s", c, c.HolderText())
	}
	if len(c.Blind) != 1 || c.Blind[0].Node != "node4" || len(c.Partial) != 1 || c.Partial[0].Node != "node3" {
		t.Errorf("gaps: blind %+v partial %+v", c.Blind, c.Partial)
	}
	r := c.Reason()
	for _, want := range []string{"2dadeba60102…", "held by node1", "on node2 too", "equivocation", "banned for good", "node4 did not answer (down) and its key folder could not be read (hung): its keys were not compared"} {
		if !strings.Contains(r, want) {
			t.Errorf("reason lacks %q: %s", want, r)
		}
	}
	if n := c.Notes(); len(n) != 1 || !strings.Contains(n[0], "node3 did not answer (down): the identities it runs were not compared, only its key files") {
		t.Errorf("notes %q", n)
	}

	// The target's own holding is no conflict; a blind node alone refuses.
	other := []byte{9, 9, 9, 9}
	f.Hold(other, "node3", HowListed)
	if c := f.Conflict(other, "node3"); !c.Refused() || len(c.Holders) != 0 || !strings.Contains(c.Reason(), "could not be compared") {
		t.Errorf("target's own key with node4 blind: %+v %s", c, c.Reason())
	}
	f.Gaps = nil
	if c := f.Conflict(other, "node3"); c.Refused() || c.Reason() != "" {
		t.Errorf("target's own key refused: %+v", c)
	}
	if c := (*FleetKeys)(nil).Conflict(id, ""); c.Refused() {
		t.Error("no fleet refused")
	}
}

func TestOverrideIsTheTypedPrefix(t *testing.T) {
	c := KeyConflict{ID: []byte{0x2d, 0xad, 0xeb, 0xa6, 0xff}}
	for typed, want := range map[string]bool{"2dadeba6": true, " 2DADEBA6 ": true, "2dadeba": false, "2dadeba6f": false, "00000000": false, "": false} {
		if got := c.Overridden([]string{typed}); got != want {
			t.Errorf("%q: %v, want %v", typed, got, want)
		}
	}
	if !c.Overridden([]string{"nope", "2dadeba6"}) {
		t.Error("one of several typed prefixes")
	}
}
