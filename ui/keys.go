package ui

import (
	"charm.land/bubbles/v2/key"
)

// KeyMap is every key binding of the dashboard. Help, the footer hints and
// Update all read from it, so a binding is defined in exactly one place.
type KeyMap struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding

	Sort        key.Binding // 1–8 pick a column; again reverses
	Filter      key.Binding
	ClearFilter key.Binding

	Detail key.Binding
	Back   key.Binding

	// Accept and Cancel end the filter input.
	Accept key.Binding
	Cancel key.Binding

	Help key.Binding
	Quit key.Binding
	// ForceQuit works everywhere, even while typing a filter.
	ForceQuit key.Binding
}

// DefaultKeyMap returns the dashboard's bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f", "space"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/home", "first row")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "last row")),

		Sort: key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8"),
			key.WithHelp("1-8", "sort; again reverses")),
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		ClearFilter: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),

		Detail: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:   key.NewBinding(key.WithKeys("esc", "q", "enter"), key.WithHelp("esc/q", "back")),

		Accept: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),

		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// ShortHelp is the footer's hint line on the table.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Down, k.Detail, k.Filter, k.Sort, k.Help, k.Quit}
}

// FullHelp is the help screen: one column per group.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Sort, k.Filter, k.ClearFilter, k.Accept},
		{k.Detail, k.Back, k.Help, k.Quit},
	}
}
