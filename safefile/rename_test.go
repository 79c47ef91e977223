package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestRenameNoReplaceNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "local.key"), filepath.Join(dir, "node1.key")
	os.WriteFile(src, []byte("A"), 0o600)
	os.WriteFile(dst, []byte("B"), 0o600)
	if err := RenameNoReplace(src, dst); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "B" {
		t.Fatalf("the existing file was replaced: %q", b)
	}
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("the source is gone after a refused rename: %v", err)
	}
	os.Remove(dst)
	if err := RenameNoReplace(src, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "A" {
		t.Errorf("moved file holds %q", b)
	}
	if _, err := os.Stat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the old name is still there: %v", err)
	}
}
