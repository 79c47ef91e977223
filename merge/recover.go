package merge

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"postdeck/model"
	"postdeck/safefile"
)

// Recover finishes or undoes a merge into to that was interrupted (a crash,
// a kill, a power cut), using the journal the merge left there. If the
// merge's database transaction had committed, it rolls forward: moves the
// keys still staged into identities/ and cleans up. Otherwise it rolls back:
// SQLite discards the uncommitted transaction when the database is opened,
// and the staging folder (and anything the merge created) is removed, so the
// target is as it was. The message says which, in words. Without a journal
// there is nothing to do.
func Recover(to string) (string, error) {
	abs, err := filepath.Abs(to)
	if err != nil {
		return "", err
	}
	msg, j, err := recoverLocked(abs)
	if err != nil && j != nil {
		if serr := spaceError(j, err); serr != nil {
			return "", serr
		}
	}
	return msg, err
}

// recoverLocked is Recover under the data folder lock; it returns the
// journal it read, if any.
func recoverLocked(abs string) (string, *journal, error) {
	// The lock Execute and `keys add` take: no merge or key add runs while
	// this one is finished or undone.
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("nothing to recover: %s does not exist", abs), nil, nil
	}
	unlock, err := lockDataFolder(abs)
	if err != nil {
		return "", nil, fmt.Errorf("cannot lock %s: %v", abs, err)
	}
	defer unlock()
	j, err := readJournal(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("nothing to recover: no unfinished merge in %s", abs), nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	switch {
	case j.Phase == phaseUndo:
		if err := undo(j); err != nil {
			return "", j, fmt.Errorf("finishing the undo of the merge of %s into %s failed: %v", j.From, abs, err)
		}
		return fmt.Sprintf("undid the interrupted merge of %s into %s: moving its keys had failed, so %s and the merged keys were removed; the target is as it was before the merge",
			j.From, abs, restoredHow(j)), j, nil
	}
	committed := j.Phase == phaseCommitted
	if !committed {
		// Opening the database also lets SQLite roll back an unfinished
		// transaction (hot journal) or ignore uncommitted WAL frames.
		committed, err = markerCommitted(j)
		if err != nil {
			return "", j, fmt.Errorf("cannot tell whether the merge into %s committed: %v; the journal %s is kept: fix the database access and run recovery again", abs, err, journalPath(abs))
		}
	}
	if committed {
		n, err := rollForward(j)
		if err != nil {
			return "", j, fmt.Errorf("the merge of %s into %s had committed its rows, but finishing it failed: %v; run recovery again once that is fixed", j.From, abs, err)
		}
		return fmt.Sprintf("rolled forward: the interrupted merge of %s into %s had committed its rows, so it was finished (%d staged key(s) moved into identities/, %d key(s) in all, journal removed); restart the node to load the keys",
			j.From, abs, n, len(j.Keys)), j, nil
	}
	if err := rollBack(j, true); err != nil {
		return "", j, fmt.Errorf("rolling back the interrupted merge of %s into %s failed: %v; run recovery again once that is fixed", j.From, abs, err)
	}
	kept := ""
	if j.Backup != "" {
		kept = "; the backup taken before it is kept in " + j.Backup
	}
	return fmt.Sprintf("rolled back: the interrupted merge of %s into %s stopped before its database commit, so nothing was merged; staged keys were removed and the target is as it was before%s",
		j.From, abs, kept), j, nil
}

// spaceError says how much to free, and where, when recovery failed for
// lack of space (the error says so, or the file system has less free than
// recovery needs); nil otherwise.
func spaceError(j *journal, cause error) error {
	var st syscall.Statfs_t
	if err := statfs(j.To, &st); err != nil {
		return nil
	}
	bs := int64(st.Bsize)
	if bs <= 0 {
		bs = 4096
	}
	free := int64(st.Bavail) * bs
	need := recoverNeed(j, bs)
	noSpace := errors.Is(cause, syscall.ENOSPC) || errors.Is(cause, syscall.EDQUOT)
	for _, s := range []string{"no space left", "disk is full", "SQLITE_FULL", "quota exceeded"} {
		noSpace = noSpace || strings.Contains(cause.Error(), s)
	}
	if !noSpace && free >= need {
		return nil
	}
	n := need - free
	if n < bs {
		n = need // full although it looked like enough: ask for what recovery writes
	}
	n = roundUp(n, bs)
	return fmt.Errorf("recovering the merge of %s into %s needs more free space (%s free; it stopped at: %v): free %d bytes (%s) on %s, then run `postdeck merge --recover --to %s` again",
		j.From, j.To, model.HumanBytes(uint64(free)), cause, n, model.HumanBytes(uint64(n)), mountPoint(j.To), j.To)
}

// recoverNeed is about what recovery writes: SQLite folds the -wal into the
// database and keeps a -shm while it is open, dropping the marker writes a
// few pages, the phase file a block, and an undo copies the backup back.
func recoverNeed(j *journal, bs int64) int64 {
	size := func(path string) int64 {
		if fi, err := os.Stat(path); err == nil {
			return roundUp(fi.Size(), bs)
		}
		return 0
	}
	db := filepath.Join(j.To, DBName)
	need := size(db+"-wal") + size(db+"-journal") + 64<<10 + 2*bs + spaceSlack
	if j.Backup != "" && (j.Phase == phaseUndo || j.Phase == phaseCommitted) {
		need += size(filepath.Join(j.Backup, DBName))
	}
	return need
}

// mountPoint is the mount point of the file system holding path.
func mountPoint(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return path
	}
	dev := fi.Sys().(*syscall.Stat_t).Dev
	for {
		parent := filepath.Dir(path)
		if parent == path {
			return path
		}
		pi, err := os.Stat(parent)
		if err != nil || pi.Sys().(*syscall.Stat_t).Dev != dev {
			return path
		}
		path = parent
	}
}

func restoredHow(j *journal) string {
	if j.CreatedDB {
		return "the database it had created"
	}
	return "the database was restored from the backup " + j.Backup + ","
}

// markerCommitted opens the target database read-write (which rolls back
// anything uncommitted), looks for the merge's marker row and closes it
// again, leaving no -wal, -shm or -journal file behind.
func markerCommitted(j *journal) (bool, error) {
	path := filepath.Join(j.To, DBName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	db, err := openWritable(path)
	if err != nil {
		return false, err
	}
	ctx := context.Background()
	var n int
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", markerTable).Scan(&n)
	if err == nil && n > 0 {
		err = db.QueryRowContext(ctx, "SELECT count(*) FROM "+markerTable+" WHERE journal_id = ?", j.ID).Scan(&n)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	if err := noSideFiles(path); err != nil {
		return false, err
	}
	return n > 0, nil
}

// noSideFiles checks SQLite left nothing beside a closed database.
func noSideFiles(path string) error {
	for _, s := range sideFiles {
		if _, err := os.Stat(path + s); err == nil {
			return fmt.Errorf("%s%s is still there after the database was closed", path, s)
		}
	}
	return nil
}

// rollForward moves the keys still staged into identities/ (never replacing
// a file) and cleans up; it returns how many it moved.
func rollForward(j *journal) (int, error) {
	ids := filepath.Join(j.To, "identities")
	moved := 0
	for _, k := range j.Keys {
		staged, final := filepath.Join(j.stagingDir(), k.Name), filepath.Join(ids, k.Name)
		if b, err := os.ReadFile(final); err == nil {
			if !holdsKey(b, k.Public) {
				return moved, fmt.Errorf("%s holds a different key than the merge wrote: the staged one is kept in %s; check both by hand", final, staged)
			}
			os.Remove(staged)
			continue
		}
		if _, err := os.Stat(staged); err != nil {
			return moved, fmt.Errorf("key %s is neither staged nor in identities/: copy it from %s", k.Name, filepath.Join(j.From, "identities", k.Name))
		}
		if err := safefile.RenameNoReplace(staged, final); err != nil {
			return moved, err
		}
		moved++
	}
	if err := syncDir(ids); err != nil {
		return moved, err
	}
	return moved, finish(j)
}

func holdsKey(content []byte, publicHex string) bool {
	k, err := model.ParseKey(content)
	return err == nil && hex.EncodeToString(k.Public) == publicHex
}

// finish ends a committed merge: drops the marker, removes the staging
// folder and then the journal.
func finish(j *journal) error {
	db, err := openWritable(filepath.Join(j.To, DBName))
	if err != nil {
		return err
	}
	_, err = db.Exec("DROP TABLE IF EXISTS " + markerTable)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("dropping the marker table: %v", err)
	}
	hook("marker-dropped")
	if err := os.RemoveAll(j.stagingDir()); err != nil {
		return err
	}
	hook("staging-removed")
	if err := j.removeFiles(); err != nil {
		return err
	}
	return syncDir(j.To)
}

// rollBack undoes a merge that did not commit: the staging folder,
// whatever the merge created and the journal are removed. After a crash the
// caller has already opened the database once (markerCommitted), so SQLite
// discarded the unfinished transaction; checkDB says to make sure no side
// file was left.
func rollBack(j *journal, checkDB bool) error {
	if err := clearMerge(j); err != nil {
		return err
	}
	if checkDB && !j.CreatedDB && !j.CreatedDir {
		return noSideFiles(filepath.Join(j.To, DBName))
	}
	return nil
}

// clearMerge removes what a merge left behind once its changes are undone:
// the staging folder, what it created, and the journal; then the target
// folder itself when the merge created it (only when empty), or syncs it.
func clearMerge(j *journal) error {
	if err := os.RemoveAll(j.stagingDir()); err != nil {
		return err
	}
	if err := removeCreated(j); err != nil {
		return err
	}
	if err := j.removeFiles(); err != nil {
		return err
	}
	if j.CreatedDir {
		os.Remove(j.To) // only when empty
		return nil
	}
	return syncDir(j.To)
}

// removeCreated removes the database and identities/ folder the merge
// created in a target that lacked them (the folder only when empty).
func removeCreated(j *journal) error {
	if j.CreatedDB {
		for _, name := range []string{j.NewDB, DBName} {
			if name == "" {
				continue
			}
			for _, s := range append([]string{""}, sideFiles...) {
				if err := os.Remove(filepath.Join(j.To, name+s)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
		}
	}
	if j.CreatedIdentities {
		if err := os.Remove(filepath.Join(j.To, "identities")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("identities/ was created by the merge but is not empty now: %v", err)
		}
	}
	return nil
}

// undo reverses a committed merge whose keys could not all be moved: the
// journal is marked first (so a crash here is finished by Recover), the
// database is restored from the backup (or removed when the merge created
// it), the keys the merge put into identities/ are removed, then the
// staging folder and the journal.
func undo(j *journal) error {
	if j.Phase != phaseUndo {
		if err := j.setPhase(phaseUndo); err != nil {
			return err
		}
	}
	path := filepath.Join(j.To, DBName)
	if !j.CreatedDB {
		if j.Backup == "" {
			return errors.New("no backup recorded in the journal")
		}
		tmp := filepath.Join(j.To, ".postdeck-merge-restore-"+j.ID+".sql")
		os.Remove(tmp)
		if err := copyFile(filepath.Join(j.Backup, DBName), tmp); err != nil {
			return fmt.Errorf("copying the backup: %v", err)
		}
		// A -wal beside the merged database must not be replayed onto the
		// restored one: remove the side files first.
		for _, s := range sideFiles {
			if err := os.Remove(path + s); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
		if err := syncDir(j.To); err != nil {
			return err
		}
	}
	ids := filepath.Join(j.To, "identities")
	for _, k := range j.Keys {
		final := filepath.Join(ids, k.Name)
		if b, err := os.ReadFile(final); err == nil && holdsKey(b, k.Public) {
			if err := os.Remove(final); err != nil {
				return err
			}
		}
	}
	if _, err := os.Stat(ids); err == nil {
		if err := syncDir(ids); err != nil {
			return err
		}
	}
	return clearMerge(j)
}
