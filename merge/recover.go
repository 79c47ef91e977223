package merge

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"postdeck/model"
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
	// The lock Execute and `keys add` take: no merge or key add runs while
	// this one is finished or undone.
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("nothing to recover: %s does not exist", abs), nil
	}
	unlock, err := lockDataFolder(abs)
	if err != nil {
		return "", fmt.Errorf("cannot lock %s: %v", abs, err)
	}
	defer unlock()
	j, err := readJournal(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("nothing to recover: no unfinished merge in %s", abs), nil
	}
	if err != nil {
		return "", err
	}
	switch {
	case j.Phase == phaseUndo:
		if err := undo(j); err != nil {
			return "", fmt.Errorf("finishing the undo of the merge of %s into %s failed: %v", j.From, abs, err)
		}
		return fmt.Sprintf("undid the interrupted merge of %s into %s: moving its keys had failed, so %s and the merged keys were removed; the target is as it was before the merge",
			j.From, abs, restoredHow(j)), nil
	}
	committed := j.Phase == phaseCommitted
	if !committed {
		// Opening the database also lets SQLite roll back an unfinished
		// transaction (hot journal) or ignore uncommitted WAL frames.
		committed, err = markerCommitted(j)
		if err != nil {
			return "", fmt.Errorf("cannot tell whether the merge into %s committed: %v; the journal %s is kept: fix the database access and run recovery again", abs, err, journalPath(abs))
		}
	}
	if committed {
		n, err := rollForward(j)
		if err != nil {
			return "", fmt.Errorf("the merge of %s into %s had committed its rows, but finishing it failed: %v; run recovery again once that is fixed", j.From, abs, err)
		}
		return fmt.Sprintf("rolled forward: the interrupted merge of %s into %s had committed its rows, so it was finished (%d staged key(s) moved into identities/, %d key(s) in all, journal removed); restart the node to load the keys",
			j.From, abs, n, len(j.Keys)), nil
	}
	if err := rollBack(j, true); err != nil {
		return "", fmt.Errorf("rolling back the interrupted merge of %s into %s failed: %v; run recovery again once that is fixed", j.From, abs, err)
	}
	kept := ""
	if j.Backup != "" {
		kept = "; the backup taken before it is kept in " + j.Backup
	}
	return fmt.Sprintf("rolled back: the interrupted merge of %s into %s stopped before its database commit, so nothing was merged; staged keys were removed and the target is as it was before%s",
		j.From, abs, kept), nil
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
		if err := moveNoReplace(staged, final); err != nil {
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
	path := filepath.Join(j.To, DBName)
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
	if err := syncDir(j.To); err != nil {
		return err
	}
	if checkDB && !j.CreatedDB {
		return noSideFiles(path)
	}
	return nil
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
		os.Remove(j.To)
		return nil
	}
	return syncDir(j.To)
}
