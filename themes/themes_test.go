package themes

import (
	"strings"
	"testing"
)

func TestByName(t *testing.T) {
	for _, c := range []struct {
		name    string
		noColor bool
		want    string
	}{
		{"dark", false, "dark"},
		{"light", false, "light"},
		{"nonsense", false, "dark"},
		{"light", true, "plain"},
	} {
		if got := ByName(c.name, c.noColor).Name; got != c.want {
			t.Errorf("ByName(%q, %v) = %q, want %q", c.name, c.noColor, got, c.want)
		}
	}
	if !Valid("light") || Valid("nonsense") {
		t.Error("Valid disagrees with Names")
	}
}

func TestPlainHasNoEscapes(t *testing.T) {
	st := Plain().Styles
	all := []string{st.Title.Render("t"), st.Subtle.Render("s"), st.ColumnHeader.Render("h"), st.Label.Render("l"),
		st.Section.Render("x"), st.Prompt.Render("p"), st.HelpKey.Render("k"), st.HelpDesc.Render("d"), st.HelpSep.Render("-"),
		st.Match.Render("m"), st.Dialog.Render("b"), st.Button.Render("u"), st.ButtonFocused.Render("u"), st.ButtonDisabled.Render("u")}
	for tone := range NumTones {
		all = append(all, st.Fg[tone].Render("f"), st.Row[tone].Render("r"), st.Selected[tone].Render("c"), st.Marked[tone].Render("m"))
	}
	for _, s := range all {
		if strings.ContainsRune(s, '\x1b') {
			t.Errorf("plain style emits an escape: %q", s)
		}
	}
}

func TestColourThemesDistinguishTones(t *testing.T) {
	for _, th := range []Theme{Dark(), Light()} {
		seen := map[string]Tone{}
		for tone := range NumTones {
			r := th.Styles.Row[tone].Render("x")
			if prev, dup := seen[r]; dup {
				t.Errorf("%s: tones %d and %d render alike", th.Name, prev, tone)
			}
			seen[r] = tone
			if th.Styles.Selected[tone].Render("x") == r {
				t.Errorf("%s: the cursor row looks like any other in tone %d", th.Name, tone)
			}
			if m := th.Styles.Marked[tone].Render("x"); m == r || m == th.Styles.Selected[tone].Render("x") {
				t.Errorf("%s: a selected row looks like another row in tone %d", th.Name, tone)
			}
		}
	}
}
