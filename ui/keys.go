package ui

import (
	"slices"

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

	Sort        key.Binding // 1–9 pick a column; again reverses
	Filter      key.Binding
	ClearFilter key.Binding

	Detail key.Binding
	Back   key.Binding
	Events key.Binding // the node-wide event panel (view only)

	// Accept and Cancel end the filter input.
	Accept key.Binding
	Cancel key.Binding

	Help key.Binding
	Quit key.Binding
	// ForceQuit works everywhere, even while typing a filter.
	ForceQuit key.Binding

	// Actions on post-services. They apply to the selected rows, or to the
	// cursor row when none is selected. Every one of them needs Actions: see
	// DisableDanger.
	Select      key.Binding // space toggles the cursor row
	SelectAll   key.Binding // every row the filter shows
	ClearSelect key.Binding
	Start       key.Binding
	Stop        key.Binding
	Restart     key.Binding
	Logs        key.Binding
	Auto        key.Binding

	// Changes to the node's identities: each opens a full-screen flow that
	// shows what will happen before it happens.
	AddKey  key.Binding // add a PoST dir's identity.key
	Merge   key.Binding // merge another node's data folder into one
	Migrate key.Binding // the migration wizard
	// Reload reads the config file again (SIGHUP does too).
	Reload key.Binding

	// Dialog keys: focus moves over the buttons, enter presses the focused one.
	NextButton key.Binding
	PrevButton key.Binding
	Press      key.Binding
	Dismiss    key.Binding

	// Logs view keys; Up, Down, PageUp, PageDown, Top and Back work there too.
	Follow   key.Binding // to the end, and follow the tail again
	Search   key.Binding
	NextHit  key.Binding
	PrevHit  key.Binding
	ScrollLR key.Binding // ←/→ shift long lines sideways (help only)
	Left     key.Binding
	Right    key.Binding

	// off is each binding turned off with a reason (Refuse): pressing one
	// says why in the footer, and the help lists them, so no key is
	// silently dead.
	off []refusal
}

// refusal is a binding turned off in this session and why.
type refusal struct {
	keys []string
	help key.Help
	why  string
}

// Refuse turns bindings off and records why ("read-only session"): a press
// of one then tells the user instead of doing nothing. A binding refused
// already keeps its first reason, the more particular one (sshserve's "run
// postdeck locally to merge" before the read-only session's).
func (k *KeyMap) Refuse(why string, bs ...*key.Binding) {
	for _, b := range bs {
		if b.Enabled() {
			k.off = append(k.off, refusal{keys: b.Keys(), help: b.Help(), why: why})
		}
		b.SetEnabled(false)
	}
}

// refused is why the pressed key is off, if it is one Refuse turned off.
func (k *KeyMap) refused(pressed string) (refusal, bool) {
	for _, r := range k.off {
		if slices.Contains(r.keys, pressed) {
			return r, true
		}
	}
	return refusal{}, false
}

// DefaultKeyMap returns the dashboard's bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		// j and k move everywhere, as in vim, less and k9s: no screen gives
		// them another meaning.
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/home", "first row")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "last row")),

		Sort: key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9", "0"),
			key.WithHelp("1-9", "sort; again reverses")),
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		ClearFilter: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),

		Detail: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:   key.NewBinding(key.WithKeys("esc", "q", "enter"), key.WithHelp("esc/q", "back")),
		Events: key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "node events")),

		Accept: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),

		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit, even while typing")),

		Select:      key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "select row")),
		SelectAll:   key.NewBinding(key.WithKeys("A"), key.WithHelp("A", "select all shown")),
		ClearSelect: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear selection")),
		Start:       key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "start")),
		Stop:        key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop…")),
		Restart:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "restart")),
		Logs:        key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "logs")),
		Auto:        key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "auto proving on/off")),
		// i for identity: not k, which is up (over SSH k was up and locally it
		// added a key, so the same press did two things).
		AddKey:  key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "add identity key…")),
		Merge:   key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "merge nodes…")),
		Migrate: key.NewBinding(key.WithKeys("M"), key.WithHelp("M", "migration wizard…")),
		Reload:  key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "reload config")),

		NextButton: key.NewBinding(key.WithKeys("tab", "right"), key.WithHelp("tab/→", "next button")),
		PrevButton: key.NewBinding(key.WithKeys("shift+tab", "left"), key.WithHelp("shift+tab/←", "previous button")),
		Press:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose")),
		Dismiss:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),

		Follow:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "follow the tail")),
		Search:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search log")),
		NextHit:  key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next match")),
		PrevHit:  key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "previous match")),
		ScrollLR: key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "scroll sideways")),
		Left:     key.NewBinding(key.WithKeys("left", "h")),
		Right:    key.NewBinding(key.WithKeys("right", "l")),
	}
}

// danger lists, in this one place, every binding that acts on post-services
// or needs Actions to work: a view-only dashboard has none of them. The
// first ones are what a user presses on the table (refused with a reason);
// the log view's keys follow.
func (k *KeyMap) danger() []*key.Binding {
	return append(k.acting(), k.logKeys()...)
}

// acting are the table's keys that act: a read-only session refuses them.
// Reloading the config is one: it replaces the session's services.
func (k *KeyMap) acting() []*key.Binding {
	return []*key.Binding{&k.Select, &k.SelectAll, &k.Start, &k.Stop, &k.Restart, &k.Auto,
		&k.AddKey, &k.Merge, &k.Migrate, &k.Reload}
}

// logKeys open and drive the log view: reading, which a read-only session
// may do when it has a LogReader.
func (k *KeyMap) logKeys() []*key.Binding {
	return []*key.Binding{&k.Logs, &k.Follow, &k.Search, &k.NextHit, &k.PrevHit, &k.ScrollLR, &k.Left, &k.Right}
}

// readOnlyWhy is what a refused key says in a session without Actions:
// short, as the footer line is one line at 80 columns.
const readOnlyWhy = "not in a read-only session"

// DisableDanger turns off every action binding, so the keys vanish from the
// help and the footer; pressing one says it is a read-only session. New
// calls it when Options.Actions is nil.
func (k *KeyMap) DisableDanger() {
	k.Refuse(readOnlyWhy, k.acting()...)
	k.Refuse(readOnlyWhy, &k.Logs)
	for _, b := range append(k.logKeys(), &k.ClearSelect) {
		b.SetEnabled(false) // keys of a view or a selection that cannot open
	}
}

// enableLogs turns the log view's keys back on in a read-only session that
// can read logs: reading is not acting.
func (k *KeyMap) enableLogs() {
	k.off = slices.DeleteFunc(k.off, func(r refusal) bool { return slices.Equal(r.keys, k.Logs.Keys()) })
	for _, b := range k.logKeys() {
		b.SetEnabled(true)
	}
}

// ActionsEnabled reports whether any action binding is on.
func (k *KeyMap) ActionsEnabled() bool {
	for _, b := range k.danger() {
		if b.Enabled() {
			return true
		}
	}
	return false
}

// ShortHelp is the footer's hint line on the table.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Down, k.Detail, k.Select, k.Start, k.Stop, k.Logs, k.Filter, k.Help, k.Quit, k.Sort}
}

// FullHelp is the help screen: one column per group.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Sort, k.Filter, k.ClearFilter, k.Accept},
		{k.Detail, k.Events, k.Back, k.Help, k.Reload, k.Quit, k.ForceQuit},
		{k.Select, k.SelectAll, k.ClearSelect, k.Start, k.Stop, k.Restart, k.Auto},
		{k.Logs, k.Follow, k.Search, k.NextHit, k.PrevHit, k.ScrollLR},
		{k.AddKey, k.Merge, k.Migrate},
	}
}

// offHelp lists the bindings this session turned off, with why.
func (k KeyMap) offHelp() []refusal { return k.off }

// dialogHelp is the footer's hint line while a dialog is open.
func (k KeyMap) dialogHelp() []key.Binding {
	return []key.Binding{k.NextButton, k.Press, k.Dismiss}
}

// confirmHelp is the footer's hint line while a confirmation is typed.
func (k KeyMap) confirmHelp() []key.Binding {
	press, back := k.Press, k.Dismiss
	press.SetHelp(press.Help().Key, "confirm")
	back.SetHelp(back.Help().Key, "back to the buttons")
	return []key.Binding{press, back}
}

// helpHelp is the footer's hint line on the help screen: how to scroll it.
func (k KeyMap) helpHelp() []key.Binding {
	scroll := key.NewBinding(key.WithKeys("j", "k"), key.WithHelp("↑↓/jk", "scroll"))
	page := key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgup/pgdn", "page"))
	ends := key.NewBinding(key.WithKeys("g", "G"), key.WithHelp("g/G", "top/end"))
	return []key.Binding{k.Back, scroll, page, ends}
}

// logsHelp is the footer's hint line in the logs view.
func (k KeyMap) logsHelp() []key.Binding {
	return []key.Binding{k.Back, k.Up, k.Follow, k.Search, k.NextHit, k.PrevHit}
}
