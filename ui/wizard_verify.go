package ui

// Step 8 of the migration wizard: after the node's restart, every merged
// identity must show in its SmesherIDs and PostStates (checked on every
// poll); and the reminders for the node's config.

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/model"
	"postdeck/themes"
)

type verifyStep struct {
	noPaste
	noResults
	btns     buttonRow[wizAct]
	nodeDown bool // the latest snapshot had no answer from the node
}

func (s *verifyStep) name() string { return "verify" }

func (s *verifyStep) enter(w *wizard, m *Model) tea.Cmd {
	s.btns = newButtonRow(wizButton(btnFinish, wizFinish))
	return nil
}

func (s *verifyStep) key(w *wizard, m *Model, k tea.KeyPressMsg) (tea.Cmd, nav) {
	if k.String() == "esc" {
		return nil, navAskLeave
	}
	if act, pressed := s.btns.key(k, &m.keys); pressed && act == wizFinish {
		return nil, navFinish
	}
	return nil, navStay
}

func (s *verifyStep) asking(*wizard) question { return "finish" }

// snapshot checks every identity not yet confirmed against the node.
func (s *verifyStep) snapshot(w *wizard, snap *model.Snapshot) {
	s.nodeDown = !snap.Node.HasSmesherIDs && !snap.Node.HasPostStates
	if s.nodeDown {
		return
	}
	for i := range w.ids {
		if !w.ids[i].confirmed {
			w.ids[i].confirmed, w.ids[i].seen = backend.ConfirmLoaded(snap.Node, w.ids[i].key.Public)
		}
	}
}

func (s *verifyStep) view(w *wizard, m *Model, t *text, width int, p *page) {
	s.identities(w, t)
	t.blank()
	t.section(" Reminders for the node's config")
	wizReminders(t, m.cfg.Node)
	t.blank()
	t.block(w.report(m), themes.ToneMuted, 1)
	p.fixed = s.btns.pageLines(width-2, &m.theme.Styles)
	p.hints = flowHelp(m.keys.Press, hint("esc", "leave"), hint("pgup/pgdn", "scroll"))
}

func (s *verifyStep) identities(w *wizard, t *text) {
	t.add("Now restart the node: it reads identities/ only when it starts. Then start the post-services (postdeck picks up new [[service]] entries when it is restarted). Each identity is checked on every poll:", themes.ToneText, 1)
	t.blank()
	all := len(w.ids) > 0
	if s.nodeDown {
		t.item("…", "the node does not answer (yet): start it; this list updates on every poll", themes.ToneWarn)
	}
	for _, id := range w.ids {
		switch {
		case id.confirmed:
			t.check(true, id.key.Name+": "+id.seen)
		case id.seen != "" && !s.nodeDown:
			t.item("…", id.key.Name+": "+id.seen, themes.ToneWarn)
		default:
			t.item("…", id.key.Name+": waiting for the node to report it", themes.ToneMuted)
		}
		all = all && id.confirmed
	}
	if all {
		t.blank()
		t.item("✓", fmt.Sprintf("the node reports all %d merged identities in SmesherIDs and PostStates", len(w.ids)), themes.ToneOK)
	}
}

// wizReminders: what the node's config needs for remote post-services.
func wizReminders(t *text, n config.NodeConfig) {
	switch {
	case n.Coinbase != "":
		t.check(true, "smeshing-coinbase is set ("+n.Coinbase+"): the rewards of every identity go there")
	default:
		t.item("!", "smeshing-coinbase must be set in the node's config (smeshing.smeshing-coinbase): without it the node refuses every post-service", themes.ToneWarn)
	}
	switch {
	case n.SmeshingStart != nil && !*n.SmeshingStart:
		t.check(true, `"smeshing": {"smeshing-start": false} is set: the node does not run its own supervised PoST`)
	case n.SmeshingStart != nil:
		t.check(false, `smeshing-start is true: set "smeshing": {"smeshing-start": false} — a supervised PoST and remote post-services cannot run together`)
	default:
		t.item("!", `set "smeshing": {"smeshing-start": false} in the node's config: a supervised PoST and remote post-services cannot run together`, themes.ToneWarn)
	}
	t.item("!", "never start the old nodes with these keys again: one identity running on two nodes at once is equivocation and gets it banned for good", themes.ToneWarn)
}
