package ui

import (
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"postdeck/model"
)

// fakeLayer records the keys it gets and answers with what the test set.
type fakeLayer struct {
	name  string
	q     question
	solid bool
	got   []string
	next  reply
}

func (f *fakeLayer) key(_ *Model, k tea.KeyPressMsg) (tea.Cmd, reply) {
	f.got = append(f.got, k.String())
	r := f.next
	f.next = reply{}
	return nil, r
}
func (f *fakeLayer) paste(*Model, tea.PasteMsg) tea.Cmd { f.got = append(f.got, "paste"); return nil }
func (f *fakeLayer) snapshot(*Model, *model.Snapshot)   {}
func (f *fakeLayer) asking() question                   { return f.q }
func (f *fakeLayer) opaque() bool                       { return f.solid }
func (f *fakeLayer) hints(*Model) []key.Binding         { return nil }
func (f *fakeLayer) draw(_ *Model, body string) (string, *tea.Cursor) {
	if f.solid {
		body = ""
	}
	return body + "[" + f.name + "]", nil
}

// A layer that asks something swallows keys and pastes for dialogGrace
// (ctrl+c excepted); a new question starts the grace again; a layer that
// asks nothing gets every key at once.
func TestOverlayGrace(t *testing.T) {
	s := demo()
	m, _, c := newActionTest(t, 100, 20, &s)
	asks := &fakeLayer{name: "asks", q: "first"}
	m.overlays.push(asks, m.now())
	press(m, "enter")
	m.Update(tea.PasteMsg{Content: "x"})
	if len(asks.got) != 0 {
		t.Fatalf("keys in the grace reached the layer: %q", asks.got)
	}
	press(m, "ctrl+c")
	c.advance(dialogGrace)
	press(m, "enter")
	if strings.Join(asks.got, " ") != "ctrl+c enter" {
		t.Fatalf("got %q, want ctrl+c, then enter after the grace", asks.got)
	}
	asks.q = "second"
	asks.next = reply{}
	m.overlays.settle(m.now())
	press(m, "tab")
	if len(asks.got) != 2 {
		t.Errorf("a new question did not start the grace again: %q", asks.got)
	}

	types := &fakeLayer{name: "types"}
	asks.next = reply{push: types}
	c.advance(dialogGrace)
	press(m, "enter")
	press(m, "a")
	if m.overlays.top() != types || strings.Join(types.got, " ") != "a" {
		t.Errorf("a pushed layer that asks nothing: top %v, got %q", m.overlays.top(), types.got)
	}
}

// The top layer gets the keys and closes by its reply; layers are drawn
// bottom first, from the topmost that fills the body.
func TestOverlayOrder(t *testing.T) {
	s := demo()
	m, _, _ := newActionTest(t, 100, 20, &s)
	flow := &fakeLayer{name: "flow", solid: true}
	box := &fakeLayer{name: "box"}
	m.overlays.push(flow, m.now())
	m.overlays.push(box, m.now())
	if !m.overlays.covered() {
		t.Error("an opaque layer does not cover the body")
	}
	if got, _ := m.overlays.draw(m, "table"); got != "[flow][box]" {
		t.Errorf("drawn %q, want the flow, then the box over it", got)
	}
	mustContain(t, screen(m), "[flow][box]")
	mustNotContain(t, screen(m), "NAME")
	box.next = reply{close: true}
	press(m, "esc")
	press(m, "x")
	if strings.Join(box.got, " ") != "esc" || strings.Join(flow.got, " ") != "x" {
		t.Errorf("box got %q, flow got %q", box.got, flow.got)
	}
	flow.next = reply{close: true}
	press(m, "esc")
	if m.overlays.open() {
		t.Fatal("the last layer did not close")
	}
	mustContain(t, screen(m), "NAME")
}
