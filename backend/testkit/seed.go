package testkit

import (
	"math/rand/v2"
	"testing"
)

// Seed is a simulator seed of the test's own, logged so a failing world can
// be had again. A test whose services really run needs one: the supervisor
// refuses a second process for an identity, and another test (another
// package's, or a second `go test` on the same machine) with the same fixed
// seed may be proving that identity at the same moment.
func Seed(t testing.TB) int64 {
	seed := rand.Int64N(1<<62) + 1 // never 0, which asks the sim for its default
	t.Logf("simulator seed %d", seed)
	return seed
}
