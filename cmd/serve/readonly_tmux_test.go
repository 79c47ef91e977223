package serve

import (
	"fmt"
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
	"postdeck/sshserve"
)

// A read-only key over OpenSSH, at 80, 120 and 200 columns: x and ctrl+r
// say why they are off, the reason whole on the footer line, and l opens
// the service's log (reading is watching).
func TestAReadOnlySessionSaysWhyAKeyIsOffAtEveryWidth(t *testing.T) {
	needSSH(t)
	r := startRemoteServe(t)
	refusals := []struct{ key, says string }{
		{"x", "x stop: not in a read-only session"},
		{"C-r", "ctrl+r reload config: " + sshserve.ReloadWhy},
	}
	terms := map[int]*cmdtest.Term{}
	for _, w := range []int{80, 120, 200} {
		terms[w] = r.srv.sshTerm(t, w, r.ro)
	}
	for w, tm := range terms {
		tm.WaitFor(fmt.Sprintf("the read-only table at %d columns", w), cmdtest.Contains(r.svc.Name, "READ-ONLY"))
		for _, k := range refusals {
			tm.Keys(k.key)
			tm.WaitFor(fmt.Sprintf("%s's reason whole at %d columns", k.key, w), footerHas(k.says))
		}
		tm.Keys("l")
		tm.WaitFor(fmt.Sprintf("the log at %d columns", w), cmdtest.Contains("logs "+r.svc.Name))
	}
}

// footerHas holds when the screen's last line holds text.
func footerHas(text string) func(string) bool {
	return func(screen string) bool {
		lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
		return strings.Contains(lines[len(lines)-1], text)
	}
}
