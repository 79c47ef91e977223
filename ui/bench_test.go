package ui

import "testing"

// BenchmarkRender1000 is one frame of the table with 1000 identities.
func BenchmarkRender1000(b *testing.B) {
	s := many(1000)
	m := newTest(b, 120, 40, &s)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkKeypress1000 is a cursor move and the frame after it.
func BenchmarkKeypress1000(b *testing.B) {
	s := many(1000)
	m := newTest(b, 120, 40, &s)
	down, up := keyMsg("down"), keyMsg("up")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// Walk down and back so the window scrolls too.
		if i/500%2 == 0 {
			m.Update(down)
		} else {
			m.Update(up)
		}
		_ = m.View()
		i++
	}
}

// BenchmarkSnapshot1000 is a new snapshot arriving: the one O(rows) step.
func BenchmarkSnapshot1000(b *testing.B) {
	s := many(1000)
	m := newTest(b, 120, 40, &s)
	msg := SnapshotMsg{s}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(msg)
	}
}
