package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"postdeck/merge"
	"postdeck/model"
)

func TestHumanBytes(t *testing.T) {
	for _, c := range []struct {
		in   uint64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1 KiB"},
		{1536, "1.5 KiB"},
		{64 << 30, "64 GiB"},
		{256 << 30, "256 GiB"},
		{(256 << 30) + (1 << 29), "256 GiB"}, // ≥ 100: no decimals
		{(12 << 30) + (3 << 28), "12.8 GiB"},
		{3 << 40, "3 TiB"},
		{1 << 62, "4 EiB"},
	} {
		if got := humanBytes(c.in); got != c.want {
			t.Errorf("humanBytes(%d) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestProgressBar(t *testing.T) {
	for _, c := range []struct {
		pct   float64
		width int
		want  string
	}{
		{0, 5, "░░░░░"},
		{100, 5, "█████"},
		{50, 4, "██░░"},
		{37, 10, "████░░░░░░"},
		{-5, 3, "░░░"},
		{250, 3, "███"},
		{50, 0, ""},
	} {
		if got := progressBar(c.pct, c.width); got != c.want {
			t.Errorf("progressBar(%v, %d) = %q, want %q", c.pct, c.width, got, c.want)
		}
	}
}

func TestAge(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{1500 * time.Millisecond, "1s"},
		{59 * time.Second, "59s"},
		{3*time.Minute + 5*time.Second, "3m05s"},
		{2*time.Hour + 10*time.Minute, "2h10m"},
		{76 * time.Hour, "3d4h"},
	} {
		if got := age(c.d); got != c.want {
			t.Errorf("age(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestProgressText(t *testing.T) {
	for _, c := range []struct {
		p    *model.Progress
		bar  int
		want string
	}{
		{nil, 5, ""},
		{&model.Progress{Pass: 2, Phase: "k2pow"}, 5, "k2pow p2"},
		{&model.Progress{Pass: 2, Position: 10, Percent: 37.4, Phase: "disk"}, 5, "██░░░  37% p2"},
		{&model.Progress{Pass: 1, Position: 10, Percent: 100, Phase: "disk"}, 0, "100% p1"},
	} {
		if got := progressText(c.p, c.bar); got != c.want {
			t.Errorf("progressText(%+v, %d) = %q, want %q", c.p, c.bar, got, c.want)
		}
	}
}

func TestHealthText(t *testing.T) {
	if got := healthText(nil); got != "" {
		t.Errorf("no flags: %q", got)
	}
	hs := []model.Health{model.HealthDuplicate, model.HealthServiceDown, model.HealthBadKey}
	if got := healthText(hs); got != "duplicate-identity +2" {
		t.Errorf("three flags: %q", got)
	}
}

func TestFitAndTruncate(t *testing.T) {
	for _, c := range []struct {
		s    string
		w    int
		want string
	}{
		{"abc", 5, "abc  "},
		{"abcdef", 4, "abc…"},
		{"héllo", 5, "héllo"},
		{"héllo wörld", 7, "héllo …"},
		{"abc", 0, ""},
	} {
		if got := fit(c.s, c.w); got != c.want {
			t.Errorf("fit(%q, %d) = %q, want %q", c.s, c.w, got, c.want)
		}
	}
	if got := fitRight("64 GiB", 8); got != "  64 GiB" {
		t.Errorf("fitRight = %q", got)
	}
}

func TestPrintable(t *testing.T) {
	if got := printable("ok\nline", true); got != "ok\nline" {
		t.Errorf("clean text changed: %q", got)
	}
	if got := printable("\x1b[2Jboom\n", false); got != `\x1b[2Jboom\x0a` {
		t.Errorf("escapes not neutralised: %q", got)
	}
}

// What a failed merge left in the target, in words: the journal (found by
// the Cmd that ran the merge) comes first, whatever the error.
func TestTargetState(t *testing.T) {
	if s, j := targetState("/n", merge.ErrRefused, true); !j || !strings.Contains(s, "recover it") {
		t.Errorf("with a journal: %q %v", s, j)
	}
	if s, j := targetState("/n", fmt.Errorf("x: %w", merge.ErrRefused), false); j || !strings.Contains(s, "nothing was changed") {
		t.Errorf("refused: %q %v", s, j)
	}
	if s, _ := targetState("/n", fmt.Errorf("x: %w", merge.ErrUnverified), false); !strings.Contains(s, "could not be verified") {
		t.Errorf("unverified: %q", s)
	}
}
