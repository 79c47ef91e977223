// Package audit is the audit log: one JSON line per action an operator took
// through postdeck that changed or could change a node, in the state folder
// (audit.log). postdeck serve writes a line per SSH action; the CLI writes
// one for each override of the equivocation guard (keys add, merge). It imports no other
// postdeck package, so any command or room can write to it.
package audit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Log appends one JSON line per action. It is opened per write, in append
// mode, so a rotated or removed log is simply recreated, and lines from
// concurrent sessions never interleave (each is one write under a mutex,
// below PIPE_BUF; separate processes rely on O_APPEND for the same).
type Log struct {
	path string
	now  func() time.Time
	mu   sync.Mutex
}

// Entry is one line of the audit log.
type Entry struct {
	Time        time.Time `json:"time"`
	Fingerprint string    `json:"key"`              // SHA256:… as ssh-keygen -lf prints it
	User        string    `json:"user,omitempty"`   // the SSH user name the client gave
	Remote      string    `json:"remote"`           // address:port
	Access      string    `json:"access,omitempty"` // full or read-only
	// Action: session-start, session-end, start, stop, restart, auto (SSH);
	// keys-add-override, merge-override (the CLI placing a key another
	// node holds).
	Action   string `json:"action"`
	Service  string `json:"service,omitempty"`
	Identity string `json:"identity,omitempty"` // the key file name and id (a prefix over SSH, in full for an override)
	Mode     string `json:"mode,omitempty"`     // stop: if-safe, when-safe, force; auto: on, off
	// Node is the node an override places the key on; Holders the other
	// nodes that hold it, and how ("node1: listed by the node"), or that
	// could not be compared.
	Node    string   `json:"node,omitempty"`
	Holders []string `json:"holders,omitempty"`
	Result  string   `json:"result"` // ok, a note, or error: …
}

// New makes the folder of path (0700) and checks the log can be opened for
// appending.
func New(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	a := &Log{path: path, now: time.Now}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return a, f.Close()
}

// Path is where the log is written.
func (a *Log) Path() string { return a.path }

// Write appends e, stamping its time.
func (a *Log) Write(e Entry) error {
	e.Time = a.now().UTC()
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
