package merge

// The keys: staged inside the target, then moved into identities/, with the
// file and folder syncs that make each step durable.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"postdeck/safefile"
)

// moveKeys links each staged key into identities/ (never replacing a file)
// and removes the staged copy. On failure it undoes the whole merge.
func (x *executor) moveKeys() error {
	j := x.j
	ids := filepath.Join(j.To, "identities")
	for i, k := range j.Keys {
		if err := safefile.RenameNoReplace(filepath.Join(j.stagingDir(), k.Name), filepath.Join(ids, k.Name)); err != nil {
			cause := fmt.Errorf("cannot move key %s into identities/: %v", k.Name, err)
			if uerr := undo(j); uerr != nil {
				return fmt.Errorf("%v; undoing the merge also failed (%v): run `postdeck merge --recover --to %s`", cause, uerr, j.To)
			}
			how := "the database was restored from the backup " + j.Backup
			if j.CreatedDB {
				how = "the new database was removed"
			}
			return fmt.Errorf("%v; the merge was undone: %s and the keys already moved were removed", cause, how)
		}
		if i == 0 {
			hook("moved-one")
		}
	}
	return syncDir(ids)
}

// stageKey writes a key into the (new, private) staging folder the way the
// node wants it: lower-case hex, no newline, 0600, synced. The folder is not
// synced here: the caller syncs it once after all keys.
func stageKey(path string, private []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(hex.EncodeToString(private)))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func newID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

func mkdirSync(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// syncDir fsyncs a folder; a variable so tests can count the calls.
var syncDir = safefile.SyncDir

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
