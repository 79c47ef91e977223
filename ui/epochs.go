package ui

import (
	"fmt"
	"strings"

	"postdeck/model"
	"postdeck/themes"
)

// epochsShown is how many publish epochs the detail view's timeline lists.
const epochsShown = 12

// epochText is the LAST EPOCH cell: the newest complete publish epoch's
// ATX and rewards (model.EpochCell), "-" while the ledger has no complete
// epoch for the row.
func epochText(r *model.Row) string {
	rec, ok := r.LastCompleteEpoch()
	if !ok {
		return "-"
	}
	return model.EpochCell(rec)
}

// lastEpochDetail is the detail view's "Last epoch" field: the cell's
// verdict in words with what to do about it; "" without a ledger record.
func lastEpochDetail(r *model.Row) string {
	rec, ok := r.LastCompleteEpoch()
	if !ok {
		if len(r.Epochs) == 0 {
			return ""
		}
		return "no complete epoch in the ledger yet"
	}
	s := fmt.Sprintf("epoch %d: %s", rec.Epoch, model.EpochCell(rec))
	if help := explainWhy(model.Why(rec)); help != "" {
		s += " — " + help
	}
	return s
}

// whyHelp says what each why-line means and what to look at, by its
// prefix (some carry counts after a colon).
var whyHelp = []struct{ prefix, help string }{
	{model.WhyNotObserved, "postdeck was not running through that step and the node keeps no record of it, so the ledger does not guess; it knows from the next epoch it watches."},
	{model.WhyNoRegistration, "the node did not register this identity at a PoET before the round began; check the node's PoET servers and its log at the cycle gap."},
	{model.WhyPoetNotFetched, "the node registered but never fetched the PoET proof; check that the PoET server was reachable after the round ended."},
	{model.WhyProofFailed, "the post-service's proof failed; its log (l) says why."},
	{model.WhyProofLate, "the PoST proof was not done before the epoch ended; see `postdeck plan` for whether the coming gap fits every proof."},
	{model.WhyATXNotPublished, "the proof was ready but the node published no ATX; check the node's log around the end of the epoch."},
	{model.WhyNoEligibility, "the ATX was there but drew no eligibility: no rewards were due (small identities miss epochs now and then)."},
	{model.WhyOutOfSync, "postdeck saw the node out of sync then; an unsynced node publishes and proposes nothing."},
}

func explainWhy(why string) string {
	if why == "" {
		return ""
	}
	for _, w := range whyHelp {
		if strings.HasPrefix(why, w.prefix) {
			return w.help
		}
	}
	return "fewer proposals or rewards than the eligibilities promised; check the node's sync and its log in that epoch."
}

// epochsDetail writes the identity's epoch timeline, newest first: one
// line per publish epoch, missing ATXs in danger, short rewards in warn.
func epochsDetail(b *strings.Builder, r *model.Row, width int, th *themes.Theme) {
	if len(r.Epochs) == 0 {
		return
	}
	st := &th.Styles
	b.WriteString("\n" + st.Section.Render(fmt.Sprintf("Epochs (%d, newest first)", len(r.Epochs))) + "\n")
	for i, n := len(r.Epochs)-1, 0; i >= 0 && n < epochsShown; i, n = i-1, n+1 {
		rec := r.Epochs[i]
		tone := themes.ToneText
		switch why := model.Why(rec); {
		case why == model.WhyNotObserved:
			tone = themes.ToneMuted
		case why != "" && rec.ATX == nil:
			tone = themes.ToneDanger
		case why != "":
			tone = themes.ToneWarn
		}
		line := indent("  "+wrap(model.EpochLine(rec), width-4), 4)
		b.WriteString(st.Fg[tone].Render(line) + "\n")
	}
}
