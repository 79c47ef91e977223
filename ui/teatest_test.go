package ui

import (
	"bytes"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"postdeck/model"
	"postdeck/themes"
)

// TestFilterFlow runs the dashboard as a real program: a snapshot arrives
// over the channel, the user types a filter and keeps it with enter.
func TestFilterFlow(t *testing.T) {
	feed := make(chan model.Snapshot, 1)
	defer close(feed)
	m := New(Options{Snapshots: feed, Theme: themes.Dark(), Interval: time.Second, Title: "flow"})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))

	feed <- demo()
	waitFor(t, tm, "post5.key")

	tm.Type("/")
	waitFor(t, tm, "/")
	tm.Type("post[12]")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitFor(t, tm, "filter post[12]")

	// A later snapshot keeps the filter.
	feed <- demo()
	tm.Type("q")
	final := tm.FinalModel(t, teatest.WithFinalTimeout(3*time.Second)).(*Model)
	v := screen(final)
	mustContain(t, v, "post1.key", "post2.key", "filter post[12]", "1/2")
	mustNotContain(t, v, "post0.key", "post3.key")
}

func waitFor(t *testing.T, tm *teatest.TestModel, sub string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(sub)) },
		teatest.WithDuration(3*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

// TestBulkStartFlow runs a bulk start of 100 services in a real program:
// the calls run in Cmds, the progress and the summary reach the screen.
func TestBulkStartFlow(t *testing.T) {
	feed := make(chan model.Snapshot, 1)
	defer close(feed)
	fa := &fakeActions{}
	m := New(Options{Snapshots: feed, Theme: themes.Dark(), Interval: time.Second, Title: "flow", Actions: fa})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 30))

	feed <- many(100)
	waitFor(t, tm, "post0000.key")
	tm.Type("A")
	waitFor(t, tm, "100 selected")
	tm.Type("s")
	waitFor(t, tm, "started 100")
	tm.Type("q")
	tm.FinalModel(t, teatest.WithFinalTimeout(3*time.Second))
	if n := len(fa.got()); n != 100 {
		t.Errorf("%d Start calls, want 100", n)
	}
}
