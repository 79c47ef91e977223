package merge

// The backup a merge makes of the target before it changes anything.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// backup copies the target's database (byte for byte: the target is idle
// and only read) and identities/ into a new timestamped folder inside the
// target, syncs it, and checks the copy opens (read-only and immutable, so
// checking it does not change it).
func backup(ctx context.Context, p *Plan) (string, error) {
	var dir string
	base := filepath.Join(p.To, "backup-"+time.Now().Format("20060102-150405"))
	for i := 1; ; i++ {
		dir = base
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i > 100 {
			return "", err
		}
	}
	fail := func(err error) (string, error) {
		os.RemoveAll(dir)
		return "", err
	}
	if !p.CreateDB {
		if err := backupDB(ctx, p, dir); err != nil {
			return fail(err)
		}
	}
	if !p.CreateIdentities {
		if err := copyDir(filepath.Join(p.To, "identities"), filepath.Join(dir, "identities")); err != nil {
			return fail(err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fail(err)
	}
	return dir, syncDir(p.To)
}

// backupDB copies the target's local.sql into dir and checks the copy.
func backupDB(ctx context.Context, p *Plan, dir string) error {
	fail := func(err error) error { return err }
	// A byte-for-byte copy: the plan proved the target idle (no -wal with
	// unfinished writes, no process has it open), so the file alone is the
	// database, and restoring the copy gives back exactly the original bytes.
	out := filepath.Join(dir, DBName)
	if err := copyFile(filepath.Join(p.To, DBName), out); err != nil {
		return fail(fmt.Errorf("copying %s: %v", DBName, err))
	}
	// The copy must open and hold the same schema version.
	bk, err := openReadOnly(out)
	if err != nil {
		return fail(err)
	}
	err = quickCheck(ctx, bk, "main")
	var v int
	if err == nil {
		v, err = userVersion(ctx, bk, "main")
	}
	bk.Close()
	if err == nil && v != p.Version {
		err = fmt.Errorf("the backup has schema version %d, want %d", v, p.Version)
	}
	if err != nil {
		return fail(fmt.Errorf("the backup %s does not check out: %v", out, err))
	}
	return nil
}

// copyDir copies the regular files of src (not recursive) into a new
// folder dst, keeping their modes, each synced.
func copyDir(src, dst string) error {
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return syncDir(dst)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
