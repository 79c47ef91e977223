package ui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"postdeck/model"
)

// humanBytes formats a size in binary units: "512 B", "1.5 KiB", "256 GiB".
func humanBytes(n uint64) string { return model.HumanBytes(n) }

// progressBar draws percent (0–100) as a bar of width cells.
func progressBar(percent float64, width int) string {
	if width <= 0 {
		return ""
	}
	filled := int(math.Round(min(max(percent, 0), 100) / 100 * float64(width)))
	return strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
}

// age formats how long ago something happened: "4s", "3m05s", "2h10m", "3d4h".
func age(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// progressText is the PROGRESS cell: the phase while in k2pow, else a bar
// with the percent of the current pass; barWidth 0 leaves the bar out.
func progressText(p *model.Progress, barWidth int) string {
	s := model.ProgressCell(p)
	if barWidth > 0 && p != nil && p.Phase != "k2pow" && p.Position > 0 {
		s = progressBar(p.Percent, barWidth) + " " + s
	}
	return s
}

// healthText is the HEALTH cell: the first flag and how many more there are.
func healthText(hs []model.Health) string {
	switch len(hs) {
	case 0:
		return ""
	case 1:
		return string(hs[0])
	}
	// A critical flag is the one shown: the others wait behind "+n".
	first := hs[0]
	for _, h := range hs {
		if h.Critical() {
			first = h
			break
		}
	}
	return fmt.Sprintf("%s +%d", first, len(hs)-1)
}

// fit pads or truncates s to exactly w terminal cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := cellWidth(s)
	if sw > w {
		s = truncate(s, w)
		sw = cellWidth(s)
	}
	return s + strings.Repeat(" ", w-sw)
}

// fitRight is fit with the text aligned right.
func fitRight(s string, w int) string {
	if sw := cellWidth(s); sw < w {
		return strings.Repeat(" ", w-sw) + s
	}
	return fit(s, w)
}

// cellWidth is the terminal width of plain text; ASCII skips the grapheme scan.
func cellWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// truncate cuts s to at most w cells, marking the cut with "…".
func truncate(s string, w int) string {
	if cellWidth(s) <= w {
		return s
	}
	if w <= 1 {
		return ansi.Truncate(s, w, "")
	}
	return ansi.Truncate(s, w, "…")
}

// printable escapes control characters so text from the outside world (a
// misbehaving /status body, a file name) cannot move the cursor or restyle
// the terminal. Newlines stay when keepNewlines is set.
func printable(s string, keepNewlines bool) string {
	clean := true
	for _, r := range s {
		if isControl(r) && (r != '\n' || !keepNewlines) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' && keepNewlines:
			b.WriteRune(r)
		case isControl(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r < 0xa0)
}

// ansiTruncate cuts styled text to w cells, keeping its escape sequences.
func ansiTruncate(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}
