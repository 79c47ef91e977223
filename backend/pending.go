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
)

// PendingStops is the set of services the user asked to stop "when safe".
// It lives in a file in the state folder so that a queued stop survives a
// restart of postdeck: the next postdeck carries it out.
type PendingStops struct {
	path string
	mu   sync.Mutex
	set  map[string]time.Time // service → when it was queued
}

// LoadPendingStops reads <stateDir>/pending-stops.json (absent = none).
func LoadPendingStops(stateDir string) (*PendingStops, error) {
	p := &PendingStops{path: filepath.Join(stateDir, "pending-stops.json"), set: map[string]time.Time{}}
	b, err := os.ReadFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read pending stops %s: %v", p.path, err)
	}
	if err := json.Unmarshal(b, &p.set); err != nil {
		return nil, fmt.Errorf("pending stops file %s is corrupt (%v): move it away to drop the queued stops", p.path, err)
	}
	return p, nil
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

// change applies f and writes the file; on a failed write the set in memory
// is left as it was, so memory and disk never disagree.
func (p *PendingStops) change(f func(map[string]time.Time)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := make(map[string]time.Time, len(p.set)+1)
	for k, v := range p.set {
		next[k] = v
	}
	f(next)
	b, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.path), 0o700); err != nil {
		return fmt.Errorf("cannot create state folder for pending stops: %v", err)
	}
	if err := WriteFileAtomic(p.path, b, 0o600, true); err != nil {
		return fmt.Errorf("cannot save pending stops to %s: %v", p.path, err)
	}
	p.set = next
	return nil
}
