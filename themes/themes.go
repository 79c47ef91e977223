// Package themes holds postdeck's palettes and the styles built from them.
//
// A theme is a value, never a package global: an SSH server can hand each
// session its own theme. Views speak in semantic tones (ok, warn, danger…),
// never in colours, so a palette is the only place a colour is named.
package themes

import (
	"image/color"
	"slices"

	"charm.land/lipgloss/v2"
)

// Palette is the semantic set of colours a theme is made of.
type Palette struct {
	Text   color.Color // ordinary text
	Subtle color.Color // labels, separators, column headers
	Muted  color.Color // rows and facts that matter little (no service, absent)
	Accent color.Color // work in progress: proving
	OK     color.Color // good news: done, synced
	Warn   color.Color // needs a look soon
	Danger color.Color // rewards are being lost or a ban is at risk
	// Selection is the background of the cursor row.
	Selection color.Color
	// Marked is the background of rows selected for a bulk action.
	Marked color.Color
	// Highlight is the background of search matches.
	Highlight color.Color
}

// Tone is the semantic role of a piece of text.
type Tone int

const (
	ToneText Tone = iota
	ToneAccent
	ToneOK
	ToneWarn
	ToneDanger
	ToneMuted
	NumTones
)

// Styles are every style the UI draws with.
type Styles struct {
	// Fg is inline text in a tone.
	Fg [NumTones]lipgloss.Style
	// Row is a table row in a tone; Selected is the same row under the cursor.
	Row      [NumTones]lipgloss.Style
	Selected [NumTones]lipgloss.Style
	// Marked is a row selected for a bulk action (not under the cursor).
	Marked [NumTones]lipgloss.Style

	Title        lipgloss.Style // the app title in the header
	Subtle       lipgloss.Style // separators and secondary text
	ColumnHeader lipgloss.Style // the table's header line
	Label        lipgloss.Style // field names in the detail view
	Section      lipgloss.Style // section titles in the detail and help views
	Prompt       lipgloss.Style // the filter prompt
	HelpKey      lipgloss.Style
	HelpDesc     lipgloss.Style
	HelpSep      lipgloss.Style

	Match  lipgloss.Style // a search match in the logs view
	Dialog lipgloss.Style // the border of a dialog box
	// Button is a dialog button; Focused the one enter activates; Disabled
	// one that cannot be chosen now.
	Button, ButtonFocused, ButtonDisabled lipgloss.Style
}

// Theme is a named palette and the styles built from it.
type Theme struct {
	Name string
	// NoColor is set for the colourless theme: the UI must then make every
	// state readable from text and markers alone.
	NoColor bool
	Palette Palette
	Styles  Styles
}

// Names lists the selectable theme names.
func Names() []string { return []string{"dark", "light"} }

// Valid reports whether name is a known theme.
func Valid(name string) bool { return slices.Contains(Names(), name) }

// ByName returns the named theme, or the colourless theme when noColor is set
// (pass os.Getenv("NO_COLOR") != ""). An unknown name gives the dark theme;
// use Valid to reject it first.
func ByName(name string, noColor bool) Theme {
	switch {
	case noColor:
		return Plain()
	case name == "light":
		return Light()
	default:
		return Dark()
	}
}

// Dark is the theme for dark terminal backgrounds.
func Dark() Theme {
	return build("dark", Palette{
		Text:      lipgloss.Color("#E4E4E4"),
		Subtle:    lipgloss.Color("#8A8A8A"),
		Muted:     lipgloss.Color("#626262"),
		Accent:    lipgloss.Color("#5FAFFF"),
		OK:        lipgloss.Color("#87D787"),
		Warn:      lipgloss.Color("#FFD75F"),
		Danger:    lipgloss.Color("#FF5F5F"),
		Selection: lipgloss.Color("#3A3A3A"),
		Marked:    lipgloss.Color("#2A3A4A"),
		Highlight: lipgloss.Color("#FFD75F"),
	})
}

// Light is the theme for light terminal backgrounds.
func Light() Theme {
	return build("light", Palette{
		Text:      lipgloss.Color("#1C1C1C"),
		Subtle:    lipgloss.Color("#6C6C6C"),
		Muted:     lipgloss.Color("#9E9E9E"),
		Accent:    lipgloss.Color("#005FD7"),
		OK:        lipgloss.Color("#008700"),
		Warn:      lipgloss.Color("#AF5F00"),
		Danger:    lipgloss.Color("#D70000"),
		Selection: lipgloss.Color("#D0D0D0"),
		Marked:    lipgloss.Color("#D7E7F7"),
		Highlight: lipgloss.Color("#FFD75F"),
	})
}

// Plain is the theme without any ANSI styling at all (NO_COLOR): not even
// bold or reverse video, so the output is plain text.
func Plain() Theme {
	plain := lipgloss.NewStyle()
	var s Styles
	for t := range NumTones {
		s.Fg[t], s.Row[t], s.Selected[t], s.Marked[t] = plain, plain, plain, plain
	}
	s.Title, s.Subtle, s.ColumnHeader, s.Label, s.Section = plain, plain, plain, plain, plain
	s.Prompt, s.HelpKey, s.HelpDesc, s.HelpSep = plain, plain, plain, plain
	s.Match, s.Dialog, s.Button, s.ButtonFocused, s.ButtonDisabled = plain, plain, plain, plain, plain
	return Theme{Name: "plain", NoColor: true, Styles: s}
}

// build derives every style from a palette, so a new theme is only a palette.
func build(name string, p Palette) Theme {
	tones := [NumTones]color.Color{
		ToneText: p.Text, ToneAccent: p.Accent, ToneOK: p.OK,
		ToneWarn: p.Warn, ToneDanger: p.Danger, ToneMuted: p.Muted,
	}
	fg := func(c color.Color) lipgloss.Style { return lipgloss.NewStyle().Foreground(c) }
	var s Styles
	for t, c := range tones {
		s.Fg[t] = fg(c)
		s.Row[t] = fg(c)
		s.Selected[t] = fg(c).Background(p.Selection).Bold(true)
		s.Marked[t] = fg(c).Background(p.Marked)
	}
	s.Title = fg(p.Accent).Bold(true)
	s.Subtle = fg(p.Subtle)
	s.ColumnHeader = fg(p.Subtle).Bold(true)
	s.Label = fg(p.Subtle)
	s.Section = fg(p.Text).Bold(true)
	s.Prompt = fg(p.Accent).Bold(true)
	s.HelpKey = fg(p.Accent)
	s.HelpDesc = fg(p.Subtle)
	s.HelpSep = fg(p.Muted)
	s.Match = lipgloss.NewStyle().Foreground(lipgloss.Color("#000000")).Background(p.Highlight)
	s.Dialog = fg(p.Accent)
	s.Button = fg(p.Text)
	s.ButtonFocused = fg(p.Text).Background(p.Selection).Bold(true).Underline(true)
	s.ButtonDisabled = fg(p.Muted)
	return Theme{Name: name, Palette: p, Styles: s}
}
