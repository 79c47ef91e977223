package ui

import (
	"strings"
	"testing"
	"time"

	"postdeck/themes"
)

// ctrl+r in a session that has no config file to read says why, and the
// demo's reason is its own (its config is built in), at any width.
func TestReloadWithoutAFileSaysWhy(t *testing.T) {
	for _, c := range []struct {
		demo bool
		want string
	}{
		{false, "this session cannot reload the config: restart postdeck to read it again"},
		{true, "the demo's config is built in: there is no file to read again"},
	} {
		for _, w := range []int{80, 120, 200} {
			s := demo()
			m := New(Options{Theme: themes.Dark(), Interval: 2 * time.Second, Title: "postdeck test", Demo: c.demo,
				Now: func() time.Time { return testNow.Add(time.Second) }, Actions: &fakeActions{}})
			m.Update(sizeMsg(w, 24))
			m.Update(SnapshotMsg{s})
			if cmd := press(m, "ctrl+r"); cmd != nil {
				t.Errorf("demo=%v: ctrl+r without a reload asked for one", c.demo)
			}
			lines := strings.Split(screen(m), "\n")
			if footer := lines[len(lines)-1]; !strings.Contains(flat(footer), c.want) {
				t.Errorf("demo=%v, %d columns: the footer says %q, want %q", c.demo, w, footer, c.want)
			}
		}
	}
}
