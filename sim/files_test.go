package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/model"
)

func TestFilesOnDisk(t *testing.T) {
	dir := t.TempDir()
	s := startSim(t, Options{IDs: 12, Manual: true, Dir: dir, Seed: 7})
	l := s.Layout()
	if l.DataFolder != filepath.Join(dir, "node_data") {
		t.Errorf("data folder %s", l.DataFolder)
	}
	keys, _ := filepath.Glob(filepath.Join(l.DataFolder, "identities", "*.key"))
	if len(keys) != 12 || len(l.Services) != 12 {
		t.Fatalf("%d key files and %d services, want 12 each", len(keys), len(l.Services))
	}
	seen := map[string]bool{}
	for _, svc := range l.Services {
		if filepath.Dir(svc.KeyFile) != filepath.Join(l.DataFolder, "identities") {
			t.Errorf("%s: key file %s is not in identities/", svc.Name, svc.KeyFile)
		}
		key := checkKeyFile(t, svc.KeyFile)
		if !bytes.Equal(key.Public, svc.NodeID) {
			t.Errorf("%s: key file holds %x, layout says %x", svc.Name, key.Public, svc.NodeID)
		}
		if seen[string(key.Public)] {
			t.Errorf("%s: duplicate key", svc.Name)
		}
		seen[string(key.Public)] = true
		raw, err := os.ReadFile(filepath.Join(svc.Dir, "postdata_metadata.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), "\n\t\"NodeId\": ") {
			t.Errorf("%s: metadata is not tab-indented:\n%s", svc.Name, raw)
		}
		meta, err := model.ParseMetadata(raw)
		if err != nil {
			t.Fatalf("%s: %v", svc.Name, err)
		}
		if !bytes.Equal(meta.NodeID, svc.NodeID) || meta.LabelsPerUnit != 1<<20 || meta.NumUnits < 1 ||
			meta.NumUnits > 8 || len(meta.CommitmentAtxID) != 32 {
			t.Errorf("%s: metadata %+v", svc.Name, meta)
		}
	}
}

// checkKeyFile validates a key file the way the node would read it.
func checkKeyFile(t *testing.T, path string) model.Key {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want 0600", path, fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	key, err := model.ParseKey(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if key.Warning != "" || strings.ToLower(string(raw)) != string(raw) {
		t.Errorf("%s: not bare lower-case hex: %q", path, raw)
	}
	return key
}

func TestSeedMakesTheSameIdentities(t *testing.T) {
	ids := func(seed int64) [][]byte {
		var out [][]byte
		for _, svc := range startSim(t, Options{IDs: 3, Manual: true, Seed: seed}).Layout().Services {
			out = append(out, svc.NodeID)
		}
		return out
	}
	a, b, c := ids(1), ids(1), ids(2)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("identity %d differs for the same seed", i)
		}
		if bytes.Equal(a[i], c[i]) {
			t.Errorf("identity %d is the same for different seeds", i)
		}
	}
}

func TestTempDirRemovedOnClose(t *testing.T) {
	s := startSim(t, Options{IDs: 1, Manual: true})
	dir := s.Layout().DataFolder
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temp dir still there after Close: %v", err)
	}
}
