package backend

import (
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/backend/config"
	"postdeck/backend/identities"
	"postdeck/backend/testkit"
	"postdeck/model"
)

// klWorld: a.key (service "sa"), b.key with a trailing newline (service
// "sb"), c.key invalid, d.key the same identity as a.key, e.key without a
// service; a service whose dir has no metadata.
func klWorld(t *testing.T) (string, *config.Config, map[string][]byte) {
	t.Helper()
	root := t.TempDir()
	data := filepath.Join(root, "node")
	ids := filepath.Join(data, "identities")
	pubs := map[string][]byte{}
	aHex, aPub := testkit.IdentityKey(1)
	bHex, bPub := testkit.IdentityKey(2)
	eHex, ePub := testkit.IdentityKey(5)
	pubs["a"], pubs["b"], pubs["e"] = aPub, bPub, ePub
	testkit.WriteFile(t, filepath.Join(ids, "a.key"), aHex)
	testkit.WriteFile(t, filepath.Join(ids, "b.key"), bHex+"\n")
	testkit.WriteFile(t, filepath.Join(ids, "c.key"), aHex[:100])
	testkit.WriteFile(t, filepath.Join(ids, "d.key"), strings.ToUpper(aHex))
	testkit.WriteFile(t, filepath.Join(ids, "e.key"), eHex)
	testkit.WriteFile(t, filepath.Join(ids, "notes.txt"), "not a key")
	testkit.PostDir(t, filepath.Join(root, "pa"), aPub)
	testkit.PostDir(t, filepath.Join(root, "pb"), bPub)
	cfg := &config.Config{Services: []config.ServiceConfig{
		{Name: "sa", Dir: filepath.Join(root, "pa")},
		{Name: "sb", Dir: filepath.Join(root, "pb")},
		{Name: "gone", Dir: filepath.Join(root, "nope")},
	}}
	return data, cfg, pubs
}

func klByFile(ls []KeyListing) map[string]KeyListing {
	m := map[string]KeyListing{}
	for _, l := range ls {
		m[l.File] = l
	}
	return m
}

func klHas(t *testing.T, l KeyListing, want string) {
	t.Helper()
	if !strings.Contains(strings.Join(l.Problems, " | "), want) {
		t.Errorf("%s problems %q, want one about %q", l.File, l.Problems, want)
	}
}

func TestListKeys(t *testing.T) {
	data, cfg, pubs := klWorld(t)
	view := &model.NodeView{
		HasSmesherIDs: true, SmesherIDs: [][]byte{pubs["a"]},
		HasPostStates: true, PostStates: []model.PostState{{ID: pubs["b"], Name: "b.key"}},
	}
	ls := ListKeys(data, cfg, view)
	if len(ls) != 5 {
		t.Fatalf("%d listings, want the 5 .key files: %+v", len(ls), ls)
	}
	m := klByFile(ls)
	a, b, c, d, e := m["a.key"], m["b.key"], m["c.key"], m["d.key"], m["e.key"]
	if a.ID != hex.EncodeToString(pubs["a"]) || a.Service != "sa" || a.Dir != cfg.Services[0].Dir || a.OnNode != OnNodeYes {
		t.Errorf("a.key %+v", a)
	}
	klHas(t, a, "same identity as d.key")
	klHas(t, d, "same identity as a.key")
	if b.Service != "sb" || b.OnNode != OnNodeYes {
		t.Errorf("b.key %+v (in PostStates only: still on the node)", b)
	}
	klHas(t, b, "newline")
	if c.ID != "" || c.OnNode != OnNodeUnknown {
		t.Errorf("c.key %+v", c)
	}
	klHas(t, c, "exactly 128 hex characters")
	if e.OnNode != OnNodeNo || e.Service != "" {
		t.Errorf("e.key %+v", e)
	}
	klHas(t, e, "no configured service")
	if len(ls[0].Problems) == 0 || ls[0].File != "a.key" {
		t.Errorf("not in name order: %+v", ls[0])
	}

	// No node view and no config: on node unknown, no service problem.
	for _, l := range ListKeys(data, nil, nil) {
		if l.OnNode != OnNodeUnknown || l.Service != "" {
			t.Errorf("%+v without node and config", l)
		}
		if strings.Contains(strings.Join(l.Problems, " "), "no configured service") {
			t.Errorf("%s: service problem without a config", l.File)
		}
	}
	// A node that did not answer: unknown.
	for _, l := range ListKeys(data, cfg, &model.NodeView{Errors: []model.SourceError{{Source: "node", Message: "down"}}}) {
		if l.OnNode != OnNodeUnknown {
			t.Errorf("%s on node %v with the node down", l.File, l.OnNode)
		}
	}
}

func TestListKeysLocalKeyAndMissingFolder(t *testing.T) {
	data, _, _ := klWorld(t)
	lh, _ := testkit.IdentityKey(7)
	testkit.WriteFile(t, filepath.Join(data, "identities", model.LocalKeyName), lh+"\r\n")
	m := klByFile(ListKeys(data, nil, nil))
	l := m[model.LocalKeyName]
	klHas(t, l, "local.key beside other keys")
	klHas(t, l, "newline")
	if len(l.Problems) != 2 {
		t.Errorf("local.key problems %q, want the two apart", l.Problems)
	}

	if ls := ListKeys(filepath.Join(data, "nope"), nil, nil); ls != nil {
		t.Errorf("missing folder: %+v", ls)
	}
	_, err := ReadKeyListings(filepath.Join(data, "nope"), nil, nil)
	testkit.WantErr(t, err, "no identities folder")
}

func TestListKeysJSON(t *testing.T) {
	b, err := json.Marshal([]KeyListing{
		{File: "a.key", OnNode: OnNodeYes, Problems: []string{}},
		{File: "b.key", OnNode: OnNodeNo},
		{File: "c.key"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"file":"a.key","id":"","dir":"","service":"","on_node":true,"problems":[]`, `"on_node":false`, `"on_node":null`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON %s lacks %s", s, want)
		}
	}
}

func TestConfirmLoaded(t *testing.T) {
	_, pub := testkit.IdentityKey(1)
	_, other := testkit.IdentityKey(2)
	both := model.NodeView{HasSmesherIDs: true, SmesherIDs: [][]byte{other, pub}, HasPostStates: true, PostStates: []model.PostState{{ID: pub}}}
	cases := []struct {
		name string
		view model.NodeView
		ok   bool
		want string
	}{
		{"both report it", both, true, "has loaded"},
		{"neither", model.NodeView{HasSmesherIDs: true, SmesherIDs: [][]byte{other}, HasPostStates: true}, false, "restart the node"},
		{"down", model.NodeView{Errors: []model.SourceError{{Source: "post listener", Message: "connection refused"}}}, false, "connection refused"},
		{"only SmesherIDs answered", model.NodeView{HasSmesherIDs: true, SmesherIDs: [][]byte{pub}}, true, "other listener did not answer"},
		// Loaded, as the table's row says (model.NodeView.Loaded).
		{"one of two", model.NodeView{HasSmesherIDs: true, SmesherIDs: [][]byte{pub}, HasPostStates: true}, true, "not in PostStates yet"},
	}
	for _, c := range cases {
		ok, msg := ConfirmLoaded(c.view, pub)
		if ok != c.ok || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %v %q, want %v and %q", c.name, ok, msg, c.ok, c.want)
		}
		if !strings.Contains(msg, hex.EncodeToString(pub)[:16]) {
			t.Errorf("%s: message %q does not name the identity", c.name, msg)
		}
	}
}

// One truth for "loaded": for every shape of the node's answer, the row of
// `status` and the dashboard (model.Join's key-not-loaded flag), `keys
// list` (on node, and its problem) and `keys check` (ConfirmLoaded) say the
// same of one key file.
func TestLoadedAgreesEverywhere(t *testing.T) {
	data := t.TempDir()
	hexKey, pub := testkit.IdentityKey(1)
	_, other := testkit.IdentityKey(2)
	testkit.WriteFile(t, filepath.Join(data, "identities", "a.key"), hexKey)
	views := map[string]model.NodeView{
		"both list it":           {HasSmesherIDs: true, SmesherIDs: [][]byte{pub}, HasPostStates: true, PostStates: []model.PostState{{ID: pub, State: model.NodeIdle}}},
		"SmesherIDs alone":       {HasSmesherIDs: true, SmesherIDs: [][]byte{pub}, HasPostStates: true},
		"PostStates alone":       {HasSmesherIDs: true, SmesherIDs: [][]byte{other}, HasPostStates: true, PostStates: []model.PostState{{ID: pub, State: model.NodeIdle}}},
		"neither":                {HasSmesherIDs: true, SmesherIDs: [][]byte{other}, HasPostStates: true},
		"one answered, unlisted": {HasSmesherIDs: true, SmesherIDs: [][]byte{other}},
		"no answer":              {Errors: []model.SourceError{{Source: "node", Message: "down"}}},
	}
	for name, v := range views {
		files, err := identities.ReadKeyDir(data)
		if err != nil {
			t.Fatal(err)
		}
		snap := model.Join(model.Inputs{Node: v, Keys: files})
		var row *model.Row
		for i := range snap.Rows {
			if string(snap.Rows[i].ID) == string(pub) {
				row = &snap.Rows[i]
			}
		}
		if row == nil {
			t.Fatalf("%s: no row for the key: %+v", name, snap.Rows)
		}
		l := klByFile(ListKeys(data, nil, &v))["a.key"]
		ok, msg := ConfirmLoaded(v, pub)
		notLoaded := row.Has(model.HealthKeyNotLoaded)
		listedNo := l.OnNode == OnNodeNo
		problem := strings.Contains(strings.Join(l.Problems, " "), "has not loaded")
		known := v.HasSmesherIDs || v.HasPostStates
		if notLoaded != listedNo || listedNo != problem || (known && ok == notLoaded) || (!known && (ok || l.OnNode != OnNodeUnknown)) {
			t.Errorf("%s: row key-not-loaded %v; keys list on node %v, problems %q; keys check %v %q", name, notLoaded, l.OnNode, l.Problems, ok, msg)
		}
	}
}
