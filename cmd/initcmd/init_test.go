package initcmd

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
	"postdeck/cmd/status"
	"postdeck/model"
)

func TestInitWritesAConfigThatStatusReads(t *testing.T) {
	s, _ := cmdtest.StartSim(t, 3)
	l := s.Layout()
	cfg := filepath.Join(t.TempDir(), "pd", "config.toml")
	args := []string{"init", "--config", cfg, "--data-folder", l.DataFolder, "--post-listener", l.PostListener,
		"--private-listener", l.PrivateListener, "--public-listener", l.PublicListener}
	if _, errOut, code := cmdtest.Call(t, Run, args[1:]...); code != 0 {
		t.Fatalf("init exit %d: %s", code, errOut)
	}
	if _, errOut, code := cmdtest.Call(t, Run, args[1:]...); code != 1 || !strings.Contains(errOut, "--force") {
		t.Errorf("second init: exit %d, stderr %q; want a refusal that mentions --force", code, errOut)
	}
	out, errOut, code := cmdtest.Call(t, status.Run, "--json", "--config", cfg)
	if code != 0 {
		t.Fatalf("status exit %d: %s", code, errOut)
	}
	var doc model.StatusDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	// No post-service for these identities runs on this machine, so init
	// found none for them: every identity the node has shows up without a
	// service. (Other tests' post-services may be running; init adds those.)
	ours := map[string]bool{}
	for _, svc := range l.Services {
		ours[filepath.Base(svc.KeyFile)] = true
	}
	found := 0
	for _, id := range doc.Identities {
		if !ours[id.Name] {
			continue
		}
		found++
		if !slices.Contains(id.Health, model.HealthNoService) {
			t.Errorf("%s health %v, want no-service", id.Name, id.Health)
		}
	}
	if found != 3 {
		t.Fatalf("identities %+v, want the node's 3", doc.Identities)
	}
}
