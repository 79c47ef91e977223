package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"postdeck/model"
	"postdeck/themes"
)

// segment is one fact of the header. When a line is too narrow the segments
// with the lowest priority give way first, so the age and the alarms stay: a
// segment with a short form first shrinks to it (then at shortPrio), one
// without leaves whole. None is cut, except the last left on a line narrower
// than itself.
type segment struct {
	text      string
	tone      themes.Tone
	prio      int
	short     string
	shortPrio int
}

// prioMust is what the header keeps at 80 columns and more whatever else
// wants the line: the demo, critical and warning counts, automatic
// proving's state and how many services it holds back (and READ-ONLY,
// pinned before every segment).
const prioMust = 10

const headerSep = " · "

// sepWidth is the separator's width in cells ("·" is two bytes, one cell:
// counting bytes dropped segments that fit).
var sepWidth = cellWidth(headerSep)

// readOnlyMarker starts the header of a read-only session.
const readOnlyMarker = "READ-ONLY"

// headerView renders the two header lines. A read-only session's marker is
// pinned first on the first line: the segments fit into what it leaves.
func (m *Model) headerView() string {
	var pin string
	rest := m.width
	if m.readOnly {
		pin = m.ink.selected[themes.ToneWarn].paint(truncate(readOnlyMarker, max(m.width, 1)))
		rest -= cellWidth(readOnlyMarker) + 1
		if rest > 0 {
			pin += " "
		}
	}
	first := pin
	if rest > 0 {
		first += m.fitSegments(m.statusSegments(), true, rest)
	}
	return first + "\n" + m.fitSegments(m.countSegments(), false, m.width) + m.nodeLines()
}

// statusSegments: title, node version, sync, layer, peers and freshness.
func (m *Model) statusSegments() []segment {
	segs := []segment{m.titleSegment()}
	if m.snap == nil {
		segs = append(segs, segment{text: "waiting for the first poll…", tone: themes.ToneMuted, prio: 8})
		return append(segs, m.feedSegments()...)
	}
	n := &m.snap.Node
	if m.fleet() {
		segs = append(segs, fleetSegments(m.snap.Nodes)...)
	} else if n.HasStatus || n.Version != "" {
		if n.Version != "" {
			segs = append(segs, segment{text: "node " + n.Version, prio: 3})
		}
		if n.Synced {
			segs = append(segs, segment{text: "synced", tone: themes.ToneOK, prio: 6})
		} else {
			segs = append(segs, segment{text: "NOT SYNCED", tone: themes.ToneWarn, prio: 7})
		}
		segs = append(segs,
			segment{text: fmt.Sprintf("layer %d", n.TopLayer), prio: 2},
			segment{text: fmt.Sprintf("%d peers", n.Peers), prio: 3})
	}
	if seg, ok := cycleSegment(&m.snap.Cycle, m.now()); ok {
		segs = append(segs, seg)
	}
	if seg, ok := planSegment(m.snap.Plan); ok {
		segs = append(segs, seg)
	}
	// The backfill's progress while it runs: the first to leave a narrow
	// line, since nothing waits on it.
	if b := m.snap.Ledger.Backfill.String(); b != "" {
		segs = append(segs, segment{text: b, tone: themes.ToneMuted, prio: 0})
	}
	return append(segs, m.feedSegments()...)
}

// titleSegment is the session's title. A demo's (Options.Demo) shrinks to
// "postdeck — demo" and stays: a simulated node must never pass for a
// real one. Any other title leaves a narrow line early.
func (m *Model) titleSegment() segment {
	seg := segment{text: m.title, prio: 2}
	if m.demo {
		seg.short, seg.shortPrio = "postdeck — demo", prioMust
	}
	return seg
}

// planSegment is the deadline plan beside the countdown: "plan: all 37
// fit", the first to leave a narrow line (all is well), or "plan: 3 will
// miss" in the warning tone, kept as long as the alarms are (`postdeck
// plan` says which and why).
func planSegment(p *model.Plan) (segment, bool) {
	text := p.Summary()
	switch {
	case text == "":
		return segment{}, false
	case p.Misses > 0:
		return segment{text: text, tone: themes.ToneWarn, prio: 8}, true
	}
	return segment{text: text, tone: themes.ToneOK, prio: 1}, true
}

// cycleSegment is the cycle-gap countdown, counted from now (not from the
// poll): "cycle gap in 3d4h", "CYCLE GAP: closes in 5h12m" in the accent
// while proofs are due, with a "?" and the warning tone when the node
// disagrees with the configured timing.
func cycleSegment(c *model.CycleInfo, now time.Time) (segment, bool) {
	if !c.Known {
		return segment{}, false
	}
	var seg segment
	switch {
	case now.Before(c.RoundEnd):
		seg = segment{text: "cycle gap in " + countdown(c.RoundEnd.Sub(now)), tone: themes.ToneMuted, prio: 6}
	case now.Before(c.GapCloses):
		left := countdown(c.GapCloses.Sub(now))
		// The long form gives way early, to its short one: at 80 columns
		// that leaves room for "synced" and the plan.
		seg = segment{text: "CYCLE GAP: closes in " + left, tone: themes.ToneAccent, prio: 4,
			short: "CYCLE GAP " + left + " left", shortPrio: 8}
	default:
		return segment{}, false // past: the next poll brings the next gap
	}
	if c.Mismatch != "" {
		seg.text += " (?)"
		if seg.short != "" {
			seg.short += " (?)"
		}
		seg.tone = themes.ToneWarn
	}
	return seg, true
}

// countdown is a time left, to the minute: "3d4h", "5h12m", "12m", "<1m".
func countdown(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "<1m"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// fresh is the age of fresh data: "updated just now", shrinking to "just
// now" early on a narrow line so the countdown and the plan keep their room.
func fresh(ago string) segment {
	return segment{text: "updated " + ago, tone: themes.ToneMuted, prio: 5, short: ago, shortPrio: 9}
}

// feedSegments say how fresh the data is: stale after three missed polls.
func (m *Model) feedSegments() []segment {
	if m.feedClosed {
		return []segment{{text: "poller stopped", tone: themes.ToneWarn, prio: 9}}
	}
	if m.snap == nil {
		return nil
	}
	d := m.ageOf()
	switch {
	case m.interval > 0 && d > 3*m.interval:
		return []segment{{text: "updated " + age(d) + " ago (stale)", tone: themes.ToneWarn, prio: 9}}
	case m.interval > 0 && d <= m.interval+time.Second:
		// No poll missed. Not "0s", "1s", "0s…": a count that only ever
		// flickers between two values says nothing, and redrawing the
		// screen for it every second was a third of the dashboard's drawing.
		return []segment{fresh("just now")}
	}
	return []segment{fresh(age(d) + " ago")}
}

// countSegments: source errors, alarms, then identities per state.
func (m *Model) countSegments() []segment {
	if m.snap == nil {
		return nil
	}
	var segs []segment
	// One segment for all node errors, so the first (the post listener's,
	// the one that matters most) is never dropped in favour of another.
	if errs := m.snap.Node.Errors; len(errs) > 0 {
		text := compactError(errs[0])
		if len(errs) > 1 {
			text += fmt.Sprintf(" (+%d more)", len(errs)-1)
		}
		segs = append(segs, segment{text: text, tone: themes.ToneWarn, prio: 8})
	}
	if m.snap.KeysErr != "" {
		segs = append(segs, segment{text: "keys: " + printable(firstClause(m.snap.KeysErr), false), tone: themes.ToneWarn, prio: 8})
	}
	if m.pending > 0 {
		segs = append(segs, segment{text: fmt.Sprintf("%d stop%s pending", m.pending, plural(m.pending)), tone: themes.ToneWarn, prio: 8})
	}
	c := &m.counts
	if c.Critical > 0 {
		segs = append(segs, segment{text: fmt.Sprintf("%d critical", c.Critical), tone: themes.ToneDanger, prio: prioMust})
	}
	// Warned as the table's "*" (Row.Warned): a proof awaiting fetch is
	// flagged but is no cause for alarm.
	if n := c.Warned; n > 0 {
		segs = append(segs, segment{text: fmt.Sprintf("%d warning", n) + plural(n), tone: themes.ToneWarn, prio: prioMust})
	}
	segs = append(segs, m.autoSegments()...)
	segs = append(segs, segment{text: fmt.Sprintf("%d identities", c.Identities), prio: 3})
	for _, st := range model.NodeCounted {
		if n := c.Node[st]; n > 0 {
			tp := nodeStateLook[st]
			segs = append(segs, segment{text: fmt.Sprintf("%s %d", st, n), tone: tp.tone, prio: tp.prio})
		}
	}
	for _, st := range model.ServiceCounted {
		if n := c.Service[st]; n > 0 {
			tp := serviceStateLook[st]
			segs = append(segs, segment{text: fmt.Sprintf("%s %d", st, n), tone: tp.tone, prio: tp.prio})
		}
	}
	return segs
}

// look is how a state's count is drawn and how soon it gives way.
type look struct {
	tone themes.Tone
	prio int
}

var (
	nodeStateLook = map[model.NodeState]look{
		model.NodeProving: {themes.ToneAccent, 6}, model.NodeIdle: {themes.ToneText, 5},
		model.NodeUnused: {themes.ToneMuted, 4}, model.NodeAbsent: {themes.ToneMuted, 4}, model.NodeUnknown: {themes.ToneMuted, 4},
	}
	serviceStateLook = map[model.ServiceState]look{
		model.ServiceProving: {themes.ToneAccent, 6}, model.ServiceDone: {themes.ToneOK, 6},
		model.ServiceUnreachable: {themes.ToneWarn, 7}, model.ServiceUnknown: {themes.ToneWarn, 5}, model.ServiceStopped: {themes.ToneMuted, 4},
	}
)

// autoSegments say what automatic proving does: on or off and how many
// services it holds back stay at any width; the first one's reason is a
// segment of its own, before the state counts, shown whole or not at all
// (each waiting row's details say why in full); what it is starting or
// stopping leaves before the state counts do.
func (m *Model) autoSegments() []segment {
	sc := &m.snap.Scheduler
	if m.actions == nil && !sc.Auto {
		return nil
	}
	if !sc.Auto {
		return []segment{{text: "auto off", tone: themes.ToneMuted, prio: prioMust}}
	}
	segs := []segment{{text: "auto on", tone: themes.ToneAccent, prio: prioMust}}
	if len(sc.Waits) > 0 {
		tone := themes.ToneAccent
		for _, w := range sc.Waits {
			if w.Held {
				tone = themes.ToneWarn // held back by hand or a failed start: its row is critical
			}
		}
		w := &sc.Waits[0]
		segs = append(segs,
			segment{text: fmt.Sprintf("%d waiting", len(sc.Waits)), tone: tone, prio: prioMust},
			segment{text: printable(w.Service+" waits: "+w.Reason, false), tone: themes.ToneMuted, prio: 7})
	}
	if len(sc.Actions) > 0 {
		acts := make([]string, len(sc.Actions))
		for i, a := range sc.Actions {
			acts[i] = a.Kind.String() + " " + a.Service
		}
		segs = append(segs, segment{text: printable("auto: "+strings.Join(acts, ", "), false), tone: themes.ToneAccent, prio: 3})
	}
	return segs
}

// fitSegments drops the lowest-priority segments until the line fits width
// cells, then styles each by its tone; titled styles the first as the title.
func (m *Model) fitSegments(segs []segment, titled bool, width int) string {
	keep := make([]bool, len(segs))
	used := -sepWidth
	for i := range segs {
		keep[i] = true
		used += cellWidth(segs[i].text) + sepWidth
	}
	segs = slices.Clone(segs) // shrinking one changes its text
	for used > width {
		low := -1
		for i := range segs {
			if keep[i] && (low < 0 || segs[i].prio < segs[low].prio) {
				low = i
			}
		}
		if low < 0 {
			break
		}
		if s := &segs[low]; s.short != "" {
			used += cellWidth(s.short) - cellWidth(s.text)
			s.text, s.prio, s.short = s.short, s.shortPrio, ""
			continue
		}
		if kept(keep) == 1 {
			break
		}
		keep[low] = false
		used -= cellWidth(segs[low].text) + sepWidth
	}
	// One wide segment leaving can make room for narrower ones that left
	// before it (a long waiting reason and the state counts): take them
	// back, the most important first.
	for _, i := range byPrio(segs) {
		if w := cellWidth(segs[i].text) + sepWidth; !keep[i] && used+w <= width {
			keep[i] = true
			used += w
		}
	}
	var b strings.Builder
	for i, s := range segs {
		if !keep[i] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(m.ink.subtle.paint(headerSep))
		}
		text := truncate(s.text, width)
		if i == 0 && titled {
			b.WriteString(m.ink.title.paint(text))
		} else {
			b.WriteString(m.ink.fg[s.tone].paint(text))
		}
	}
	return b.String()
}

// byPrio is the segments' indexes, the highest priority first.
func byPrio(segs []segment) []int {
	idx := make([]int, len(segs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return segs[b].prio - segs[a].prio })
	return idx
}

func kept(keep []bool) int {
	n := 0
	for _, k := range keep {
		if k {
			n++
		}
	}
	return n
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// compactError shortens a source error for the header: the part before the
// advice (" — …"), with node sources named "node".
func compactError(e model.SourceError) string {
	msg := printable(firstClause(e.Message), false)
	if strings.HasPrefix(e.Source, "node") {
		return "node: " + msg
	}
	if e.Source == "" {
		return msg
	}
	return e.Source + ": " + msg
}

// firstClause is the text before an em-dash explanation.
func firstClause(s string) string {
	if i := strings.Index(s, " — "); i > 0 {
		return s[:i]
	}
	return s
}

// ageOf is how old the shown snapshot is; a snapshot without a time counts
// from when it arrived.
func (m *Model) ageOf() time.Duration {
	if m.snap.At.IsZero() {
		return m.now().Sub(m.received)
	}
	return m.now().Sub(m.snap.At)
}
