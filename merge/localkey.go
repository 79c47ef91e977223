package merge

// local.key: a node that made its own key is a supervised single-identity
// node, which a merge refuses (KindLocalKey). Before merging, the wizard
// finds those keys and renames them to descriptive names.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"postdeck/model"
	"postdeck/safefile"
)

// LocalKeys lists the folders among dirs whose identities/ holds local.key.
// It gives up at ctx's end (a hung disk), returning ctx's error.
func LocalKeys(ctx context.Context, dirs []string) ([]string, error) {
	return within(ctx, func() []string {
		var out []string
		for _, d := range dirs {
			if _, err := os.Lstat(localKeyPath(d)); err == nil {
				out = append(out, d)
			}
		}
		return out
	})
}

func localKeyPath(dir string) string { return filepath.Join(dir, "identities", model.LocalKeyName) }

// RenameLocalKey renames <dir>/identities/local.key to name: never over an
// existing file (a hard link makes the new name, which fails if it exists,
// then the old name is removed), and the folder is synced. The message says
// what was done. It stops waiting at ctx's end; the rename may still finish.
func RenameLocalKey(ctx context.Context, dir, name string) (string, error) {
	if name == model.LocalKeyName {
		return "", errors.New("choose a name other than local.key")
	}
	if err := model.CheckKeyName(name); err != nil {
		return "", err
	}
	ids := filepath.Join(dir, "identities")
	src, dst := localKeyPath(dir), filepath.Join(ids, name)
	err, waitErr := within(ctx, func() error {
		if err := safefile.RenameNoReplace(src, dst); errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: choose another name", dst)
		} else if err != nil {
			return fmt.Errorf("cannot rename %s: %v", src, err)
		}
		return safefile.SyncDir(ids)
	})
	if waitErr != nil {
		return "", fmt.Errorf("renaming %s did not end in time (%v): look at %s before going on", src, waitErr, ids)
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("renamed %s to %s", src, name), nil
}

// within runs f and waits for it until ctx ends. A file-system call on a
// hung mount cannot be cancelled: the goroutine is left to finish alone.
func within[T any](ctx context.Context, f func() T) (T, error) {
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v, nil
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
