package model

import (
	"slices"
	"strings"
	"testing"
)

// id makes a distinct 32-byte public key for tests.
func id(b byte) []byte {
	k := make([]byte, 32)
	k[0] = b
	return k
}

func meta(b byte, units uint32) *PostMetadata {
	return &PostMetadata{NodeID: id(b), LabelsPerUnit: 1 << 20, NumUnits: units}
}

func status(body string) OperatorStatus { return ParseStatus([]byte(body)) }

const provingBody = `{"Proving":{"nonces":{"start":128,"end":256},"position":4194304}}`

func nodeWith(states ...PostState) NodeView {
	v := NodeView{HasPostStates: true, HasSmesherIDs: true, PostStates: states}
	for _, s := range states {
		v.SmesherIDs = append(v.SmesherIDs, s.ID)
	}
	return v
}

func findRow(t *testing.T, s Snapshot, key string) Row {
	t.Helper()
	for _, r := range s.Rows {
		if r.Key == key {
			return r
		}
	}
	t.Fatalf("no row %q in %v", key, rowKeys(s))
	return Row{}
}

func rowKeys(s Snapshot) []string {
	var ks []string
	for _, r := range s.Rows {
		ks = append(ks, r.Key)
	}
	return ks
}

func hexID(b byte) string { r := Row{ID: id(b)}; return r.IDHex() }

func TestJoinHealthCodes(t *testing.T) {
	cases := []struct {
		name     string
		node     NodeState
		body     string
		down     bool
		want     []Health
		critical bool
	}{
		{"idle and idle", NodeIdle, `"Idle"`, false, nil, false},
		{"proving and proving", NodeProving, provingBody, false, nil, false},
		{"proving, service down", NodeProving, "", true, []Health{HealthServiceDown}, true},
		{"idle, service down", NodeIdle, "", true, nil, false},
		{"done while node proving", NodeProving, `"DoneProving"`, false, []Health{HealthAwaitingFetch}, false},
		{"done while node idle", NodeIdle, `"DoneProving"`, false, []Health{HealthStuckDone}, false},
		{"garbage while proving", NodeProving, `<html>`, false, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc := ServiceObs{Name: "data1", Meta: meta(1, 2), Status: status(c.body)}
			if c.down {
				svc.StatusErr = "connection refused"
			}
			s := Join(Inputs{
				Node:     nodeWith(PostState{ID: id(1), State: c.node, Name: "post1.key"}),
				Services: []ServiceObs{svc},
				Keys:     []KeyFile{{Name: "post1.key", Public: id(1)}},
			})
			if len(s.Rows) != 1 {
				t.Fatalf("rows %v, want one", rowKeys(s))
			}
			r := s.Rows[0]
			if !slices.Equal(r.Health, c.want) {
				t.Errorf("health %v, want %v", r.Health, c.want)
			}
			if r.Critical() != c.critical {
				t.Errorf("critical %v, want %v", r.Critical(), c.critical)
			}
			if wantExit := map[bool]int{true: ExitCritical, false: ExitOK}[c.critical]; s.ExitCode() != wantExit {
				t.Errorf("exit code %d, want %d", s.ExitCode(), wantExit)
			}
		})
	}
}

func TestJoinUnionOfSources(t *testing.T) {
	node := nodeWith(
		PostState{ID: id(1), State: NodeProving, Name: "post1.key"},
		PostState{ID: id(2), State: NodeIdle, Name: "post2.key"}, // on node, no service
	)
	node.SmesherIDs = append(node.SmesherIDs, id(5)) // only in SmesherIDs
	in := Inputs{
		Node: node,
		Services: []ServiceObs{
			{Name: "data1", Meta: meta(1, 4), Status: status(provingBody)},
			{Name: "data3", Meta: meta(3, 1), Status: status(`"Idle"`)}, // not on node
			{Name: "broken", MetaErr: "no postdata_metadata.json", Status: status(`"Idle"`)},
		},
		Keys: []KeyFile{
			{Name: "post1.key", Public: id(1)},
			{Name: "post4.key", Public: id(4)}, // key the node has not loaded
			{Name: "bad.key", Problem: "must be exactly 128 hex characters, found 12"},
		},
	}
	s := Join(in)

	r1 := findRow(t, s, hexID(1)+"/data1")
	if r1.Name != "post1.key" || r1.NodeState != NodeProving || r1.ServiceState != ServiceProving {
		t.Errorf("row 1 = %+v", r1)
	}
	if p := r1.Progress; p == nil || p.Pass != 2 || p.Phase != "disk" || p.PassBytes != 4<<20*16 {
		t.Errorf("progress %+v, want pass 2, disk, %d bytes", p, 4<<20*16)
	} else if p.Percent != 100*4194304/float64(4<<20*16) {
		t.Errorf("percent %v", p.Percent)
	}
	if r1.SizeBytes != 4<<20*16 || r1.NumUnits != 4 {
		t.Errorf("size %d units %d", r1.SizeBytes, r1.NumUnits)
	}
	if len(r1.Health) != 0 {
		t.Errorf("healthy row flagged %v", r1.Health)
	}

	r2 := findRow(t, s, hexID(2))
	if !slices.Equal(r2.Health, []Health{HealthNoService}) || r2.ServiceState != ServiceNone {
		t.Errorf("row 2 health %v state %v, want no-service/none", r2.Health, r2.ServiceState)
	}
	r3 := findRow(t, s, hexID(3)+"/data3")
	if !slices.Equal(r3.Health, []Health{HealthNotOnNode}) || r3.NodeState != NodeAbsent {
		t.Errorf("row 3 health %v node %v, want not-on-node/absent", r3.Health, r3.NodeState)
	}
	r4 := findRow(t, s, hexID(4))
	if !slices.Equal(r4.Health, []Health{HealthKeyNotLoaded}) || r4.Name != "post4.key" {
		t.Errorf("row 4 = %+v", r4)
	}
	r5 := findRow(t, s, hexID(5))
	if r5.NodeState != NodeAbsent || !slices.Equal(r5.Health, []Health{HealthNoService}) {
		t.Errorf("row 5 (SmesherIDs only) = %+v", r5)
	}
	bad := findRow(t, s, "key:bad.key")
	if !slices.Equal(bad.Health, []Health{HealthBadKey}) || len(bad.Errors) != 1 {
		t.Errorf("bad key row = %+v", bad)
	}
	broken := findRow(t, s, "svc:broken")
	if !slices.Equal(broken.Health, []Health{HealthNoMetadata}) || broken.Errors[0].Source != "metadata" {
		t.Errorf("broken metadata row = %+v", broken)
	}
	if len(s.Rows) != 7 {
		t.Errorf("rows %v, want 7", rowKeys(s))
	}
	if s.ExitCode() != ExitOK {
		t.Errorf("exit %d with no critical flags", s.ExitCode())
	}
}

func TestJoinDuplicateIdentity(t *testing.T) {
	t.Run("two services, one key", func(t *testing.T) {
		s := Join(Inputs{
			Node: nodeWith(PostState{ID: id(1), State: NodeIdle, Name: "a.key"}),
			Services: []ServiceObs{
				{Name: "disk1", Meta: meta(1, 1), Status: status(`"Idle"`)},
				{Name: "disk2", Meta: meta(1, 1), Status: status(`"Idle"`)},
			},
		})
		if len(s.Rows) != 2 {
			t.Fatalf("rows %v, want one per service", rowKeys(s))
		}
		for _, r := range s.Rows {
			if !slices.Contains(r.Health, HealthDuplicate) {
				t.Errorf("%s not flagged duplicate: %v", r.Key, r.Health)
			}
		}
		if s.ExitCode() != ExitCritical {
			t.Errorf("exit %d, want %d", s.ExitCode(), ExitCritical)
		}
	})
	t.Run("one key under two names", func(t *testing.T) {
		s := Join(Inputs{
			Node: nodeWith(),
			Keys: []KeyFile{{Name: "a.key", Public: id(7)}, {Name: "b.key", Public: id(7)}},
		})
		if len(s.Rows) != 1 || !slices.Contains(s.Rows[0].Health, HealthDuplicate) {
			t.Fatalf("rows %+v, want one duplicate row", s.Rows)
		}
		if s.Rows[0].Name != "a.key, b.key" {
			t.Errorf("name %q, want both files named", s.Rows[0].Name)
		}
	})
}

func TestJoinWithoutNode(t *testing.T) {
	// No listener answered: nothing is "absent", and no flag may claim the
	// node does or does not know an identity.
	s := Join(Inputs{
		Node:     NodeView{Errors: []SourceError{{Source: "node/post", Message: "refused"}}},
		Services: []ServiceObs{{Name: "data1", Meta: meta(1, 1), StatusErr: "refused"}},
		Keys:     []KeyFile{{Name: "k.key", Public: id(1)}},
	})
	if len(s.Rows) != 1 {
		t.Fatalf("rows %v", rowKeys(s))
	}
	r := s.Rows[0]
	if r.NodeState != NodeUnknown || r.ServiceState != ServiceUnreachable || len(r.Health) != 0 {
		t.Errorf("row = node %v service %v health %v, want unknown/unreachable/none", r.NodeState, r.ServiceState, r.Health)
	}
	if r.Errors[0].Source != "operator" {
		t.Errorf("errors %v, want the operator error on the row", r.Errors)
	}
}

func TestJoinK2powPhaseAndSortedRows(t *testing.T) {
	s := Join(Inputs{
		Node: nodeWith(
			PostState{ID: id(2), State: NodeProving, Name: "b.key"},
			PostState{ID: id(1), State: NodeProving, Name: "a.key"},
		),
		Services: []ServiceObs{
			{Name: "s2", Meta: meta(2, 1), Status: status(`{"Proving":{"nonces":{"start":0,"end":128},"position":0}}`)},
			{Name: "s1", Meta: meta(1, 1), Status: status(`"Idle"`)},
		},
	})
	if s.Rows[0].Name != "a.key" || s.Rows[1].Name != "b.key" {
		t.Fatalf("rows not sorted by name: %v", rowKeys(s))
	}
	if p := s.Rows[1].Progress; p == nil || p.Phase != "k2pow" || p.Pass != 1 || p.Percent != 0 {
		t.Errorf("progress %+v, want k2pow pass 1 at 0%%", p)
	}
	doc := s.Doc()
	if doc.Identities[0].Name != "a.key" || doc.Identities[1].ServiceState != "proving" || doc.Identities[1].NodeState != "PROVING" {
		t.Errorf("doc %+v", doc.Identities)
	}
	if doc.Identities[0].Health == nil || doc.Node.Errors == nil {
		t.Error("empty lists must encode as [] for scripts, not null")
	}
}

func TestJoinServiceDownIsJudgedPerIdentity(t *testing.T) {
	// A stray second service for a served identity must not raise the alarm
	// (and advise starting the stray): the identity is served.
	s := Join(Inputs{
		Node: nodeWith(PostState{ID: id(1), State: NodeProving, Name: "a.key"}),
		Services: []ServiceObs{
			{Name: "data1", Meta: meta(1, 1), Status: status(provingBody)},
			{Name: "stray", Meta: meta(1, 1), StatusErr: "connection refused"},
		},
	})
	for _, r := range s.Rows {
		if slices.Contains(r.Health, HealthServiceDown) {
			t.Errorf("%s flagged service-down although data1 proves for the identity", r.Key)
		}
		if !slices.Contains(r.Health, HealthDuplicate) {
			t.Errorf("%s not flagged duplicate", r.Key)
		}
	}
}

func TestJoinNamesEveryFileOfADuplicateKey(t *testing.T) {
	s := Join(Inputs{
		Node: nodeWith(PostState{ID: id(7), State: NodeIdle, Name: "post07.key"}),
		Keys: []KeyFile{{Name: "copy07.key", Public: id(7)}, {Name: "post07.key", Public: id(7)}},
	})
	r := s.Rows[0]
	if r.Name != "post07.key" || !slices.Contains(r.Health, HealthDuplicate) {
		t.Fatalf("row %+v", r)
	}
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "copy07.key, post07.key") {
		t.Errorf("errors %v do not name both files", r.Errors)
	}
}

func TestJoinUnreadableMetadata(t *testing.T) {
	t.Run("never read: the identity's row points at the service", func(t *testing.T) {
		s := Join(Inputs{
			Node:     nodeWith(PostState{ID: id(3), State: NodeProving, Name: "post03.key"}),
			Services: []ServiceObs{{Name: "data03", MetaErr: "corrupt", StatusErr: "connection refused"}},
		})
		ident := findRow(t, s, hexID(3))
		if len(ident.Errors) != 1 || !strings.Contains(ident.Errors[0].Message, "data03") {
			t.Errorf("identity row errors %v do not name data03", ident.Errors)
		}
		svc := findRow(t, s, "svc:data03")
		if !slices.Contains(svc.Health, HealthServiceDown) || s.ExitCode() != ExitCritical {
			t.Errorf("down service with unreadable metadata while an identity is unserved and PROVING: health %v, exit %d", svc.Health, s.ExitCode())
		}
	})
	t.Run("went bad after a good read: stays on its identity", func(t *testing.T) {
		s := Join(Inputs{
			Node:     nodeWith(PostState{ID: id(3), State: NodeProving, Name: "post03.key"}),
			Services: []ServiceObs{{Name: "data03", Meta: meta(3, 1), MetaErr: "corrupt", Status: status(provingBody)}},
		})
		if len(s.Rows) != 1 {
			t.Fatalf("rows %v, want the one identity row", rowKeys(s))
		}
		r := s.Rows[0]
		if r.Service != "data03" || !slices.Contains(r.Health, HealthNoMetadata) || slices.Contains(r.Health, HealthNoService) {
			t.Errorf("row %+v", r)
		}
	})
}

func TestShortID(t *testing.T) {
	id := []byte{0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0x10}
	for _, c := range []struct {
		id   []byte
		n    int
		want string
	}{
		{id, 8, "abcdef01"}, {id, 7, "abcdef0"}, {id, 12, "abcdef012345"}, {id, 40, "abcdef012345678910"},
		{id[:2], 8, "abcd"}, {nil, 8, ""}, {id, 0, ""},
	} {
		if got := ShortID(c.id, c.n); got != c.want {
			t.Errorf("ShortID(%x, %d) = %q, want %q", c.id, c.n, got, c.want)
		}
	}
}
