package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/viewport"
	"github.com/charmbracelet/x/ansi"

	"postdeck/backend/proc"
	"postdeck/model"
	"postdeck/themes"
)

// detail shows every field of one row, kept live as snapshots arrive.
type detail struct {
	key  string    // the row shown
	row  model.Row // its latest copy; kept when the row leaves the snapshot
	gone bool
	vp   viewport.Model
}

const labelWidth = 15

// open shows row r.
func (d *detail) open(r *model.Row, width, height int, m *Model) {
	d.key, d.row, d.gone = r.Key, *r, false
	d.vp = viewport.New(viewport.WithWidth(width), viewport.WithHeight(height))
	d.refresh(m)
}

// update follows a new snapshot: O(rows), but only on a snapshot.
func (d *detail) update(rows []model.Row, m *Model) {
	d.gone = true
	for i := range rows {
		if rows[i].Key == d.key {
			d.row, d.gone = rows[i], false
			break
		}
	}
	d.refresh(m)
}

func (d *detail) setSize(width, height int, m *Model) {
	if d.key == "" {
		return // not opened yet; open sizes it
	}
	d.vp.SetWidth(width)
	d.vp.SetHeight(height)
	d.refresh(m)
}

// refresh re-renders the content, keeping the scroll position.
func (d *detail) refresh(m *Model) {
	y := d.vp.YOffset()
	d.vp.SetContent(detailContent(&d.row, d.gone, m.snapNode(), d.vp.Width(), &m.theme, m.now()))
	d.vp.SetYOffset(y)
}

// detailContent lays out the row's fields, its health flags with what they
// mean, and every error, wrapped to width.
func detailContent(r *model.Row, gone bool, node *model.NodeView, width int, th *themes.Theme, now time.Time) string {
	st := &th.Styles
	var b strings.Builder
	field := func(label, value string) {
		b.WriteString(st.Label.Render(fit(label, labelWidth)))
		b.WriteString(indent(wrap(printable(value, true), width-labelWidth), labelWidth))
		b.WriteByte('\n')
	}
	section := func(title string) {
		b.WriteString("\n" + st.Section.Render(title) + "\n")
	}
	if gone {
		b.WriteString(st.Fg[themes.ToneWarn].Render(wrap("This row is not in the latest snapshot; showing its last known state.", width)) + "\n\n")
	}
	field("Name", orDash(r.Name))
	field("ID", orDash(r.IDHex()))
	if last := lastEpochDetail(r); last != "" {
		field("Last epoch", last)
	}
	field("Node state", withHelp(r.NodeState.String(), explainNode(r.NodeState)))
	field("Service", orDash(r.Service))
	field("Data dir", orDash(r.Dir))
	field("Operator", orDash(r.Operator))
	field("Service state", withHelp(r.ServiceState.String(), explainService(r.ServiceState)))
	field("Raw /status", orDash(r.Status.Raw))
	field("Progress", progressDetail(r.Progress))
	field("NumUnits", fmt.Sprint(r.NumUnits))
	field("Size", sizeDetail(r.SizeBytes))
	timingLines(r, field)
	if hasProc(&r.Proc) || r.PendingStop || r.Disk != "" {
		section("Process")
		field("State", procDetail(&r.Proc, now))
		if r.Proc.Bin != "" || len(r.Proc.Args) > 0 {
			field("Binary", orDash(r.Proc.Bin))
			field("Version", binVersionDetail(&r.Proc))
			field("Command", orDash(proc.QuoteArgs(r.Proc.Args)))
		}
		field("Last exit", orDash(strings.TrimSpace(r.Proc.LastExit+" "+parenthesize(r.Proc.ExitDetail))))
		field("Restarts", fmt.Sprint(r.Proc.Restarts))
		field("Disk group", orDash(r.Disk))
		field("Stop", stopDetail(r))
		if r.Auto != "" {
			field("Auto proving", r.Auto)
		}
	}

	section(fmt.Sprintf("Health (%d)", len(r.Health)))
	if len(r.Health) == 0 {
		b.WriteString("  no flags\n")
	}
	for _, h := range r.Health {
		mark, tone, kind := "*", themes.ToneWarn, "warning"
		if h.Critical() {
			mark, tone, kind = "!", themes.ToneDanger, "critical"
		}
		b.WriteString(st.Fg[tone].Render(fmt.Sprintf("  %s %s (%s)", mark, h, kind)) + "\n")
		b.WriteString(indent("    "+wrap(explainHealth(h), width-4), 4) + "\n")
	}

	epochsDetail(&b, r, width, th)
	timelineDetail(&b, r, width, th, now)

	section(fmt.Sprintf("Errors (%d)", len(r.Errors)))
	if len(r.Errors) == 0 {
		b.WriteString("  none\n")
	}
	for _, e := range r.Errors {
		b.WriteString(indent("  "+wrap(printable(e.Source+": "+e.Message, true), width-2), 2) + "\n")
	}
	if node != nil && len(node.Errors) > 0 {
		section("Node sources")
		for _, e := range node.Errors {
			b.WriteString(indent("  "+wrap(printable(e.Source+": "+e.Message, true), width-2), 2) + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// procDetail is the process line: state, who manages it, pid and uptime.
func procDetail(p *model.ProcInfo, now time.Time) string {
	s := p.State.String()
	switch p.Manager {
	case model.ManagerExternal:
		s += " · started outside postdeck (found by its --dir)"
	case model.ManagerNone:
		if !p.Startable {
			s += " · no launch settings: postdeck cannot start it"
		}
	default:
		s += " · managed by " + string(p.Manager)
	}
	if p.PID > 0 && p.State == model.ProcRunning {
		s += fmt.Sprintf(" · pid %d", p.PID)
	}
	if !p.Started.IsZero() && p.State == model.ProcRunning {
		s += " · up " + age(now.Sub(p.Started)) + " (since " + p.Started.Format(time.DateTime) + ")"
	}
	return s
}

// binVersionDetail is what the binary answered to --version, or why it
// did not (the backend asks in the background, so at first neither is known).
func binVersionDetail(p *model.ProcInfo) string {
	switch {
	case p.BinVersion != "" && p.BinNote != "":
		return p.BinVersion + " (" + p.BinNote + ")"
	case p.BinVersion != "":
		return p.BinVersion
	case p.BinNote != "":
		return "unknown: " + p.BinNote
	}
	return "not known yet (being asked)"
}

// stopDetail is the safe-stop verdict in words, and a pending stop.
func stopDetail(r *model.Row) string {
	v := model.StopVerdict(r)
	s := "safe now: " + v.Reason
	if !v.Safe {
		s = "NOT safe now: " + v.Reason
	}
	if r.PendingStop {
		s = "pending: stops by itself once safe · " + s
	}
	return s
}

func withHelp(v, help string) string {
	if help == "" {
		return v
	}
	return v + " — " + help
}

func progressDetail(p *model.Progress) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("pass %d · position %s of %s (%d of %d bytes) · %.1f%% · phase %s",
		p.Pass, humanBytes(p.Position), humanBytes(p.PassBytes), p.Position, p.PassBytes, p.Percent, p.Phase)
}

func sizeDetail(n uint64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%s (%d bytes read per proving pass)", humanBytes(n), n)
}

// wrap breaks text at spaces, or anywhere for long unbroken text (JSON, hex).
func wrap(s string, width int) string {
	return ansi.Wrap(s, max(width, 10), "")
}

// indent prefixes every line after the first with n spaces.
func indent(s string, n int) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
}

// parenthesize wraps s in parentheses, or returns "" for an empty s.
func parenthesize(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}
