package config

import (
	"strings"
	"testing"
)

const fleetTOML = `
[[node]]
name = "alpha"
post_listener = "127.0.0.1:9094"
private_listener = "127.0.0.1:9093"
public_listener = "127.0.0.1:9092"
data_folder = "/srv/alpha"

[[node]]
name = "beta"
post_listener = "127.0.0.1:19094"
private_listener = "127.0.0.1:19093"
data_folder = "/srv/beta"

[[service]]
name = "a1"
dir = "/mnt/a1"
node = "alpha"

[[service]]
name = "b1"
dir = "/mnt/b1"
node = "beta"
`

func TestSeveralNodesAreReadWithTheirServices(t *testing.T) {
	c, msg := cfLoad(t, fleetTOML)
	if msg != "" {
		t.Fatal(msg)
	}
	if !c.Fleet() || len(c.AllNodes()) != 2 || c.Node.Name != "alpha" || c.MoreNodes[0].Name != "beta" {
		t.Fatalf("nodes %+v", c.AllNodes())
	}
	if got := c.NodeOf(&c.Services[1]); got.Name != "beta" || got.PostListener != "127.0.0.1:19094" {
		t.Fatalf("b1's node is %+v", got)
	}
	if s := c.ServicesOf("beta"); len(s) != 1 || s[0].Name != "b1" {
		t.Fatalf("beta's services %+v", s)
	}
	// A lone [node] keeps working, unnamed, and owns every service.
	one, msg := cfLoad(t, "[node]\npost_listener = \"127.0.0.1:9094\"\n[[service]]\nname = \"x\"\ndir = \"/d\"\n")
	if msg != "" || one.Fleet() || one.Node.PostListener != "127.0.0.1:9094" || len(one.ServicesOf("")) != 1 {
		t.Fatalf("lone node: %q %+v", msg, one)
	}
}

func TestAFleetConfigIsRenderedAndReadBack(t *testing.T) {
	c, msg := cfLoad(t, fleetTOML)
	if msg != "" {
		t.Fatal(msg)
	}
	text := string(Render(c))
	back, msg := cfLoad(t, text)
	if msg != "" {
		t.Fatalf("%s\n%s", msg, text)
	}
	if len(back.AllNodes()) != 2 || back.MoreNodes[0].DataFolder != "/srv/beta" || back.Services[1].Node != "beta" {
		t.Fatalf("read back %+v\n%s", back, text)
	}
	if n := strings.Count(text, "\n[[node]]\n"); n != 2 {
		t.Fatalf("%d [[node]] headers:\n%s", n, text)
	}
}

func TestFleetMistakesNameTheBlock(t *testing.T) {
	cases := []struct{ name, edit, want string }{
		{"same name twice", `name = "beta"` + "\npost_listener = \"127.0.0.1:19094\"",
			`config.toml:10: [[node]] #2 "alpha": name "alpha" is also [[node]] #1's: node names must be unique`},
		{"same node twice", `name = "beta"` + "\npost_listener = \"127.0.0.1:19094\"",
			`config.toml:11: [[node]] #2 "beta": post_listener "127.0.0.1:9094" is also a listener of [[node]] #1: two blocks name the same node; keep one`},
		{"unknown node", `node = "beta"`, `[[service]] #2 "b1": node "gamma" is not a configured node (the nodes are "alpha", "beta")`},
		{"no node", `node = "beta"`, `[[service]] #2 "b1": node is empty: with several nodes each service says which it proves for (one of "alpha", "beta")`},
		{"unnamed node", `name = "beta"` + "\npost_listener = \"127.0.0.1:19094\"", `[[node]] #2: name is empty: with several [[node]] blocks each needs a name, such as "node2"`},
	}
	repl := map[string]string{
		"same name twice": `name = "alpha"` + "\npost_listener = \"127.0.0.1:19094\"",
		"same node twice": `name = "beta"` + "\npost_listener = \"127.0.0.1:9094\"",
		"unknown node":    `node = "gamma"`,
		"no node":         ``,
		"unnamed node":    "post_listener = \"127.0.0.1:19094\"",
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, msg := cfLoad(t, strings.Replace(fleetTOML, c.edit, repl[c.name], 1))
			if !strings.Contains(msg, c.want) {
				t.Fatalf("got %q\nwant %q", msg, c.want)
			}
		})
	}
}

// A merge into a node's folder probes that node, not the first one.
func TestTheNodeToProbeIsTheOneWhoseFolderChanges(t *testing.T) {
	c, msg := cfLoad(t, fleetTOML)
	if msg != "" {
		t.Fatal(msg)
	}
	if got := NodeAddrsOf(c, "/srv/beta/"); len(got) != 2 || got[0] != "127.0.0.1:19094" {
		t.Errorf("beta's folder probes %v, want beta's two listeners", got)
	}
	if got := NodeAddrsOf(c, "/elsewhere"); len(got) != 3 || got[0] != "127.0.0.1:9094" {
		t.Errorf("a folder of no node probes %v, want the first node's", got)
	}
}
