package fsguard

// Folder listings and paths for the dashboard's path entries (tab
// completion in the add-key, merge and wizard forms): the ui asks here, in
// Cmds, so a hung disk cannot freeze the screen.

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// listTimeout bounds one folder listing.
const listTimeout = 3 * time.Second

// folderGuard bounds the listings: a hung mount costs one stuck goroutine.
var folderGuard = New()

// FolderList is what ListFolders found in a folder.
type FolderList struct {
	Names   []string // sorted
	Missing bool     // the folder does not exist
}

// ListFolders lists the folders in dir whose names start with prefix
// (hidden ones only when prefix starts with a dot; symlinks to folders
// count). A leading "~/" in dir is the home folder; "" is the working
// folder.
func ListFolders(dir, prefix string) (FolderList, error) {
	read := ExpandHome(dir)
	if read == "" {
		read = "."
	}
	return Guarded(folderGuard, read, "the folder "+read, listTimeout, func() (FolderList, error) {
		return listFolders(read, prefix)
	})
}

func listFolders(dir, prefix string) (FolderList, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return FolderList{Missing: true}, nil
	}
	if err != nil {
		return FolderList{}, err
	}
	var l FolderList
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, prefix) || (strings.HasPrefix(n, ".") && !strings.HasPrefix(prefix, ".")) {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(filepath.Join(dir, n)); err == nil {
				isDir = fi.IsDir()
			}
		}
		if isDir {
			l.Names = append(l.Names, n)
		}
	}
	slices.Sort(l.Names)
	return l, nil
}

// ExpandHome replaces a leading "~/" (or a lone "~") with the home folder.
func ExpandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	return p
}

// AbsPath turns typed text into a clean absolute path ("" stays "").
func AbsPath(typed string) string {
	p := strings.TrimSpace(typed)
	if p == "" {
		return ""
	}
	p = ExpandHome(p)
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}
