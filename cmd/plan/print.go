package plan

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"postdeck/cmd/common"
	"postdeck/model"
)

// printPlan writes the plan as a table, times counted from the gap's
// opening, and each miss's reason below it.
func printPlan(w io.Writer, p *model.Plan, source string) {
	fmt.Fprintf(w, "cycle gap %s – %s (%s)\n", p.GapStart.UTC().Format(time.RFC3339), p.GapEnd.UTC().Format(time.RFC3339), source)
	fmt.Fprintf(w, "order: %s\n", model.PlanRule)
	if len(p.Proofs) == 0 {
		fmt.Fprintln(w, "no proofs to plan: no configured service owes one")
		return
	}
	fmt.Fprintf(w, "%s\n\n", p.Summary())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSERVICE\tDISK\tSTART\tFINISH\tK2POW\tREAD\tFITS")
	for _, pp := range p.Proofs {
		start, finish := "-", "-"
		if !pp.Start.IsZero() {
			start, finish = sinceGap(p, pp.Start), sinceGap(p, pp.Finish)
			if !pp.Fits && finish == sinceGap(p, p.GapEnd) {
				// Late by less than the minute shown: show by how much.
				finish = "+" + pp.Finish.Sub(p.GapStart).Round(time.Second).String()
			}
		}
		fits := "yes"
		if !pp.Fits {
			fits = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", pp.Name, pp.Service, common.Dash(pp.Disk), start, finish,
			k2powCell(pp), model.Span(pp.Read), fits)
	}
	tw.Flush()
	for _, pp := range p.Proofs {
		if pp.Reason != "" {
			fmt.Fprintf(w, "%s: will miss: %s\n", pp.Name, pp.Reason)
		}
	}
}

// sinceGap is "+3h30m": how long after the gap opens.
func sinceGap(p *model.Plan, t time.Time) string {
	return "+" + model.Span(t.Sub(p.GapStart))
}

func k2powCell(pp model.PlannedProof) string {
	s := model.Span(pp.K2Pow)
	if pp.Remote {
		s += " (remote)"
	}
	return s
}
