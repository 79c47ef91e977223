package backend

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"postdeck/model"
)

// MetadataFile is the name of a PoST data directory's metadata file.
const MetadataFile = "postdata_metadata.json"

// ReadMetadata reads <dir>/postdata_metadata.json. Errors name the file, say
// what is wrong and what to do.
func ReadMetadata(dir string) (model.PostMetadata, error) {
	b, err := readSmallFile(filepath.Join(dir, MetadataFile), nil)
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
		return fmt.Errorf("no %s in %s: is this a PoST data directory?", MetadataFile, dir)
	}
	return fmt.Errorf("cannot read %s: %v", filepath.Join(dir, MetadataFile), err)
}

func parseMetadataFile(dir string, b []byte) (model.PostMetadata, error) {
	m, err := model.ParseMetadata(b)
	if err != nil {
		return model.PostMetadata{}, fmt.Errorf("%s: %v: the file is damaged; restore it from a backup of this data directory",
			filepath.Join(dir, MetadataFile), err)
	}
	return m, nil
}

// MetadataCache keeps parsed metadata per directory. A poller calls Get every
// couple of seconds for up to a thousand directories; the file is re-read only
// when its size or modification time changed, so a steady state costs one
// stat per directory. It is safe for concurrent use.
type MetadataCache struct {
	mu      sync.Mutex
	entries map[string]metaEntry
	good    map[string]model.PostMetadata // the last good read per dir, kept through errors
}

// metaEntry is one cached read, keyed by the file's size and mtime at the time.
type metaEntry struct {
	size  int64
	mtime time.Time
	meta  model.PostMetadata
	err   error
}

// NewMetadataCache returns an empty cache.
func NewMetadataCache() *MetadataCache {
	return &MetadataCache{entries: map[string]metaEntry{}, good: map[string]model.PostMetadata{}}
}

// Get returns the metadata of dir, reading the file only if it changed since
// the last call for that dir.
func (c *MetadataCache) Get(dir string) (model.PostMetadata, error) {
	fi, err := os.Stat(filepath.Join(dir, MetadataFile))
	if err != nil {
		c.forget(dir)
		return model.PostMetadata{}, metadataReadError(dir, err)
	}
	c.mu.Lock()
	e, ok := c.entries[dir]
	c.mu.Unlock()
	if ok && e.size == fi.Size() && e.mtime.Equal(fi.ModTime()) {
		return e.meta, e.err
	}
	// Keyed by the stat taken before the read: if the file changes while we
	// read it, the next Get sees a new mtime and reads again.
	e = metaEntry{size: fi.Size(), mtime: fi.ModTime()}
	e.meta, e.err = ReadMetadata(dir)
	c.mu.Lock()
	c.entries[dir] = e
	if e.err == nil {
		c.good[dir] = e.meta
	}
	c.mu.Unlock()
	return e.meta, e.err
}

// LastGood returns the last metadata read without error from dir: whose
// identity a data directory holds does not change when its file goes bad.
func (c *MetadataCache) LastGood(dir string) (model.PostMetadata, bool) {
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
