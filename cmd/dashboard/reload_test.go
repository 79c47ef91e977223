package dashboard

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"postdeck/backend/config"
	"postdeck/cmd/cmdtest"
)

// The config is read again on ctrl+r and on SIGHUP: a new [[service]]
// joins without a restart, and a file that does not load leaves the
// dashboard as it was, saying why.
func TestTheConfigIsReloadedOnCtrlRAndSIGHUPKeepingTheOldOnError(t *testing.T) {
	s, path := cmdtest.StartSim(t, 3)
	full, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	third := s.Layout().Services[2].Name
	two := *full
	two.Services = full.Services[:2]
	if err := config.WriteFile(path, config.Render(&two), true); err != nil {
		t.Fatal(err)
	}
	pidFile := path + ".pid"
	tm := cmdtest.NewTerm(t, 160, 30, fmt.Sprintf("XDG_STATE_HOME=%s TERM=xterm-256color sh -c 'echo $$ > %s; exec %s --config %s'; sleep 60",
		t.TempDir(), pidFile, cmdtest.Binary, path))
	tm.WaitFor("two services", cmdtest.Contains(s.Layout().Services[1].Name, "3 identities"))
	if strings.Contains(tm.Screen(), third+" ") {
		t.Fatalf("%s shown before it is configured:\n%s", third, tm.Screen())
	}

	if err := config.WriteFile(path, config.Render(full), true); err != nil {
		t.Fatal(err)
	}
	tm.Keys("C-r")
	tm.WaitFor("the third service after ctrl+r", cmdtest.Contains(third+" ", "config reloaded: 3 services"))

	if err := os.WriteFile(path, []byte("[[service]]\nname = \"broken\"\noperater = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	fmt.Sscan(string(raw), &pid)
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	screen := tm.WaitFor("the refused reload", cmdtest.Contains("config not reloaded, the old one stays"))
	if !strings.Contains(screen, third+" ") || !strings.Contains(screen, `[[service]] #1 "broken"`) {
		t.Errorf("after a bad file the table lost its services or the reason is not named:\n%s", screen)
	}
}
