package ui

import (
	"strings"
	"time"

	"postdeck/model"
	"postdeck/themes"
)

// table is the identity table: the latest rows, an index over them (filtered
// and sorted) and a window of visible positions. A keypress moves the cursor
// within the index and renders only the window; the index is rebuilt only
// when the rows, the filter or the sort change.
type table struct {
	rows    []model.Row // the latest snapshot's rows, never copied or reordered
	idx     []int       // positions into rows that pass the filter, in sort order
	filter  model.Filter
	sortCol model.Column
	desc    bool

	cursor int // position in idx
	offset int // first visible position in idx
	width  int
	height int // rows that fit below the column header

	natural [model.NumColumns]int
	proc    [numProcCols]int // natural widths of the process columns; 0 = none
	cols    []column
	evNat   int // natural width of the EVENT column; 0 = no row has an event
	evW     int // its width on screen; 0 = not shown

	// evPanel is the node-wide event panel's scroll (key e).
	evPanel eventPanel
}

// setRows installs a new snapshot's rows, keeping the cursor on the row it
// was on (by key) wherever that row now sorts.
func (t *table) setRows(rows []model.Row) {
	key := t.selectedKey()
	t.rows = rows
	t.natural = naturalWidths(rows)
	t.proc = procWidths(rows)
	t.evNat = eventWidth(rows)
	t.cols, t.evW = layoutWithEvents(t.natural, t.proc, t.evNat, t.width)
	t.reindex(key)
}

// setSize sets the table's area: width and height include the column header.
func (t *table) setSize(width, height int) {
	t.width, t.height = width, max(1, height-1)
	t.cols, t.evW = layoutWithEvents(t.natural, t.proc, t.evNat, width)
	t.scroll()
}

func (t *table) setFilter(f model.Filter) {
	t.filter = f
	t.reindex(t.selectedKey())
}

// sortBy sorts on c, or reverses the order when c is already the sort column.
func (t *table) sortBy(c model.Column) {
	if c == t.sortCol {
		t.desc = !t.desc
	} else {
		t.sortCol, t.desc = c, false
	}
	t.reindex(t.selectedKey())
}

// reindex rebuilds the index and puts the cursor back on key when it passes.
func (t *table) reindex(key string) {
	t.idx = model.Index(t.rows, t.filter, t.sortCol, t.desc)
	if key != "" {
		for pos, i := range t.idx {
			if t.rows[i].Key == key {
				t.cursor = pos
				break
			}
		}
	}
	t.cursor = clamp(t.cursor, 0, len(t.idx)-1)
	t.scroll()
}

// selected is the row under the cursor, nil when the index is empty.
func (t *table) selected() *model.Row {
	if t.cursor < 0 || t.cursor >= len(t.idx) {
		return nil
	}
	return &t.rows[t.idx[t.cursor]]
}

func (t *table) selectedKey() string {
	if r := t.selected(); r != nil {
		return r.Key
	}
	return ""
}

// move shifts the cursor by delta rows, stopping at the ends.
func (t *table) move(delta int) {
	t.cursor = clamp(t.cursor+delta, 0, len(t.idx)-1)
	t.scroll()
}

// scroll moves the window just enough to show the cursor.
func (t *table) scroll() {
	if t.cursor < t.offset {
		t.offset = t.cursor
	}
	if t.cursor >= t.offset+t.height {
		t.offset = t.cursor - t.height + 1
	}
	t.offset = clamp(t.offset, 0, len(t.idx)-t.height)
}

// view renders the column header and the visible rows; sel holds the keys
// of the rows selected for an action, now measures uptimes.
func (t *table) view(b *strings.Builder, k *inks, sel map[string]bool, now time.Time) {
	b.WriteString(k.columnHeader.paint(t.headerLine()))
	end := min(t.offset+t.height, len(t.idx))
	for pos := t.offset; pos < end; pos++ {
		r := &t.rows[t.idx[pos]]
		tone := toneOf(r)
		marked := len(sel) > 0 && sel[r.Key]
		line := t.rowLine(r, pos == t.cursor, marked, now)
		b.WriteByte('\n')
		switch {
		case pos == t.cursor:
			b.WriteString(k.selected[tone].paint(line))
		case marked:
			b.WriteString(k.marked[tone].paint(line))
		default:
			b.WriteString(k.row[tone].paint(line))
		}
	}
}

// headerLine names the visible columns; the sort column carries ▲ or ▼.
func (t *table) headerLine() string {
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", gutter))
	for i, c := range t.cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		title := c.title()
		if c.proc == procNone && c.col == t.sortCol {
			title += arrow(t.desc)
		}
		if c.right() {
			b.WriteString(fitRight(title, c.width))
		} else {
			b.WriteString(fit(title, c.width))
		}
	}
	t.eventHeader(&b)
	return truncate(b.String(), t.width)
}

// rowLine is one row as plain text, exactly the table's width. The first
// gutter cell is the cursor (>), a selected row (+) or both (»).
func (t *table) rowLine(r *model.Row, cursor, marked bool, now time.Time) string {
	var b strings.Builder
	b.Grow(t.width + 16)
	switch {
	case cursor && marked:
		b.WriteString("»")
	case cursor:
		b.WriteByte('>')
	case marked:
		b.WriteByte('+')
	default:
		b.WriteByte(' ')
	}
	b.WriteString(marker(r))
	for i, c := range t.cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		text := ""
		if c.proc != procNone {
			text = procText(r, c.proc, now)
		} else {
			text = cellText(r, c)
		}
		if c.right() {
			b.WriteString(fitRight(text, c.width))
		} else {
			b.WriteString(fit(text, c.width))
		}
	}
	t.eventCell(&b, r, now)
	if gutter+totalWidth(t.cols)+eventCols(t.evW) <= t.width {
		return b.String() // every cell is fitted: the line is exactly wide enough
	}
	return truncate(b.String(), t.width)
}

// cellText is the text of one cell before padding.
func cellText(r *model.Row, c column) string {
	switch c.col {
	case model.ColName:
		return orDash(printable(r.Label(), false))
	case model.ColID:
		return orDash(model.ShortID(r.ID, idWidth))
	case model.ColNode:
		return r.NodeState.String()
	case model.ColFleet:
		return printable(nodeCell(r), false)
	case model.ColService:
		return orDash(printable(r.Service, false))
	case model.ColState:
		return stateText(r)
	case model.ColProgress:
		bar := 0
		if c.width >= progressWidth {
			bar = progressBarW
		}
		return progressText(r.Progress, bar)
	case model.ColSize:
		if r.SizeBytes == 0 {
			return ""
		}
		return humanBytes(r.SizeBytes)
	case model.ColEpoch:
		return epochText(r)
	case model.ColHealth:
		return healthText(r.Health)
	}
	return ""
}

// toneOf is the colour role of a row: danger for critical flags, warn for
// other flags and for a service that cannot be read, accent while proving, ok when a proof is ready, muted when
// there is nothing to watch.
func toneOf(r *model.Row) themes.Tone {
	switch {
	case r.Critical():
		return themes.ToneDanger
	case r.Warned(), r.ServiceState == model.ServiceUnreachable, r.ServiceState == model.ServiceUnknown:
		return themes.ToneWarn
	case r.ServiceState == model.ServiceProving:
		return themes.ToneAccent
	case r.ServiceState == model.ServiceDone:
		return themes.ToneOK
	case r.ServiceState == model.ServiceNone || r.NodeState == model.NodeAbsent:
		return themes.ToneMuted
	}
	return themes.ToneText
}

// marker makes a row's severity readable without colour.
func marker(r *model.Row) string {
	switch {
	case r.Critical():
		return "!"
	case r.Warned():
		return "*"
	}
	return " "
}

func arrow(desc bool) string {
	if desc {
		return "▼"
	}
	return "▲"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clamp limits v to [lo, hi]; when hi < lo it returns lo.
func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}
