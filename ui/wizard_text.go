package ui

// text builds the lines of a flow's page: wrapped to a width, escaped, in
// a tone (items, details, sections, checklists).

import (
	"strings"

	"postdeck/themes"
)

// text builds a page's lines: wrapped to a width, escaped, in a tone.
type text struct {
	w   int
	st  *themes.Styles
	out []string
}

func newText(width int, th *themes.Theme) *text {
	return &text{w: max(10, width-2), st: &th.Styles}
}

// add writes s (escaped, wrapped) in a tone, each line indented by ind.
func (t *text) add(s string, tone themes.Tone, ind int) {
	pad := strings.Repeat(" ", ind)
	for l := range strings.SplitSeq(wrap(printable(s, true), t.w-ind), "\n") {
		t.out = append(t.out, pad+t.st.Fg[tone].Render(l))
	}
}

// item is a marked line: "  ✓ text" whose wrapped lines hang under the text.
func (t *text) item(mark, s string, tone themes.Tone) {
	lines := strings.Split(wrap(printable(s, true), t.w-4), "\n")
	for i, l := range lines {
		lead := "  " + mark + " "
		if i > 0 {
			lead = "    "
		}
		t.out = append(t.out, t.st.Fg[tone].Render(lead+l))
	}
}

// sub is a detail under an item: "      - text", wrapped lines hanging.
func (t *text) sub(s string, tone themes.Tone) {
	for i, l := range strings.Split(wrap(printable(s, true), t.w-8), "\n") {
		lead := "      - "
		if i > 0 {
			lead = "        "
		}
		t.out = append(t.out, t.st.Fg[tone].Render(lead+l))
	}
}

func (t *text) section(s string) {
	t.out = append(t.out, t.st.Section.Render(truncate(printable(s, false), t.w)))
}

func (t *text) blank() { t.out = append(t.out, "") }

// block adds multi-line text (a plan, a snippet) line by line in a tone;
// a line too long for the width wraps, hanging under its start.
func (t *text) block(s string, tone themes.Tone, ind int) {
	pad := strings.Repeat(" ", ind)
	for l := range strings.SplitSeq(strings.TrimRight(printable(s, true), "\n"), "\n") {
		rest := strings.TrimLeft(l, " ")
		lead := l[:len(l)-len(rest)]
		hang := lead + "   " // wrapped lines hang under the text
		for i, w := range strings.Split(wrap(rest, t.w-ind-len(hang)), "\n") {
			if i == 0 {
				w = lead + w
			} else {
				w = hang + w
			}
			t.out = append(t.out, pad+t.st.Fg[tone].Render(w))
		}
	}
}

// check is one line of a checklist: ✓ in the OK tone, ✗ in the danger tone,
// readable without colour.
func (t *text) check(ok bool, s string) {
	if ok {
		t.item("✓", s, themes.ToneOK)
	} else {
		t.item("✗", s, themes.ToneDanger)
	}
}
