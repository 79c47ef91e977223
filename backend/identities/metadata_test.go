package identities

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"postdeck/backend/fsguard"
	"postdeck/backend/testkit"
	"postdeck/model"
)

func TestMetadataRead(t *testing.T) {
	id := bytes.Repeat([]byte{7}, 32)
	good := t.TempDir()
	testkit.Metadata(t, good, id, 4)
	m, err := ReadMetadata(good)
	if err != nil || !bytes.Equal(m.NodeID, id) || m.NumUnits != 4 {
		t.Fatalf("good: %+v, %v", m, err)
	}

	empty := t.TempDir()
	corrupt := t.TempDir()
	testkit.WriteFile(t, filepath.Join(corrupt, model.MetadataFile), `{"NodeId": `)
	shortID := t.TempDir()
	testkit.WriteFile(t, filepath.Join(shortID, model.MetadataFile), `{"NodeId":"AAEC","LabelsPerUnit":1,"NumUnits":1}`)
	gone := filepath.Join(t.TempDir(), "nope")
	cases := []struct {
		name, dir string
		want      []string
	}{
		{"missing file", empty, []string{"no postdata_metadata.json in " + empty + ": is this a PoST data directory?"}},
		{"missing dir", gone, []string{gone, "does not exist"}},
		{"corrupt", corrupt, []string{filepath.Join(corrupt, model.MetadataFile), "not valid metadata JSON"}},
		{"short NodeId", shortID, []string{filepath.Join(shortID, model.MetadataFile), "NodeId must be 32 bytes", "got 3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadMetadata(c.dir)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestMetadataCacheRereadsOnlyOnChange(t *testing.T) {
	dir := t.TempDir()
	idA, idB := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	testkit.Metadata(t, dir, idA, 4)
	path := filepath.Join(dir, model.MetadataFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	c := NewMetadataCache()
	if m, err := c.Get(dir); err != nil || !bytes.Equal(m.NodeID, idA) {
		t.Fatalf("first Get: %v, %v", m.NodeID, err)
	}

	// Same size, mtime put back: the cache must not read the file again.
	testkit.Metadata(t, dir, idB, 4)
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if m, _ := c.Get(dir); !bytes.Equal(m.NodeID, idA) {
		t.Fatal("cache re-read a file whose size and mtime did not change")
	}

	// A new mtime: read again.
	later := fi.ModTime().Add(time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if m, _ := c.Get(dir); !bytes.Equal(m.NodeID, idB) {
		t.Fatal("cache did not re-read after the mtime changed")
	}

	// A new size with the same mtime: read again (and the error is cached too).
	testkit.WriteFile(t, path, "{}")
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(dir); err == nil || !strings.Contains(err.Error(), "NodeId") {
		t.Fatalf("want the corrupt file's error, got %v", err)
	}

	// Gone, then back.
	os.Remove(path)
	if _, err := c.Get(dir); err == nil || !strings.Contains(err.Error(), "no postdata_metadata.json") {
		t.Fatalf("removed file: %v", err)
	}
	testkit.Metadata(t, dir, idA, 4)
	if m, err := c.Get(dir); err != nil || !bytes.Equal(m.NodeID, idA) {
		t.Fatalf("restored file: %v", err)
	}
}

func TestMetadataCacheConcurrent(t *testing.T) {
	dirs := make([]string, 8)
	for i := range dirs {
		dirs[i] = t.TempDir()
		testkit.Metadata(t, dirs[i], bytes.Repeat([]byte{byte(i)}, 32), uint32(i+1))
	}
	c := NewMetadataCache()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 20; r++ {
				for i, d := range dirs {
					if m, err := c.Get(d); err != nil || m.NumUnits != uint32(i+1) {
						t.Errorf("dir %d: %v %v", i, m.NumUnits, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestReadSmallFile(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 511, 512, 513, 5000} {
		path := filepath.Join(dir, fmt.Sprint(size))
		want := bytes.Repeat([]byte{'k'}, size)
		if err := os.WriteFile(path, want, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := fsguard.ReadSmallFile(path, nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%d bytes: got %d bytes, err %v", size, len(got), err)
		}
	}
	_, err := fsguard.ReadSmallFile(filepath.Join(dir, "missing"), nil)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: err = %v, want not-exist naming the file", err)
	}
	if _, err := fsguard.ReadSmallFile(dir, nil); err == nil {
		t.Error("reading a folder gave no error")
	}
}

// Recent answers from memory for a while after a good read, and never for a
// file found bad: its fix must show on the next look.
func TestMetadataCacheRecent(t *testing.T) {
	dir := t.TempDir()
	id := bytes.Repeat([]byte{1}, 32)
	c := NewMetadataCache()
	if _, ok := c.Recent(dir, time.Hour); ok {
		t.Fatal("recent before any read")
	}
	testkit.Metadata(t, dir, id, 4)
	if _, err := c.Get(dir); err != nil {
		t.Fatal(err)
	}
	testkit.Metadata(t, dir, id, 16) // grown: a new size
	if m, ok := c.Recent(dir, time.Hour); !ok || m.NumUnits != 4 {
		t.Fatalf("within the window: %+v %v, want the 4 units read", m, ok)
	}
	if _, ok := c.Recent(dir, 0); ok {
		t.Fatal("recent past the window")
	}
	if m, _ := c.Get(dir); m.NumUnits != 16 {
		t.Fatalf("Get after the window: %d units", m.NumUnits)
	}
	testkit.WriteFile(t, filepath.Join(dir, model.MetadataFile), "{}")
	if _, err := c.Get(dir); err == nil {
		t.Fatal("a bad file read without error")
	}
	if _, ok := c.Recent(dir, time.Hour); ok {
		t.Fatal("a file found bad is answered from memory")
	}
}
