package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"postdeck/safefile"
)

// WriteFile writes a config file for `postdeck init`: it refuses to
// replace an existing file unless force, creates the parent folder (0700) and
// writes atomically with mode 0600.
func WriteFile(path string, data []byte, force bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("cannot create the folder for %s: %v", path, err)
	}
	err := safefile.WriteAtomic(path, data, 0o600, force)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: use --force to overwrite it", path)
	}
	return err
}
