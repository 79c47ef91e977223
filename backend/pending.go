package backend

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"postdeck/safefile"
)

// PendingStops is the set of services the user asked to stop "when safe".
// It lives in a file in the state folder so that a queued stop survives a
// restart of postdeck, and so that every postdeck on the machine (the
// dashboard, one over SSH, `postdeck stop --when-safe`) sees the same queue:
// each change re-reads the file under a lock, and readers reload it when it
// changed.
type PendingStops struct {
	path string
	mu   sync.Mutex
	set  map[string]time.Time // service → when it was queued
	seen fileStamp            // the file as last read
}

// fileStamp tells whether a file changed since it was read.
type fileStamp struct {
	size  int64
	mtime time.Time
}

// LoadPendingStops reads <stateDir>/pending-stops.json (absent = none).
func LoadPendingStops(stateDir string) (*PendingStops, error) {
	p := &PendingStops{path: filepath.Join(stateDir, "pending-stops.json"), set: map[string]time.Time{}}
	if err := p.reload(); err != nil {
		return nil, err
	}
	return p, nil
}

// Refresh re-reads the file if another postdeck changed it. A file that has
// become unreadable keeps the last good queue (and says why).
func (p *PendingStops) Refresh() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reload()
}

// reload reads the file when its stamp changed; p.mu must be held.
func (p *PendingStops) reload() error {
	fi, err := os.Stat(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		p.set, p.seen = map[string]time.Time{}, fileStamp{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read pending stops %s: %v", p.path, err)
	}
	stamp := fileStamp{fi.Size(), fi.ModTime()}
	if stamp == p.seen {
		return nil
	}
	set, err := readPending(p.path)
	if err != nil {
		return err
	}
	p.set, p.seen = set, stamp
	return nil
}

func readPending(path string) (map[string]time.Time, error) {
	set := map[string]time.Time{}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return set, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read pending stops %s: %v", path, err)
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("pending stops file %s is corrupt (%v): move it away to drop the queued stops", path, err)
	}
	return set, nil
}

// Has reports whether a stop of name is queued.
func (p *PendingStops) Has(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.set[name]
	return ok
}

// Names lists the queued services in order.
func (p *PendingStops) Names() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.set))
	for n := range p.set {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Add queues a stop and saves the set.
func (p *PendingStops) Add(name string) error {
	return p.change(func(set map[string]time.Time) { set[name] = time.Now().UTC() })
}

// Remove drops a queued stop and saves the set.
func (p *PendingStops) Remove(name string) error {
	return p.change(func(set map[string]time.Time) { delete(set, name) })
}

// change applies f to the queue as it is on disk now, under a lock across
// postdeck processes, and writes it back. On a failed write the queue in
// memory is left as it was, so memory and disk never disagree.
func (p *PendingStops) change(f func(map[string]time.Time)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	dir := filepath.Dir(p.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create state folder for pending stops: %v", err)
	}
	unlock, err := safefile.Lock(dir)
	if err != nil {
		return err
	}
	defer unlock()
	set, err := readPending(p.path)
	if err != nil {
		return err
	}
	f(set)
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return err
	}
	if err := safefile.WriteAtomic(p.path, b, 0o600, true); err != nil {
		return fmt.Errorf("cannot save pending stops to %s: %v", p.path, err)
	}
	p.set, p.seen = set, fileStamp{}
	p.reload() // take the stamp of what was just written
	return nil
}
