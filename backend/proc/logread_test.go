package proc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
)

func readOnce(t *testing.T, src LogSource, cur LogCursor) LogChunk {
	t.Helper()
	c, err := ReadLog(context.Background(), src, cur)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReadLogAppendedTruncatedRotated(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "svc.log")
	src := LogSource{Path: path}
	if res := readOnce(t, src, LogCursor{}); !res.Missing {
		t.Fatalf("a missing file is not reported missing: %+v", res)
	}
	testkit.WriteFile(t, path, "a\nb\n")
	res := readOnce(t, src, LogCursor{})
	if string(res.Data) != "a\nb\n" || res.Next.offset != 4 || res.Reset || res.More {
		t.Fatalf("first read %+v", res)
	}
	testkit.WriteFile(t, path, "a\nb\nc\n") // the same file, grown
	res2 := readOnce(t, src, res.Next)
	if string(res2.Data) != "c\n" || res2.Next.offset != 6 || res2.Reset {
		t.Fatalf("appended read %+v", res2)
	}
	// Truncated: shorter than what was read.
	testkit.WriteFile(t, path, "x\n")
	res3 := readOnce(t, src, res2.Next)
	if !res3.Reset || string(res3.Data) != "x\n" {
		t.Fatalf("truncated read %+v", res3)
	}
	// Rotated: another file under the name, even a longer one.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	testkit.WriteFile(t, path, "new 1\nnew 2\n")
	res4 := readOnce(t, src, res3.Next)
	if !res4.Reset || string(res4.Data) != "new 1\nnew 2\n" {
		t.Fatalf("rotated read %+v", res4)
	}
	// Nothing new: nothing read.
	if res5 := readOnce(t, src, res4.Next); len(res5.Data) != 0 || res5.Reset || res5.Next.offset != res4.Next.offset {
		t.Fatalf("idle read %+v", res5)
	}
}

// fakeCursorJournal prints two lines and a cursor on a first read, one
// line after that cursor, and records its arguments.
const fakeCursorJournal = `echo "$*" >> %STATE%/journal-calls
case " $* " in
*" --after-cursor c1 "*) echo "line 3"; echo "-- cursor: c2" ;;
*) echo "line 1"; echo "line 2"; echo "-- cursor: c1" ;;
esac
`

// A systemd unit's log is its journal: the first read takes its last lines,
// the next ones what came after the cursor journalctl showed.
func TestReadLogJournal(t *testing.T) {
	w := newSupWorld(t)
	fake := filepath.Join(w.root, "fakebin")
	writeScript(t, filepath.Join(fake, "journalctl"), strings.ReplaceAll(fakeCursorJournal, "%STATE%", w.root))
	t.Setenv("PATH", fake)
	w.service("u1", 1, func(c *config.ServiceConfig) { c.Bin, c.SystemdUnit = "", "post-u1.service" })
	w.service("d1", 1, nil)
	s := w.sup()
	src, err := s.LogSource("u1")
	if err != nil || src.Unit != "post-u1.service" || src.Path != "" || src.Read != nil {
		t.Fatalf("LogSource(u1) = %+v, %v", src, err)
	}
	if src, err := s.LogSource("d1"); err != nil || src.Path != s.LogPath("d1") || src.Unit != "" {
		t.Errorf("LogSource(d1) = %+v, %v", src, err)
	}
	if _, err := s.LogSource("nope"); err == nil || !strings.Contains(err.Error(), `no service named "nope"`) {
		t.Errorf("unknown service: %v", err)
	}
	first := readOnce(t, src, LogCursor{})
	if string(first.Data) != "line 1\nline 2\n" {
		t.Errorf("first read %q", first.Data)
	}
	next := readOnce(t, src, first.Next)
	if string(next.Data) != "line 3\n" || next.Next.journal != "c2" {
		t.Errorf("next read %q, cursor %q", next.Data, next.Next.journal)
	}
	calls, _ := os.ReadFile(filepath.Join(w.root, "journal-calls"))
	want := "-u post-u1.service --no-pager -o cat --show-cursor -n 2000\n" +
		"-u post-u1.service --no-pager -o cat --show-cursor --after-cursor c1\n"
	if string(calls) != want {
		t.Errorf("journalctl calls:\n%s", calls)
	}
	t.Setenv("PATH", filepath.Join(w.root, "empty"))
	if _, err := ReadLog(context.Background(), src, LogCursor{}); err == nil || !strings.Contains(err.Error(), "journalctl not found") {
		t.Errorf("without journalctl: %v", err)
	}
}
