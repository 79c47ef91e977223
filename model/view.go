package model

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Column is a sortable column of the identity table.
type Column int

const (
	ColName Column = iota
	ColID
	ColNode
	ColService
	ColState
	ColProgress
	ColSize
	ColEpoch // the last complete publish epoch: ATX and rewards
	ColHealth
	// ColFleet is the row's node in a config of several (Row.Node). It is
	// last here, so the sort keys 1–9 stay those of a single node's table
	// (it sorts on 0), and shown second (DisplayOrder).
	ColFleet
	NumColumns
)

var columnTitles = [NumColumns]string{"NAME", "ID", "NODE", "SERVICE", "STATE", "PROGRESS", "SIZE", "LAST EPOCH", "HEALTH", "NODE"}

// DisplayOrder is the order the columns are shown in, HEALTH last.
var DisplayOrder = [NumColumns]Column{ColName, ColFleet, ColID, ColNode, ColService, ColState, ColProgress, ColSize, ColEpoch, ColHealth}

// Title is the column's name; with several nodes the node's state is
// headed ON NODE, since NODE then names the node (FleetTitle).
func (c Column) Title() string { return columnTitles[c] }

// FleetTitle is the column's name in the table of several nodes.
func (c Column) FleetTitle() string {
	if c == ColNode {
		return "ON NODE"
	}
	return c.Title()
}

// SortKey is the key that sorts on the column: 1–9 in the single node's
// order, 0 for NODE.
func (c Column) SortKey() string {
	if c == ColFleet {
		return "0"
	}
	return string(rune('1' + int(c)))
}

// compare orders two rows on one column; ties fall back to the name order.
func compare(a, b *Row, c Column) int {
	var d int
	switch c {
	case ColName:
		d = strings.Compare(a.Label(), b.Label())
	case ColID:
		d = strings.Compare(string(a.ID), string(b.ID))
	case ColNode:
		d = cmp.Compare(a.NodeState, b.NodeState)
	case ColService:
		d = strings.Compare(a.Service, b.Service)
	case ColState:
		d = cmp.Compare(a.ServiceState, b.ServiceState)
	case ColProgress:
		d = cmp.Compare(progressKey(a), progressKey(b))
	case ColSize:
		d = cmp.Compare(a.SizeBytes, b.SizeBytes)
	case ColEpoch:
		d = cmp.Compare(epochKey(a), epochKey(b))
	case ColHealth:
		d = cmp.Compare(healthKey(a), healthKey(b))
	case ColFleet:
		d = strings.Compare(a.Node, b.Node)
	}
	if d != 0 {
		return d
	}
	if lessByName(a, b) {
		return -1
	}
	if lessByName(b, a) {
		return 1
	}
	return 0
}

func progressKey(r *Row) float64 {
	if r.Progress == nil {
		return -1
	}
	return float64(r.Progress.Pass-1)*100 + r.Progress.Percent
}

// healthKey sorts critical rows above warned rows above healthy ones.
func healthKey(r *Row) int {
	if r.Critical() {
		return 2
	}
	if len(r.Health) > 0 {
		return 1
	}
	return 0
}

// Filter selects rows by a case-insensitive regular expression over a row's
// text; a leading `!` inverts it (as in k9s).
type Filter struct {
	Expr   string
	re     *regexp.Regexp
	invert bool
}

// ParseFilter compiles a filter expression; the empty expression matches all.
func ParseFilter(expr string) (Filter, error) {
	f := Filter{Expr: expr}
	body := expr
	if strings.HasPrefix(body, "!") {
		f.invert, body = true, body[1:]
	}
	if body == "" {
		return f, nil
	}
	if _, err := regexp.Compile(body); err != nil { // report the user's text, not ours
		return Filter{}, fmt.Errorf("bad filter %q: %s", body, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	re, err := regexp.Compile("(?i)" + body)
	if err != nil {
		return Filter{}, fmt.Errorf("bad filter %q: %s", body, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	f.re = re
	return f, nil
}

// Match reports whether the row passes the filter.
func (f Filter) Match(r *Row) bool {
	if f.re == nil {
		return true
	}
	return f.re.MatchString(r.SearchText()) != f.invert
}

// SearchText is what a filter is matched against.
func (r *Row) SearchText() string {
	parts := []string{r.Name, r.IDHex(), r.NodeState.String(), r.Service, r.ServiceState.String(), r.Dir, r.Node}
	for _, h := range r.Health {
		parts = append(parts, string(h))
	}
	if rec, ok := r.LastCompleteEpoch(); ok { // so "/no PoET" finds the rows that missed
		parts = append(parts, EpochCell(rec))
	}
	return strings.Join(parts, " ")
}

// Index returns the positions of the rows that pass f, ordered by column c
// (descending when desc). Rows are not copied: views reorder this index.
func Index(rows []Row, f Filter, c Column, desc bool) []int {
	idx := make([]int, 0, len(rows))
	for i := range rows {
		if f.Match(&rows[i]) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		d := compare(&rows[i], &rows[j], c)
		if desc {
			return -d
		}
		return d
	})
	return idx
}
