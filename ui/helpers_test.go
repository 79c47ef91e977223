package ui

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	pdclock "postdeck/clock"
	"postdeck/model"
	"postdeck/themes"
)

// ident describes one identity for a test snapshot.
type ident struct {
	name      string // key file name as the node reports it
	node      model.NodeState
	svc       string // post-service name; "" for none
	body      string // its /status body
	statusErr string // set when the operator did not answer
	units     uint32
	proc      model.ProcInfo // the supervisor's view of its process
	pending   bool           // a stop is queued
}

// labelsPerUnit is mainnet's: one unit is 64 GiB.
const labelsPerUnit = 4294967296

// testNow is the tests' fixed "now": the instant POSTDECK_NOW names when
// set, so the suite can be run at a chosen date.
var testNow = pdclock.TestInstant(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))

func idOf(name string) []byte {
	h := sha256.Sum256([]byte(name))
	return h[:]
}

// snapshotOf builds a snapshot through the real join, as the poller does.
func snapshotOf(ids ...ident) model.Snapshot {
	in := model.Inputs{
		Node: model.NodeView{
			Version: "v1.7.6", Synced: true, TopLayer: 12345, Peers: 42, HasStatus: true,
			HasPostStates: true, HasSmesherIDs: true,
		},
		At: testNow,
	}
	for _, id := range ids {
		pk := idOf(id.name)
		if id.node != model.NodeAbsent {
			in.Node.PostStates = append(in.Node.PostStates, model.PostState{ID: pk, State: id.node, Name: id.name})
			in.Node.SmesherIDs = append(in.Node.SmesherIDs, pk)
		}
		if id.svc == "" {
			continue
		}
		units := max(id.units, 1)
		in.Services = append(in.Services, model.ServiceObs{
			Name: id.svc, Dir: "/data/" + id.svc, Operator: "127.0.0.1:50051",
			Meta:        &model.PostMetadata{NodeID: pk, LabelsPerUnit: labelsPerUnit, NumUnits: units},
			Status:      model.ParseStatus([]byte(id.body)),
			StatusErr:   id.statusErr,
			Proc:        id.proc,
			PendingStop: id.pending,
		})
	}
	return model.Join(in)
}

// demo is a small, varied snapshot.
func demo() model.Snapshot {
	return snapshotOf(
		ident{name: "post0.key", node: model.NodeProving, svc: "svc0", units: 4,
			body: `{"Proving":{"nonces":{"start":128,"end":256},"position":103079215104}}`},
		ident{name: "post1.key", node: model.NodeIdle, svc: "svc1", body: `"Idle"`, units: 2},
		ident{name: "post2.key", node: model.NodeProving, svc: "svc2", body: `"DoneProving"`, units: 8},
		ident{name: "post3.key", node: model.NodeProving, svc: "svc3", statusErr: "dial tcp 127.0.0.1:50054: connection refused", units: 1},
		ident{name: "post4.key", node: model.NodeIdle},
		ident{name: "post5.key", node: model.NodeIdle, svc: "svc5", body: `{"weird":true}`, units: 3},
	)
}

// many builds n identities with a mix of states, named post0000.key….
func many(n int) model.Snapshot {
	ids := make([]ident, n)
	for i := range ids {
		ids[i] = ident{name: fmt.Sprintf("post%04d.key", i), node: model.NodeIdle, svc: fmt.Sprintf("svc%04d", i),
			body: `"Idle"`, units: uint32(1 + i%16)}
		if i%7 == 0 {
			ids[i].node = model.NodeProving
			ids[i].body = `{"Proving":{"nonces":{"start":0,"end":128},"position":1000}}`
		}
	}
	return snapshotOf(ids...)
}

// newTest is a dashboard of the given size that has seen snap.
func newTest(t testing.TB, w, h int, snap *model.Snapshot) *Model {
	t.Helper()
	m := New(Options{Theme: themes.Dark(), Interval: 2 * time.Second, Title: "postdeck test",
		Now: func() time.Time { return testNow.Add(time.Second) }})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	if snap != nil {
		m.Update(SnapshotMsg{*snap})
	}
	return m
}

var specialKeys = map[string]rune{
	"enter": tea.KeyEnter, "esc": tea.KeyEscape, "up": tea.KeyUp, "down": tea.KeyDown,
	"pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown, "home": tea.KeyHome, "end": tea.KeyEnd,
	"backspace": tea.KeyBackspace, "tab": tea.KeyTab, "left": tea.KeyLeft, "right": tea.KeyRight,
}

// keyMsg makes a key press from its name ("enter", "down") or its text ("j").
func keyMsg(k string) tea.KeyPressMsg {
	if c, ok := specialKeys[k]; ok {
		return tea.KeyPressMsg{Code: c}
	}
	if c, ok := strings.CutPrefix(k, "ctrl+"); ok {
		return tea.KeyPressMsg{Code: rune(c[0]), Mod: tea.ModCtrl}
	}
	if k == "shift+tab" {
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// press sends keys; each argument is one key name, or text typed rune by rune.
func press(m *Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		if _, ok := specialKeys[k]; ok || strings.HasPrefix(k, "ctrl+") || k == "shift+tab" || len([]rune(k)) == 1 {
			_, cmd = m.Update(keyMsg(k))
			continue
		}
		for _, r := range k {
			_, cmd = m.Update(keyMsg(string(r)))
		}
	}
	return cmd
}

// screen is the rendered view without styling.
func screen(m *Model) string {
	return ansi.Strip(m.View().Content)
}

// selectedLine is the table line under the cursor.
func selectedLine(t *testing.T, m *Model) string {
	t.Helper()
	for line := range strings.SplitSeq(screen(m), "\n") {
		if strings.HasPrefix(line, ">") {
			return line
		}
	}
	t.Fatalf("no cursor line in:\n%s", screen(m))
	return ""
}

// order returns the positions of each name in the view, -1 when missing.
func order(view string, names ...string) []int {
	pos := make([]int, len(names))
	for i, n := range names {
		pos[i] = strings.Index(view, n)
	}
	return pos
}

func mustContain(t *testing.T, view string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(view, s) {
			t.Errorf("view lacks %q:\n%s", s, view)
		}
	}
}

func mustNotContain(t *testing.T, view string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(view, s) {
			t.Errorf("view has %q:\n%s", s, view)
		}
	}
}

func sizeMsg(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }
