package ui

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend/config"
	"postdeck/backend/identities"
	"postdeck/merge/mergetest"
	"postdeck/model"
	"postdeck/themes"
)

// world is a node on disk for the flows: a data folder built by the merge
// engine's fixture (schema 9, SQLite local.sql, real ed25519 keys) and a
// config file naming it, with the node's post listener at addr.
type world struct {
	root, data, cfgPath string
	cfg                 *config.Config
	keys                []mergetest.Key
}

func newWorld(t *testing.T, listener string, ids int) *world {
	t.Helper()
	w := &world{root: t.TempDir()}
	w.data = filepath.Join(w.root, "node_data")
	var err error
	if w.keys, err = mergetest.Build(w.data, mergetest.Options{Version: 9, IDs: ids, Prefix: "t", Rollback: true}); err != nil {
		t.Fatal(err)
	}
	w.cfgPath = filepath.Join(w.root, "config.toml")
	cfg := fmt.Sprintf("# my node\n[node]\npost_listener = %q\ndata_folder = %q\n", listener, w.data)
	if err := os.WriteFile(w.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if w.cfg, err = config.Load(w.cfgPath); err != nil {
		t.Fatal(err)
	}
	return w
}

// node builds another node data folder under the world's root.
func (w *world) node(t *testing.T, name, prefix string, ids int) []mergetest.Key {
	t.Helper()
	keys, err := mergetest.Build(filepath.Join(w.root, name), mergetest.Options{Version: 9, IDs: ids, Prefix: prefix, Rollback: true})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// postDir writes a PoST data directory for public, with identity.key when
// private is set.
func postDir(t *testing.T, dir string, public []byte, private ed25519.PrivateKey) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(model.PostMetadata{NodeID: public, CommitmentAtxID: make([]byte, 32), LabelsPerUnit: 4294967296, NumUnits: 4, MaxFileSize: 4294967296}, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, model.MetadataFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if private != nil {
		if err := os.WriteFile(filepath.Join(dir, identities.IdentityKeyFile), []byte(hex.EncodeToString(private)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// newFlowTest is a dashboard with actions, the world's config and a clock.
func newFlowTest(t *testing.T, w *world) (*Model, *clock) {
	t.Helper()
	c := &clock{t: testNow.Add(time.Second)}
	m := New(Options{Theme: themes.Dark(), Interval: 2 * time.Second, Title: "postdeck test", Now: c.now,
		Actions: &fakeActions{}, Config: w.cfg})
	m.Update(sizeMsg(120, 40))
	s := snapshotOf()
	m.Update(SnapshotMsg{s})
	return m, c
}

// settle runs cmd and every Cmd that follows as the program would (see
// runCmds) until cond holds; with cond nil, until no Cmd is left.
func settle(t *testing.T, m *Model, cmd tea.Cmd, cond func() bool) {
	t.Helper()
	runCmds(t, m, cmd, pumpOpts{cond: cond, limit: 20 * time.Second})
}

// shows is a condition: the screen contains every sub.
func shows(m *Model, subs ...string) func() bool {
	return func() bool {
		v := screen(m)
		for _, s := range subs {
			if !strings.Contains(v, s) {
				return false
			}
		}
		return true
	}
}

// typeText types s rune by rune (press would read "enter" as a key name).
func typeText(m *Model, s string) tea.Cmd {
	var cmd tea.Cmd
	for _, r := range s {
		_, cmd = m.Update(keyMsg(string(r)))
	}
	return cmd
}

// nodeWith is a snapshot whose node reports the given identities.
func nodeWith(publics ...[]byte) model.Snapshot {
	s := snapshotOf()
	s.Node.SmesherIDs = nil
	s.Node.PostStates = nil
	for _, p := range publics {
		s.Node.SmesherIDs = append(s.Node.SmesherIDs, p)
		s.Node.PostStates = append(s.Node.PostStates, model.PostState{ID: p, State: model.NodeIdle})
	}
	return s
}
