package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"postdeck/model"
)

// The detail view names the program a service runs, its version and its
// command line, at any width (a long command line wraps, never cut).
func TestDetailShowsBinaryVersionAndCommand(t *testing.T) {
	argv := []string{"/opt/post/post-service", "--address", "http://127.0.0.1:9094", "--dir", "/data/svc0",
		"--operator-address", "127.0.0.1:50051", "--randomx-mode", "light", "--label", "two words"}
	for _, tc := range []struct {
		name    string
		proc    model.ProcInfo
		version string
	}{
		{"known", model.ProcInfo{Bin: argv[0], BinVersion: "0.7.11"}, "0.7.11"},
		{"replaced", model.ProcInfo{Bin: argv[0], BinVersion: "0.7.10", BinNote: "this file was replaced"}, "0.7.10 (this file was replaced)"},
		{"unknown", model.ProcInfo{Bin: argv[0], BinNote: "does not exist"}, "unknown: does not exist"},
		{"not asked yet", model.ProcInfo{Bin: argv[0]}, "not known yet"},
	} {
		for _, width := range []int{80, 120, 200} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, width), func(t *testing.T) {
				p := tc.proc
				p.State, p.Manager, p.PID, p.Startable, p.Args = model.ProcRunning, model.ManagerPostdeck, 4242, true, argv
				s := snapshotOf(ident{name: "post0.key", node: model.NodeIdle, svc: "svc0", body: `"Idle"`, proc: p})
				m := newTest(t, width, 80, &s)
				press(m, "enter")
				v := screen(m)
				mustContain(t, v, "Binary", argv[0], "Version", tc.version, "Command")
				// The command line, unwrapped, is the argv with the spaced word quoted.
				var cmd strings.Builder
				on := false
				for _, line := range strings.Split(ansi.Strip(v), "\n") {
					switch {
					case strings.HasPrefix(line, "Command"):
						on = true
						cmd.WriteString(strings.TrimSpace(strings.TrimPrefix(line, "Command")))
					case on && strings.HasPrefix(line, strings.Repeat(" ", labelWidth)):
						cmd.WriteString(" " + strings.TrimSpace(line))
					default:
						on = false
					}
				}
				want := strings.Join(argv[:len(argv)-1], " ") + ` "two words"`
				if got := strings.Join(strings.Fields(cmd.String()), " "); got != want {
					t.Errorf("command line %q, want %q\n%s", got, want, v)
				}
			})
		}
	}
}
