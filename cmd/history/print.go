package history

import (
	"fmt"
	"io"
	"text/tabwriter"

	"postdeck/cmd/common"
	"postdeck/model"
)

// printHistory writes one line per identity and publish epoch, grouped by
// identity, with the why-line of each epoch that failed, and a tally.
func printHistory(w io.Writer, recs []model.EpochRecord, from, to uint32, ok bool) {
	if !ok {
		fmt.Fprintln(w, "no complete publish epoch yet: the network is in its first epoch")
		return
	}
	fmt.Fprintf(w, "publish epochs %d–%d (rewards are those of the epoch after)\n", from, to)
	if len(recs) == 0 {
		fmt.Fprintln(w, "no identities: the ledger and the node know none yet")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tEPOCH\tATX\tREWARDS\tWHY")
	var atxs, missing, unknown int
	for _, r := range recs {
		why := model.Why(r)
		switch {
		case r.ATX != nil:
			atxs++
		case why == model.WhyNotObserved:
			unknown++
		default:
			missing++
		}
		if r.Malicious {
			why = "MALICIOUS (banned for good); " + why
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", common.Dash(r.Name), model.ShortID(r.ID, 8), r.Epoch, atxText(r), rewardsText(r), why)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nATXs: %d published, %d missing, %d not observed\n", atxs, missing, unknown)
}

func atxText(r model.EpochRecord) string {
	if r.ATX == nil {
		return "✗"
	}
	return fmt.Sprintf("✓ weight %d, %d units", r.ATX.Weight, r.ATX.NumUnits)
}

// rewardsText is "5 · 12.4 SMH", "?" when the node's rewards of that epoch
// were not read, with "so far" while that epoch runs.
func rewardsText(r model.EpochRecord) string {
	if !r.Rewards.Listed && r.Rewards.Count == 0 {
		return "?"
	}
	s := fmt.Sprintf("%d · %s", r.Rewards.Count, model.SMH(r.Rewards.Sum))
	if r.RewardsOpen {
		s += " so far"
	}
	return s
}
