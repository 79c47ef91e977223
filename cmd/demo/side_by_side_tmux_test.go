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
// by pid …") and it kept a screen of critical rows. Here both start their
// services, and the one told --malicious=false comes to have no critical
// row at all, the other only its malicious identity. (Waited for, not
// looked at once: a service being started does not answer for a moment.)
func TestTwoDemosSideBySideInTmux(t *testing.T) {
	start := func(extra string) *cmdtest.Term {
		return cmdtest.NewTerm(t, 200, 30, fmt.Sprintf("env XDG_STATE_HOME=%s %s demo %s; sleep 60", t.TempDir(), cmdtest.Binary, extra))
	}
	plain, withMalicious := start("--malicious=false"), start("")
	started := func(s string) bool {
		return len(tableRows(s)) == 12 && provingRows(s) >= 3 && !strings.Contains(s, "already being proven")
	}
	a := plain.WaitFor("the demo without a malicious identity proving, no row critical", func(s string) bool {
		return started(s) && len(criticalRows(s)) == 0 && !strings.Contains(s, "critical")
	})
	b := withMalicious.WaitFor("the other demo proving, its malicious identity the only critical row", func(s string) bool {
		rows := criticalRows(s)
		// Its flag may hide behind "+1" when it also waits for a slot:
		// enough that the one critical row is not a service down.
		return started(s) && len(rows) == 1 && !strings.Contains(rows[0], "service-down") && strings.Contains(s, "1 critical")
	})
	if ida, idb := idOf(a, "post01.key"), idOf(b, "post01.key"); ida == "" || ida == idb {
		t.Errorf("both demos' post01 is %q/%q: one identity in two worlds", ida, idb)
	}
	plain.Keys("q")
	withMalicious.Keys("q")
}
