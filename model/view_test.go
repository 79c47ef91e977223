package model

import (
	"slices"
	"testing"
)

func viewRows() []Row {
	return Join(Inputs{
		Node: nodeWith(
			PostState{ID: id(1), State: NodeProving, Name: "c.key"},
			PostState{ID: id(2), State: NodeIdle, Name: "a.key"},
			PostState{ID: id(3), State: NodeIdle, Name: "b.key"},
		),
		Services: []ServiceObs{
			{Name: "s1", Meta: meta(1, 8), Status: status(provingBody)},
			{Name: "s2", Meta: meta(2, 2), Status: status(`"Idle"`)},
			{Name: "s3", Meta: meta(3, 4), StatusErr: "refused"},
		},
	}).Rows
}

func names(rows []Row, idx []int) []string {
	var out []string
	for _, i := range idx {
		out = append(out, rows[i].Name)
	}
	return out
}

func TestIndexSortAndReverse(t *testing.T) {
	rows := viewRows()
	all, _ := ParseFilter("")
	cases := []struct {
		col  Column
		desc bool
		want []string
	}{
		{ColName, false, []string{"a.key", "b.key", "c.key"}},
		{ColName, true, []string{"c.key", "b.key", "a.key"}},
		{ColSize, false, []string{"a.key", "b.key", "c.key"}},
		{ColSize, true, []string{"c.key", "b.key", "a.key"}},
		{ColNode, false, []string{"a.key", "b.key", "c.key"}},
		{ColState, false, []string{"a.key", "c.key", "b.key"}},
		{ColProgress, true, []string{"c.key", "b.key", "a.key"}}, // reversing reverses ties too
	}
	for _, c := range cases {
		if got := names(rows, Index(rows, all, c.col, c.desc)); !slices.Equal(got, c.want) {
			t.Errorf("sort %s desc=%v: %v, want %v", c.col.Title(), c.desc, got, c.want)
		}
	}
}

func TestFilter(t *testing.T) {
	rows := viewRows()
	cases := []struct {
		expr string
		want []string
	}{
		{"", []string{"a.key", "b.key", "c.key"}},
		{"proving", []string{"c.key"}},
		{"PROVING", []string{"c.key"}}, // case-insensitive
		{"!proving", []string{"a.key", "b.key"}},
		{"^[ab]\\.key", []string{"a.key", "b.key"}},
		{"unreachable|s2", []string{"a.key", "b.key"}},
		{"!", []string{"a.key", "b.key", "c.key"}},
		{"nothing-matches", nil},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.expr)
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		if got := names(rows, Index(rows, f, ColName, false)); !slices.Equal(got, c.want) {
			t.Errorf("filter %q: %v, want %v", c.expr, got, c.want)
		}
	}
	if _, err := ParseFilter("(unclosed"); err == nil {
		t.Error("invalid regex accepted")
	}
}

func TestCount(t *testing.T) {
	s := Snapshot{Rows: viewRows()}
	c := s.Count()
	if c.Identities != 3 || c.Node[NodeProving] != 1 || c.Node[NodeIdle] != 2 || c.Service[ServiceUnreachable] != 1 {
		t.Errorf("counts %+v", c)
	}
}
