package ui

import (
	"slices"
	"testing"

	"postdeck/model"
)

func TestLayoutColumns(t *testing.T) {
	s := demo()
	nat := naturalWidths(s.Rows)
	all := []model.Column{model.ColName, model.ColID, model.ColNode, model.ColService, model.ColState,
		model.ColProgress, model.ColSize, model.ColHealth}
	for _, c := range []struct {
		width int
		want  []model.Column
	}{
		{140, all},
		{100, all},
		{80, []model.Column{model.ColName, model.ColNode, model.ColService, model.ColState, model.ColProgress, model.ColHealth}},
		{40, []model.Column{model.ColName, model.ColState, model.ColHealth}},
	} {
		cols := layoutColumns(nat, c.width)
		var got []model.Column
		for _, col := range cols {
			got = append(got, col.col)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("width %d: columns %v, want %v", c.width, got, c.want)
		}
		if c.width >= 80 && gutter+totalWidth(cols) != c.width {
			t.Errorf("width %d: row is %d wide", c.width, gutter+totalWidth(cols))
		}
	}
}

func TestLayoutShrinksBeforeDropping(t *testing.T) {
	var nat [model.NumColumns]int
	for c := range model.NumColumns {
		nat[c] = 10
	}
	nat[model.ColName] = 28
	nat[model.ColEpoch] = 0 // no ledger: the column is not there
	nat[model.ColFleet] = 0 // one node: nor is NODE
	// 2 + 28+7*10 + 7 = 107 cells for 100: SERVICE gives up 2 (down to its
	// minimum of 8), NAME the other 5; nothing is dropped.
	cols := layoutColumns(nat, 100)
	if len(cols) != int(model.NumColumns)-2 {
		t.Fatalf("dropped columns at 100: %v", cols)
	}
	if cols[0].width != 23 || cols[3].width != 8 {
		t.Errorf("NAME is %d and SERVICE %d wide, want 23 and 8", cols[0].width, cols[3].width)
	}
}
