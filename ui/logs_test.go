package ui

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend/proc"
	"postdeck/themes"
)

func TestLogRingKeepsTheLastLines(t *testing.T) {
	r := newLogRing(3)
	for i := range 5 {
		r.push(fmt.Sprint(i))
	}
	if r.n != 3 || r.first() != 2 || r.total != 5 {
		t.Fatalf("n %d first %d total %d", r.n, r.first(), r.total)
	}
	for a, want := range map[int64]string{2: "2", 3: "3", 4: "4"} {
		if got, ok := r.line(a); !ok || got != want {
			t.Errorf("line %d = %q, %v", a, got, ok)
		}
	}
	if _, ok := r.line(1); ok {
		t.Error("a dropped line is still there")
	}
	if _, ok := r.line(5); ok {
		t.Error("a line beyond the end is there")
	}
}

func TestLineSplitterCapsLines(t *testing.T) {
	s := lineSplitter{max: 16}
	var got []string
	emit := func(l string) { got = append(got, l) }
	s.feed([]byte("one\ntw"), emit)
	s.feed([]byte("o\r\n\x1b[31mred\x1b[0m\tx\n0123456789abcdef0123"), emit)
	if p, ok := s.partial(); !ok || p != "0123456789abcdef … [line cut: 4 B more]" {
		t.Errorf("partial %q %v", p, ok)
	}
	s.feed([]byte("ghij\nend\n"), emit)
	want := []string{"one", "two", "red    x", "0123456789abcdef … [line cut: 8 B more]", "end"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", got, want)
	}
	if _, ok := s.partial(); ok {
		t.Error("a partial line after a newline")
	}
	// Control characters cannot reach the terminal.
	if l := cleanLine([]byte("a\x07b\x1b]0;title\x07c"), 0); strings.ContainsAny(l, "\x07\x1b") {
		t.Errorf("control characters kept: %q", l)
	}
}

func write(t *testing.T, path, s string, appending bool) {
	t.Helper()
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appending {
		flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// logTest opens the logs view of svc1 over a log in a temp dir.
func logTest(t *testing.T, content string) (*Model, string) {
	t.Helper()
	s := demo()
	m, fa, _ := newActionTest(t, 100, 20, &s)
	fa.logDir = t.TempDir()
	path := fa.logPath("svc1")
	if content != "" {
		write(t, path, content, false)
	}
	press(m, "down")
	pump(m, press(m, "l"))
	if m.mode != modeLogs {
		t.Fatal("l did not open the logs view")
	}
	return m, path
}

// pump runs the logs view's reads until one leaves nothing more to read,
// without waiting for the poll timer.
func pump(m *Model, cmd tea.Cmd) {
	for cmd != nil {
		msg := cmd()
		_, cmd = m.Update(msg)
		if d, ok := msg.(logDataMsg); ok && !d.res.More {
			return
		}
	}
}

// poll is the timer firing once.
func poll(m *Model) {
	_, cmd := m.Update(logTickMsg{gen: m.logs.gen})
	pump(m, cmd)
}

func numbered(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %03d\n", i)
	}
	return b.String()
}

func TestLogsFollowPauseResume(t *testing.T) {
	m, path := logTest(t, numbered(1, 100))
	v := screen(m)
	mustContain(t, v, "logs svc1 · "+path, "following", "line 100", "line 085")
	mustNotContain(t, v, "line 084", "PAUSED")
	assertFits(t, m, 100, 20)

	write(t, path, numbered(101, 105), true)
	poll(m)
	v = screen(m)
	mustContain(t, v, "line 105", "following")
	mustNotContain(t, v, "line 089")

	// Scrolling up pauses: new lines no longer move the view.
	press(m, "up")
	v = screen(m)
	mustContain(t, v, "PAUSED — G/end to follow", "line 089", "line 104")
	mustNotContain(t, v, "line 105")
	write(t, path, numbered(106, 110), true)
	poll(m)
	v = screen(m)
	mustContain(t, v, "line 104", "(6 lines below)")
	mustNotContain(t, v, "line 110")

	press(m, "G")
	v = screen(m)
	mustContain(t, v, "following", "line 110")
	mustNotContain(t, v, "PAUSED")

	press(m, "g")
	mustContain(t, screen(m), "line 001", "PAUSED")
	press(m, "end")
	mustContain(t, screen(m), "line 110", "following")

	// q goes back to the table, and a late reply is dropped.
	gen := m.logs.gen
	press(m, "q")
	if m.mode != modeTable {
		t.Fatal("q did not leave the logs view")
	}
	if _, cmd := m.Update(logTickMsg{gen: gen}); cmd != nil {
		t.Error("a timer after closing still reads the file")
	}
	if _, cmd := m.Update(logDataMsg{gen: gen}); cmd != nil {
		t.Error("a stale read re-armed the poll")
	}
}

func TestLogsSearch(t *testing.T) {
	m, _ := logTest(t, numbered(1, 100))
	press(m, "/", "LINE 04", "enter") // case-insensitive; the newest match first
	v := screen(m)
	mustContain(t, v, "> line 049", "* line 048", "PAUSED", "/line 04")
	if !strings.Contains(m.View().Content, m.ink.match.pre+"line 04") {
		t.Error("the match is not highlighted")
	}
	press(m, "N")
	mustContain(t, screen(m), "> line 048")
	press(m, "n", "n")
	v = screen(m)
	mustContain(t, v, "> line 040") // wrapped around to the first match
	press(m, "/", "no such text", "enter")
	mustContain(t, screen(m), "no match for no such text")
	press(m, "G")
	mustContain(t, screen(m), "following")
}

func TestLogsTruncatedFile(t *testing.T) {
	m, path := logTest(t, numbered(1, 50))
	write(t, path, "fresh start\n", false)
	poll(m)
	v := screen(m)
	mustContain(t, v, "the log was truncated or replaced (rotated): reading it again from the start", "fresh start", "line 050")
}

func TestLogsMissingFile(t *testing.T) {
	m, path := logTest(t, "")
	mustContain(t, strings.Join(strings.Fields(screen(m)), " "), "no log yet for svc1 at "+path+": postdeck writes logs only for services it starts")
	// It appears later: the poll picks it up.
	write(t, path, "hello\n", false)
	poll(m)
	mustContain(t, screen(m), "hello", "following")

	// No log path at all (a service postdeck does not start).
	s := demo()
	m2, _, _ := newActionTest(t, 100, 20, &s)
	pump(m2, press(m2, "l"))
	mustContain(t, screen(m2), "no log file for svc0: postdeck writes logs only for services it starts")
	press(m2, "esc")
	mustContain(t, screen(m2), "NAME▲")

	// A row without a service has no log.
	press(m2, "down", "down", "down", "down", "l")
	if m2.mode != modeTable {
		t.Error("logs opened for a row without a service")
	}
	mustContain(t, screen(m2), "post4.key has no post-service, so no log")
}

// TestLogsLongLineBounded: a 10 MB log of one line costs a few KiB.
func TestLogsLongLineBounded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "svc.log")
	big := bytes.Repeat([]byte("x"), 10<<20)
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	s := demo()
	m, fa, _ := newActionTest(t, 100, 20, &s)
	fa.logDir = dir
	// The log is svc1's.
	if err := os.Rename(path, fa.logPath("svc1")); err != nil {
		t.Fatal(err)
	}
	path = fa.logPath("svc1")
	reads := 0
	cmd := press(m, "down", "l")
	for cmd != nil {
		msg := cmd()
		if d, ok := msg.(logDataMsg); ok {
			reads++
			if len(d.res.Data) > proc.LogReadMax {
				t.Fatalf("one read took %d bytes", len(d.res.Data))
			}
		}
		_, cmd = m.Update(msg)
		if d, ok := msg.(logDataMsg); ok && !d.res.More {
			break
		}
	}
	if reads != proc.LogTailWindow/proc.LogReadMax {
		t.Errorf("%d reads, want %d (only the tail window)", reads, proc.LogTailWindow/proc.LogReadMax)
	}
	held := func() int {
		n := cap(m.logs.split.part)
		for a := m.logs.ring.first(); a < m.logs.ring.total; a++ {
			l, _ := m.logs.ring.line(a)
			n += len(l)
		}
		return n
	}
	if h := held(); h > 4*maxLineBytes {
		t.Errorf("holds %d bytes for one long line", h)
	}
	mustContain(t, screen(m), "6 MiB earlier in the file not shown", "xxxxxxxx…")
	if l, _ := m.logs.lineAt(m.logs.ring.total); !strings.HasSuffix(l, "x … [line cut: 4.0 MiB more]") {
		t.Errorf("the partial line is not marked as cut: …%q", l[max(0, len(l)-40):])
	}
	assertFits(t, m, 100, 20)

	// More of the same line, then its end and a short line.
	write(t, path, string(big[:3<<20])+"\nshort\n", true)
	poll(m)
	poll(m)
	poll(m)
	poll(m)
	mustContain(t, screen(m), "short")
	if l, _ := m.logs.lineAt(m.logs.ring.total - 2); !strings.HasSuffix(l, "x … [line cut: 7.0 MiB more]") {
		t.Errorf("the long line is not marked as cut: …%q", l[max(0, len(l)-40):])
	}
	if h := held(); h > 4*maxLineBytes {
		t.Errorf("holds %d bytes after the line ended", h)
	}
	if n := m.logs.ring.n; n > 3 {
		t.Errorf("%d lines kept", n)
	}
}

func TestLogsKeepAtMostMaxLines(t *testing.T) {
	m, path := logTest(t, numbered(1, maxLogLines+500))
	if m.logs.ring.n != maxLogLines {
		t.Errorf("%d lines kept, want %d", m.logs.ring.n, maxLogLines)
	}
	// Paused at the top, the top line leaves the ring: the view stays valid.
	press(m, "g")
	write(t, path, numbered(maxLogLines+501, maxLogLines+600), true)
	poll(m)
	v := screen(m)
	mustContain(t, v, "PAUSED", fmt.Sprintf("line %03d", 601))
	mustNotContain(t, v, "line 001")
}

func TestLogsFitSmallScreens(t *testing.T) {
	m, _ := logTest(t, numbered(1, 50)+strings.Repeat("wide ", 100)+"\n")
	for _, sz := range [][2]int{{80, 24}, {60, 15}, {40, 10}, {20, 6}} {
		m.Update(sizeMsg(sz[0], sz[1]))
		assertFits(t, m, sz[0], sz[1])
		press(m, "right", "up")
		assertFits(t, m, sz[0], sz[1])
		press(m, "/", "wide", "enter")
		assertFits(t, m, sz[0], sz[1])
		press(m, "left", "G")
	}
}

// A systemd unit's log is its journal: the view shows its lines and
// follows what journalctl shows after the last cursor.
func TestLogsJournal(t *testing.T) {
	bin := t.TempDir()
	script := "#!/bin/sh\n" +
		"case \" $* \" in\n" +
		"*\" --after-cursor c1 \"*) echo 'unit line 3'; echo '-- cursor: c2' ;;\n" +
		"*\" --after-cursor \"*) echo '-- cursor: c2' ;;\n" +
		"*) echo 'unit line 1'; echo 'unit line 2'; echo '-- cursor: c1' ;;\n" +
		"esac\n"
	if err := os.WriteFile(filepath.Join(bin, "journalctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	s := demo()
	m, fa, _ := newActionTest(t, 100, 20, &s)
	fa.logUnit = "post-svc1.service"
	press(m, "down")
	pump(m, press(m, "l"))
	v := screen(m)
	mustContain(t, v, "logs svc1 · journal of post-svc1.service", "unit line 1", "unit line 2", "following")
	mustNotContain(t, v, "cursor")
	poll(m)
	mustContain(t, screen(m), "unit line 3")
	poll(m)
	if v := screen(m); strings.Count(v, "unit line 3") != 1 {
		t.Errorf("a line shown twice:\n%s", v)
	}
}

// A read-only session may read logs (reading acts on nothing) when it is
// given a log reader, and still may not act.
func TestReadOnlySessionReadsLogs(t *testing.T) {
	fa := &fakeActions{logDir: t.TempDir()}
	write(t, fa.logPath("svc1"), numbered(1, 30), false)
	m := New(Options{Theme: themes.Dark(), Interval: 2 * time.Second, ReadOnly: true, Logs: fa,
		Now: func() time.Time { return testNow.Add(time.Second) }})
	m.Update(sizeMsg(100, 20))
	m.Update(SnapshotMsg{demo()})
	press(m, "down")
	pump(m, press(m, "l"))
	mustContain(t, screen(m), "logs svc1", "line 030")
	press(m, "esc")
	press(m, "s")
	mustContain(t, screen(m), "s start: not in a read-only session")
	if len(fa.got()) > 0 {
		t.Fatalf("a read-only session called %v", fa.got())
	}
}
