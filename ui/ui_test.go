package ui

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"postdeck/model"
	"postdeck/themes"
)

func TestSnapshotShowsRowsAndHeader(t *testing.T) {
	s := demo()
	m := newTest(t, 140, 30, &s)
	v := screen(m)
	mustContain(t, v,
		"postdeck test", "node v1.7.6", "synced", "layer 12345", "42 peers", "updated just now",
		"1 critical", "1 warning ", "PROVING 3", "IDLE 3", "done 1", "unreachable 1",
		"NAME▲", "ID", "NODE", "SERVICE", "STATE", "PROGRESS", "SIZE", "HEALTH",
		"post0.key", "post5.key", "svc0", hex.EncodeToString(idOf("post0.key"))[:8],
		"37% p2", "256 GiB", "service-down-while-proving", "no-service",
	)
	// Severity is readable without colour: markers on critical and warned rows.
	mustContain(t, v, "!post3.key", "*post4.key")
}

func TestHeaderShowsNodeProblems(t *testing.T) {
	s := demo()
	s.Node.Synced = false
	s.Node.Errors = []model.SourceError{{Source: "node/post", Message: "post listener 127.0.0.1:9094: connection refused — is the node running?"}}
	m := newTest(t, 160, 30, &s)
	v := screen(m)
	mustContain(t, v, "NOT SYNCED", "node: post listener 127.0.0.1:9094: connection refused")
	mustNotContain(t, v, "is the node running?")

	// A missed poll shows the age; three make the data stale.
	m.now = func() time.Time { return testNow.Add(4 * time.Second) }
	mustContain(t, screen(m), "updated 4s ago")
	mustNotContain(t, screen(m), "stale")
	m.now = func() time.Time { return testNow.Add(7 * time.Second) }
	mustContain(t, screen(m), "updated 7s ago (stale)")
}

func TestEmptyStates(t *testing.T) {
	m := newTest(t, 100, 20, nil)
	mustContain(t, screen(m), "waiting for the first poll…")

	empty := snapshotOf()
	empty.Node.Errors = []model.SourceError{
		{Source: "node/post", Message: "post listener 127.0.0.1:1: connection refused — is the node running?"},
		{Source: "node/public", Message: "public listener not configured — set it"},
	}
	m.Update(SnapshotMsg{empty})
	v := screen(m)
	mustContain(t, v, "no identities: configure [[service]] entries or check the node",
		"node: post listener 127.0.0.1:1: connection refused (+1 more)",
		"node/post: post listener 127.0.0.1:1: connection refused — is the node running?",
		"node/public: public listener not configured — set it")

	s := demo()
	m.Update(SnapshotMsg{s})
	press(m, "/", "nothing-like-this", "enter")
	mustContain(t, screen(m), `no identities match filter "nothing-like-this"`)
}

func TestSortByColumnAndReverse(t *testing.T) {
	s := demo()
	m := newTest(t, 140, 30, &s)
	// Sizes: post3 64 GiB < post1 128 < post5 192 < post0 256 < post2 512.
	press(m, "7")
	v := screen(m)
	mustContain(t, v, "SIZE▲")
	mustNotContain(t, v, "NAME▲")
	p := order(v, "post3.key", "post1.key", "post5.key", "post0.key", "post2.key")
	if !(p[0] < p[1] && p[1] < p[2] && p[2] < p[3] && p[3] < p[4]) {
		t.Errorf("not ascending by size: %v\n%s", p, v)
	}
	press(m, "7")
	v = screen(m)
	mustContain(t, v, "SIZE▼")
	p = order(v, "post3.key", "post1.key", "post5.key", "post0.key", "post2.key")
	if !(p[0] > p[1] && p[1] > p[2] && p[2] > p[3] && p[3] > p[4]) {
		t.Errorf("not descending by size: %v\n%s", p, v)
	}
	// Another column sorts ascending again.
	press(m, "9")
	mustContain(t, screen(m), "HEALTH▲")
}

func TestFilterRegexAndInvert(t *testing.T) {
	s := demo()
	m := newTest(t, 140, 30, &s)
	press(m, "/", "post[12]")
	v := screen(m)
	mustContain(t, v, "post1.key", "post2.key", "/post[12]")
	mustNotContain(t, v, "post0.key", "post3.key")

	press(m, "enter")
	v = screen(m)
	mustContain(t, v, "post1.key", "filter post[12]")
	mustNotContain(t, v, "post0.key")

	// "!" inverts.
	press(m, "/", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace",
		"!post[12]", "enter")
	v = screen(m)
	mustContain(t, v, "post0.key", "post3.key", "post5.key")
	mustNotContain(t, v, "post1.key", "post2.key")

	// Esc on the table clears the filter and does not quit.
	if cmd := press(m, "esc"); cmd != nil {
		t.Errorf("esc returned a command")
	}
	mustContain(t, screen(m), "post1.key", "post0.key")
}

func TestInvalidRegexKeepsLastFilter(t *testing.T) {
	s := demo()
	m := newTest(t, 140, 30, &s)
	press(m, "/", "post[12")
	v := screen(m)
	mustContain(t, v, "bad filter", "missing closing ]")
	// The last valid text, "post", is still in force: every row matches it.
	mustContain(t, v, "post0.key", "post5.key")

	press(m, "]")
	mustNotContain(t, screen(m), "bad filter", "post0.key")

	press(m, "(", "enter") // invalid again, then kept: the valid filter stays
	v = screen(m)
	mustNotContain(t, v, "bad filter", "post0.key")
	mustContain(t, v, "post1.key", "filter post[12]")
}

func TestEscWhileTypingClearsFilter(t *testing.T) {
	s := demo()
	m := newTest(t, 140, 30, &s)
	press(m, "/", "post1", "esc")
	v := screen(m)
	mustContain(t, v, "post0.key", "post1.key")
	mustNotContain(t, v, "filter post1")
}

func TestDetailView(t *testing.T) {
	s := demo()
	m := newTest(t, 100, 40, &s)
	press(m, "down", "down", "down", "enter") // post3: unreachable while the node waits
	v := screen(m)
	mustContain(t, v,
		hex.EncodeToString(idOf("post3.key")), "svc3", "/data/svc3", "127.0.0.1:50051",
		"unreachable", "service-down-while-proving (critical)", "Start the post-service",
		"operator: dial tcp 127.0.0.1:50054: connection refused",
	)

	press(m, "esc", "down", "down", "enter") // post5: an unknown /status body
	v = screen(m)
	mustContain(t, v, hex.EncodeToString(idOf("post5.key")), `{"weird":true}`, "unknown")

	press(m, "q")
	mustContain(t, screen(m), "NAME▲")

	press(m, "home", "enter") // post0: proving
	mustContain(t, screen(m), "pass 2", "phase disk", "NumUnits", "256 GiB")
}

func TestDetailFollowsSnapshots(t *testing.T) {
	s := demo()
	m := newTest(t, 100, 40, &s)
	press(m, "down", "enter") // post1: idle
	mustContain(t, screen(m), `"Idle"`)

	s2 := snapshotOf(ident{name: "post1.key", node: model.NodeProving, svc: "svc1", units: 2,
		body: `{"Proving":{"nonces":{"start":0,"end":128},"position":0}}`})
	m.Update(SnapshotMsg{s2})
	mustContain(t, screen(m), "phase k2pow")

	m.Update(SnapshotMsg{snapshotOf()})
	mustContain(t, screen(m), "not in the latest snapshot")
}

func TestHelpListsKeymap(t *testing.T) {
	s := demo()
	m, _, _ := newActionTest(t, 100, 60, &s) // view-only hides the action keys
	press(m, "?")
	v := screen(m)
	for _, group := range DefaultKeyMap().FullHelp() {
		for _, b := range group {
			mustContain(t, v, b.Help().Key, b.Help().Desc)
		}
	}
	mustContain(t, v, "7 SIZE")
	press(m, "?")
	mustContain(t, screen(m), "NAME▲")
}

func TestCursorKeepsRowAcrossSnapshots(t *testing.T) {
	s := demo()
	m := newTest(t, 140, 30, &s)
	press(m, "5", "down", "down") // sort by service state
	want := selectedLine(t, m)
	name := strings.Fields(strings.TrimLeft(want, ">!* "))[0]

	// The same identities, states shuffled: the selected row sorts elsewhere.
	s2 := snapshotOf(
		ident{name: "post0.key", node: model.NodeIdle, svc: "svc0", body: `"DoneProving"`, units: 4},
		ident{name: "post1.key", node: model.NodeIdle, svc: "svc1", body: `"DoneProving"`, units: 2},
		ident{name: "post2.key", node: model.NodeIdle, svc: "svc2", body: `"Idle"`, units: 8},
		ident{name: "post3.key", node: model.NodeIdle, svc: "svc3", body: `"Idle"`, units: 1},
		ident{name: "post4.key", node: model.NodeIdle, svc: "svc4", body: `"Idle"`},
		ident{name: "post5.key", node: model.NodeIdle, svc: "svc5", body: `"DoneProving"`, units: 3},
	)
	m.Update(SnapshotMsg{s2})
	if got := selectedLine(t, m); !strings.Contains(got, name) {
		t.Errorf("cursor left %s: now on %q", name, got)
	}
}

func TestNavigationKeys(t *testing.T) {
	s := many(100)
	m := newTest(t, 100, 24, &s)
	press(m, "end")
	mustContain(t, selectedLine(t, m), "post0099.key")
	press(m, "home")
	mustContain(t, selectedLine(t, m), "post0000.key")
	press(m, "pgdown")
	mustContain(t, selectedLine(t, m), "post0020.key") // 24 - 2 header - 1 footer - 1 column header
	press(m, "j", "j", "k")
	mustContain(t, selectedLine(t, m), "post0021.key")
	press(m, "pgup", "G")
	mustContain(t, selectedLine(t, m), "post0099.key")
	press(m, "g", "up")
	mustContain(t, selectedLine(t, m), "post0000.key")
}

// assertFits checks the view fills at most w×h cells.
func assertFits(t *testing.T, m *Model, w, h int) {
	t.Helper()
	content := m.View().Content
	lines := strings.Split(content, "\n")
	if len(lines) > h {
		t.Errorf("%d lines, want ≤ %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d cells wide, want ≤ %d: %q", i, n, w, ansi.Strip(l))
		}
	}
}

func TestFits80x24(t *testing.T) {
	s := many(200)
	s.Node.Errors = []model.SourceError{{Source: "node/post", Message: "post listener not configured — set it"}}
	s.Rows[3].Health = append(s.Rows[3].Health, model.HealthDuplicate, model.HealthServiceDown)
	m := newTest(t, 80, 24, &s)
	assertFits(t, m, 80, 24)
	v := screen(m)
	mustContain(t, v, "NAME", "STATE", "HEALTH", "post0000.key", "updated")

	press(m, "enter")
	assertFits(t, m, 80, 24)
	press(m, "esc", "?")
	assertFits(t, m, 80, 24)
	press(m, "esc", "/", "post[")
	assertFits(t, m, 80, 24)
	press(m, "esc")

	d := demo()
	m.Update(SnapshotMsg{d})
	assertFits(t, m, 80, 24)
	press(m, "down", "down", "down", "enter")
	assertFits(t, m, 80, 24)

	// And on resize, down to very small terminals.
	for _, sz := range [][2]int{{60, 15}, {40, 10}, {120, 40}} {
		m.Update(sizeMsg(sz[0], sz[1]))
		assertFits(t, m, sz[0], sz[1])
		press(m, "esc", "?")
		assertFits(t, m, sz[0], sz[1])
		press(m, "?", "/", "abc")
		assertFits(t, m, sz[0], sz[1])
		press(m, "esc", "down", "enter")
		press(m, "esc")
		assertFits(t, m, sz[0], sz[1])
		press(m, "enter")
	}
}

func TestNoColorHasNoEscapes(t *testing.T) {
	s := demo()
	m := New(Options{Theme: themes.ByName("dark", true), Interval: time.Second, Title: "t",
		Now: func() time.Time { return testNow }})
	m.Update(sizeMsg(100, 30))
	m.Update(SnapshotMsg{s})
	for _, keys := range [][]string{nil, {"down", "down"}, {"enter"}, {"esc", "?"}, {"esc", "/", "post["}} {
		press(m, keys...)
		if v := m.View().Content; strings.ContainsRune(v, '\x1b') {
			t.Fatalf("escape in colourless output after %v: %q", keys, v)
		}
	}
}

func TestOnlyVisibleRowsRendered(t *testing.T) {
	s := many(1000)
	m := newTest(t, 100, 30, &s)
	v := screen(m)
	if n := strings.Count(v, "\n") + 1; n > 30 {
		t.Errorf("%d lines for a 30-line terminal", n)
	}
	mustContain(t, v, "post0000.key", "post0001.key")
	mustNotContain(t, v, "post0500.key")
	mustContain(t, v, "1/1000")
}

func TestQuitKeys(t *testing.T) {
	s := demo()
	m := newTest(t, 100, 30, &s)
	if cmd := press(m, "q"); cmd == nil {
		t.Error("q on the table does not quit")
	}
	press(m, "enter")
	if cmd := press(m, "q"); cmd != nil {
		t.Error("q in the detail view quits instead of going back")
	}
	press(m, "/")
	if cmd := press(m, "q"); cmd != nil {
		t.Error("q while typing a filter quits")
	}
	if cmd := press(m, "ctrl+c"); cmd == nil {
		t.Error("ctrl+c while typing a filter does not quit")
	}
}

func TestFeedClosed(t *testing.T) {
	ch := make(chan model.Snapshot, 1)
	ch <- demo()
	m := New(Options{Snapshots: ch, Theme: themes.Dark(), Interval: time.Second, Now: func() time.Time { return testNow }})
	m.Update(sizeMsg(100, 30))
	wait := waitSnapshot(ch)
	msg := wait()
	if _, ok := msg.(SnapshotMsg); !ok {
		t.Fatalf("got %T, want SnapshotMsg", msg)
	}
	_, next := m.Update(msg)
	if next == nil {
		t.Fatal("the feed is not re-armed after a snapshot")
	}
	close(ch)
	m.Update(next())
	mustContain(t, screen(m), "poller stopped", "post0.key")
}

func TestZeroOptionsRender(t *testing.T) {
	m := New(Options{})
	if m.Init() == nil {
		t.Error("Init starts no ticker")
	}
	s := demo()
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30}) // wide enough for the title beside the peers
	m.Update(SnapshotMsg{s})
	mustContain(t, screen(m), "postdeck", "post0.key")
}

func TestRowTones(t *testing.T) {
	s := demo()
	want := map[string]themes.Tone{
		"post0.key": themes.ToneAccent, // proving
		"post1.key": themes.ToneText,   // idle
		"post2.key": themes.ToneOK,     // proof awaiting fetch: normal
		"post3.key": themes.ToneDanger, // service down while proving
		"post4.key": themes.ToneWarn,   // no service
		"post5.key": themes.ToneWarn,   // unknown status body: shown, never trusted
	}
	for i := range s.Rows {
		r := &s.Rows[i]
		if got := toneOf(r); got != want[r.Name] {
			t.Errorf("%s: tone %d, want %d", r.Name, got, want[r.Name])
		}
	}
}
