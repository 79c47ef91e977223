package ui

import (
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"postdeck/model"
)

// overlay is one layer of the overlay stack: the stop dialog over the
// table, a flow (add key, merge, migration wizard) over the whole body. A
// layer does not reach into the Model to close itself or to act: its key
// returns a reply, and the stack (and the Model, for an operation) acts on
// it.
type overlay interface {
	// key handles a key the stack gave the top layer.
	key(m *Model, k tea.KeyPressMsg) (tea.Cmd, reply)
	// paste feeds pasted text to the layer's focused input.
	paste(m *Model, p tea.PasteMsg) tea.Cmd
	// snapshot sees each new snapshot while the layer is open.
	snapshot(m *Model, s *model.Snapshot)
	// asking names what the layer asks now (a dialog, a row of buttons);
	// "" while the user types into it. When it changes to a new question
	// the stack drops keys for dialogGrace, so a key typed for what was
	// there before cannot answer it.
	asking() question
	// opaque is set for a layer that fills the body: what is below it is
	// not drawn.
	opaque() bool
	// draw paints the layer over body (the exact lines below it) and says
	// where the terminal cursor goes, relative to the body (nil: none).
	draw(m *Model, body string) (string, *tea.Cursor)
	// hints are the footer's key hints while the layer is on top.
	hints(m *Model) []key.Binding
}

// question names what a layer asks; "" is none.
type question string

// reply is what a layer's key asks of the stack.
type reply struct {
	close bool       // take the layer off the stack
	push  overlay    // put a layer on top of it
	op    *opRequest // run an operation (the stop dialog's answer)
}

// opRequest is an operation a dialog asks for.
type opRequest struct {
	kind     opKind
	mode     model.StopMode
	services []string
	skipped  []string // targets without a service, for the result line
}

// layer is an overlay on the stack with its question and when it was asked.
type layer struct {
	o     overlay
	asked question
	since time.Time
}

// overlays is the stack of layers, bottom first. It alone decides which
// layer is on top, routes keys and pastes to it, draws the layers in
// order, and applies the grace.
type overlays struct{ layers []layer }

func (s *overlays) open() bool { return len(s.layers) > 0 }

// top is the layer on top; nil when none.
func (s *overlays) top() overlay {
	if len(s.layers) == 0 {
		return nil
	}
	return s.layers[len(s.layers)-1].o
}

// push puts o on top; if it asks something, its grace starts now.
func (s *overlays) push(o overlay, now time.Time) {
	s.layers = append(s.layers, layer{o: o})
	s.settle(now)
}

// settle starts the grace of a layer whose question changed (after a
// key, a result or a snapshot changed what it shows).
func (s *overlays) settle(now time.Time) {
	for i := range s.layers {
		l := &s.layers[i]
		if q := l.o.asking(); q != l.asked {
			l.asked, l.since = q, now
		}
	}
}

// inGrace reports whether the top layer still swallows keys.
func (s *overlays) inGrace(now time.Time) bool {
	l := s.layers[len(s.layers)-1]
	return l.asked != "" && now.Sub(l.since) < dialogGrace
}

// key routes a key to the top layer and applies its reply. In the grace
// only ctrl+c gets through (it quits, or asks a running merge to stop).
func (s *overlays) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, *opRequest) {
	now := m.now()
	if s.inGrace(now) && !key.Matches(k, m.keys.ForceQuit) {
		return nil, nil
	}
	cmd, r := s.top().key(m, k)
	if r.close {
		s.layers = s.layers[:len(s.layers)-1]
	}
	if r.push != nil {
		s.layers = append(s.layers, layer{o: r.push})
	}
	s.settle(now)
	return cmd, r.op
}

// remove takes o off the stack wherever it is (a flow that ended from a
// result, not from a key).
func (s *overlays) remove(o overlay) {
	s.layers = slices.DeleteFunc(s.layers, func(l layer) bool { return l.o == o })
}

// paste feeds the top layer, except in its grace.
func (s *overlays) paste(m *Model, p tea.PasteMsg) tea.Cmd {
	if s.inGrace(m.now()) {
		return nil
	}
	return s.top().paste(m, p)
}

// snapshot shows every layer the new snapshot.
func (s *overlays) snapshot(m *Model, snap *model.Snapshot) {
	for _, l := range s.layers {
		l.o.snapshot(m, snap)
	}
	s.settle(m.now())
}

// covered is set when a layer fills the body: the screen below is not drawn.
func (s *overlays) covered() bool {
	for _, l := range s.layers {
		if l.o.opaque() {
			return true
		}
	}
	return false
}

// draw paints the layers over body, bottom first, from the topmost
// opaque one; the cursor is the top layer's (a layer below has no focus).
func (s *overlays) draw(m *Model, body string) (string, *tea.Cursor) {
	from := 0
	for i, l := range s.layers {
		if l.o.opaque() {
			from = i
		}
	}
	var cursor *tea.Cursor
	for _, l := range s.layers[from:] {
		body, cursor = l.o.draw(m, body)
	}
	return body, cursor
}

// flowLayer puts the open flow on the stack. The flow's host (openFlow,
// flowKey, flowBody in wizardkit.go) keeps m.flow; the layer passes the
// flow's reply on, so it closes when a key ends the flow (flowResult takes
// it off when a result does).
type flowLayer struct{ f flow }

// showFlow puts the flow an opener just opened on the stack.
func (m *Model) showFlow(cmd tea.Cmd) tea.Cmd {
	if m.flow != nil {
		if l, ok := m.overlays.top().(flowLayer); !ok || l.f != m.flow {
			m.overlays.push(flowLayer{m.flow}, m.now())
		}
	}
	return cmd
}

func (l flowLayer) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, reply) { return m.flowKey(k) }

func (l flowLayer) paste(m *Model, p tea.PasteMsg) tea.Cmd { return l.f.paste(m, p) }
func (l flowLayer) snapshot(m *Model, s *model.Snapshot)   { l.f.snapshot(m, s) }
func (l flowLayer) opaque() bool                           { return true }
func (l flowLayer) hints(m *Model) []key.Binding           { return m.flowHints }
func (l flowLayer) draw(m *Model, _ string) (string, *tea.Cursor) {
	var b strings.Builder
	c := m.flowBody(&b)
	return b.String(), c
}

func (l flowLayer) asking() question { return l.f.asking() }
