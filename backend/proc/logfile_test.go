package proc

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
)

// A binary that exits at once is reported with what this run wrote, not
// with the previous run's lines still at the end of its log.
func TestSupervisorExitAtOnceShowsThisRunOnly(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("broken", 1, func(c *config.ServiceConfig) { c.Env = map[string]string{"FAKE_EXIT": "3"} })
	s := w.sup()
	os.MkdirAll(filepath.Dir(s.LogPath("broken")), 0o700)
	testkit.WriteFile(t, s.LogPath("broken"), startMarker("broken", time.Now().Add(-time.Hour))+"\nprevious run: stale line 1\nprevious run: stale line 2\n")
	err := s.Start(context.Background(), "broken")
	wantErr(t, err, "broken exited at once (exit status 3)", "Error: could not open the PoST data", "--- postdeck: command: "+w.bin)
	if strings.Contains(err.Error(), "stale") {
		t.Errorf("the previous run's lines are shown:\n%v", err)
	}
	log, _ := os.ReadFile(s.LogPath("broken"))
	if bytes.Count(log, []byte("--- postdeck: starting broken at ")) != 2 {
		t.Errorf("log:\n%s", log)
	}
}

// runTail reaches into the rotated part for the marker, and ignores the
// markers of other services (a name that extends this one's).
func TestSupervisorRunTail(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("d1", 1, nil)
	s := w.sup()
	path := s.LogPath("d1")
	now := time.Now()
	testkit.WriteFile(t, path+".1", "old\n"+startMarker("d1", now)+"\nA\n"+startMarker("d10", now)+"\n")
	testkit.WriteFile(t, path, "B\nC\n")
	sv := s.svcs["d1"]
	if got := s.runTail(sv, 10); strings.Join(got, "|") != "A|"+startMarker("d10", now)+"|B|C" {
		t.Errorf("runTail %q", got)
	}
	if got := s.runTail(sv, 2); strings.Join(got, "|") != "B|C" {
		t.Errorf("runTail 2: %q", got)
	}
}

// followBuffer is a testkit.SyncBuf that is told when followFile has begun
// (followStarter).
type followBuffer struct {
	testkit.SyncBuf
	began chan struct{}
}

func (b *followBuffer) followStarted() { close(b.began) }

// FollowLog follows a log file from its end: new lines, a log that appears
// later, a log capped (truncated) under it; it ends with its context.
func TestSupervisorFollowLogFile(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("d1", 1, nil)
	s := w.sup()
	s.followEvery = 5 * time.Millisecond
	path := s.LogPath("d1")
	ctx, cancel := context.WithCancel(context.Background())
	out := &followBuffer{began: make(chan struct{})}
	res := make(chan error, 1)
	go func() { res <- s.FollowLog(ctx, "d1", out) }()
	appendTo := func(text string) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(text)
		f.Close()
	}
	select { // following began (its starting offset taken) before the log exists
	case <-out.began:
	case <-time.After(5 * time.Second):
		t.Fatal("FollowLog did not begin")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the log exists before the test writes it: %v", err)
	}
	appendTo("first\n") // the log did not exist when following began
	testkit.WaitFor(t, "the first line", func() bool { return out.String() == "first\n" })
	appendTo("second\n")
	testkit.WaitFor(t, "the second line", func() bool { return out.String() == "first\nsecond\n" })
	// Capped: copied to .log.1 and truncated in place.
	appendTo(strings.Repeat("x", 100) + "\n")
	testkit.WaitFor(t, "the long line", func() bool { return strings.HasSuffix(out.String(), "x\n") })
	if err := rotateLog(path); err != nil {
		t.Fatal(err)
	}
	appendTo("after cap\n")
	testkit.WaitFor(t, "the line after the cap", func() bool {
		return strings.HasSuffix(out.String(), logCapped+"\nafter cap\n")
	})
	cancel()
	select {
	case err := <-res:
		if err != nil {
			t.Errorf("FollowLog: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("FollowLog did not end with its context")
	}
	if err := s.FollowLog(context.Background(), "nope", out); err == nil || !strings.Contains(err.Error(), `no service named "nope"`) {
		t.Errorf("unknown service: %v", err)
	}
}

// fakeJournalctl records its arguments; with -f it prints one line and
// waits to be killed.
const fakeJournalctl = `#!/bin/sh
echo "$*" >> %STATE%/journal-calls
case " $* " in
*" -f "*) echo "followed line"; exec %SLEEP% 60 ;;
*) echo "journal line 1"; echo "journal line 2" ;;
esac
`

// A systemd unit's log is its journal: LogTail asks journalctl -n, FollowLog
// follows with journalctl -f until its context ends.
func TestSupervisorJournal(t *testing.T) {
	w := newSupWorld(t)
	fake := filepath.Join(w.root, "fakebin")
	os.MkdirAll(fake, 0o755)
	sleep := "/bin/sleep"
	if _, err := os.Stat(sleep); err != nil {
		sleep = "/usr/bin/sleep"
	}
	writeScript(t, filepath.Join(fake, "journalctl"),
		strings.NewReplacer("#!/bin/sh\n", "", "%STATE%", w.root, "%SLEEP%", sleep).Replace(fakeJournalctl))
	t.Setenv("PATH", fake)
	w.service("u1", 1, func(c *config.ServiceConfig) { c.Bin, c.SystemdUnit = "", "post-u1.service" })
	s := w.sup()

	if got := s.LogTail("u1", 7); strings.Join(got, "|") != "journal line 1|journal line 2" {
		t.Errorf("LogTail %q", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &testkit.SyncBuf{}
	res := make(chan error, 1)
	go func() { res <- s.FollowLog(ctx, "u1", out) }()
	testkit.WaitFor(t, "the followed line", func() bool { return out.String() == "followed line\n" })
	cancel()
	select {
	case err := <-res:
		if err != nil {
			t.Errorf("FollowLog: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("FollowLog did not end with its context")
	}
	calls, _ := os.ReadFile(filepath.Join(w.root, "journal-calls"))
	if string(calls) != "-u post-u1.service -n 7 --no-pager -o cat\n-u post-u1.service -f -n 0 --no-pager -o cat\n" {
		t.Errorf("journalctl calls:\n%s", calls)
	}

	t.Setenv("PATH", filepath.Join(w.root, "empty"))
	if err := s.FollowLog(context.Background(), "u1", out); err == nil || !strings.Contains(err.Error(), "journalctl not found") {
		t.Errorf("without journalctl: %v", err)
	}
	if got := s.LogTail("u1", 3); len(got) != 1 || !strings.Contains(got[0], "journalctl not found") {
		t.Errorf("LogTail without journalctl: %q", got)
	}
}
