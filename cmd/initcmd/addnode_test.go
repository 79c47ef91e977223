package initcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/cmd/cmdtest"
	"postdeck/cmd/common"
	"postdeck/cmd/simcmd"
	"postdeck/cmd/status"
	"postdeck/model"
	"postdeck/sim"
)

// anFleet is three simulated nodes, a config that knows the first one only,
// with comments of the user's, and a fake /proc in which every simulated
// post-service runs, dialling its own node.
type anFleet struct {
	f      *simcmd.Fleet
	config string // the config file
	old    string // its text before any node was added
	proc   string
}

const anComment = "# my smesher: keep this comment\n"

func anStart(t *testing.T) anFleet {
	t.Helper()
	f, err := simcmd.StartFleet(context.Background(), 3, sim.Options{IDs: 2, Manual: true, Seed: 7, Dir: t.TempDir(), Now: cmdtest.Clock.Now}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	text := anComment + string(config.Render(simcmd.ConfigFromLayout(f.Sims[0].Layout())))
	// A comment of the user's inside the first service's block, too.
	text = strings.Replace(text, "[[service]]\n", "[[service]]\n# the fast disk\n", 1)
	a := anFleet{f: f, config: filepath.Join(t.TempDir(), "postdeck.toml"), old: text, proc: filepath.Join(t.TempDir(), "proc")}
	if err := os.WriteFile(a.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	pid := 100
	for _, s := range f.Sims {
		l := s.Layout()
		for _, svc := range l.Services {
			testkit.FakeProc(t, a.proc, fmt.Sprint(pid), []string{"/opt/post/post-service", "--address", "http://" + l.PostListener,
				"--dir", svc.Dir, "--operator-address", svc.Operator}, "", false)
			pid++
		}
	}
	return a
}

// addArgs are init's flags for node k (from 0) of the fleet.
func (a anFleet) addArgs(k int, name string) []string {
	l := a.f.Sims[k].Layout()
	return []string{"--config", a.config, "--add-node", name, "--data-folder", l.DataFolder, "--post-listener", l.PostListener,
		"--private-listener", l.PrivateListener, "--public-listener", l.PublicListener}
}

// init runs init in this process on the fake /proc.
func (a anFleet) init(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return cmdtest.Call(t, func(g *common.Common, args []string, stdout, stderr io.Writer) int {
		return run(g, args, stdout, stderr, a.proc)
	}, args...)
}

func TestInitAddNodeGrowsAFleetThatStatusReads(t *testing.T) {
	a := anStart(t)
	out, errOut, code := a.init(t, a.addArgs(1, "node2")...)
	if code != 0 {
		t.Fatalf("add node2: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`the first node had no name: it is now [[node]] "node1"`,
		`2 service(s) of the first node now say node = "node1"`,
		`added [[node]] "node2" with 2 post-service(s) to ` + a.config,
		"the old file is kept as " + a.config + ".bak",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "is [[service]] \"") || !strings.Contains(errOut, "already: left as it is") {
		t.Errorf("no note that node1's services are configured already:\n%s", errOut)
	}
	if b, err := os.ReadFile(a.config + ".bak"); err != nil || string(b) != a.old {
		t.Errorf("backup: %v, identical %v", err, string(b) == a.old)
	}
	second, _ := os.ReadFile(a.config)
	for _, c := range []string{anComment, "# the fast disk\n"} {
		if !strings.Contains(string(second), c) {
			t.Errorf("comment %q lost:\n%s", c, second)
		}
	}

	out, errOut, code = a.init(t, a.addArgs(2, "node3")...)
	if code != 0 {
		t.Fatalf("add node3: exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "first node had no name") || strings.Contains(out, "now say node") {
		t.Errorf("the third node renamed or tagged again:\n%s", out)
	}
	if b, err := os.ReadFile(a.config + ".bak.2"); err != nil || string(b) != string(second) {
		t.Errorf("second backup: %v", err)
	}

	cfg, err := config.Load(a.config)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"node1", "node2", "node3"}
	for i, n := range cfg.AllNodes() {
		l := a.f.Sims[i].Layout()
		if n.Name != names[i] || n.PostListener != l.PostListener || n.DataFolder != l.DataFolder {
			t.Errorf("node %d: %+v, want %s at %s", i+1, n, names[i], l.PostListener)
		}
	}
	// Every service names the node whose simulator serves it.
	nodeOfKey := map[string]string{}
	for i, s := range a.f.Sims {
		for _, svc := range s.Layout().Services {
			nodeOfKey[filepath.Base(svc.KeyFile)] = names[i]
			found := false
			for _, c := range cfg.Services {
				if c.Dir == svc.Dir {
					found = true
					if c.Node != names[i] || c.Operator != svc.Operator {
						t.Errorf("service %s: node %q operator %s, want %s %s", c.Name, c.Node, c.Operator, names[i], svc.Operator)
					}
				}
			}
			if !found {
				t.Errorf("no service for %s", svc.Dir)
			}
		}
	}
	if len(cfg.Services) != 6 {
		t.Errorf("%d services, want 6", len(cfg.Services))
	}

	out, errOut, code = cmdtest.Call(t, status.Run, "--json", "--config", a.config)
	if code != 0 {
		t.Fatalf("status exit %d: %s", code, errOut)
	}
	var doc model.StatusDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Nodes) != 3 {
		t.Errorf("status nodes %+v", doc.Nodes)
	}
	seen := 0
	for _, id := range doc.Identities {
		want, ours := nodeOfKey[id.Name]
		if !ours {
			continue
		}
		seen++
		if id.Node != want || id.Service == "" {
			t.Errorf("identity %s: node %q service %q, want node %s and its service", id.Name, id.Node, id.Service, want)
		}
	}
	if seen != 6 {
		t.Errorf("status shows %d of the fleet's 6 identities: %+v", seen, doc.Identities)
	}
}

// The refusals, through the binary: each leaves the file as it was.
func TestInitAddNodeRefusals(t *testing.T) {
	a := anStart(t)
	if _, errOut, code := a.init(t, a.addArgs(1, "node2")...); code != 0 {
		t.Fatalf("add node2: exit %d: %s", code, errOut)
	}
	fleet, _ := os.ReadFile(a.config)
	broken := filepath.Join(filepath.Dir(a.config), "broken.toml")
	if err := os.WriteFile(broken, []byte(a.old+"\n[[service]]\nname = \"x\"\ndir = \"/x\"\noperater = \"127.0.0.1:1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	brokenText, _ := os.ReadFile(broken)
	withConfig := func(args []string, path string) []string {
		out := append([]string(nil), args...)
		out[1] = path
		return out
	}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"a name in use", a.addArgs(2, "node2"), []string{`name "node2" is another node's`}},
		{"the first node's name", a.addArgs(2, "node1"), []string{`name "node1" is the first node's`}},
		{"a node already there", a.addArgs(1, "again"), []string{"this node is in the config already", `node "node2" has post_listener`}},
		{"a file that does not load", withConfig(a.addArgs(2, "node3"), broken), []string{"does not load now", "fix it first", "operater"}},
		{"no file", withConfig(a.addArgs(2, "node3"), filepath.Join(t.TempDir(), "none.toml")), []string{"no config file at", "without --add-node"}},
		{"with --force", append(a.addArgs(2, "node3"), "--force"), []string{"--add-node edits the config file and --force replaces it"}},
		{"--first-node alone", []string{"--config", a.config, "--first-node", "main"}, []string{"give --add-node too"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := cmdtest.Postdeck(t, append([]string{"init"}, c.args...)...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
	if got, _ := os.ReadFile(a.config); string(got) != string(fleet) {
		t.Error("a refused add changed the config")
	}
	if got, _ := os.ReadFile(broken); string(got) != string(brokenText) {
		t.Error("a refused add changed the broken config")
	}
	for _, p := range []string{a.config + ".bak.2", broken + ".bak"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a refused add left a backup %s", p)
		}
	}
}

// --print shows the edited file and writes nothing.
func TestInitAddNodePrint(t *testing.T) {
	a := anStart(t)
	out, errOut, code := a.init(t, append(a.addArgs(1, "node2"), "--print")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, anComment) || !strings.Contains(out, `name = "node2"`) {
		t.Errorf("printed:\n%s", out)
	}
	if got, _ := os.ReadFile(a.config); string(got) != a.old {
		t.Error("--print changed the config")
	}
	if _, err := os.Stat(a.config + ".bak"); err == nil {
		t.Error("--print made a backup")
	}
}
