package identities

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"postdeck/backend/fsguard"
	"postdeck/model"
)

// ReadMetadata reads <dir>/postdata_metadata.json. Errors name the file, say
// what is wrong and what to do.
func ReadMetadata(dir string) (model.PostMetadata, error) {
	b, err := fsguard.ReadSmallFile(filepath.Join(dir, model.MetadataFile), nil)
	if err != nil {
		return model.PostMetadata{}, metadataReadError(dir, err)
	}
	return parseMetadataFile(dir, b)
}

// metadataReadError explains why the metadata file could not be read.
func metadataReadError(dir string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return fmt.Errorf("PoST data directory %s does not exist: check the service's dir", dir)
		}
		return fmt.Errorf("no %s in %s: is this a PoST data directory?", model.MetadataFile, dir)
	}
	return fmt.Errorf("cannot read %s: %v", filepath.Join(dir, model.MetadataFile), err)
}

func parseMetadataFile(dir string, b []byte) (model.PostMetadata, error) {
	m, err := model.ParseMetadata(b)
	if err != nil {
		return model.PostMetadata{}, fmt.Errorf("%s: %v: the file is damaged; restore it from a backup of this data directory",
			filepath.Join(dir, model.MetadataFile), err)
	}
	return m, nil
}

// MetadataCache keeps parsed metadata per directory. A poller calls Get every
// cycle; the file is re-read only when its size or mtime changed, and Recent
// answers without touching the disk at all for a while after a check.
type MetadataCache struct {
	mu      sync.Mutex
	entries map[string]*metaEntry
	good    map[string]*model.PostMetadata // the last good read per dir, kept through errors
}

// metaEntry is one cached read, keyed by the file's size and mtime at the time.
type metaEntry struct {
	size    int64
	mtime   time.Time
	meta    *model.PostMetadata // shared with every caller: read-only
	err     error
	checked time.Time // the machine's time of the last stat that matched
}

// NewMetadataCache returns an empty cache.
func NewMetadataCache() *MetadataCache {
	return &MetadataCache{entries: map[string]*metaEntry{}, good: map[string]*model.PostMetadata{}}
}

// Get returns the metadata of dir, reading the file only if it changed since
// the last call for that dir.
func (c *MetadataCache) Get(dir string) (model.PostMetadata, error) {
	m, err := c.Shared(dir)
	if m == nil {
		return model.PostMetadata{}, err
	}
	return *m, err
}

// Shared is Get with the cached value itself, which callers must not modify.
func (c *MetadataCache) Shared(dir string) (*model.PostMetadata, error) {
	fi, err := os.Stat(filepath.Join(dir, model.MetadataFile))
	if err != nil {
		c.forget(dir)
		return nil, metadataReadError(dir, err)
	}
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[dir]
	if ok && e.size == fi.Size() && e.mtime.Equal(fi.ModTime()) {
		e.checked = now
		c.mu.Unlock()
		return e.meta, e.err
	}
	c.mu.Unlock()
	// Keyed by the stat taken before the read: if the file changes while we
	// read it, the next Get sees a new mtime and reads again.
	e = &metaEntry{size: fi.Size(), mtime: fi.ModTime(), checked: now}
	m, err := ReadMetadata(dir)
	if err == nil {
		e.meta = &m
	}
	e.err = err
	c.mu.Lock()
	c.entries[dir] = e
	if e.err == nil {
		c.good[dir] = e.meta
	}
	c.mu.Unlock()
	return e.meta, e.err
}

// Recent returns dir's metadata without touching the disk when the last Get
// found it good less than within ago; a file found bad is checked every time,
// so that its fix shows at once.
func (c *MetadataCache) Recent(dir string, within time.Duration) (*model.PostMetadata, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[dir]
	if !ok || e.err != nil || time.Since(e.checked) >= within {
		return nil, false
	}
	return e.meta, true
}

// LastGood returns the last metadata read without error from dir: whose
// identity a data directory holds does not change when its file goes bad.
func (c *MetadataCache) LastGood(dir string) (*model.PostMetadata, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.good[dir]
	return m, ok
}

func (c *MetadataCache) forget(dir string) {
	c.mu.Lock()
	delete(c.entries, dir)
	c.mu.Unlock()
}

// FileRecheck is how often the poller looks again at a file it found good:
// a PoST metadata file, a key file. A change shows within this; a file found
// bad, and any key file added to or removed from identities/, is looked at
// every cycle.
const FileRecheck = 10 * time.Second
