package sshserve

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"postdeck/backend/config"
	"postdeck/model"
	"postdeck/themes"
	"postdeck/ui"
)

// Over SSH the flows that change files are off, and each says where it
// works instead of doing nothing; j and k move as they do locally.
func TestSessionKeysSayWhyTheyAreOff(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		keys := sessionKeys()
		opts := ui.Options{Theme: themes.Plain(), Keys: &keys, ReadOnly: readOnly,
			Reload: func() (*config.Config, []string, error) { t.Error("ctrl+r reloaded over SSH"); return nil, nil, nil }}
		if !readOnly {
			opts.Actions = &fakeActions{}
		}
		m := ui.New(opts)
		m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		m.Update(ui.SnapshotMsg{Snapshot: model.Snapshot{Rows: []model.Row{{Name: "a.key"}, {Name: "b.key"}, {Name: "c.key"}}}})
		for k, want := range map[string]string{
			"m":      "m merge nodes: run postdeck locally to merge",
			"M":      "M migration wizard: run postdeck locally for the wizard",
			"i":      "i add identity key: run postdeck locally to add a key",
			"ctrl+r": "ctrl+r reload config: " + ReloadWhy,
		} {
			m.Update(keyPress(k))
			if f := footer(m); !strings.HasPrefix(f, want) {
				t.Errorf("read-only %v: %s says %q, want %q", readOnly, k, f, want)
			}
		}
		for _, k := range "jjk" {
			m.Update(tea.KeyPressMsg{Code: k, Text: string(k)})
		}
		if v := ansi.Strip(m.View().Content); !strings.Contains(v, "> b.key") && !strings.Contains(v, ">b.key") {
			t.Errorf("read-only %v: j j k did not leave the cursor on the second row:\n%s", readOnly, v)
		}
	}
}

// keyPress is the press of a key by name ("m", "ctrl+r").
func keyPress(k string) tea.KeyPressMsg {
	if c, ok := strings.CutPrefix(k, "ctrl+"); ok {
		return tea.KeyPressMsg{Code: rune(c[0]), Mod: tea.ModCtrl}
	}
	return tea.KeyPressMsg{Code: rune(k[0]), Text: k}
}

func footer(m *ui.Model) string {
	lines := strings.Split(ansi.Strip(m.View().Content), "\n")
	return lines[len(lines)-1]
}
