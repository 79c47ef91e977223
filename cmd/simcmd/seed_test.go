package simcmd_test

import (
	"testing"
)

// Two simulators told no seed have keys of their own, so they can run side
// by side without proving one identity twice; told one seed, they have the
// same keys, for tests that need a repeatable world.
func TestSimSeeds(t *testing.T) {
	keysOf := func(args ...string) [][]byte {
		cfg, _, _ := runSim(t, append([]string{"--ids", "3"}, args...)...)
		return keysIn(t, cfg.Node.DataFolder)
	}
	first, second := keysOf(), keysOf()
	for _, k := range second {
		if containsKey(first, k) {
			t.Errorf("key %x in both simulators", k)
		}
	}
	a, b := keysOf("--seed", "5"), keysOf("--seed", "5")
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("keys %d and %d, want 3 each", len(a), len(b))
	}
	for _, k := range a {
		if !containsKey(b, k) {
			t.Errorf("--seed 5 twice: key %x in the first only", k)
		}
	}
}
