package backend

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
)

// exeLink makes a fake /proc/<pid>/exe pointing at target (which need not
// exist: the kernel's " (deleted)" links do not).
func exeLink(t *testing.T, procRoot, pid, target string) {
	t.Helper()
	if err := os.Symlink(target, filepath.Join(procRoot, pid, "exe")); err != nil {
		t.Fatal(err)
	}
}

func executable(t *testing.T, path string) {
	t.Helper()
	testkit.WriteFile(t, path, "\x7fELF")
	if err := os.Chmod(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

// init proposes bin and the keys a found post-service's command line maps
// to, so postdeck can start it the way it runs; or says why not.
func TestInitProposesBinFromTheProcess(t *testing.T) {
	root := t.TempDir()
	procRoot := filepath.Join(root, "proc")
	real := filepath.Join(root, "opt", "post-rs-0.7.11", "post-service")
	link := filepath.Join(root, "usr", "bin", "post-service")
	executable(t, real)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	upgraded := filepath.Join(root, "upgraded", "post-service")
	executable(t, upgraded)
	var dirs []string
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		dir := filepath.Join(root, "post", name)
		pub, _ := testkit.Key(byte(i + 1))
		testkit.Metadata(t, dir, pub, 4)
		dirs = append(dirs, dir)
	}
	addr := []string{"--address", "http://127.0.0.1:9094"}
	// a: started through a symlink, with flags the config has keys for and
	// some it has not.
	testkit.FakeProc(t, procRoot, "20", append([]string{link, "--dir", dirs[0], "--operator-address", "127.0.0.1:50051",
		"--threads", "4", "--nonces=288", "--randomx-mode", "light", "--reconnect-interval-s", "5", "--watch-pid", "99",
		"--remote-k2pow-parallelism", "3", "--max-retries", "7"}, addr...), "", false)
	exeLink(t, procRoot, "20", real)
	// b: its binary removed since; c: replaced by an upgrade; d: another
	// user's (exe unreadable); e: started by a bare name.
	testkit.FakeProc(t, procRoot, "21", append([]string{filepath.Join(root, "gone", "post-service"), "--dir", dirs[1]}, addr...), "", false)
	exeLink(t, procRoot, "21", filepath.Join(root, "gone", "post-service")+" (deleted)")
	testkit.FakeProc(t, procRoot, "22", append([]string{upgraded, "--dir", dirs[2]}, addr...), "", false)
	exeLink(t, procRoot, "22", upgraded+" (deleted)")
	testkit.FakeProc(t, procRoot, "23", append([]string{"post-service", "--dir", dirs[3]}, addr...), "", false)
	testkit.FakeProc(t, procRoot, "24", append([]string{"post-service", "--dir", dirs[4], "--nonces", "100"}, addr...), "", false)
	exeLink(t, procRoot, "24", real)

	cfg, notes, err := BuildInitConfig(InitOptions{ProcRoot: procRoot, PostListener: "127.0.0.1:9094"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Services) != 5 {
		t.Fatalf("services %+v", cfg.Services)
	}
	four := 4
	a := cfg.Services[0]
	want := config.ServiceConfig{Name: "a", Dir: dirs[0], Operator: "127.0.0.1:50051", Bin: link, Threads: &four, Nonces: 288,
		RandomXMode: "light", ExtraArgs: []string{"--reconnect-interval-s", "5", "--max-retries", "7", "--remote-k2pow-parallelism", "3"}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("a:\n got  %+v\n want %+v", a, want)
	}
	if b := cfg.Services[1]; b.Bin != "" {
		t.Errorf("b, whose binary is gone, got bin %q", b.Bin)
	}
	if c := cfg.Services[2]; c.Bin != upgraded {
		t.Errorf("c, upgraded in place: bin %q, want %s", c.Bin, upgraded)
	}
	if d := cfg.Services[3]; d.Bin != "" {
		t.Errorf("d, unreadable: bin %q", d.Bin)
	}
	// A bare argv[0] is not a path: the executable is. A value the config
	// would refuse stays on the command line as it was.
	if e := cfg.Services[4]; e.Bin != real || e.Nonces != 0 || !reflect.DeepEqual(e.ExtraArgs, []string{"--nonces", "100"}) {
		t.Errorf("e: %+v", e)
	}
	all := strings.Join(notes, "\n")
	for _, w := range []string{
		"post-service for " + dirs[0] + ": bin " + link + ", from the process running (pid 20)",
		"--watch-pid 99 left out of extra_args",
		"post-service for " + dirs[1] + ": the binary it runs, " + filepath.Join(root, "gone", "post-service") + ", was removed since it started: bin not set, so postdeck only watches it",
		"post-service for " + dirs[2] + ": the binary it was started from was replaced since",
		"post-service for " + dirs[3] + ": its executable cannot be read in /proc/23/exe",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("notes lack %q:\n%s", w, all)
		}
	}
	// What init proposes loads back the same, and starts as it ran.
	got, _ := topRoundTrip(t, t.TempDir(), cfg)
	if !reflect.DeepEqual(got, cfg) {
		t.Errorf("does not round-trip:\n got  %+v\n want %+v", got.Services, cfg.Services)
	}
}
