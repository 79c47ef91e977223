package proc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/model"
)

// The test binary doubles as a fake post-service: run through a symlink
// named post-service (or with POSTDECK_TEST_FAKE set), it behaves as the FAKE_* variables (set through a
// service's env table) say, instead of running tests. It also serves as a
// short-lived postdeck that starts one service and exits (the helper for
// TestSupervisorChildOutlivesPostdeck).
func init() {
	// POSTDECK_TEST_FAKE: the fake under another name (./service, as the
	// guide runs post-rs).
	// Named hanging-post-service, it never answers --version.
	if base := filepath.Base(os.Args[0]); base == PostServiceName || base == "hanging-post-service" || os.Getenv("POSTDECK_TEST_FAKE") != "" {
		fakePostService()
		os.Exit(0)
	}
	if cfgPath := os.Getenv("POSTDECK_TEST_START_HELPER"); cfgPath != "" {
		os.Exit(startHelper(cfgPath, os.Getenv("POSTDECK_TEST_STATE"), os.Getenv("POSTDECK_TEST_SERVICE")))
	}
}

func fakePostService() {
	if len(os.Args) == 2 && os.Args[1] == "--version" && filepath.Base(os.Args[0]) != "hanging-post-service" {
		fmt.Println("post-service 0.0.0-fake")
		return
	}
	p := ParsePostServiceArgs(os.Args)
	fmt.Printf("fake post-service pid %d: %s\n", os.Getpid(), strings.Join(os.Args[1:], " "))
	fmt.Fprintln(os.Stderr, "fake post-service: this line went to stderr")
	if v := os.Getenv("FAKE_PRINT_ENV"); v != "" {
		fmt.Printf("env %s=%s\n", v, os.Getenv(v))
	}
	if code := os.Getenv("FAKE_EXIT"); code != "" {
		fmt.Fprintln(os.Stderr, "Error: could not open the PoST data")
		n, _ := strconv.Atoi(code)
		os.Exit(n)
	}
	if os.Getenv("FAKE_IGNORE_TERM") != "" {
		signal.Ignore(syscall.SIGTERM)
	}
	if os.Getenv("FAKE_LISTEN") != "" && p.Operator != "" {
		if _, err := net.Listen("tcp", p.Operator); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	tick := os.Getenv("FAKE_TICK") != ""
	fmt.Println("ready")
	for i := 0; ; i++ {
		if !tick {
			time.Sleep(time.Hour)
			continue
		}
		fmt.Printf("tick %d\n", i)
		time.Sleep(5 * time.Millisecond)
	}
}

func startHelper(cfgPath, state, name string) int {
	cfg, err := config.Load(cfgPath)
	if err == nil {
		var s *Supervisor
		if s, err = NewSupervisor(cfg, state); err == nil {
			err = s.Start(context.Background(), name)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// supWorld is a temp folder with a fake post-service binary, data dirs and
// a state dir.
type supWorld struct {
	t     testing.TB
	root  string
	bin   string // a symlink named post-service to this test binary
	state string
	cfg   *config.Config
	salt  []byte // makes this world's identities its own: tests run in parallel, and the NodeId check sees all
}

// id is identity n of this world: n repeated, then the world's salt.
func (w *supWorld) id(n byte) []byte {
	return append(bytes.Repeat([]byte{n}, 24), w.salt...)
}

func newSupWorld(t testing.TB) *supWorld {
	t.Helper()
	root := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin", PostServiceName)
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	salt := make([]byte, 8)
	rand.Read(salt)
	w := &supWorld{t: t, root: root, bin: bin, state: filepath.Join(root, "state"), salt: salt,
		cfg: &config.Config{Node: config.NodeConfig{PostListener: "127.0.0.1:9094"},
			Proving: config.ProvingConfig{MaxPerDisk: 1, StopGrace: config.Duration{Duration: 2 * time.Second}}}}
	t.Cleanup(w.stopAll)
	return w
}

// stopAll stops whatever still serves this world's data dirs: processes
// this test started, directly or through a supervisor.
func (w *supWorld) stopAll() {
	cfg := *w.cfg
	cfg.Proving.StopGrace = config.Duration{Duration: 200 * time.Millisecond}
	s, err := NewSupervisor(&cfg, w.state)
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, c := range cfg.Services {
		if c.SystemdUnit == "" {
			wg.Go(func() { s.Stop(context.Background(), c.Name) })
		}
	}
	wg.Wait()
}

// service adds a [[service]] with a data dir holding metadata for identity id.
func (w *supWorld) service(name string, id byte, mod func(*config.ServiceConfig)) *config.ServiceConfig {
	dir := filepath.Join(w.root, "data", name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		w.t.Fatal(err)
	}
	m := model.PostMetadata{NodeID: w.id(id), CommitmentAtxID: bytes.Repeat([]byte{9}, 32),
		LabelsPerUnit: 4294967296, NumUnits: 1, MaxFileSize: 4294967296}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, model.MetadataFile), b, 0o600); err != nil {
		w.t.Fatal(err)
	}
	c := config.ServiceConfig{Name: name, Dir: dir, Bin: w.bin}
	if mod != nil {
		mod(&c)
	}
	w.cfg.Services = append(w.cfg.Services, c)
	return &w.cfg.Services[len(w.cfg.Services)-1]
}

func (w *supWorld) sup() *Supervisor {
	w.t.Helper()
	s, err := NewSupervisor(w.cfg, w.state)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// external starts a fake post-service outside any supervisor, as an
// operator's own script would.
func (w *supWorld) external(dir string, env ...string) *exec.Cmd {
	w.t.Helper()
	cmd := exec.Command(w.bin, "--address", "http://127.0.0.1:9094", "--dir", dir)
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	w.t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	// Seen once it has exec'd into the fake (argv[0] post-service).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		args := readCmdline(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid))
		if len(args) > 0 && filepath.Base(args[0]) == PostServiceName {
			break
		}
		if time.Now().After(deadline) {
			w.t.Fatal("the external process did not start")
		}
	}
	return cmd
}

func (w *supWorld) readState(name string) svcState {
	w.t.Helper()
	var st svcState
	b, err := os.ReadFile(filepath.Join(w.state, "services", fileStem(name)+".json"))
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", err, p)
		}
	}
}

func TestSupervisorArgs(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	three := 3
	w.service("full", 1, func(c *config.ServiceConfig) {
		c.Operator, c.Threads, c.Nonces, c.RandomXMode = "127.0.0.1:50051", &three, 256, "light"
		c.Address, c.ExtraArgs = "https://node:9094", []string{"--max-retries", "5"}
	})
	w.service("plain", 2, nil)
	w.service("remote", 5, func(c *config.ServiceConfig) {
		c.RemoteK2Pow, c.RemoteK2PowParallelism = "http://10.0.0.5:3000", 8
		c.RemoteK2PowBackoff.Duration = 10 * time.Second
	})
	w.service("unit", 3, func(c *config.ServiceConfig) { c.Bin, c.SystemdUnit = "", "post-unit.service" })
	w.service("none", 4, func(c *config.ServiceConfig) { c.Bin = "" })
	s := w.sup()
	dir := func(n string) string { return filepath.Join(w.root, "data", n) }
	got, err := s.Args("full")
	want := []string{w.bin, "--address", "https://node:9094", "--dir", dir("full"), "--operator-address", "127.0.0.1:50051",
		"--threads", "3", "--nonces", "256", "--randomx-mode", "light", "--max-retries", "5"}
	if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("full:\n got  %q %v\n want %q", got, err, want)
	}
	got, err = s.Args("plain")
	want = []string{w.bin, "--address", "http://127.0.0.1:9094", "--dir", dir("plain")}
	if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("plain:\n got  %q %v\n want %q", got, err, want)
	}
	got, err = s.Args("remote")
	want = []string{w.bin, "--address", "http://127.0.0.1:9094", "--dir", dir("remote"),
		"--remote-k2pow", "http://10.0.0.5:3000", "--remote-k2pow-parallelism", "8", "--remote-k2pow-backoff", "10"}
	if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("remote:\n got  %q %v\n want %q", got, err, want)
	}
	_, err = s.Args("unit")
	wantErr(t, err, "systemd unit post-unit.service")
	_, err = s.Args("none")
	wantErr(t, err, "neither bin nor systemd_unit")
	_, err = s.Args("nope")
	wantErr(t, err, `no service named "nope"`)
	err = s.Start(context.Background(), "none")
	wantErr(t, err, "neither bin nor systemd_unit")

	p := s.Procs()
	if p["none"].State != model.ProcUnknown || p["none"].Startable || p["plain"].State != model.ProcStopped || !p["plain"].Startable {
		t.Errorf("procs of stopped services: %+v", p)
	}
}

func TestSupervisorStartStop(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("data1", 1, func(c *config.ServiceConfig) {
		c.Env = map[string]string{"FAKE_PRINT_ENV": "RUST_LOG", "RUST_LOG": "debug,post=trace"}
	})
	s := w.sup()
	ctx := context.Background()
	before := time.Now()
	if err := s.Start(ctx, "data1"); err != nil {
		t.Fatal(err)
	}
	p := s.Procs()["data1"]
	if p.State != model.ProcRunning || p.Manager != model.ManagerPostdeck || p.PID <= 0 ||
		p.Started.Before(before) || p.Restarts != 0 || !p.Startable {
		t.Fatalf("after start: %+v", p)
	}
	// The child's own session, parent postdeck.
	if sid, _ := syscall.Getpgid(p.PID); sid != p.PID {
		t.Errorf("child's process group %d, want its own %d", sid, p.PID)
	}
	log, _ := os.ReadFile(s.LogPath("data1"))
	for _, want := range []string{"--- postdeck: starting data1 at ", "--- postdeck: command: " + w.bin, "fake post-service pid " + strconv.Itoa(p.PID),
		"this line went to stderr", "env RUST_LOG=debug,post=trace"} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	st := w.readState("data1")
	args, _ := s.Args("data1")
	if st.PID != p.PID || st.StartTicks == 0 || strings.Join(st.Argv, " ") != strings.Join(args, " ") || st.StartedAt.IsZero() {
		t.Errorf("state file: %+v", st)
	}
	if ps, err := readProcStat("/proc", p.PID, nil); err != nil || ps.start != st.StartTicks {
		t.Errorf("start ticks %d, /proc says %+v %v", st.StartTicks, ps, err)
	}
	wantErr(t, s.Start(ctx, "data1"), fmt.Sprintf("already running (pid %d)", p.PID))

	if err := s.Stop(ctx, "data1"); err != nil {
		t.Fatal(err)
	}
	p = s.Procs()["data1"]
	if p.State != model.ProcStopped || p.PID != 0 || p.LastExit != "SIGTERM" || p.ExitDetail != "killed by SIGTERM" {
		t.Fatalf("after stop: %+v", p)
	}
	if st := w.readState("data1"); st.PID != 0 || st.LastExit != "SIGTERM" || st.ExitDetail != "killed by SIGTERM" {
		t.Errorf("state after stop: %+v", st)
	}
	err := s.Stop(ctx, "data1")
	if !errors.Is(err, ErrNotRunning) {
		t.Fatalf("second stop: %v", err)
	}
	wantErr(t, err, "data1 is not running")

	if err := s.Start(ctx, "data1"); err != nil {
		t.Fatal(err)
	}
	// A start after postdeck's own stop is no crash: RST stays 0.
	if p = s.Procs()["data1"]; p.Restarts != 0 || p.LastExit != "SIGTERM" {
		t.Errorf("after restart: %+v", p)
	}
}

// RST counts the exits no postdeck asked for, never starts: automatic
// proving starts and stops every service each cycle, and a healthy row must
// read 0. Stops by the parent postdeck, by another postdeck (while the
// parent's reaper sees the exit) and by a postdeck that adopted the process
// do not count; a kill from outside and a start that exits at once do.
func TestSupervisorRestartsCountUnexpectedExitsOnly(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("data1", 1, nil)
	w.service("broken", 2, func(c *config.ServiceConfig) { c.Env = map[string]string{"FAKE_EXIT": "3"} })
	ctx := context.Background()
	dash := w.sup()
	rst := func(s *Supervisor, name string) int { return s.Procs()[name].Restarts }
	for i := range 3 {
		if err := dash.Start(ctx, "data1"); err != nil {
			t.Fatal(err)
		}
		if err := dash.Stop(ctx, "data1"); err != nil {
			t.Fatal(err)
		}
		if n := rst(dash, "data1"); n != 0 {
			t.Fatalf("after %d starts and stops by postdeck: RST %d, want 0", i+1, n)
		}
	}

	// Started by the dashboard (the parent, whose reaper sees the exit),
	// stopped by another postdeck (`postdeck stop` beside it).
	if err := dash.Start(ctx, "data1"); err != nil {
		t.Fatal(err)
	}
	if err := w.sup().Stop(ctx, "data1"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the parent's reaper to record the exit", func() bool { return w.readState("data1").LastExit == "SIGTERM" && dash.Procs()["data1"].PID == 0 })
	if n, m := rst(dash, "data1"), rst(w.sup(), "data1"); n != 0 || m != 0 {
		t.Fatalf("after another postdeck's stop: RST %d (parent) %d (a new postdeck), want 0", n, m)
	}

	// Killed by someone else: the one unexpected exit, seen by the parent
	// and by a new postdeck alike.
	if err := dash.Start(ctx, "data1"); err != nil {
		t.Fatal(err)
	}
	pid := dash.Procs()["data1"].PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the kill to be recorded", func() bool { return dash.Procs()["data1"].LastExit == "SIGKILL" })
	if n, m := rst(dash, "data1"), rst(w.sup(), "data1"); n != 1 || m != 1 {
		t.Fatalf("after a kill from outside: RST %d (parent) %d (a new postdeck), want 1", n, m)
	}

	// A new postdeck that adopted the process from its state file stops
	// it: no count, for the adopter or the parent.
	if err := dash.Start(ctx, "data1"); err != nil {
		t.Fatal(err)
	}
	adopter := w.sup()
	if err := adopter.Stop(ctx, "data1"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the stop to be recorded", func() bool { return dash.Procs()["data1"].PID == 0 })
	if n, m := rst(adopter, "data1"), rst(dash, "data1"); n != 1 || m != 1 {
		t.Fatalf("after the adopter's stop: RST %d (adopter) %d (parent), want still 1", n, m)
	}

	// A start that fails at once is a failure, and counts.
	testkit.WantErr(t, dash.Start(ctx, "broken"), "exited at once")
	if n := rst(dash, "broken"); n != 1 {
		t.Errorf("after a start that exited at once: RST %d, want 1", n)
	}
}

func TestSupervisorReadopt(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("data1", 1, nil)
	s1 := w.sup()
	if err := s1.Start(context.Background(), "data1"); err != nil {
		t.Fatal(err)
	}
	pid := s1.Procs()["data1"].PID

	// A new postdeck finds it through the state file.
	s2 := w.sup()
	p := s2.Procs()["data1"]
	if p.State != model.ProcRunning || p.Manager != model.ManagerPostdeck || p.PID != pid {
		t.Fatalf("re-adopted: %+v, want pid %d", p, pid)
	}
	wantErr(t, s2.Start(context.Background(), "data1"), fmt.Sprintf("already running (pid %d)", pid))
	if err := s2.Stop(context.Background(), "data1"); err != nil {
		t.Fatal(err)
	}
	p = s2.Procs()["data1"]
	// s1, in this same test process, is still the parent and records the
	// real status too; whichever wrote last wins.
	if p.State != model.ProcStopped || p.LastExit != "SIGTERM" ||
		(p.ExitDetail != "stopped by postdeck with SIGTERM (exit status unknown: not this postdeck's child)" && p.ExitDetail != "killed by SIGTERM") {
		t.Errorf("after stop by the adopter: %+v", p)
	}
}

// A dashboard's supervisor that has watched a settled state folder for a
// while still sees, on its next look, a start and a stop made by another
// postdeck: they write by rename, which moves the folder's mtime.
func TestSupervisorSeesAnotherPostdecksStartAndStop(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("data1", 1, nil)
	dash := w.sup()
	settle := func() {
		t.Helper()
		past := time.Now().Add(-time.Hour)
		if err := os.Chtimes(filepath.Join(w.state, "services"), past, past); err != nil {
			t.Fatal(err)
		}
		dash.Procs() // a full look at the settled folder; the next ones trust it
		dash.Procs()
	}
	if err := os.MkdirAll(filepath.Join(w.state, "services"), 0o700); err != nil {
		t.Fatal(err)
	}
	settle()
	cli := w.sup()
	if err := cli.Start(context.Background(), "data1"); err != nil {
		t.Fatal(err)
	}
	if p := dash.Procs()["data1"]; p.State != model.ProcRunning || p.Manager != model.ManagerPostdeck {
		t.Fatalf("after another postdeck's start: %+v", p)
	}
	settle()
	if err := cli.Stop(context.Background(), "data1"); err != nil {
		t.Fatal(err)
	}
	if p := dash.Procs()["data1"]; p.State != model.ProcStopped || p.LastExit == "" {
		t.Fatalf("after another postdeck's stop: %+v", p)
	}
}

func TestSupervisorNeverAdoptsAReusedPID(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("wrongticks", 1, nil)
	w.service("wrongdir", 2, nil)
	self, err := readProcStat("/proc", os.Getpid(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Both name this test's own pid: one with another start time, one with
	// the right start time but a command line without the service's --dir.
	for name, ticks := range map[string]uint64{"wrongticks": self.start + 1, "wrongdir": self.start} {
		st := svcState{Name: name, PID: os.Getpid(), StartTicks: ticks, Argv: []string{w.bin}, StartedAt: time.Now()}
		b, _ := json.Marshal(st)
		if err := os.MkdirAll(filepath.Join(w.state, "services"), 0o700); err != nil {
			t.Fatal(err)
		}
		testkit.WriteFile(t, filepath.Join(w.state, "services", name+".json"), string(b))
	}
	s := w.sup()
	procs := s.Procs()
	for _, name := range []string{"wrongticks", "wrongdir"} {
		if p := procs[name]; p.State != model.ProcStopped || p.PID != 0 || p.LastExit != diedUnknown || p.ExitDetail != exitedUnseen {
			t.Errorf("%s: %+v", name, p)
		}
		if st := w.readState(name); st.PID != 0 || st.LastExit != diedUnknown || st.ExitDetail != exitedUnseen {
			t.Errorf("%s state file: %+v", name, st)
		}
		// Stopping sends nothing (this test would die of a SIGTERM).
		if err := s.Stop(context.Background(), name); !errors.Is(err, ErrNotRunning) {
			t.Errorf("%s: stop: %v", name, err)
		}
	}
}

func TestSupervisorKillsAfterGrace(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.cfg.Proving.StopGrace = config.Duration{Duration: 300 * time.Millisecond}
	w.service("stubborn", 1, func(c *config.ServiceConfig) { c.Env = map[string]string{"FAKE_IGNORE_TERM": "1"} })
	s := w.sup()
	if err := s.Start(context.Background(), "stubborn"); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := testkit.NoHang(t, "Stop of a service ignoring SIGTERM", func() error { return s.Stop(context.Background(), "stubborn") }); err != nil {
		t.Fatal(err)
	}
	// A lower bound only: the grace is a duration Stop must wait out, and a
	// slow machine can only make this longer, never fail it. (No upper
	// bound: testkit.NoHang above catches a Stop that never kills.)
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Errorf("stop took %s, want the 300ms grace then SIGKILL", took)
	}
	if p := s.Procs()["stubborn"]; p.State != model.ProcStopped || p.LastExit != "SIGKILL" || p.ExitDetail != "killed by SIGKILL" {
		t.Errorf("after stop: %+v", p)
	}
}

func TestSupervisorExitAtOnce(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("broken", 1, func(c *config.ServiceConfig) { c.Env = map[string]string{"FAKE_EXIT": "3"} })
	s := w.sup()
	// Start would watch the new process for an hour: returning with this
	// error shows it reports the exit when it happens, not when the watch
	// ends.
	s.startWait = time.Hour
	err := testkit.NoHang(t, "Start of a service that exits at once", func() error { return s.Start(context.Background(), "broken") })
	wantErr(t, err, "broken exited at once (exit status 3)", "Error: could not open the PoST data", "pid")
	if p := s.Procs()["broken"]; p.State != model.ProcStopped || p.LastExit != "exit 3" || p.ExitDetail != "exit status 3" {
		t.Errorf("procs: %+v", p)
	}
}

func TestSupervisorStartChecks(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	ctx := context.Background()
	noExec := filepath.Join(w.root, "bin", "noexec")
	testkit.WriteFile(t, noExec, "#!/bin/sh\n")
	os.Chmod(noExec, 0o644)
	w.service("missingbin", 1, func(c *config.ServiceConfig) { c.Bin = filepath.Join(w.root, "nope", PostServiceName) })
	w.service("noexec", 2, func(c *config.ServiceConfig) { c.Bin = noExec })
	w.service("dirbin", 3, func(c *config.ServiceConfig) { c.Bin = filepath.Join(w.root, "bin") })
	w.service("pathbin", 4, func(c *config.ServiceConfig) { c.Bin = "no-such-post-service-in-path" })
	w.service("nodir", 5, func(c *config.ServiceConfig) { c.Dir = filepath.Join(w.root, "gone") })
	nometa := w.service("nometa", 6, nil)
	os.Remove(filepath.Join(nometa.Dir, model.MetadataFile))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	w.service("porttaken", 7, func(c *config.ServiceConfig) { c.Operator = ln.Addr().String() })
	samedir := w.service("samedir", 8, nil)
	w.service("sameid", 9, nil)
	// Identity 9 is also in another data dir, proven by an external process.
	otherDir := filepath.Join(w.root, "data", "copy-of-sameid")
	os.MkdirAll(otherDir, 0o700)
	testkit.Metadata(t, otherDir, w.id(9), 1)
	s := w.sup()

	wantErr(t, s.Start(ctx, "missingbin"), "missingbin: bin "+filepath.Join(w.root, "nope", PostServiceName)+" does not exist")
	wantErr(t, s.Start(ctx, "noexec"), "is not executable", "chmod +x")
	wantErr(t, s.Start(ctx, "dirbin"), "is a directory")
	wantErr(t, s.Start(ctx, "pathbin"), `bin "no-such-post-service-in-path" is not found in PATH`)
	wantErr(t, s.Start(ctx, "nodir"), "PoST data directory "+filepath.Join(w.root, "gone")+" does not exist")
	wantErr(t, s.Start(ctx, "nometa"), "no postdata_metadata.json in "+nometa.Dir)
	wantErr(t, s.Start(ctx, "porttaken"), "operator address "+ln.Addr().String()+" is in use by another program", "ss -ltnp")

	ext := w.external(samedir.Dir)
	wantErr(t, s.Start(ctx, "samedir"), fmt.Sprintf("data dir %s is already served by pid %d (service samedir", samedir.Dir, ext.Process.Pid))
	ext2 := w.external(otherDir)
	wantErr(t, s.Start(ctx, "sameid"), "identity 09090909", fmt.Sprintf("pid %d (--dir %s)", ext2.Process.Pid, otherDir),
		"a second connection for one identity is refused by the node and wastes RAM")
	if p := s.Procs(); p["sameid"].State != model.ProcStopped || p["samedir"].State != model.ProcRunning {
		t.Errorf("refused starts changed states: %+v", p)
	}
}

// An operator port held by a post-service is blamed on it by name.
func TestSupervisorOperatorPortOwner(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().String()
	ln.Close()
	w.service("mine", 1, func(c *config.ServiceConfig) { c.Operator = port })
	other := filepath.Join(w.root, "data", "other")
	os.MkdirAll(other, 0o700)
	testkit.Metadata(t, other, w.id(2), 1)
	cmd := exec.Command(w.bin, "--address", "http://127.0.0.1:9094", "--dir", other, "--operator-address", port)
	cmd.Env = append(os.Environ(), "FAKE_LISTEN=1")
	out := &bytes.Buffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	testkit.WaitFor(t, "the other service listening", func() bool {
		c, err := net.Dial("tcp", port)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	s := w.sup()
	wantErr(t, s.Start(context.Background(), "mine"),
		fmt.Sprintf("operator address %s is in use by pid %d (--dir %s)", port, cmd.Process.Pid, other))
}

func TestSupervisorExternal(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	managed := w.service("managed", 1, nil)
	unmanaged := w.service("unmanaged", 2, func(c *config.ServiceConfig) { c.Bin = "" })
	w.service("elsewhere", 3, func(c *config.ServiceConfig) { c.Bin = "" })
	s := w.sup()
	// Relative --dir, resolved through the process's working folder.
	ext := exec.Command(w.bin, "--dir", filepath.Base(managed.Dir), "--address", "http://127.0.0.1:9094")
	ext.Dir = filepath.Dir(managed.Dir)
	if err := ext.Start(); err != nil {
		t.Fatal(err)
	}
	extDone := make(chan error, 1)
	go func() { extDone <- ext.Wait() }()
	t.Cleanup(func() { ext.Process.Kill() })
	ext2 := w.external(unmanaged.Dir)
	var p map[string]model.ProcInfo
	testkit.WaitFor(t, "the external processes", func() bool {
		p = s.Procs()
		return p["managed"].State == model.ProcRunning
	})
	if m := p["managed"]; m.Manager != model.ManagerExternal || m.PID != ext.Process.Pid || time.Since(m.Started) > time.Minute {
		t.Errorf("managed: %+v", m)
	}
	if u := p["unmanaged"]; u.State != model.ProcRunning || u.Manager != model.ManagerExternal || u.PID != ext2.Process.Pid || u.Startable {
		t.Errorf("unmanaged: %+v", u)
	}
	if e := p["elsewhere"]; e.State != model.ProcUnknown || e.Manager != model.ManagerNone {
		t.Errorf("elsewhere: %+v", e)
	}
	wantErr(t, s.Start(context.Background(), "managed"), "already served by pid "+strconv.Itoa(ext.Process.Pid))

	if err := s.Stop(context.Background(), "managed"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-extDone:
		if ws := ext.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
			t.Errorf("external ended with %v, want SIGTERM", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("external process still running after Stop")
	}
	if m := s.Procs()["managed"]; m.State != model.ProcStopped || m.LastExit != "SIGTERM" || m.ExitDetail != "stopped by postdeck with SIGTERM (external)" {
		t.Errorf("after stop: %+v", m)
	}
}

func TestSupervisorChildOutlivesPostdeck(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	// It prints a tick every few ms: a tick logged after its postdeck
	// exited is the proof that it lives on.
	w.service("data1", 1, func(c *config.ServiceConfig) { c.Env = map[string]string{"FAKE_TICK": "1"} })
	cfgPath := filepath.Join(w.root, "config.toml")
	if err := config.WriteFile(cfgPath, config.Render(w.cfg), true); err != nil {
		t.Fatal(err)
	}
	// A postdeck process that starts the service and exits.
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), "POSTDECK_TEST_START_HELPER="+cfgPath, "POSTDECK_TEST_STATE="+w.state, "POSTDECK_TEST_SERVICE=data1")
	if out, err := helper.CombinedOutput(); err != nil {
		t.Fatalf("helper postdeck: %v\n%s", err, out)
	}
	pid := w.readState("data1").PID
	// Whatever a lost parent does to a child (a parent-death signal, SIGHUP
	// to an orphaned group, SIGPIPE on a pipe to the parent) is sent by the
	// time the helper has been reaped; a child it killed could not return
	// to user space to print again. So two more ticks logged from now on,
	// with the child reparented, prove it outlived its postdeck.
	logPath := w.sup().LogPath("data1")
	before, _ := os.ReadFile(logPath)
	testkit.WaitFor(t, "two ticks logged after the helper exited", func() bool {
		now, _ := os.ReadFile(logPath)
		return len(now) > len(before) && bytes.Count(now[len(before):], []byte("\ntick ")) >= 2
	})
	if ppid := procPPid(t, pid); ppid == helper.Process.Pid {
		t.Fatalf("pid %d still has its exited postdeck (%d) as parent", pid, ppid)
	}
	s := w.sup()
	p := s.Procs()["data1"]
	if p.State != model.ProcRunning || p.Manager != model.ManagerPostdeck || p.PID != pid || pid == 0 {
		t.Fatalf("after its postdeck exited: %+v (state file pid %d)", p, pid)
	}
	if err := s.Stop(context.Background(), "data1"); err != nil {
		t.Fatal(err)
	}
	if p := s.Procs()["data1"]; p.State != model.ProcStopped || p.LastExit != "SIGTERM" ||
		p.ExitDetail != "stopped by postdeck with SIGTERM (exit status unknown: not this postdeck's child)" {
		t.Errorf("after stop: %+v", p)
	}
}

// procPPid is pid's parent pid, from /proc/<pid>/stat (field 4, after
// the parenthesised comm).
func procPPid(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, b)
	}
	return ppid
}

func TestSupervisorDeadWhileAway(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("data1", 1, nil)
	cfgPath := filepath.Join(w.root, "config.toml")
	config.WriteFile(cfgPath, config.Render(w.cfg), true)
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), "POSTDECK_TEST_START_HELPER="+cfgPath, "POSTDECK_TEST_STATE="+w.state, "POSTDECK_TEST_SERVICE=data1")
	if out, err := helper.CombinedOutput(); err != nil {
		t.Fatalf("helper postdeck: %v\n%s", err, out)
	}
	st := w.readState("data1")
	// The service dies while no postdeck runs (its parent is gone: the
	// test kills it directly, after checking it is the process recorded).
	if ps, err := readProcStat("/proc", st.PID, nil); err != nil || ps.start != st.StartTicks {
		t.Fatalf("recorded process: %+v %v", ps, err)
	}
	syscall.Kill(st.PID, syscall.SIGKILL)
	testkit.WaitFor(t, "the service to die", func() bool {
		ps, err := readProcStat("/proc", st.PID, nil)
		return err != nil || ps.zombie
	})
	p := w.sup().Procs()["data1"]
	if p.State != model.ProcStopped || p.LastExit != diedUnknown || p.ExitDetail != exitedUnseen {
		t.Errorf("%+v", p)
	}
}

func TestSupervisorLogCap(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("chatty", 1, func(c *config.ServiceConfig) { c.Env = map[string]string{"FAKE_TICK": "1"} })
	s := w.sup()
	s.logCap = 4 << 10
	if err := s.Start(context.Background(), "chatty"); err != nil {
		t.Fatal(err)
	}
	path := s.LogPath("chatty")
	testkit.WaitFor(t, "a log over the cap", func() bool {
		fi, err := os.Stat(path)
		return err == nil && fi.Size() > s.logCap
	})
	s.Maintain()
	old, _ := os.ReadFile(path + ".1")
	if int64(len(old)) <= s.logCap || !bytes.Contains(old, []byte("fake post-service pid")) {
		t.Fatalf("rotated part: %d bytes", len(old))
	}
	lastOld := lastTick(t, old)
	// The service keeps writing to the same, now emptied, file: at its
	// start, with no hole of NULs where the old content was.
	testkit.WaitFor(t, "new lines in the log", func() bool {
		b, _ := os.ReadFile(path)
		return bytes.Count(b, []byte("\n")) > 3
	})
	cur, _ := os.ReadFile(path)
	if bytes.IndexByte(cur, 0) >= 0 || !bytes.HasPrefix(cur, []byte("tick ")) {
		t.Fatalf("log after truncation starts %q", cur[:min(len(cur), 40)])
	}
	if first := firstTick(t, cur); first <= lastOld {
		t.Errorf("first tick after rotation %d, last before %d", first, lastOld)
	}
	tail := s.LogTail("chatty", 3)
	if len(tail) != 3 || !strings.HasPrefix(tail[2], "tick ") {
		t.Errorf("tail %q", tail)
	}
}

func firstTick(t *testing.T, b []byte) int {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "tick "))
	if err != nil {
		t.Fatalf("first line of %q", b[:min(len(b), 40)])
	}
	return n
}

func lastTick(t *testing.T, b []byte) int {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if n, err := strconv.Atoi(strings.TrimPrefix(lines[i], "tick ")); err == nil {
			return n
		}
	}
	t.Fatal("no tick")
	return 0
}

func TestSupervisorLogTail(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("data1", 1, nil)
	s := w.sup()
	path := s.LogPath("data1")
	if s.LogTail("data1", 5) != nil || s.LogTail("nope", 5) != nil {
		t.Error("tail of no log")
	}
	testkit.WriteFile(t, path+".1", "old 1\nold 2\n")
	huge := strings.Repeat("é", 5000) // 10000 bytes
	testkit.WriteFile(t, path, "new 1\n"+huge+"\nnew 3\n")
	got := s.LogTail("data1", 4)
	if len(got) != 4 || got[0] != "old 2" || got[1] != "new 1" || got[3] != "new 3" {
		t.Fatalf("tail %q", got)
	}
	if len(got[2]) > maxLogLine+len("…") || !strings.HasSuffix(got[2], "…") || !strings.HasPrefix(got[2], "éé") {
		t.Errorf("long line came back %d bytes", len(got[2]))
	}
	if got := s.LogTail("data1", 1); len(got) != 1 || got[0] != "new 3" {
		t.Errorf("last line %q", got)
	}
	// One line bigger than everything read: its end, marked.
	testkit.WriteFile(t, path, strings.Repeat("x", 100000))
	if got := s.LogTail("data1", 1); len(got) != 1 || !strings.HasPrefix(got[0], "…x") || len(got[0]) > maxLogLine+len("…") {
		t.Errorf("one huge line: %d bytes", len(got[0]))
	}
}

func TestSupervisorDisk(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("named", 1, func(c *config.ServiceConfig) { c.Disk = "disk1" })
	w.service("auto", 2, nil)
	w.service("gone", 3, func(c *config.ServiceConfig) { c.Dir = filepath.Join(w.root, "gone") })
	s := w.sup()
	if d := s.Disk("named"); d != "disk1" {
		t.Errorf("named: %q", d)
	}
	d := s.Disk("auto")
	if d == "" || d != deviceName(w.root) {
		t.Errorf("auto: %q (root's device %q)", d, deviceName(w.root))
	}
	if d := s.Disk("gone"); d != "" {
		t.Errorf("gone: %q", d)
	}
	if d := s.Disk("nope"); d != "" {
		t.Errorf("nope: %q", d)
	}
}

func TestProcStatParse(t *testing.T) {
	st, err := parseProcStat([]byte("4242 (post (ser) vice) Z 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 12345 67 18446744073709551615\n"))
	if err != nil || st.comm != "post (ser) vice" || st.state != 'Z' || !st.zombie || st.start != 987654 || st.pgrp != 4242 || st.sid != 4242 {
		t.Fatalf("%+v %v", st, err)
	}
	if _, err := parseProcStat([]byte("1 (x) S 0")); err == nil {
		t.Error("short stat parsed")
	}
	self, err := readProcStat("/proc", os.Getpid(), nil)
	if err != nil || self.zombie || self.pgrp != syscall.Getpgrp() || time.Since(startTime(self.start)) > time.Hour || time.Since(startTime(self.start)) < -2*time.Second {
		t.Errorf("own stat %+v %v, started %v", self, err, startTime(self.start))
	}
}

func TestFileStem(t *testing.T) {
	if fileStem("data1") != "data1" || fileStem("a/b") == fileStem("a_b") || strings.ContainsAny(fileStem(`../odd "x"`), `/"`) ||
		strings.HasPrefix(fileStem(".."), ".") {
		t.Errorf("%q %q %q %q", fileStem("data1"), fileStem("a/b"), fileStem(`../odd "x"`), fileStem(".."))
	}
}

func TestDefaultStateDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if d := DefaultStateDir(); d != "/x/state/postdeck" {
		t.Error(d)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if d := DefaultStateDir(); d != "/home/u/.local/state/postdeck" {
		t.Error(d)
	}
}

// BenchmarkProcs100 times Procs with 100 running services started through
// the supervisor. At a 2 s poll, 1% of a core is 20 ms per call; the
// "%core@2s" metric is the share of one core Procs takes at that rate.
func BenchmarkProcs100(b *testing.B) {
	w := newSupWorld(b)
	for i := range 100 {
		w.service(fmt.Sprintf("data%03d", i), byte(i), nil)
	}
	s := w.sup()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for _, c := range w.cfg.Services {
		wg.Go(func() { errs <- s.Start(context.Background(), c.Name) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	procs := s.Procs()
	for name, p := range procs {
		if p.State != model.ProcRunning {
			b.Fatalf("%s: %+v", name, p)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		procs = s.Procs()
	}
	b.StopTimer()
	if len(procs) != 100 {
		b.Fatal(len(procs))
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/2e9*100, "%core@2s")
}

// Two postdecks on one state folder do not start or stop one service at once.
func TestSupervisorOneActionAtATime(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("data1", 1, nil)
	s1, s2 := w.sup(), w.sup()
	sv, err := s1.begin("data1", "starting")
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, s1.Start(context.Background(), "data1"), "data1 is already starting")
	wantErr(t, s2.Start(context.Background(), "data1"), "data1 is being started or stopped by another postdeck")
	wantErr(t, s2.Stop(context.Background(), "data1"), "data1 is being started or stopped by another postdeck")
	s1.end(sv)
	if err := s2.Stop(context.Background(), "data1"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("after the other finished: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s2.Start(ctx, "data1"); !errors.Is(err, context.Canceled) {
		t.Errorf("start with a cancelled context: %v", err)
	}
}
