package ui

import (
	"postdeck/model"
)

// gutter is the cursor marker and the health marker before the first column.
const gutter = 2

// Fixed widths of the columns whose content has a known shape.
const (
	idWidth       = 8  // hex prefix
	nodeWidth     = 7  // "PROVING"
	stateWidth    = 11 // "unreachable"
	progressWidth = 14 // "█████ 100% p12"
	progressBarW  = 5
	epochMinWidth = 10 // "✓ 12.4 SMH"
	epochMaxWidth = 24 // "✗ no PoET registration" and the like
)

// colSpec says how a column may be squeezed: min is the narrowest a flexible
// column may get (0 means fixed), dropRank the order columns leave in when
// the screen is too narrow (0 never leaves).
type colSpec struct {
	min      int
	dropRank int
}

var colSpecs = [model.NumColumns]colSpec{
	model.ColName:     {min: 10},
	model.ColID:       {dropRank: 2},
	model.ColNode:     {dropRank: 6},
	model.ColService:  {min: 8, dropRank: 3},
	model.ColState:    {},
	model.ColProgress: {dropRank: 5},
	model.ColSize:     {dropRank: 1},
	// LAST EPOCH outlasts SERVICE at 80 columns: whether an identity earned
	// matters more than which service proves it (the name says that).
	model.ColEpoch:  {min: epochMinWidth, dropRank: 4},
	model.ColHealth: {min: 16},
	// With several nodes, which one a row is on stays at any width.
	model.ColFleet: {min: 5},
}

// shrinkOrder is which flexible column gives up width first.
var shrinkOrder = []model.Column{model.ColHealth, model.ColService, model.ColEpoch, model.ColName, model.ColFleet}

// column is one visible column and its width: a model column, or a process
// column when proc is set.
type column struct {
	col   model.Column
	proc  procCol
	width int
	fleet bool // the table of several nodes: titles per Column.FleetTitle
}

// title is the column's name in the header line.
func (c column) title() string {
	if c.proc != procNone {
		return procTitles[c.proc]
	}
	if c.fleet {
		return c.col.FleetTitle()
	}
	return c.col.Title()
}

// right reports whether the column's cells align right (numbers).
func (c column) right() bool {
	return c.proc == procPID || c.proc == procRestarts || (c.proc == procNone && c.col == model.ColSize)
}

// naturalWidths measures the widths the columns would like for these rows.
// It is O(rows), so it runs on a new snapshot, never on a keypress.
func naturalWidths(rows []model.Row) [model.NumColumns]int {
	var w [model.NumColumns]int
	for c := range model.NumColumns {
		w[c] = len(c.Title()) + 1 // room for the sort arrow
	}
	grow := func(c model.Column, n int) { w[c] = max(w[c], n) }
	grow(model.ColID, idWidth)
	grow(model.ColNode, nodeWidth)
	grow(model.ColState, stateWidth)
	grow(model.ColProgress, progressWidth)
	grow(model.ColEpoch, epochMinWidth)
	epochs, fleet := false, false
	for i := range rows {
		r := &rows[i]
		if r.PendingStop {
			grow(model.ColState, cellWidth(stateText(r)))
		}
		grow(model.ColName, cellWidth(r.Label()))
		if r.Node != "" || r.Host != "" {
			fleet = true
			grow(model.ColFleet, cellWidth(nodeCell(r)))
		}
		grow(model.ColService, cellWidth(r.Service))
		grow(model.ColHealth, cellWidth(healthText(r.Health)))
		if r.SizeBytes > 0 {
			grow(model.ColSize, len(humanBytes(r.SizeBytes)))
		}
		if len(r.Epochs) > 0 {
			epochs = true
			grow(model.ColEpoch, cellWidth(epochText(r)))
		}
	}
	if !epochs {
		w[model.ColEpoch] = 0 // no row has a ledger record: the column stays away
	}
	if !fleet {
		w[model.ColFleet] = 0 // one node: the column stays away
	} else {
		w[model.ColFleet] = min(w[model.ColFleet], 16)
		grow(model.ColNode, len(model.ColNode.FleetTitle())+1)
	}
	// Long names are truncated rather than squeezing everything else.
	w[model.ColName] = min(w[model.ColName], 28)
	w[model.ColService] = min(w[model.ColService], 20)
	w[model.ColHealth] = min(w[model.ColHealth], 32)
	w[model.ColEpoch] = min(w[model.ColEpoch], epochMaxWidth)
	return w
}

// layoutColumns chooses the columns and widths for a screen width: natural
// widths if they fit, else flexible columns shrink, else the least important
// columns leave one by one. The last column takes whatever width is left.
func layoutColumns(natural [model.NumColumns]int, width int) []column {
	avail := width - gutter
	var cols []column
	for dropped := 0; ; dropped++ {
		cols = cols[:0]
		for _, c := range model.DisplayOrder {
			if r := colSpecs[c].dropRank; shown(natural, c) && (r == 0 || r > dropped) {
				cols = append(cols, column{col: c, width: natural[c], fleet: natural[model.ColFleet] > 0})
			}
		}
		if shrinkToFit(cols, avail) || dropped >= maxDropRank() {
			break
		}
	}
	last := &cols[len(cols)-1]
	last.width = max(1, avail-totalWidth(cols)+last.width)
	return cols
}

// shrinkToFit narrows flexible columns until the row fits avail; it reports
// whether it does.
func shrinkToFit(cols []column, avail int) bool {
	excess := totalWidth(cols) - avail
	for _, c := range shrinkOrder {
		if excess <= 0 {
			break
		}
		for i := range cols {
			if cols[i].col != c {
				continue
			}
			give := min(excess, max(0, cols[i].width-colSpecs[c].min))
			cols[i].width -= give
			excess -= give
		}
	}
	return excess <= 0
}

// totalWidth is the width of the columns with a space between each.
func totalWidth(cols []column) int {
	t := len(cols) - 1
	for _, c := range cols {
		t += c.width
	}
	return t
}

func maxDropRank() int {
	m := 0
	for _, s := range colSpecs {
		m = max(m, s.dropRank)
	}
	return m
}

// shown says whether a column is in the table at all: LAST EPOCH only when
// some row has a ledger record, NODE only with several nodes (their
// natural widths are then set).
func shown(natural [model.NumColumns]int, c model.Column) bool {
	return (c != model.ColEpoch && c != model.ColFleet) || natural[c] > 0
}
