package proc

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"postdeck/backend/testkit"
)

func TestProcScanFakeTree(t *testing.T) {
	root := t.TempDir()
	testkit.FakeProc(t, root, "1", []string{"/sbin/init"}, "", false)
	testkit.FakeProc(t, root, "100", []string{"/usr/local/bin/post-service", "--address", "http://127.0.0.1:9094",
		"--dir", "/mnt/d1/data1", "--operator-address", "127.0.0.1:50051", "--threads", "1"}, "", false)
	testkit.FakeProc(t, root, "25", []string{"post-service", "-a=http://127.0.0.1:9094", "-d", "data2"}, "/mnt/d2", false)
	testkit.FakeProc(t, root, "300", []string{"./post-service", "--dir=/x/data3", "--address=https://node:443",
		"--operator-address=0.0.0.0:50053"}, "", true)
	testkit.FakeProc(t, root, "301", []string{"/usr/bin/post-service-wrapper", "--dir", "/nope"}, "", false)
	testkit.FakeProc(t, root, "302", []string{"/bin/sh", "-c", "post-service --dir /nope"}, "", false)
	testkit.FakeProc(t, root, "303", nil, "", false) // kernel thread: empty cmdline
	testkit.FakeProc(t, root, "304", []string{"post-service", "-d/y/data4", "--", "--dir", "/not/this"}, "", false)
	if err := os.MkdirAll(filepath.Join(root, "305"), 0o700); err != nil { // gone before we read it
		t.Fatal(err)
	}
	testkit.FakeProc(t, root, "self", []string{"post-service", "--dir", "/self"}, "", false)

	got, err := ScanPostServices(root)
	if err != nil {
		t.Fatal(err)
	}
	type short struct {
		PID                    int
		Dir, Address, Operator string
	}
	var gs []short
	for _, p := range got {
		gs = append(gs, short{p.PID, p.Dir, p.Address, p.Operator})
	}
	want := []short{
		{25, "/mnt/d2/data2", "http://127.0.0.1:9094", ""},
		{100, "/mnt/d1/data1", "http://127.0.0.1:9094", "127.0.0.1:50051"},
		{300, "/x/data3", "https://node:443", "0.0.0.0:50053"},
		{304, "/y/data4", "", ""},
	}
	if !reflect.DeepEqual(gs, want) {
		t.Errorf("got  %+v\nwant %+v", gs, want)
	}
	if len(got) > 1 && !reflect.DeepEqual(got[1].Args[len(got[1].Args)-2:], []string{"--threads", "1"}) {
		t.Errorf("Args not kept whole: %q", got[1].Args)
	}
	if _, err := ScanPostServices(filepath.Join(root, "none")); err == nil {
		t.Error("missing proc root: no error")
	}
}

func TestProcScanArgForms(t *testing.T) {
	cases := []struct {
		args                   []string
		dir, address, operator string
	}{
		{[]string{"post-service", "--dir", "a"}, "a", "", ""},
		{[]string{"post-service", "--dir=a"}, "a", "", ""},
		{[]string{"post-service", "-d", "a"}, "a", "", ""},
		{[]string{"post-service", "-d=a"}, "a", "", ""},
		{[]string{"post-service", "-da"}, "a", "", ""},
		{[]string{"post-service", "-a", "http://h:1", "--operator-address", "1.2.3.4:5"}, "", "http://h:1", "1.2.3.4:5"},
		{[]string{"post-service", "--dir", "a", "--dir", "b"}, "b", "", ""},
		{[]string{"post-service", "--threads", "--dir"}, "", "", ""}, // flag at the end has no value
		{[]string{"post-service", "--directory", "a"}, "", "", ""},
	}
	for _, c := range cases {
		p := ParsePostServiceArgs(c.args)
		if p.Dir != c.dir || p.Address != c.address || p.Operator != c.operator {
			t.Errorf("%q: got dir %q address %q operator %q", c.args, p.Dir, p.Address, p.Operator)
		}
	}
}

// TestProcScanRealProcess starts a real process named post-service (/bin/sh
// through a symlink, waiting on its stdin) and finds it in the real /proc. A
// symlink rather than a copy: executing a file just written can fail with
// "text file busy" while another test forks.
func TestProcScanRealProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc on this system")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "post-service")
	if err := os.Symlink("/bin/sh", bin); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(tmp, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	// sh -c 'read line' ARG0 ARGS…: the extra args only fill $0, $1…; the
	// shell waits on stdin until the test closes it.
	cmd := exec.Command(bin, "-c", "read line", "--dir", "data9", "--operator-address", "127.0.0.1:5")
	cmd.Dir = work
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})

	procs, err := ScanPostServices("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if p.PID != cmd.Process.Pid {
			continue
		}
		if p.Dir != filepath.Join(work, "data9") || p.Operator != "127.0.0.1:5" || p.Args[0] != bin {
			t.Errorf("found %+v", p)
		}
		return
	}
	t.Fatalf("pid %d not found among %+v", cmd.Process.Pid, procs)
}

// A post-service of another name is recognised by its arguments: a --dir
// holding postdata_metadata.json (or, for the supervisor, a configured
// service's dir) and an --address. Shells, launchers and postdeck's own
// commands carrying those arguments are not post-services.
func TestProcScanAnyName(t *testing.T) {
	root := t.TempDir()
	data := t.TempDir()
	d1, d2, d3, bare := filepath.Join(data, "data1"), filepath.Join(data, "data2"), filepath.Join(data, "data3"), filepath.Join(data, "bare")
	for i, d := range []string{d1, d2, d3} {
		os.MkdirAll(d, 0o700)
		testkit.Metadata(t, d, bytes.Repeat([]byte{byte(i + 1)}, 32), 1)
	}
	os.MkdirAll(bare, 0o700) // no metadata: not a PoST data dir
	addr := "http://127.0.0.1:9094"
	// The guide's way: ./service --dir=../data1 from a folder next to data1.
	testkit.FakeProc(t, root, "10", []string{"./service", "--dir=../data1", "--address", addr}, filepath.Join(data, "bin"), false)
	testkit.FakeProc(t, root, "11", []string{"/opt/post/post-service-v0.8", "-a", addr, "-d", d2, "--operator-address", "127.0.0.1:50052"}, "", false)
	testkit.FakeProc(t, root, "12", []string{"/usr/local/bin/postdeck", "--config", "/c.toml", "sim-service", "--address", addr, "--dir", d3}, "", false)
	// Not post-services.
	testkit.FakeProc(t, root, "20", []string{"./service", "--dir", d1}, "", false)                         // no --address
	testkit.FakeProc(t, root, "21", []string{"./webserver", "--dir", bare, "--address", ":80"}, "", false) // not a PoST data dir
	testkit.FakeProc(t, root, "22", []string{"/bin/sh", "-c", "./service --dir " + d1 + " --address " + addr}, "", false)
	testkit.FakeProc(t, root, "23", []string{"/bin/sh", "/opt/post/run-post.sh", "--address", addr, "--dir", d1}, "", false) // a wrapper script's shell
	testkit.FakeProc(t, root, "24", []string{"bash", "/opt/post/run-post.sh", "--address", addr, "--dir", d1}, "", false)
	testkit.FakeProc(t, root, "25", []string{"sudo", "-u", "sm", "./service", "--dir", d1, "--address", addr}, "", false)
	testkit.FakeProc(t, root, "26", []string{"tmux", "new", "-d", "./service", "--dir", d1, "--address", addr}, "", false)
	testkit.FakeProc(t, root, "27", []string{"timeout", "1h", "./service", "--dir", d1, "--address", addr}, "", false)
	testkit.FakeProc(t, root, "28", []string{"python3", "wrap.py", "--dir", d1, "--address", addr}, "", false)
	testkit.FakeProc(t, root, "29", []string{"postdeck", "start", "data1"}, "", false)
	testkit.FakeProc(t, root, "30", []string{"postdeck", "logs", "-f", "data1"}, "", false)
	testkit.FakeProc(t, root, "31", []string{"postdeck", "sim", "--dir", d1, "--address", addr}, "", false)
	testkit.FakeProc(t, root, "32", []string{"/usr/bin/postdeck", "--theme", "light", "start", "--dir", d1, "--address", addr}, "", false)
	testkit.FakeProc(t, root, "33", []string{"./service", "--dir", "--address", addr}, "", false) // --dir without a value

	got, err := ScanPostServices(root)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range got {
		pids = append(pids, p.PID)
	}
	if !reflect.DeepEqual(pids, []int{10, 11, 12}) {
		t.Fatalf("found pids %v, want [10 11 12]: %+v", pids, got)
	}
	if got[0].Dir != d1 || got[0].Address != addr || got[1].Dir != d2 || got[1].Operator != "127.0.0.1:50052" || got[2].Dir != d3 {
		t.Errorf("parsed %+v", got)
	}

	// The supervisor's scanner also takes a configured dir without
	// metadata (not written yet, or unreadable), and only with --address.
	testkit.FakeProc(t, root, "40", []string{"/opt/post/svc", "--dir", bare, "--address", addr}, "", false)
	testkit.FakeProc(t, root, "41", []string{"/opt/post/svc", "--dir", bare}, "", false)
	for _, pid := range []string{"10", "11", "12", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32", "33", "40", "41"} {
		testkit.WriteFile(t, filepath.Join(root, pid, "stat"), pid+" (x) S 1 "+pid+" "+pid+" 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1000 0 0\n")
	}
	table, err := newProcScanner(root, map[string]bool{bare: true}).scan()
	if err != nil {
		t.Fatal(err)
	}
	var posts []int
	for pid, e := range table {
		if e.post != nil {
			posts = append(posts, pid)
		}
	}
	slices.Sort(posts)
	if !reflect.DeepEqual(posts, []int{10, 11, 12, 21, 40}) {
		t.Errorf("scanner recognised %v, want [10 11 12 21 40] (21: a configured dir, whatever the program)", posts)
	}
}
