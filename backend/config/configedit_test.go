package config

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/backend/testkit"
)

// ceConfig is a hand-written config: comments, odd spacing, no newline at
// the end — everything AppendService must keep as it is.
const ceConfig = `# my node   (hand-written, keep this)
[node]
post_listener="127.0.0.1:9094"   # fixed port
data_folder = "/srv/node_data"

[poll]
  interval = "5s"

[[service]]
name = "data1"    # disk 1
dir  = "/mnt/d1/data1"
operator = "127.0.0.1:50051"

[[service]]
name = "data2"
dir = "/mnt/d2/data2"
operator = "127.0.0.1:50052"
# trailing comment, no newline`

func ceWrite(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAppendServiceKeepsTheFileAndLoads(t *testing.T) {
	path := ceWrite(t, ceConfig, 0o640)
	if err := AppendService(path, ServiceConfig{Name: "data3", Dir: "/mnt/d3/data3"}, ""); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.HasPrefix(got, []byte(ceConfig)) {
		t.Fatalf("the existing text is not kept byte for byte as a prefix:\n%s", got)
	}
	added := string(got[len(ceConfig):])
	if !strings.HasPrefix(added, "\n") || !strings.Contains(added, "# Added by `postdeck keys add`") || !strings.Contains(added, "[[service]]\nname = \"data3\"\ndir = \"/mnt/d3/data3\"\n") {
		t.Errorf("appended block:\n%s", added)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("result does not load: %v", err)
	}
	if len(cfg.Services) != 3 {
		t.Fatalf("%d services", len(cfg.Services))
	}
	s := cfg.Services[2]
	if s.Name != "data3" || s.Dir != "/mnt/d3/data3" {
		t.Errorf("added service %+v", s)
	}
	// A free port was picked: not one of the other services'.
	if s.Operator == "" || s.Operator == "127.0.0.1:50051" || s.Operator == "127.0.0.1:50052" {
		t.Errorf("operator %q, want a free port other than the services' own", s.Operator)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's own 0640", fi.Mode().Perm())
	}
	testkit.NoTempFiles(t, filepath.Dir(path))

	// A second append keeps the first one too.
	if err := AppendService(path, ServiceConfig{Name: "data4", Dir: "/mnt/d4/data4", Operator: "127.0.0.1:50999"}, ""); err != nil {
		t.Fatal(err)
	}
	got2, _ := os.ReadFile(path)
	if !bytes.HasPrefix(got2, got) {
		t.Error("second append changed the earlier text")
	}
	if cfg, err := Load(path); err != nil || cfg.Services[3].Operator != "127.0.0.1:50999" {
		t.Errorf("after the second append: %v", err)
	}
}

func TestAppendServiceRefusesClashes(t *testing.T) {
	cases := []struct {
		name string
		svc  ServiceConfig
		want string
	}{
		{"name", ServiceConfig{Name: "data1", Dir: "/mnt/d9/data9"}, `already has the name "data1"`},
		{"dir", ServiceConfig{Name: "other", Dir: "/mnt/d1/data1/"}, "already has dir /mnt/d1/data1"},
		{"operator", ServiceConfig{Name: "data9", Dir: "/mnt/d9/data9", Operator: "127.0.0.1:50052"}, "already uses operator 127.0.0.1:50052"},
		{"operator on all interfaces", ServiceConfig{Name: "data9", Dir: "/mnt/d9/data9", Operator: "0.0.0.0:50051"}, "already uses operator"},
		{"bad operator", ServiceConfig{Name: "data9", Dir: "/mnt/d9/data9", Operator: "http://x:1"}, "without a scheme"},
		{"no dir", ServiceConfig{Name: "data9"}, "needs a name and a dir"},
		{"line break", ServiceConfig{Name: "data9\n[node]", Dir: "/x"}, "line breaks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := ceWrite(t, ceConfig, 0o600)
			err := AppendService(path, c.svc, "")
			testkit.WantErr(t, err, c.want)
			if got, _ := os.ReadFile(path); string(got) != ceConfig {
				t.Error("config changed by a refused append")
			}
		})
	}
	path := ceWrite(t, ceConfig, 0o600)
	err := AppendService(path, ServiceConfig{Name: "data1", Dir: "/mnt/d1/data1"}, "")
	if !errors.Is(err, ErrServiceExists) {
		t.Errorf("same name and dir: %v, want ErrServiceExists", err)
	}
}

func TestAppendServiceRefusesABrokenConfig(t *testing.T) {
	broken := ceConfig + "\n[[service]]\nname = \"x\"\ndir = \"/x\"\noperater = \"127.0.0.1:1\"\n"
	path := ceWrite(t, broken, 0o600)
	err := AppendService(path, ServiceConfig{Name: "data3", Dir: "/mnt/d3/data3"}, "")
	testkit.WantErr(t, err, "does not load now", "fix it first", "operater")
	if got, _ := os.ReadFile(path); string(got) != broken {
		t.Error("broken config changed")
	}
	err = AppendService(filepath.Join(t.TempDir(), "none.toml"), ServiceConfig{Name: "a", Dir: "/a"}, "")
	testkit.WantErr(t, err, "none.toml")
}

func TestAppendServiceThroughSymlink(t *testing.T) {
	path := ceWrite(t, ceConfig, 0o600)
	link := filepath.Join(t.TempDir(), "link.toml")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if err := AppendService(link, ServiceConfig{Name: "data3", Dir: "/d3", Operator: "127.0.0.1:50060"}, ""); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("symlink replaced by a file")
	}
	if got, _ := os.ReadFile(path); !strings.Contains(string(got), `name = "data3"`) {
		t.Error("target not updated")
	}
}

func TestAppendServiceQuotesAwkwardText(t *testing.T) {
	path := ceWrite(t, ceConfig+"\n", 0o600)
	svc := ServiceConfig{Name: `disk "3"`, Dir: `/mnt/my disk\3`, Operator: "127.0.0.1:50061"}
	if err := AppendService(path, svc, ""); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Services[2]; s.Name != svc.Name || s.Dir != svc.Dir {
		t.Errorf("read back %q %q", s.Name, s.Dir)
	}
	if got, _ := os.ReadFile(path); !bytes.HasPrefix(got, []byte(ceConfig+"\n\n#")) {
		t.Errorf("a file ending in a newline gets one blank line, then the block:\n%s", got)
	}
}

func TestPickOperatorSkipsUsedAndListening(t *testing.T) {
	cfg := &Config{Services: []ServiceConfig{{Operator: "127.0.0.1:50051"}, {Operator: "0.0.0.0:50053"}}}
	// Hold 50052 if we can; if something else holds it, it is busy anyway.
	if ln, err := net.Listen("tcp4", "127.0.0.1:50052"); err == nil {
		defer ln.Close()
	}
	got, err := PickOperator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"127.0.0.1:50051", "127.0.0.1:50052", "127.0.0.1:50053"} {
		if got == bad {
			t.Errorf("picked %s, which is taken", got)
		}
	}
	if !strings.HasPrefix(got, "127.0.0.1:50") {
		t.Errorf("picked %q", got)
	}
}

func TestServiceSnippetWithoutOperator(t *testing.T) {
	s := ServiceSnippet(ServiceConfig{Name: "data3", Dir: "/mnt/d3"}, "")
	if !strings.Contains(s, `# operator = ""`) || !strings.Contains(s, "cannot see this service's state") {
		t.Errorf("snippet:\n%s", s)
	}
}
