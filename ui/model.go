// Package ui is postdeck's terminal dashboard: Bubble Tea models that turn
// snapshots and keys into state, and state into text. It gets its data over
// a channel and never does I/O of its own.
package ui

import (
	"slices"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"postdeck/backend/config"
	"postdeck/model"
	"postdeck/themes"
)

// Options configure the dashboard.
type Options struct {
	Snapshots <-chan model.Snapshot // latest-wins feed from the poller; may be closed
	Theme     themes.Theme          // from themes.ByName
	Interval  time.Duration         // poll interval: data older than 3× is stale
	Title     string                // shown first in the header
	// ReadOnly pins a READ-ONLY marker at the start of the header, where no
	// width and no other header item can push it out (a view-only SSH
	// session: Actions nil alone only hides the keys).
	ReadOnly bool
	// Demo says the session shows a simulated node (cmd/demo): the header
	// keeps "postdeck — demo" at every width, so a simulated node never
	// passes for a real one.
	Demo bool
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
	// Keys overrides DefaultKeyMap when not nil.
	Keys *KeyMap
	// Actions start and stop services; nil makes the dashboard view-only:
	// every action key is disabled and missing from the help and footer,
	// and pressing one says so.
	Actions Actions
	// Logs reads services' logs when Actions is nil (a read-only session:
	// reading a log changes nothing); with Actions, Actions reads them.
	Logs LogReader
	// Config is the loaded config: adding a key (i), merging (m) and the
	// migration wizard (M) need its data folder, listeners and path; nil
	// makes those keys say so.
	Config *config.Config
	// Reload reads the config again (ctrl+r); nil: this session cannot.
	Reload Reload
	// Migrate opens the migration wizard full-screen at start; leaving it
	// quits (`postdeck migrate`). MigrationReport then says what it did.
	Migrate bool
}

// SnapshotMsg delivers a new snapshot to the dashboard.
type SnapshotMsg struct{ model.Snapshot }

// feedClosedMsg says the snapshot channel was closed: no more updates.
type feedClosedMsg struct{}

// tickMsg refreshes the "updated Ns ago" age once a second.
type tickMsg time.Time

// mode is which screen fills the body.
type mode int

const (
	modeTable mode = iota
	modeDetail
	modeHelp
	modeLogs
)

// Header and footer heights; the body gets the rest of the screen.
const (
	headerLines = 2
	footerLines = 1
)

// Model is the dashboard. It implements tea.Model.
type Model struct {
	feed      <-chan model.Snapshot
	theme     themes.Theme
	ink       inks // the theme's hot-path styles
	interval  time.Duration
	title     string
	readOnly  bool
	demo      bool
	now       func() time.Time
	keys      KeyMap
	help      help.Model
	hintCache hintCache

	width, height int

	snap       *model.Snapshot
	counts     model.Counts // of snap, counted once per snapshot: every count shown is from it
	received   time.Time
	feedClosed bool
	// nodeLineCount is how many lines the header gives the nodes of a
	// fleet (0 with one node), fixed per snapshot so the body's height is.
	nodeLineCount int

	mode    mode
	helpTop int // the help's first line shown: it scrolls
	table   table
	filter  filterInput
	detail  detail

	actions  Actions
	logsFrom LogReader       // Actions, or Options.Logs in a read-only session; nil: no logs
	selected map[string]bool // row keys selected for a bulk action
	pending  int             // rows with a stop pending in the snapshot
	overlays overlays        // the stop dialog, the flows: layer order and grace
	ops      []*op           // operations in flight, oldest first
	opSeq    int
	sem      chan struct{} // bounds the Actions calls running at once
	status   status
	logs     logView

	cfg           *config.Config
	reload        Reload
	flow          flow // the add-key form, the merge or the wizard; nil when none
	flowSeq       int  // tags the open flow's Cmds: replies to a closed one are dropped
	flowScroll    int
	flowFollow    bool // a following page keeps its end in view
	flowPageKey   string
	flowHints     []key.Binding
	quitArmed     bool       // ctrl+c was pressed once while a merge runs
	watches       []keyWatch // keys added here that the node has not reported yet
	migrateOnly   bool       // `postdeck migrate`: leaving the wizard quits
	migrateReport string
}

// New builds the dashboard; run it with tea.NewProgram(ui.New(opts)).
func New(opts Options) *Model {
	m := &Model{
		feed:     opts.Snapshots,
		theme:    opts.Theme,
		interval: opts.Interval,
		title:    opts.Title,
		readOnly: opts.ReadOnly,
		demo:     opts.Demo,
		now:      opts.Now,
		keys:     DefaultKeyMap(),
		help:     help.New(),
		actions:  opts.Actions,
		cfg:      opts.Config,
		reload:   opts.Reload,
		selected: map[string]bool{},
		sem:      make(chan struct{}, actionWorkers),
	}
	if m.now == nil {
		m.now = time.Now
	}
	if opts.Keys != nil {
		m.keys = *opts.Keys
	}
	m.keys.off = slices.Clone(m.keys.off) // Refuse appends: not into the caller's map
	if m.actions == nil {
		m.keys.DisableDanger()
		if opts.Logs != nil {
			m.logsFrom = opts.Logs
			m.keys.enableLogs()
		}
	} else {
		m.logsFrom = m.actions
	}
	if opts.Migrate {
		m.migrateOnly = true
		m.showFlow(m.openWizard())
	}
	if m.title == "" {
		m.title = "postdeck"
	}
	m.ink = newInks(&m.theme.Styles)
	st := &m.theme.Styles
	m.help.Styles = help.Styles{
		Ellipsis: st.HelpSep, ShortKey: st.HelpKey, ShortDesc: st.HelpDesc, ShortSeparator: st.HelpSep,
		FullKey: st.HelpKey, FullDesc: st.HelpDesc, FullSeparator: st.HelpSep,
	}
	m.filter = newFilterInput(&m.theme)
	m.setSize(80, 24) // until the terminal says otherwise
	return m
}

// Init starts waiting for snapshots and the age ticker.
func (m *Model) Init() tea.Cmd {
	var focus tea.Cmd
	if w, ok := m.flow.(*wizard); ok {
		focus = w.form.focusOn(0)
	}
	return tea.Batch(waitSnapshot(m.feed), tick(), focus)
}

// MigrationReport says what the migration wizard did and did not do, once
// it was left ("" before).
func (m *Model) MigrationReport() string {
	if w, ok := m.flow.(*wizard); ok {
		return w.report(m)
	}
	return m.migrateReport
}

// waitSnapshot blocks (in its own goroutine, as every Cmd) until the poller
// sends a snapshot; Update re-arms it after each one.
func waitSnapshot(feed <-chan model.Snapshot) tea.Cmd {
	if feed == nil {
		return nil
	}
	return func() tea.Msg {
		s, ok := <-feed
		if !ok {
			return feedClosedMsg{}
		}
		return SnapshotMsg{s}
	}
}

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Update turns a message into state. It never blocks.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.setSize(msg.Width, msg.Height)
	case ReloadedMsg:
		m.reloaded(msg)
		return m, nil
	case SnapshotMsg:
		m.setSnapshot(msg.Snapshot)
		return m, waitSnapshot(m.feed)
	case feedClosedMsg:
		m.feedClosed = true
	case tickMsg:
		return m, tick()
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	case flowMsg:
		cmd := m.flowResult(msg)
		m.overlays.settle(m.now()) // the result may show a new question
		return m, cmd
	case tea.PasteMsg:
		switch {
		case m.overlays.open():
			return m, m.overlays.paste(m, msg)
		case m.filter.active:
			return m, m.filterUpdate(msg)
		case m.logs.searching:
			return m, m.logs.searchUpdate(msg)
		}
	case actionResultMsg:
		m.actionResult(msg)
	case autoMsg:
		if msg.on {
			m.setStatus("automatic proving on: services start when the node wants a proof and stop once it is fetched", themes.ToneOK)
		} else {
			m.setStatus("automatic proving off", themes.ToneOK)
		}
	case logSourceMsg, logDataMsg, logTickMsg:
		return m, m.logsMsg(msg)
	}
	return m, nil
}

// setSnapshot shows a new snapshot: the index is rebuilt once here.
func (m *Model) setSnapshot(s model.Snapshot) {
	m.snap = &s
	if n := nodeLineCount(&s); n != m.nodeLineCount {
		m.nodeLineCount = n
		m.setSize(m.width, m.height) // the body gives the header its lines
	}
	m.counts = s.Count()
	m.received = m.now()
	m.pending = 0
	for i := range s.Rows {
		if s.Rows[i].PendingStop {
			m.pending++
		}
	}
	m.table.setRows(s.Rows)
	m.pruneSelection(s.Rows)
	if m.mode == modeDetail {
		m.detail.update(s.Rows, m)
	}
	m.overlays.snapshot(m, m.snap)
	m.checkWatches(m.snap)
}

// setSize lays the screen out again for a new terminal size.
func (m *Model) setSize(w, h int) {
	m.width, m.height = max(w, 20), max(h, m.headerHeight()+footerLines+2)
	body := m.bodyHeight()
	m.table.setSize(m.width, body)
	m.detail.setSize(m.width, body-1, m)
	m.filter.setWidth(m.width)
	m.help.SetWidth(m.width)
	m.logs.setSize(m.width, body)
}

func (m *Model) bodyHeight() int {
	return m.height - m.headerHeight() - footerLines
}

// headerHeight is the two header lines and, with several nodes, a line
// for each shown (nodeLines).
func (m *Model) headerHeight() int { return headerLines + m.nodeLineCount }

// snapNode is the node view of the latest snapshot, nil before the first.
func (m *Model) snapNode() *model.NodeView {
	if m.snap == nil {
		return nil
	}
	return &m.snap.Node
}
