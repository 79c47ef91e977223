package demo

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
)

// criticalRows are the table rows marked critical ("!" before the name).
func criticalRows(screen string) []string {
	var out []string
	for _, r := range tableRows(screen) {
		if regexp.MustCompile(`^.?!post\d+\.key`).MatchString(r) {
			out = append(out, r)
		}
	}
	return out
}

// provingRows counts the rows whose post-service is proving.
func provingRows(screen string) int {
	n := 0
	for _, r := range tableRows(screen) {
		if regexp.MustCompile(`\sproving\s`).MatchString(r) {
			n++
		}
	}
	return n
}

// idOf is the short id the row of name shows.
func idOf(screen, name string) string {
	m := regexp.MustCompile(regexp.QuoteMeta(name) + `\s+([0-9a-f]{8})`).FindStringSubmatch(screen)
	if m == nil {
		return ""
	}
	return m[1]
}

// Two demos at once are two worlds: their own keys, ports and folders. When
// every demo had the same keys, the second one's automatic proving was
// refused for every identity the first was proving ("already being proven
// by pid …") and it kept a screen of critical rows. Here both run with the
// default flags and start their services, and neither has a critical row:
// no "!" in the table and no critical count in the header (a malicious
// identity is opt-in, --malicious). (Waited for, not looked at once: a
// service being started does not answer for a moment.)
func TestTwoDemosSideBySideInTmux(t *testing.T) {
	start := func() *cmdtest.Term {
		return cmdtest.NewTerm(t, 200, 30, fmt.Sprintf("env XDG_STATE_HOME=%s %s demo; sleep 60", t.TempDir(), cmdtest.Binary))
	}
	one, two := start(), start()
	calm := func(s string) bool {
		return len(tableRows(s)) == 12 && provingRows(s) >= 3 && !strings.Contains(s, "already being proven") &&
			len(criticalRows(s)) == 0 && !strings.Contains(s, "critical")
	}
	a := one.WaitFor("the first demo proving, no row critical", calm)
	b := two.WaitFor("the second demo proving, no row critical", calm)
	if ida, idb := idOf(a, "post01.key"), idOf(b, "post01.key"); ida == "" || ida == idb {
		t.Errorf("both demos' post01 is %q/%q: one identity in two worlds", ida, idb)
	}
	one.Keys("q")
	two.Keys("q")
}
