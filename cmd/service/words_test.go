package service

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/backend/config"
	"postdeck/cmd/cmdtest"
	"postdeck/cmd/simcmd"
	"postdeck/sim"
)

// An identity status lists but no [[service]] proves for: start says it
// has no service and how to add one, not that no such name exists.
func TestStartAnIdentityWithoutAService(t *testing.T) {
	s, err := sim.Start(context.Background(), sim.Options{IDs: 2, Manual: true, Seed: 27, Dir: t.TempDir(), Now: cmdtest.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg := simcmd.ConfigFromLayout(s.Layout())
	orphan := filepath.Base(s.Layout().Services[1].KeyFile)
	cfg.Services = cfg.Services[:1]
	path := filepath.Join(t.TempDir(), "postdeck.toml")
	if err := config.WriteFile(path, config.Render(cfg), false); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := cmdtest.Postdeck(t, "status", "--config", path); !strings.Contains(out, orphan) {
		t.Fatalf("status does not list %s:\n%s", orphan, out)
	}
	_, errOut, code := cmdtest.Postdeck(t, "start", orphan, "--config", path)
	want := "postdeck: " + orphan + " has no post-service in " + path + ": add a [[service]] block for it (name, dir = its PoST data directory, operator = its operator address), " +
		"or let `postdeck keys add --add-service POSTDIR` write one\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d, stderr\n%q\nwant\n%q", code, errOut, want)
	}
}

// logs takes one NAME, and says so; start, stop and restart take one or more.
func TestNoNameSaysWhatTheCommandTakes(t *testing.T) {
	for verb, want := range map[string]string{
		"logs":    "postdeck logs: name the service whose log to print (its name in the config, or its key file name): postdeck logs NAME [-f] [-n N]\n",
		"start":   "postdeck start: name at least one service (its name in the config, or its key file name): postdeck start NAME…\n",
		"stop":    "postdeck stop: name at least one service (its name in the config, or its key file name): postdeck stop NAME… [--when-safe|--force]\n",
		"restart": "postdeck restart: name at least one service (its name in the config, or its key file name): postdeck restart NAME…\n",
	} {
		if _, errOut, code := cmdtest.Postdeck(t, verb); code != 1 || errOut != want {
			t.Errorf("%s: exit %d, stderr %q, want %q", verb, code, errOut, want)
		}
	}
}
