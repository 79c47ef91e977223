package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"postdeck/backend/proc"
	"postdeck/model"
	"postdeck/themes"
)

// logPoll is how often the logs view looks for new lines.
const logPoll = 400 * time.Millisecond

// logView is the full-screen tail of one service's log: its file or its
// systemd unit's journal, read by backend.ReadLog in Cmds. It follows the
// end until the user scrolls up; it reads only what was added and keeps a
// bounded number of bounded lines.
type logView struct {
	gen     int // replies for another gen are stale and dropped
	service string
	label   string
	src     proc.LogSource
	srcSet  bool

	ring  logRing
	split lineSplitter
	cur   proc.LogCursor // where the next read starts
	read  bool           // a read has completed

	missing bool
	err     string

	follow bool
	top    int64 // absolute line shown first while paused
	hoff   int   // columns scrolled sideways

	width, height int // the lines' area, below the title line

	searching bool
	input     textinput.Model
	pattern   string // lower-cased; "" for none
	hit       int64  // the current match, -1 for none
	note      string // search feedback
}

// logSourceMsg says where the log is, asked of Actions in a Cmd.
type logSourceMsg struct {
	gen int
	src proc.LogSource
}

// logDataMsg is one poll's result.
type logDataMsg struct {
	gen int
	res proc.LogChunk
	err error
}

// logTickMsg asks for the next poll.
type logTickMsg struct{ gen int }

// openLogs shows the log of the cursor row's service.
func (m *Model) openLogs() tea.Cmd {
	r := m.table.selected()
	if r == nil || m.logsFrom == nil {
		return nil
	}
	if r.Service == "" {
		m.setStatus(printable(r.Label(), false)+" has no post-service, so no log", themes.ToneWarn)
		return nil
	}
	l := &m.logs
	gen := l.gen + 1
	*l = logView{gen: gen, service: r.Service, label: r.Label(), follow: true, hit: -1,
		ring: newLogRing(maxLogLines), split: lineSplitter{max: maxLineBytes},
		width: l.width, height: l.height, input: newSearchInput(&m.theme)}
	m.mode = modeLogs
	a, svc := m.logsFrom, r.Service
	return func() tea.Msg {
		src, err := a.LogSource(svc)
		if err != nil { // not a service postdeck knows: no log of its own
			src = proc.LogSource{}
		}
		return logSourceMsg{gen: gen, src: src}
	}
}

func newSearchInput(th *themes.Theme) textinput.Model {
	ti := textinput.New()
	ti.Prompt = "search: "
	ti.Placeholder = "text (case-insensitive)"
	ti.SetVirtualCursor(false)
	st := &th.Styles
	state := textinput.StyleState{Prompt: st.Prompt, Placeholder: st.Fg[themes.ToneMuted]}
	ti.SetStyles(textinput.Styles{Focused: state, Blurred: state,
		Cursor: textinput.CursorStyle{Color: th.Palette.Accent, Shape: tea.CursorBar, Blink: true}})
	return ti
}

// closeLogs goes back to the table; replies in flight become stale.
func (m *Model) closeLogs() {
	m.logs.gen++
	m.logs.searching = false
	m.mode = modeTable
}

// logsMsg handles the poll loop: path → read → tick → read…; exactly one
// read is in flight at a time, and none after the view closed.
func (m *Model) logsMsg(msg tea.Msg) tea.Cmd {
	l := &m.logs
	switch msg := msg.(type) {
	case logSourceMsg:
		if msg.gen != l.gen || m.mode != modeLogs {
			return nil
		}
		l.src, l.srcSet = msg.src, true
		if l.src.None() {
			l.missing = true
			return nil
		}
		return readLogCmd(l.gen, l.src, l.cur)
	case logTickMsg:
		if msg.gen != l.gen || m.mode != modeLogs {
			return nil
		}
		return readLogCmd(l.gen, l.src, l.cur)
	case logDataMsg:
		if msg.gen != l.gen || m.mode != modeLogs {
			return nil
		}
		l.apply(msg.res, msg.err)
		if msg.err == nil && msg.res.More {
			return readLogCmd(l.gen, l.src, l.cur)
		}
		gen := l.gen
		return tea.Tick(logPoll, func(time.Time) tea.Msg { return logTickMsg{gen: gen} })
	}
	return nil
}

// readLogCmd reads once; backend.ReadLog bounds the read's time itself.
func readLogCmd(gen int, src proc.LogSource, cur proc.LogCursor) tea.Cmd {
	return func() tea.Msg {
		res, err := proc.ReadLog(context.Background(), src, cur)
		return logDataMsg{gen: gen, res: res, err: err}
	}
}

// apply takes one poll's result into the lines.
func (l *logView) apply(res proc.LogChunk, err error) {
	l.missing, l.err = res.Missing, ""
	if err != nil {
		l.err = err.Error()
		return
	}
	if res.Missing {
		return
	}
	data := res.Data
	if res.Reset {
		if p, ok := l.split.partial(); ok {
			l.ring.push(p)
		}
		l.split.reset()
		l.ring.push("── the log was truncated or replaced (rotated): reading it again from the start ──")
	}
	if res.Skipped > 0 {
		l.ring.push(fmt.Sprintf("── %s earlier in the file not shown ──", model.HumanBytes(uint64(res.Skipped))))
		// The window starts mid-line: drop that fragment when a whole line follows.
		if i := strings.IndexByte(string(data[:min(len(data), maxLineBytes*4)]), '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	l.split.feed(data, l.ring.push)
	l.cur, l.read = res.Next, true
}

// count is the number of lines to show: the kept ones and the partial last.
func (l *logView) count() int64 {
	n := int64(l.ring.n)
	if _, ok := l.split.partial(); ok {
		n++
	}
	return n
}

// lineAt is the line with absolute number a, including the partial last one.
func (l *logView) lineAt(a int64) (string, bool) {
	if s, ok := l.ring.line(a); ok {
		return s, true
	}
	if a == l.ring.total {
		return l.split.partial()
	}
	return "", false
}

// window is the absolute number of the first line shown.
func (l *logView) window() int64 {
	first, n := l.ring.first(), l.count()
	bottom := first + max(0, n-int64(l.height))
	if l.follow {
		return bottom
	}
	return max(first, min(l.top, bottom))
}

func (l *logView) setSize(width, bodyHeight int) {
	l.width, l.height = width, max(1, bodyHeight-1)
}

// scroll moves the window by delta lines; moving at all pauses following.
func (l *logView) scroll(delta int64) {
	top := l.window() + delta
	l.follow = false
	l.top = top
	l.top = l.window() // clamp
}

// logsKey handles a key in the logs view.
func (m *Model) logsKey(k tea.KeyPressMsg) tea.Cmd {
	l := &m.logs
	if l.searching {
		return m.searchKey(k)
	}
	page := int64(max(1, l.height-1))
	switch {
	case key.Matches(k, m.keys.Back):
		m.closeLogs()
	case key.Matches(k, m.keys.Up):
		l.scroll(-1)
	case key.Matches(k, m.keys.Down):
		l.scroll(1)
	case key.Matches(k, m.keys.PageUp):
		l.scroll(-page)
	case key.Matches(k, m.keys.PageDown):
		l.scroll(page)
	case key.Matches(k, m.keys.Follow):
		l.follow, l.note = true, ""
	case key.Matches(k, m.keys.Top):
		l.follow, l.top = false, l.ring.first()
	case key.Matches(k, m.keys.Left):
		l.hoff = max(0, l.hoff-8)
	case key.Matches(k, m.keys.Right):
		l.hoff += 8
	case key.Matches(k, m.keys.Search):
		l.searching = true
		l.input.SetValue("")
		l.input.SetWidth(max(10, m.width/3))
		return l.input.Focus()
	case key.Matches(k, m.keys.NextHit):
		l.jump(1)
	case key.Matches(k, m.keys.PrevHit):
		l.jump(-1)
	}
	return nil
}

// searchKey handles a key while the search text is typed.
func (m *Model) searchKey(k tea.KeyPressMsg) tea.Cmd {
	l := &m.logs
	switch {
	case key.Matches(k, m.keys.Accept):
		l.searching = false
		l.input.Blur()
		l.pattern = strings.ToLower(l.input.Value())
		l.hit = -1
		if l.pattern == "" {
			l.note = ""
			return nil
		}
		l.find(l.window()+int64(l.height)-1, -1, false)
		return nil
	case key.Matches(k, m.keys.Cancel):
		l.searching = false
		l.input.Blur()
		return nil
	}
	return l.searchUpdate(k)
}

func (l *logView) searchUpdate(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	l.input, cmd = l.input.Update(msg)
	return cmd
}

// jump goes to the next match below (dir 1) or above (dir -1) the current one.
func (l *logView) jump(dir int64) {
	if l.pattern == "" {
		l.note = "no search: press / first"
		return
	}
	from := l.hit
	if from < 0 {
		from = l.window()
	}
	l.find(from+dir, dir, true)
}

// find looks for the pattern from line a in direction dir, wrapping around
// once when wrap is set, and scrolls the match into the middle of the view.
// It costs O(kept lines) at most, on a keypress.
func (l *logView) find(a, dir int64, wrapAround bool) {
	first, end := l.ring.first(), l.ring.first()+l.count()
	a = max(first, min(a, end-1))
	for i := int64(0); i < end-first; i++ {
		if a < first || a >= end {
			if !wrapAround {
				break
			}
			if a < first {
				a = end - 1
			} else {
				a = first
			}
		}
		if s, ok := l.lineAt(a); ok && strings.Contains(strings.ToLower(s), l.pattern) {
			l.hit, l.follow = a, false
			l.top = a - int64(l.height)/2
			l.top = l.window()
			l.note = ""
			return
		}
		a += dir
	}
	l.note = "no match for " + printable(l.pattern, false)
}

// logsBody renders the title line and the visible lines.
func (m *Model) logsBody(b *strings.Builder) {
	l := &m.logs
	st := &m.theme.Styles
	title := "logs " + printable(l.service, false)
	switch {
	case l.src.Path != "":
		title += " · " + printable(l.src.Path, false)
	case l.src.Unit != "":
		title += " · journal of " + printable(l.src.Unit, false)
	}
	var state string
	var tone themes.Tone
	top := l.window()
	switch {
	case l.follow:
		state, tone = "following", themes.ToneOK
	default:
		state, tone = "PAUSED — G/end to follow", themes.ToneWarn
		if n := l.ring.first() + l.count() - top - int64(l.height); n > 0 {
			state += fmt.Sprintf(" (%d lines below)", n)
		}
	}
	switch {
	case l.count() == 0:
	case l.err != "":
		state, tone = "cannot read: "+printable(l.err, false), themes.ToneDanger
	case l.missing:
		state, tone = "the log file is gone", themes.ToneWarn
	}
	tw := max(0, m.width-cellWidth(state)-3)
	b.WriteString(ansiTruncate(st.Section.Render(truncate(title, tw))+"   "+st.Fg[tone].Render(state), m.width))

	if l.count() == 0 {
		msg := "the log is empty"
		switch {
		case !l.srcSet:
			msg = "opening the log…"
		case l.src.None():
			msg = fmt.Sprintf("no log file for %s: postdeck writes logs only for services it starts", printable(l.service, false))
		case l.missing:
			msg = fmt.Sprintf("no log yet for %s at %s: postdeck writes logs only for services it starts", printable(l.service, false), printable(l.src.Path, false))
		case l.err != "":
			msg = "cannot read the log: " + printable(l.err, false)
		case !l.read:
			msg = "reading…"
		}
		tone := themes.ToneMuted
		if l.err != "" || l.missing || l.src.None() {
			tone = themes.ToneWarn
		}
		for line := range strings.SplitSeq(wrap(msg, m.width-2), "\n") {
			b.WriteString("\n  " + st.Fg[tone].Render(line))
		}
		return
	}
	match, text := m.ink.match, m.ink.fg[themes.ToneText]
	width := max(1, m.width-2)
	for a, end := top, min(top+int64(l.height), l.ring.first()+l.count()); a < end; a++ {
		s, _ := l.lineAt(a)
		gut := "  "
		hit := l.pattern != "" && strings.Contains(strings.ToLower(s), l.pattern)
		switch {
		case a == l.hit:
			gut = "> "
		case hit:
			gut = "* "
		}
		var vis string
		if cellWidth(s) > l.hoff+width {
			vis = ansi.Cut(s, l.hoff, l.hoff+width-1) + "…"
		} else {
			vis = ansi.Cut(s, l.hoff, l.hoff+width)
		}
		b.WriteByte('\n')
		b.WriteString(gut)
		if hit {
			b.WriteString(highlight(vis, l.pattern, match, text))
		} else {
			b.WriteString(text.paint(vis))
		}
	}
}

// highlight paints every case-insensitive occurrence of pat in s.
func highlight(s, pat string, hit, plain ink) string {
	low := strings.ToLower(s)
	if len(low) != len(s) || pat == "" { // lower-casing moved bytes: no highlight
		return plain.paint(s)
	}
	var b strings.Builder
	for {
		i := strings.Index(low, pat)
		if i < 0 {
			b.WriteString(plain.paint(s))
			return b.String()
		}
		b.WriteString(plain.paint(s[:i]))
		b.WriteString(hit.paint(s[i : i+len(pat)]))
		s, low = s[i+len(pat):], low[i+len(pat):]
	}
}

// logsStatus is the footer's right side in the logs view.
func (m *Model) logsStatus() string {
	l := &m.logs
	if l.note != "" {
		return l.note
	}
	n := l.count()
	if n == 0 {
		return ""
	}
	top := l.window() - l.ring.first()
	s := fmt.Sprintf("lines %d-%d of %d", top+1, min(n, top+int64(l.height)), n)
	if l.pattern != "" {
		s = "/" + printable(l.pattern, false) + " · " + s
	}
	return s
}
