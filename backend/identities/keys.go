package identities

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"postdeck/backend/fsguard"
	"postdeck/model"
)

// LocalBesideOthers is the Problem given to local.key when other keys exist.
const LocalBesideOthers = "local.key beside other keys: the node refuses to start"

// ReadKeyDir lists <dataFolder>/identities/*.key the way the node does
// (non-recursive, exact lower-case ".key" suffix) and checks each file. A bad
// file becomes a KeyFile with Public nil and Problem saying which rule failed;
// a usable key the node would still reject (whitespace around the hex) keeps
// its Public and carries the warning in Problem. Files are in name order.
func ReadKeyDir(dataFolder string) ([]model.KeyFile, error) {
	return readKeyDir(dataFolder, readKeyFile)
}

// readKeyDir lists the key files and checks each with read.
func readKeyDir(dataFolder string, read func(dir string, e fs.DirEntry) model.KeyFile) ([]model.KeyFile, error) {
	if dataFolder == "" {
		// Not the current folder: an unset data folder must not read ./identities.
		return nil, errors.New("no node data folder given: set data_folder in [node]")
	}
	dir, entries, err := KeyFiles(dataFolder)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no identities folder at %s: is %s the node's data folder?", dir, dataFolder)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list identities folder %s: %v", dir, err)
	}
	var keys []model.KeyFile
	for _, e := range entries {
		keys = append(keys, read(dir, e))
	}
	flagLocalKey(keys)
	return keys, nil
}

// KeyFiles lists the key files in dataFolder's identities/ folder the way
// the node does: not recursive, only names ending in exactly ".key", in
// name order. dir is the folder; err is the listing's own (a missing folder
// wraps fs.ErrNotExist), for the caller to phrase. Every reading of
// identities/ starts here: the poller's, `keys list` and `keys add`'s, and a
// merge's plan of both sides.
func KeyFiles(dataFolder string) (dir string, entries []fs.DirEntry, err error) {
	dir = filepath.Join(dataFolder, "identities")
	all, err := os.ReadDir(dir)
	if err != nil {
		return dir, nil, err
	}
	for _, e := range all {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".key") {
			entries = append(entries, e)
		}
	}
	return dir, entries, nil
}

// ReadKey reads and parses one key file: its bytes and its key (which may
// carry a warning), or why the file is unusable.
func ReadKey(path string) (raw []byte, key model.Key, err error) {
	raw, err = fsguard.ReadSmallFile(path, nil)
	if err != nil {
		return nil, model.Key{}, fmt.Errorf("cannot read: %v", err)
	}
	key, err = model.ParseKey(raw)
	return raw, key, err
}

// readKeyFile reads and validates one key file; it never fails, the problem
// goes into the KeyFile.
func readKeyFile(dir string, e fs.DirEntry) model.KeyFile {
	kf := model.KeyFile{Name: e.Name()}
	_, k, err := ReadKey(filepath.Join(dir, e.Name()))
	if err != nil {
		kf.Problem = err.Error()
		return kf
	}
	kf.Public = []byte(k.Public)
	kf.Problem = k.Warning
	return kf
}

// flagLocalKey marks local.key when other key files sit beside it: the node
// refuses to start in that case.
func flagLocalKey(keys []model.KeyFile) {
	if len(keys) < 2 {
		return
	}
	for i := range keys {
		if keys[i].Name != model.LocalKeyName {
			continue
		}
		if keys[i].Problem == "" {
			keys[i].Problem = LocalBesideOthers
		} else {
			keys[i].Problem = LocalBesideOthers + "; " + keys[i].Problem
		}
	}
}

// KeyDirCache reads the identities folder like ReadKeyDir but re-reads and
// re-checks a key file only when its size or mtime changed: deriving an
// ed25519 key costs ~40 µs, which at 1000 keys every 2 s adds up. Within a
// recheck window it does not even list the folder while the folder's own
// mtime is unchanged (no file added, removed or renamed).
type KeyDirCache struct {
	mu      sync.Mutex
	entries map[string]keyEntry // by file path

	// The last full read, served again while the folder is unchanged.
	last     []model.KeyFile
	lastDir  string
	dirMtime time.Time
	readAt   time.Time // the machine's time of the last full read
}

type keyEntry struct {
	size  int64
	mtime time.Time
	key   model.KeyFile
}

// NewKeyDirCache returns an empty cache.
func NewKeyDirCache() *KeyDirCache { return &KeyDirCache{entries: map[string]keyEntry{}} }

// Read is ReadKeyDir with the per-file cache. When the last full read is
// less than within old, found every key good and identities/ has the same
// mtime as then, it returns that read again (shared: do not modify) after
// one stat. A key file
// rewritten in place shows within the window; a folder changed within a
// second of the last read is read again, as a change in the same tick of the
// file system's clock would not move its mtime.
func (c *KeyDirCache) Read(dataFolder string, within time.Duration) ([]model.KeyFile, error) {
	dir := filepath.Join(dataFolder, "identities")
	var dirMtime time.Time
	if dataFolder != "" {
		if fi, err := os.Stat(dir); err == nil {
			dirMtime = fi.ModTime()
		}
	}
	c.mu.Lock()
	if c.canReuse(dataFolder, dirMtime, within) {
		keys := c.last
		c.mu.Unlock()
		return keys, nil
	}
	c.mu.Unlock()
	readAt := time.Now()
	keys, err := c.readAll(dataFolder)
	c.mu.Lock()
	c.last, c.lastDir, c.dirMtime, c.readAt = nil, "", time.Time{}, time.Time{}
	if err == nil && !dirMtime.IsZero() && allGood(keys) {
		c.last, c.lastDir, c.dirMtime, c.readAt = keys, dataFolder, dirMtime, readAt
	}
	c.mu.Unlock()
	return keys, err
}

// canReuse says whether the last full read still stands; c.mu is held.
func (c *KeyDirCache) canReuse(dataFolder string, dirMtime time.Time, within time.Duration) bool {
	return c.lastDir == dataFolder && !dirMtime.IsZero() && dirMtime.Equal(c.dirMtime) &&
		time.Since(c.readAt) < within && c.readAt.Sub(dirMtime) > time.Second
}

func allGood(keys []model.KeyFile) bool {
	for i := range keys {
		if keys[i].Problem != "" {
			return false
		}
	}
	return true
}

// readAll lists the folder and reads each key file through the cache.
func (c *KeyDirCache) readAll(dataFolder string) ([]model.KeyFile, error) {
	seen := map[string]bool{}
	keys, err := readKeyDir(dataFolder, func(dir string, e fs.DirEntry) model.KeyFile {
		path := filepath.Join(dir, e.Name())
		seen[path] = true
		fi, err := e.Info()
		if err != nil {
			return readKeyFile(dir, e)
		}
		c.mu.Lock()
		old, ok := c.entries[path]
		c.mu.Unlock()
		if ok && old.size == fi.Size() && old.mtime.Equal(fi.ModTime()) {
			return old.key
		}
		kf := readKeyFile(dir, e)
		c.mu.Lock()
		c.entries[path] = keyEntry{size: fi.Size(), mtime: fi.ModTime(), key: kf}
		c.mu.Unlock()
		return kf
	})
	c.mu.Lock()
	for path := range c.entries {
		if !seen[path] {
			delete(c.entries, path)
		}
	}
	c.mu.Unlock()
	return keys, err
}
