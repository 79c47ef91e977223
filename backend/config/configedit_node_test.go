package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/backend/testkit"
)

// anNode2 and anNode3 are nodes beside ceConfig's, which listens on 9094.
var (
	anNode2 = NodeConfig{Name: "node2", PostListener: "127.0.0.1:9194", PrivateListener: "127.0.0.1:9193", DataFolder: "/srv/node2"}
	anNode3 = NodeConfig{Name: "attic", PostListener: "127.0.0.1:9294", DataFolder: "/srv/node3"}
)

func anAdd(t *testing.T, path string, node NodeConfig, firstName string, services ...ServiceConfig) (*NodeEdit, string) {
	t.Helper()
	e, err := PlanAddNode(path, node, firstName, services)
	if err != nil {
		t.Fatal(err)
	}
	backup, err := e.Apply()
	if err != nil {
		t.Fatal(err)
	}
	return e, backup
}

// anKeptLines fails unless every line of old is in new, in order, but the
// lone [node] header, which becomes [[node]]: what the user wrote stays.
func anKeptLines(t *testing.T, old, new string) {
	t.Helper()
	newLines := strings.Split(new, "\n")
	j := 0
	for _, l := range strings.Split(old, "\n") {
		if strings.TrimSpace(l) == "[node]" {
			l = strings.Replace(l, "[node]", "[[node]]", 1)
		}
		for j < len(newLines) && newLines[j] != l {
			j++
		}
		if j == len(newLines) {
			t.Fatalf("line %q of the old file is gone:\n%s", l, new)
		}
		j++
	}
}

func anServicesNodes(cfg *Config) map[string]string {
	m := map[string]string{}
	for _, s := range cfg.Services {
		m[s.Name] = s.Node
	}
	return m
}

func TestAddNodeMakesAFleetAndKeepsTheFile(t *testing.T) {
	path := ceWrite(t, ceConfig, 0o640)
	e, backup := anAdd(t, path, anNode2, "", ServiceConfig{Name: "n2data", Dir: "/mnt/e1/n2data", Operator: "127.0.0.1:50061"},
		ServiceConfig{Name: "n2other", Dir: "/mnt/e2/n2other"})
	if e.FirstName != DefaultFirstNodeName || !e.FirstNamed || e.Tagged != 2 || e.Services != 2 {
		t.Errorf("edit %+v", e)
	}
	got, _ := os.ReadFile(path)
	anKeptLines(t, ceConfig, string(got))
	if !strings.Contains(string(got), "[[node]]\nname = \"node1\"\npost_listener=\"127.0.0.1:9094\"   # fixed port\n") {
		t.Errorf("first node not turned into a named block where it was:\n%s", got)
	}
	// The new block sits after the first node's, before [poll].
	if i, j := strings.Index(string(got), `name = "node2"`), strings.Index(string(got), "[poll]"); i < 0 || i > j {
		t.Errorf("new node not before [poll]:\n%s", got)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("result does not load: %v\n%s", err, got)
	}
	if !cfg.Fleet() || cfg.Node.Name != "node1" || len(cfg.MoreNodes) != 1 {
		t.Fatalf("nodes %+v %+v", cfg.Node, cfg.MoreNodes)
	}
	if n := cfg.MoreNodes[0]; n.Name != "node2" || n.PostListener != "127.0.0.1:9194" || n.PrivateListener != "127.0.0.1:9193" || n.DataFolder != "/srv/node2" {
		t.Errorf("new node %+v", n)
	}
	want := map[string]string{"data1": "node1", "data2": "node1", "n2data": "node2", "n2other": "node2"}
	if got := anServicesNodes(cfg); !equalMaps(got, want) {
		t.Errorf("services' nodes %v, want %v", got, want)
	}
	if b, _ := os.ReadFile(backup); string(b) != ceConfig || backup != path+".bak" {
		t.Errorf("backup %s holds:\n%s", backup, b)
	}
	for _, p := range []string{path, backup} {
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
			t.Errorf("%s mode %v, want the file's own 0640", p, fi.Mode().Perm())
		}
	}
	testkit.NoTempFiles(t, filepath.Dir(path))

	// A third node: the first keeps its name, nothing is tagged again, and
	// the older backup is kept beside a new one.
	second := string(got)
	e, backup2 := anAdd(t, path, anNode3, "", ServiceConfig{Name: "loft", Dir: "/mnt/f1/loft", Operator: "127.0.0.1:50071"})
	if e.FirstNamed || e.Tagged != 0 || e.FirstName != "node1" {
		t.Errorf("third edit %+v", e)
	}
	got3, _ := os.ReadFile(path)
	anKeptLines(t, second, string(got3))
	cfg, err = Load(path)
	if err != nil {
		t.Fatalf("third node: %v\n%s", err, got3)
	}
	if len(cfg.MoreNodes) != 2 || cfg.MoreNodes[1].Name != "attic" {
		t.Fatalf("nodes %+v", cfg.AllNodes())
	}
	want["loft"] = "attic"
	if got := anServicesNodes(cfg); !equalMaps(got, want) {
		t.Errorf("services' nodes %v, want %v", got, want)
	}
	if i, j, k := strings.Index(string(got3), `name = "node2"`), strings.Index(string(got3), `name = "attic"`), strings.Index(string(got3), "[poll]"); !(i < j && j < k) {
		t.Errorf("nodes not in order before [poll]:\n%s", got3)
	}
	if backup2 != path+".bak.2" {
		t.Errorf("second backup %s", backup2)
	}
	if b, _ := os.ReadFile(backup2); string(b) != second {
		t.Error("second backup is not the file before the third node")
	}
	if b, _ := os.ReadFile(backup); string(b) != ceConfig {
		t.Error("first backup changed")
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// What Render writes (every section commented, a node last of nothing)
// takes a node too, and a chosen first name.
func TestAddNodeToARenderedConfig(t *testing.T) {
	cfg := &Config{Node: NodeConfig{PostListener: "127.0.0.1:9094", DataFolder: "/srv/node"},
		Services: []ServiceConfig{{Name: "d1", Dir: "/mnt/d1", Operator: "127.0.0.1:50051"}}}
	text := string(Render(cfg))
	path := ceWrite(t, text, 0o600)
	e, _ := anAdd(t, path, anNode2, "main")
	if e.FirstName != "main" || e.Tagged != 1 || e.Services != 0 {
		t.Errorf("edit %+v", e)
	}
	got, _ := os.ReadFile(path)
	anKeptLines(t, text, string(got))
	back, err := Load(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	if back.Node.Name != "main" || back.MoreNodes[0].Name != "node2" || back.Services[0].Node != "main" {
		t.Errorf("nodes %+v, services %+v", back.AllNodes(), back.Services)
	}
	// The poll section keeps its own comment right above it.
	if !strings.Contains(string(got), "# How often and how patiently postdeck asks the node and the post-services.\n[poll]") {
		t.Errorf("[poll]'s comment moved:\n%s", got)
	}
}

// A lone [node] that is last in the file, with no newline at its end; a
// service whose node key is there but empty, and one whose last key spans
// lines.
func TestAddNodeOddPlaces(t *testing.T) {
	text := "[[service]]\nname = \"a\"\ndir = \"/a\"\nnode = \"\"   # none yet\n\n" +
		"[[service]]\nname = \"b\"\ndir = \"/b\"\nextra_args = [\n  \"--max-retries\",  # why\n  \"10\",\n]  # ok\n# about b\n\n" +
		"[ node ]   # mine\npost_listener = \"127.0.0.1:9094\""
	path := ceWrite(t, text, 0o600)
	anAdd(t, path, anNode2, "")
	got, _ := os.ReadFile(path)
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	if cfg.Node.Name != "node1" || cfg.Services[0].Node != "node1" || cfg.Services[1].Node != "node1" || cfg.MoreNodes[0].Name != "node2" {
		t.Errorf("got %+v %+v\n%s", cfg.AllNodes(), cfg.Services, got)
	}
	if !strings.Contains(string(got), "node = \"node1\"   # none yet\n") || !strings.Contains(string(got), "[[node]]   # mine\nname = \"node1\"\n") ||
		!strings.Contains(string(got), "]  # ok\nnode = \"node1\"\n# about b\n") {
		t.Errorf("edits not in place:\n%s", got)
	}
}

func TestAddNodeRefusals(t *testing.T) {
	fleet := ceConfig + "\n"
	fleet = strings.Replace(fleet, "[node]\n", "[[node]]\nname = \"main\"\n", 1)
	fleet = strings.ReplaceAll(fleet, "operator = \"127.0.0.1:50051\"\n", "operator = \"127.0.0.1:50051\"\nnode = \"main\"\n")
	fleet = strings.ReplaceAll(fleet, "operator = \"127.0.0.1:50052\"\n", "operator = \"127.0.0.1:50052\"\nnode = \"main\"\n")
	fleet += "\n[[node]]\nname = \"node2\"\npost_listener = \"127.0.0.1:9194\"\n"
	broken := ceConfig + "\n[[service]]\nname = \"x\"\ndir = \"/x\"\noperater = \"127.0.0.1:1\"\n"
	cases := []struct {
		name, file, first string
		node              NodeConfig
		services          []ServiceConfig
		want              []string
	}{
		{"first's name", fleet, "", NodeConfig{Name: "main", PostListener: "127.0.0.1:9394"}, nil, []string{`name "main" is the first node's`}},
		{"another's name", fleet, "", NodeConfig{Name: "node2", PostListener: "127.0.0.1:9394"}, nil, []string{`name "node2" is another node's`}},
		{"the default first name", ceConfig, "", NodeConfig{Name: "node1", PostListener: "127.0.0.1:9394"}, nil, []string{`would be called "node1" too`}},
		{"the chosen first name", ceConfig, "x", NodeConfig{Name: "x", PostListener: "127.0.0.1:9394"}, nil, []string{`would be called "x" too`}},
		{"renaming the first", fleet, "other", anNode3, nil, []string{`called "main" already`}},
		{"same post listener", ceConfig, "", NodeConfig{Name: "again", PostListener: "0.0.0.0:9094"}, nil,
			[]string{"in the config already", "the first node has post_listener 127.0.0.1:9094"}},
		{"a listener of the second", fleet, "", NodeConfig{Name: "again", PublicListener: "127.0.0.1:9194"}, nil,
			[]string{"in the config already", `node "node2" has post_listener 127.0.0.1:9194`}},
		{"a configured service", ceConfig, "", anNode2, []ServiceConfig{{Name: "data9", Dir: "/mnt/d1/data1"}}, []string{"already has dir /mnt/d1/data1"}},
		{"two services, one dir", ceConfig, "", anNode2, []ServiceConfig{{Name: "a", Dir: "/a"}, {Name: "b", Dir: "/a/"}}, []string{"already has dir /a"}},
		{"no name", ceConfig, "", NodeConfig{PostListener: "127.0.0.1:9394"}, nil, []string{"needs a name"}},
		{"line break", ceConfig, "", NodeConfig{Name: "a\n[poll]", PostListener: "127.0.0.1:9394"}, nil, []string{"line breaks"}},
		{"no node section", "[poll]\ninterval = \"3s\"\n", "", anNode2, nil, []string{"no [node] section"}},
		{"a broken file", broken, "", anNode2, nil, []string{"does not load now", "fix it first", "operater"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := ceWrite(t, c.file, 0o600)
			if _, err := Load(path); err != nil && c.file != broken {
				t.Fatalf("the test's file does not load: %v", err)
			}
			_, err := PlanAddNode(path, c.node, c.first, c.services)
			testkit.WantErr(t, err, c.want...)
			if got, _ := os.ReadFile(path); string(got) != c.file {
				t.Error("config changed by a refused add")
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("files beside the config: %v", entries)
			}
		})
	}
	_, err := PlanAddNode(filepath.Join(t.TempDir(), "none.toml"), anNode2, "", nil)
	testkit.WantErr(t, err, "no config file at", "none.toml", "without --add-node")
}

func TestAddNodeRefusesAFileChangedMeanwhile(t *testing.T) {
	path := ceWrite(t, ceConfig, 0o600)
	e, err := PlanAddNode(path, anNode2, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	changed := ceConfig + "\n# edited meanwhile\n"
	if err := os.WriteFile(path, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = e.Apply()
	testkit.WantErr(t, err, "changed while the node was being added", "nothing written")
	if got, _ := os.ReadFile(path); string(got) != changed {
		t.Error("the edit written over the change")
	}
	if _, err := os.Stat(path + ".bak"); err == nil {
		t.Error("a backup made for an edit not written")
	}
}

func TestAddNodeThroughSymlink(t *testing.T) {
	path := ceWrite(t, ceConfig, 0o600)
	link := filepath.Join(t.TempDir(), "link.toml")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	_, backup := anAdd(t, link, anNode2, "")
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("symlink replaced by a file")
	}
	if backup != path+".bak" {
		t.Errorf("backup %s, want beside the file itself", backup)
	}
	if cfg, err := Load(link); err != nil || !cfg.Fleet() {
		t.Errorf("through the link: %v", err)
	}
}
