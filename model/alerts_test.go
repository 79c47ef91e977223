package model

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTransitions(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	row := func(key string, ns NodeState, hs ...Health) Row {
		return Row{Key: key, Name: key + ".key", ID: []byte{0xab, 0xcd}, Service: "svc-" + key, NodeState: ns, Health: hs}
	}
	snap := func(synced bool, rows ...Row) *Snapshot {
		return &Snapshot{At: at, Node: NodeView{HasStatus: true, Synced: synced, HasPostStates: true}, Rows: rows}
	}
	failed := Event{Time: at.Add(-time.Minute), Kind: "post_complete", Failure: true, Detail: "k2pow: out of memory"}
	ok := Event{Time: at.Add(-2 * time.Minute), Kind: "post_complete"}
	withEvents := func(r Row, evs ...Event) Row { r.Events = evs; return r }
	cases := []struct {
		name      string
		prev, cur *Snapshot
		want      []string // kind/name
	}{
		{"nothing changes", snap(true, row("a", NodeIdle)), snap(true, row("a", NodeIdle)), nil},
		{"service goes down while proving", snap(true, row("a", NodeProving)),
			snap(true, row("a", NodeProving, HealthServiceDown)), []string{"service-down-while-proving/a.key"}},
		{"still down: no repeat", snap(true, row("a", NodeProving, HealthServiceDown)),
			snap(true, row("a", NodeProving, HealthServiceDown)), nil},
		{"first snapshot of a broken rig", nil,
			snap(false, row("a", NodeProving, HealthServiceDown), row("b", NodeIdle, HealthDuplicate), row("c", NodeIdle)),
			[]string{"service-down-while-proving/a.key", "duplicate-identity/b.key"}},
		{"stuck done", snap(true, row("a", NodeProving)), snap(true, row("a", NodeIdle, HealthStuckDone)),
			[]string{"stuck-done-proving/a.key", "cycle-proofs-done/"}}, // the node asks no more proofs
		{"warnings do not alert", snap(true, row("a", NodeProving)), snap(true, row("a", NodeProving, HealthAwaitingFetch, HealthKeyNotLoaded)), nil},
		{"node loses sync", snap(true, row("a", NodeIdle)), snap(false, row("a", NodeIdle)), []string{"node-not-synced/"}},
		{"node regains sync", snap(false), snap(true), nil},
		{"node stops answering: not a sync alert", snap(true), &Snapshot{At: at}, nil},
		{"last proof done", snap(true, row("a", NodeIdle), row("b", NodeProving)),
			snap(true, row("a", NodeIdle), row("b", NodeIdle)), []string{"cycle-proofs-done/"}},
		{"one of two done: not yet", snap(true, row("a", NodeProving), row("b", NodeProving)),
			snap(true, row("a", NodeIdle), row("b", NodeProving)), nil},
		{"post listener lost: not done", snap(true, row("a", NodeProving)),
			&Snapshot{At: at, Node: NodeView{HasStatus: true, Synced: true}, Rows: []Row{row("a", NodeUnknown)}}, nil},
		{"failed proof event", snap(true, withEvents(row("a", NodeProving), ok)),
			snap(true, withEvents(row("a", NodeProving), ok, failed)), []string{"proof-failed/a.key"}},
		{"failed proof already seen", snap(true, withEvents(row("a", NodeProving), failed)),
			snap(true, withEvents(row("a", NodeProving), failed)), nil},
		{"an old failure replayed by the node", snap(true, row("a", NodeProving)),
			snap(true, withEvents(row("a", NodeProving), Event{Time: at.Add(-2 * time.Hour), Kind: "post_complete", Failure: true})), nil},
		{"successful proof", snap(true, row("a", NodeProving)), snap(true, withEvents(row("a", NodeProving), ok)), nil},
	}
	for _, c := range cases {
		var got []string
		for _, a := range Transitions(c.prev, c.cur) {
			got = append(got, a.Kind+"/"+a.Name)
			if a.Message == "" || a.Time.IsZero() {
				t.Errorf("%s: alert without message or time: %+v", c.name, a)
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAlertJSON(t *testing.T) {
	r := Row{Key: "k", Name: "post0.key", ID: []byte{0xab, 0xcd}, Service: "data0", NodeState: NodeProving,
		Health: []Health{HealthServiceDown}}
	as := Transitions(&Snapshot{Rows: []Row{{Key: "k"}}}, &Snapshot{At: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC), Rows: []Row{r}})
	if len(as) != 1 {
		t.Fatalf("alerts %+v", as)
	}
	b, err := json.Marshal(as[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"time":"2026-01-05T09:00:00Z"`, `"kind":"service-down-while-proving"`, `"identity":"abcd"`,
		`"name":"post0.key"`, `"service":"data0"`, `"health":["service-down-while-proving"]`, `"message":"post0.key: the node wants a proof`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	if k := as[0].DebounceKey(); k != "service-down-while-proving/abcd" {
		t.Errorf("key %q", k)
	}
}
