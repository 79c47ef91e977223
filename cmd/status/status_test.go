package status

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
	"postdeck/model"
	"postdeck/sim"
)

func TestStatusJSONAgainstSimulator(t *testing.T) {
	s, cfg := cmdtest.StartSim(t, 5)
	l := s.Layout()
	proving := l.Services[2]
	s.SetNodeState(proving.NodeID, model.NodeProving)
	s.SetOperatorBody(proving.Name, `{"Proving":{"nonces":{"start":128,"end":256},"position":0}}`)

	// Global flags after the subcommand, as scripts write them.
	out, errOut, code := cmdtest.Postdeck(t, "status", "--json", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr: %s", code, errOut)
	}
	var doc model.StatusDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !strings.HasPrefix(doc.Node.Version, "v") || !doc.Node.Synced {
		t.Errorf("node %+v, want the simulator's version, synced", doc.Node)
	}
	if len(doc.Identities) != 5 {
		t.Fatalf("%d identities, want 5", len(doc.Identities))
	}
	var names []string
	for _, id := range doc.Identities {
		names = append(names, id.Name)
		if len(id.ID) != 64 {
			t.Errorf("id %q is not 64 hex characters", id.ID)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("identities not sorted by name: %v", names)
	}
	for _, id := range doc.Identities {
		if id.Service != proving.Name {
			continue
		}
		if id.NodeState != "PROVING" || id.ServiceState != "proving" || id.Progress == nil ||
			id.Progress.Phase != "k2pow" || id.Progress.Pass != 2 {
			t.Errorf("proving identity = %+v, progress %+v", id, id.Progress)
		}
	}
}

func TestStatusExitsTwoWhenAServiceIsDownWhileProving(t *testing.T) {
	s, cfg := cmdtest.StartSim(t, 3)
	victim := s.Layout().Services[0]
	s.SetNodeState(victim.NodeID, model.NodeProving)
	s.SetFault(victim.Name, sim.FaultDown)

	out, _, code := cmdtest.Postdeck(t, "--config", cfg, "status")
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, out)
	}
	if !strings.Contains(out, string(model.HealthServiceDown)) || !strings.Contains(out, victim.Operator) {
		t.Errorf("table does not name the problem and the operator address:\n%s", out)
	}
}

func TestStatusWithNodeDownStillShowsServices(t *testing.T) {
	s, cfg := cmdtest.StartSim(t, 2)
	if err := s.StopNode(); err != nil {
		t.Fatal(err)
	}
	// A node that cannot be reached is not fine: a cron check must see it,
	// in the table as in JSON (model.ExitNodeDown).
	if out, _, code := cmdtest.Postdeck(t, "status", "--config", cfg); code != model.ExitNodeDown {
		t.Errorf("table: exit %d with the node down, want %d\n%s", code, model.ExitNodeDown, out)
	}
	out, _, code := cmdtest.Postdeck(t, "status", "--json", "--config", cfg)
	if code != model.ExitNodeDown {
		t.Fatalf("exit %d with the node down and no identity critical, want %d", code, model.ExitNodeDown)
	}
	var doc model.StatusDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Node.Errors) == 0 {
		t.Error("node down but no node error reported")
	}
	if len(doc.Identities) != 2 || doc.Identities[0].ServiceState != "idle" || doc.Identities[0].NodeState != "unknown" {
		t.Errorf("identities %+v, want both services idle with the node state unknown", doc.Identities)
	}
}

func TestConfigTypoIsAUsageError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte("[node]\npost_listener = \"127.0.0.1:9094\"\n\n[[service]]\nname = \"data1\"\ndir = \"/tmp/d1\"\noperater = \"127.0.0.1:50051\"\n"), 0o600)
	_, errOut, code := cmdtest.Postdeck(t, "status", "--config", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"config.toml:7", "operater"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error %q does not contain %q", errOut, want)
		}
	}
}

func TestMissingDefaultConfigSaysWhatToDo(t *testing.T) {
	_, errOut, code := cmdtest.Postdeck(t, "status")
	if code != 1 || !strings.Contains(errOut, "postdeck init") {
		t.Errorf("exit %d, stderr %q: want 1 and a pointer to `postdeck init`", code, errOut)
	}
}
