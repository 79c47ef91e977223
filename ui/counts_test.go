package ui

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"postdeck/model"
)

// everyKind is a snapshot with a row of each kind: proving, idle, a proof
// awaiting fetch (flagged, not warned), unreachable, no service, an answer
// that is no post-rs shape, absent from the node, unused, unknown, and a
// service down while the node wants its proof (critical).
func everyKind() model.Snapshot {
	return snapshotOf(
		ident{name: "a.key", node: model.NodeProving, svc: "sa", body: `{"Proving":{"nonces":{"start":0,"end":128},"position":1}}`},
		ident{name: "b.key", node: model.NodeIdle, svc: "sb", body: `"Idle"`},
		ident{name: "c.key", node: model.NodeProving, svc: "sc", body: `"DoneProving"`},
		ident{name: "d.key", node: model.NodeProving, svc: "sd", statusErr: "connection refused"},
		ident{name: "e.key", node: model.NodeIdle},
		ident{name: "f.key", node: model.NodeIdle, svc: "sf", body: `{"weird":true}`},
		ident{name: "g.key", node: model.NodeAbsent, svc: "sg", body: `"Idle"`},
		ident{name: "h.key", node: model.NodeUnused, svc: "sh", body: `"Idle"`},
		ident{name: "i.key", node: model.NodeUnknown, svc: "si", body: `"Idle"`},
		ident{name: "j.key", node: model.NodeProving, svc: "sj", body: `"Idle"`, pending: true},
	)
}

// numbers finds "N word" in text for each word: what a user reads.
func numbers(t *testing.T, text string, words ...string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, w := range words {
		if m := regexp.MustCompile(`(\d+) ` + regexp.QuoteMeta(w) + `\b`).FindStringSubmatch(text); m != nil {
			got[w], _ = strconv.Atoi(m[1])
		}
	}
	return got
}

// The dashboard's header, its table's markers, the fleet's node lines and
// `postdeck status` count the same snapshot the same: critical, warnings,
// identities and each state.
func TestCountsAgreeEverywhere(t *testing.T) {
	s := everyKind()
	c := s.Count()
	if c.Critical == 0 || c.Warned == 0 {
		t.Fatalf("the snapshot lacks critical or warned rows: %+v", c)
	}
	m := newTest(t, 400, 40, &s)
	lines := strings.Split(screen(m), "\n")
	header := lines[1]
	status := strings.SplitN(s.StatusText(), "\n", 3)[1] // after the node's line
	for where, text := range map[string]string{"header": header, "status": status} {
		got := numbers(t, text, "identities", "critical", "warnings", "warning")
		if got["identities"] != c.Identities || got["critical"] != c.Critical || got["warnings"]+got["warning"] != c.Warned {
			t.Errorf("%s says %v, the snapshot has %d identities, %d critical, %d warned:\n%s", where, got, c.Identities, c.Critical, c.Warned, text)
		}
		for _, st := range model.NodeCounted {
			if want, says := c.Node[st], regexp.MustCompile(regexp.QuoteMeta(st.String())+` `+fmt.Sprint(c.Node[st])+`\b`).MatchString(text); (want > 0) != says {
				t.Errorf("%s: node state %s %d shown %v:\n%s", where, st, want, says, text)
			}
		}
		for _, st := range model.ServiceCounted {
			if want, says := c.Service[st], regexp.MustCompile(`\b`+regexp.QuoteMeta(st.String())+` `+fmt.Sprint(c.Service[st])+`\b`).MatchString(text); (want > 0) != says {
				t.Errorf("%s: service state %s %d shown %v:\n%s", where, st, want, says, text)
			}
		}
	}
	bang, star := 0, 0
	for _, l := range lines[3 : 3+c.Identities] { // under the two header lines and the column titles
		switch l[1] {
		case '!':
			bang++
		case '*':
			star++
		}
	}
	if bang != c.Critical || star != c.Warned {
		t.Errorf("the table marks %d ! and %d *, the header says %d critical and %d warned", bang, star, c.Critical, c.Warned)
	}
	if code := s.ExitCode(); (code == model.ExitCritical) != (c.Critical > 0) {
		t.Errorf("status exits %d with %d critical", code, c.Critical)
	}

	// A fleet's node lines share the header's numbers out.
	f := fleetDemo()
	fc := f.Count()
	m = newTest(t, 400, 40, &f)
	lines = strings.Split(screen(m), "\n")
	var ids, crit, warn int
	for _, l := range lines[2 : 2+m.nodeLineCount] {
		n := numbers(t, l, "identities", "identity", "critical", "warnings", "warning")
		ids += n["identities"] + n["identity"]
		crit += n["critical"]
		warn += n["warnings"] + n["warning"]
	}
	up := model.NodeCounts{}
	for i := range f.Nodes {
		if f.Nodes[i].Up() { // a down node's line says DOWN and since when instead
			n := fc.ByNode[f.Nodes[i].Label()]
			up.Identities, up.Critical, up.Warned = up.Identities+n.Identities, up.Critical+n.Critical, up.Warned+n.Warned
		}
	}
	if ids != up.Identities || crit != up.Critical || warn != up.Warned || up.Critical == 0 {
		t.Errorf("node lines count %d identities, %d critical, %d warned; the count of the up nodes is %+v:\n%s",
			ids, crit, warn, up, strings.Join(lines[:2+m.nodeLineCount], "\n"))
	}
}
