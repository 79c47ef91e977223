package sim

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"postdeck/model"
)

// The flow folders: a PoST folder whose identity.key matches its metadata
// and is no key of the node, and an old node whose keys are its own and
// whose local.sql is at version 9 with a row of each identity in every
// table a merge copies. Asking for them leaves the node's keys as they
// are for the seed.
func TestFlowFolders(t *testing.T) {
	s := startSim(t, Options{IDs: 2, Manual: true, Seed: 3, FlowFolders: true})
	l := s.Layout()
	if l.NewPostDir != filepath.Join(filepath.Dir(l.DataFolder), NewPostFolder) || l.OldNodeFolder == "" {
		t.Fatalf("layout %+v", l)
	}
	nodeKeys := map[string]bool{}
	for _, svc := range l.Services {
		nodeKeys[string(svc.NodeID)] = true
	}
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	key, err := model.ParseKey(read(filepath.Join(l.NewPostDir, "identity.key")))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := model.ParseMetadata(read(filepath.Join(l.NewPostDir, model.MetadataFile)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key.Public, meta.NodeID) || nodeKeys[string(key.Public)] {
		t.Errorf("new-post: key %x, metadata's NodeId %x, the node's own: %v", key.Public, meta.NodeID, nodeKeys[string(key.Public)])
	}

	var old [][]byte
	for _, name := range []string{"old01.key", "old02.key"} {
		k, err := model.ParseKey(read(filepath.Join(l.OldNodeFolder, "identities", name)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if nodeKeys[string(k.Public)] || bytes.Equal(k.Public, key.Public) {
			t.Errorf("%s is a key of the node or of new-post", name)
		}
		old = append(old, k.Public)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(l.OldNodeFolder, "local.sql")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != 9 {
		t.Errorf("user_version %d (%v), want 9", version, err)
	}
	for _, table := range []string{"post", "challenge", "poet_registration", "nipost"} {
		for _, id := range old {
			var n int
			if err := db.QueryRow("SELECT count(*) FROM "+table+" WHERE id = ?", id).Scan(&n); err != nil || n != 1 {
				t.Errorf("%s has %d rows of %x (%v), want 1", table, n, id[:4], err)
			}
		}
	}
	if fi, err := os.Stat(filepath.Join(l.OldNodeFolder, "local.sql-wal")); err == nil && fi.Size() > 0 {
		t.Error("local.sql-wal holds unfinished writes: a merge refuses that")
	}

	plain := startSim(t, Options{IDs: 2, Manual: true, Seed: 3})
	for i, svc := range plain.Layout().Services {
		if !bytes.Equal(svc.NodeID, l.Services[i].NodeID) {
			t.Errorf("%s's key changed with FlowFolders", svc.Name)
		}
	}
	if p := plain.Layout(); p.NewPostDir != "" || p.OldNodeFolder != "" {
		t.Errorf("flow folders without FlowFolders: %+v", p)
	}
}
