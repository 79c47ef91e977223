package identities

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"postdeck/backend/testkit"
	"postdeck/model"
)

func TestKeyDirRules(t *testing.T) {
	pubA, hexA := testkit.Key(1)
	_, hexB := testkit.Key(2)
	mismatched := hexA[:64] + hexB[64:]
	cases := []struct {
		file, content string
		valid         bool   // Public set
		problem       string // substring of Problem, "" for none
	}{
		{"good.key", hexA, true, ""},
		{"newline.key", hexA + "\n", true, "newline"},
		{"crlf.key", hexA + "\r\n", true, "newline"},
		{"upper.key", strings.ToUpper(hexA), true, ""},
		{"short.key", hexA[:127], false, "exactly 128 hex characters, found 127"},
		{"nonhex.key", "zz" + hexA[2:], false, "not hex"},
		{"mismatch.key", mismatched, false, "does not match the seed"},
		{"empty.key", "", false, "found 0"},
	}
	data := t.TempDir()
	ids := filepath.Join(data, "identities")
	for _, c := range cases {
		testkit.WriteFile(t, filepath.Join(ids, c.file), c.content)
	}
	// Not key files for the node: wrong case, other suffix, a folder.
	testkit.WriteFile(t, filepath.Join(ids, "OTHER.KEY"), hexA)
	testkit.WriteFile(t, filepath.Join(ids, "foo.key.bak"), hexA)
	testkit.WriteFile(t, filepath.Join(ids, "sub.key", "inner.key"), hexA)

	got, err := ReadKeyDir(data)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for i, k := range got {
		byName[k.Name] = i
	}
	if len(got) != len(cases) {
		t.Fatalf("got %d key files %v, want %d", len(got), byName, len(cases))
	}
	for _, c := range cases {
		i, ok := byName[c.file]
		if !ok {
			t.Errorf("%s: not listed", c.file)
			continue
		}
		k := got[i]
		if (k.Public != nil) != c.valid {
			t.Errorf("%s: Public set = %v, want %v (problem %q)", c.file, k.Public != nil, c.valid, k.Problem)
		}
		if c.problem == "" && k.Problem != "" || !strings.Contains(k.Problem, c.problem) {
			t.Errorf("%s: Problem %q, want it to contain %q", c.file, k.Problem, c.problem)
		}
		if c.valid && !bytes.Equal(k.Public, pubA) {
			t.Errorf("%s: wrong public key", c.file)
		}
	}
}

func TestKeyDirLocalKey(t *testing.T) {
	_, hexA := testkit.Key(1)
	_, hexB := testkit.Key(2)

	alone := t.TempDir()
	testkit.WriteFile(t, filepath.Join(alone, "identities", "local.key"), hexA)
	got, err := ReadKeyDir(alone)
	if err != nil || len(got) != 1 || got[0].Problem != "" {
		t.Fatalf("local.key alone: %+v, %v; want one fine key", got, err)
	}

	beside := t.TempDir()
	testkit.WriteFile(t, filepath.Join(beside, "identities", "local.key"), hexA+"\n")
	testkit.WriteFile(t, filepath.Join(beside, "identities", "post1.key"), hexB)
	got, err = ReadKeyDir(beside)
	if err != nil || len(got) != 2 {
		t.Fatalf("got %+v, %v", got, err)
	}
	local, post1 := got[0], got[1]
	if local.Name != "local.key" || !strings.Contains(local.Problem, "local.key beside other keys: the node refuses to start") ||
		!strings.Contains(local.Problem, "newline") || local.Public == nil {
		t.Errorf("local.key: %+v", local)
	}
	if post1.Problem != "" {
		t.Errorf("post1.key: unexpected problem %q", post1.Problem)
	}
}

func TestKeyDirMissingFolder(t *testing.T) {
	data := t.TempDir()
	_, err := ReadKeyDir(data)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(data, "identities")) {
		t.Fatalf("err = %v, want it to name the identities folder", err)
	}
	if _, err := ReadKeyDir(""); err == nil || !strings.Contains(err.Error(), "data_folder") {
		t.Errorf("empty data folder: %v", err)
	}
	// An empty folder is not an error: the node would create local.key.
	if err := os.Mkdir(filepath.Join(data, "identities"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := ReadKeyDir(data)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty folder: %v, %v", got, err)
	}
}

// keyFolder is a data folder with an empty identities/ and a writer of key
// files into it.
func keyFolder(t *testing.T) (data, ids string, write func(name, content string)) {
	t.Helper()
	data = t.TempDir()
	ids = filepath.Join(data, "identities")
	if err := os.Mkdir(ids, 0o700); err != nil {
		t.Fatal(err)
	}
	return data, ids, func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(ids, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKeyDirCacheSeesChangesAndRemovals(t *testing.T) {
	data, ids, write := keyFolder(t)
	c := NewKeyDirCache()
	good := keyHexForCache(1)
	write("a.key", good)
	write("b.key", "nothex")
	keys, err := c.Read(data, 0)
	if err != nil || len(keys) != 2 || keys[0].Public == nil || keys[1].Public != nil {
		t.Fatalf("first read = %+v, %v", keys, err)
	}
	// Fix b.key (new size): the cache must re-check it.
	write("b.key", keyHexForCache(2))
	keys, _ = c.Read(data, 0)
	if keys[1].Public == nil {
		t.Fatalf("fixed key still reported bad: %+v", keys[1])
	}
	// Remove a.key: it must disappear, and local.key rules still apply.
	os.Remove(filepath.Join(ids, "a.key"))
	write("local.key", good)
	keys, _ = c.Read(data, 0)
	if len(keys) != 2 || keys[0].Name != "b.key" || keys[1].Name != "local.key" || keys[1].Problem == "" {
		t.Fatalf("after removal = %+v", keys)
	}
	want, _ := ReadKeyDir(data)
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("cache %+v differs from ReadKeyDir %+v", keys, want)
	}
}

func keyHexForCache(seed byte) string {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return hex.EncodeToString(ed25519.NewKeyFromSeed(s))
}

// Within the recheck window an unchanged identities/ is not listed again: a
// key rewritten in place shows once the window is over, a key added or a bad
// key fixed shows at once.
func TestKeyDirCacheReusesAnUnchangedFolderWithinTheWindow(t *testing.T) {
	data, ids, write := keyFolder(t)
	// The folder last changed an hour ago, like a rig's that has run a while.
	settle := func() {
		t.Helper()
		past := time.Now().Add(-time.Hour)
		if err := os.Chtimes(ids, past, past); err != nil {
			t.Fatal(err)
		}
	}
	pub := func(keys []model.KeyFile, i int) string { return hex.EncodeToString(keys[i].Public) }
	c := NewKeyDirCache()
	write("a.key", keyHexForCache(1))
	settle()
	first, err := c.Read(data, time.Hour)
	if err != nil || len(first) != 1 {
		t.Fatalf("first read %+v %v", first, err)
	}

	write("a.key", keyHexForCache(2)) // in place: the folder's mtime stays
	if keys, _ := c.Read(data, time.Hour); pub(keys, 0) != pub(first, 0) {
		t.Errorf("within the window the folder was read again")
	}
	if keys, _ := c.Read(data, 0); pub(keys, 0) == pub(first, 0) {
		t.Errorf("past the window the rewritten key is not seen")
	}

	write("b.key", "nothex") // a new file: the folder's mtime moves
	keys, _ := c.Read(data, time.Hour)
	if len(keys) != 2 || keys[1].Problem == "" {
		t.Fatalf("the added key is not seen at once: %+v", keys)
	}
	settle()
	write("b.key", keyHexForCache(3)) // fixed in place
	if keys, _ := c.Read(data, time.Hour); len(keys) != 2 || keys[1].Problem != "" {
		t.Errorf("a fixed key waits for the window: %+v", keys)
	}
}
