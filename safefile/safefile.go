// Package safefile is how postdeck changes files an operator cannot lose
// (key files, node databases, state): atomic writes (temp file, fsync,
// rename), renames that never replace, folder syncs and the lock every
// change to a node's data folder holds. backend and merge both use it; it
// imports nothing of postdeck.
package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// WriteAtomic writes data to path so that a reader (or a crash) sees
// either the old file or the complete new one: temp file in the same folder,
// fsync, rename (or link, when it must not replace a file), fsync the
// folder. Without overwrite an existing path is an error wrapping
// fs.ErrExist, and that check is atomic too.
func WriteAtomic(path string, data []byte, perm os.FileMode, overwrite bool) error {
	dir := filepath.Dir(path)
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return &fs.PathError{Op: "write", Path: path, Err: fs.ErrExist}
		}
	}
	tmp, err := WriteTemp(dir, filepath.Base(path), data, perm)
	if err != nil {
		return fmt.Errorf("cannot write %s: %v", path, err)
	}
	defer os.Remove(tmp) // a no-op once renamed; cleans up on failure
	if overwrite {
		err = os.Rename(tmp, path)
	} else {
		// link fails if path appeared since the check above: no clobbering.
		// A filesystem without hard links gets the plain rename.
		err = os.Link(tmp, path)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			err = os.Rename(tmp, path)
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &fs.PathError{Op: "write", Path: path, Err: fs.ErrExist}
		}
		return fmt.Errorf("cannot put %s in place: %v", path, err)
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("wrote %s but could not sync its folder: %v", path, err)
	}
	return nil
}

// WriteTemp writes data to a new hidden temp file in dir, synced and closed,
// and returns its path: the first half of WriteAtomic, for callers that
// check the file before putting it in place.
func WriteTemp(dir, base string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// SyncDir fsyncs a folder, so renames and new files in it survive a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// RenameNoReplace moves a file within one file system like rename, but fails
// (with an error wrapping fs.ErrExist) instead of replacing a file at dst —
// an operator's key must never be overwritten. It links, then removes the old
// name; on a file system without hard links it renames after checking dst is
// free. It does not sync: callers sync the folders once.
func RenameNoReplace(src, dst string) error {
	err := os.Link(src, dst)
	switch {
	case err == nil:
		return os.Remove(src)
	case errors.Is(err, fs.ErrExist):
		return err
	}
	if _, serr := os.Lstat(dst); serr == nil {
		return &fs.PathError{Op: "rename", Path: dst, Err: fs.ErrExist}
	}
	return os.Rename(src, dst)
}

// Lock takes an exclusive flock on an existing file or folder, waiting for
// other postdeck processes that hold it. Calling the returned func releases
// it (so does the process ending).
func Lock(path string) (func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot lock %s: %v", path, err)
	}
	return func() { f.Close() }, nil
}

// LockDataFolder takes the exclusive lock every postdeck change to a node's
// data folder (adding a key, merging, recovering a merge) holds, so they never
// interleave. It waits for another holder; the returned func releases it.
func LockDataFolder(dataFolder string) (func(), error) {
	unlock, err := Lock(dataFolder)
	if err != nil {
		return nil, fmt.Errorf("node data folder %s: %v", dataFolder, err)
	}
	return unlock, nil
}
