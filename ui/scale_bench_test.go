package ui

import (
	"fmt"
	"testing"
)

// BenchmarkKeypressScale is a cursor move and the frame after it at 100 and
// 10000 identities on the same 120×40 screen. A keypress should cost in
// proportion to the visible rows, not the total: the two sub-benchmarks
// should report about the same ns/op and allocs/op.
func BenchmarkKeypressScale(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			s := many(n)
			m := newTest(b, 120, 40, &s)
			down, up := keyMsg("down"), keyMsg("up")
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// Walk 80 rows down and back, so the window scrolls in both
				// tables (each has more rows than fit on the screen).
				if i/80%2 == 0 {
					m.Update(down)
				} else {
					m.Update(up)
				}
				_ = m.View()
				i++
			}
		})
	}
}

// BenchmarkRenderScale is one frame with no input at 100 and 10000
// identities: the frame, too, should not grow with the total.
func BenchmarkRenderScale(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			s := many(n)
			m := newTest(b, 120, 40, &s)
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}
