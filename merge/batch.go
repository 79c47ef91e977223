package merge

// A batch: several old nodes merged into one target, one after another
// (the wizard, and `postdeck merge --from A --from B`). Each source has its
// own plan; the batch adds what no single plan sees (two sources holding
// the same key name or identity), and before each merge plans its source
// again, since the merges before it changed the target.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// KindCrossSource is a problem between two sources of a batch.
const KindCrossSource = "cross-source"

// Batch is the plan of a merge of several sources into one target.
type Batch struct {
	Sources []string // as given, in order
	To      string
	Plans   []*Plan   // one per source, in order
	Cross   []Problem // between the sources (KindCrossSource)
}

// CheckFolders checks the folders given for a batch before anything is read:
// at least one source, a target, and the target not among the sources. It
// returns the sources without empty names and repeats, in order.
func CheckFolders(sources []string, to string) ([]string, error) {
	var out []string
	for _, s := range sources {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	switch {
	case len(out) == 0:
		return nil, errors.New("give at least one old node's data folder")
	case to == "":
		return nil, errors.New("give the target: the node data folder the identities go to")
	case slices.Contains(out, to):
		return nil, errors.New("the target is also a source: " + to)
	}
	return out, nil
}

// PlanBatch plans every source against to with the rest of base (the
// listeners to probe, the fleet's keys). The error is one that stops
// planning (a cancelled context), naming the source.
func PlanBatch(ctx context.Context, sources []string, to string, base Options) (*Batch, error) {
	b := &Batch{Sources: sources, To: to}
	for _, s := range sources {
		o := base
		o.From, o.To = s, to
		p, err := NewPlan(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("planning %s: %v", s, err)
		}
		b.Plans = append(b.Plans, p)
	}
	b.Cross = crossProblems(b.Plans)
	return b, nil
}

// OK reports whether every plan and the batch itself are free of problems.
func (b *Batch) OK() bool {
	if len(b.Plans) == 0 || len(b.Cross) > 0 {
		return false
	}
	for _, p := range b.Plans {
		if !p.OK() {
			return false
		}
	}
	return true
}

// Problems counts the problems of all plans and the batch.
func (b *Batch) Problems() int {
	n := len(b.Cross)
	for _, p := range b.Plans {
		n += len(p.Problems)
	}
	return n
}

// String is the batch for a person: each source's plan, then the problems
// between the sources.
func (b *Batch) String() string {
	var s strings.Builder
	for i, p := range b.Plans {
		fmt.Fprintf(&s, "%d/%d ", i+1, len(b.Plans))
		s.WriteString(p.String())
	}
	if len(b.Cross) > 0 {
		fmt.Fprintf(&s, "Refused: %d problem(s) between the sources, nothing was changed:\n", len(b.Cross))
		for _, pr := range b.Cross {
			fmt.Fprintf(&s, "  - %s\n", pr.Message)
		}
	}
	if len(b.Plans) > 1 && b.OK() {
		s.WriteString("The merges run one after another; each source is planned again just before its merge.\n")
	}
	return s.String()
}

// StoppedAt says what a batch stopped by the failure of merge i leaves:
// the merges before it complete, the sources after it not merged ("" when
// neither), starting with "; ".
func (b *Batch) StoppedAt(i int) string {
	var s string
	if i > 0 {
		s += fmt.Sprintf("; the %d merge(s) before it are complete", i)
	}
	if rest := b.Sources[min(i+1, len(b.Sources)):]; len(rest) > 0 {
		s += "; not run: " + strings.Join(rest, ", ")
	}
	return s
}

// crossProblems finds what no single plan can: two sources with a key file
// of the same name, or the same identity.
func crossProblems(plans []*Plan) []Problem {
	var out []Problem
	add := func(format string, args ...any) {
		out = append(out, Problem{Kind: KindCrossSource, Message: fmt.Sprintf(format, args...)})
	}
	names := map[string]string{}
	ids := map[string]string{}
	for _, p := range plans {
		for _, k := range p.Keys {
			if other, ok := names[k.Name]; ok {
				add("%s and %s both have identities/%s: rename one of them (stop that node first)", other, p.From, k.Name)
			}
			if other, ok := ids[string(k.Public)]; ok {
				add("identity %s… is in %s and in %s: one identity must run on one node only; remove it from one of them", k.Short(), other, p.From)
			}
			names[k.Name], ids[string(k.Public)] = p.From, p.From
		}
	}
	return out
}

// ChangedError refuses a merge whose source's fresh plan copies other keys
// or rows than the plan confirmed.
type ChangedError struct{ From string }

func (e *ChangedError) Error() string {
	return fmt.Sprintf("%s changed since you confirmed its plan (other keys or rows): nothing was changed by this merge", e.From)
}

// Replan plans source i again just before its merge: the merges before it
// changed the target, so its counts there are new. It refuses (with the
// fresh plan when there is one) a plan with problems (*RefusedError) and one
// that copies other keys or rows than the confirmed one (*ChangedError).
func (b *Batch) Replan(ctx context.Context, i int) (*Plan, error) {
	confirmed := b.Plans[i]
	p, err := NewPlan(ctx, confirmed.Options)
	switch {
	case err != nil:
		return nil, err
	case !p.OK():
		return p, &RefusedError{Problems: p.Problems}
	case !sameCopy(confirmed, p):
		return p, &ChangedError{From: confirmed.From}
	}
	return p, nil
}

// sameCopy reports whether a fresh plan copies what the confirmed one did:
// the same keys and the same rows of each table (the target's own counts
// may differ: the merges before it added to them).
func sameCopy(a, b *Plan) bool {
	if len(a.Keys) != len(b.Keys) || len(a.Tables) != len(b.Tables) {
		return false
	}
	for i := range a.Keys {
		if a.Keys[i].Name != b.Keys[i].Name || !bytes.Equal(a.Keys[i].Public, b.Keys[i].Public) {
			return false
		}
	}
	for i := range a.Tables {
		if a.Tables[i].Name != b.Tables[i].Name || a.Tables[i].Copy != b.Tables[i].Copy {
			return false
		}
	}
	return true
}
