package merge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"postdeck/model"
	"postdeck/safefile"
)

// JournalName is the file in the target that describes a merge in progress.
const JournalName = model.MergeJournalName

// markerTable is created in the target by the merge's transaction and holds
// the journal's id: whether it exists is whether the rows were committed.
const markerTable = "postdeck_merge_marker"

func journalPath(to string) string { return filepath.Join(to, JournalName) }

// Interrupted reports whether a merge into to did not finish: its journal is
// there, and `postdeck merge --recover` must run before anything else.
func Interrupted(to string) bool {
	_, err := os.Stat(journalPath(to))
	return err == nil
}

// Journal phases.
const (
	phaseCopying   = ""          // before the database commit
	phaseCommitted = "committed" // rows committed; keys may still be staged
	phaseUndo      = "undo"      // moving keys failed: restoring the target
)

// journal is what a merge writes into the target before changing it.
type journal struct {
	ID      string    `json:"id"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Started time.Time `json:"started"`
	Phase   string    `json:"phase"`
	// Backup is the backup folder ("" when the target was new).
	Backup string `json:"backup,omitempty"`
	// Staging is the folder in To holding the keys until the commit.
	Staging string       `json:"staging"`
	Keys    []journalKey `json:"keys"`
	// What the merge creates in a target that lacked it.
	CreatedDir        bool   `json:"created_dir,omitempty"`
	CreatedIdentities bool   `json:"created_identities,omitempty"`
	CreatedDB         bool   `json:"created_db,omitempty"`
	NewDB             string `json:"new_db,omitempty"` // temp name while it is built
}

type journalKey struct {
	Name   string `json:"name"`
	Public string `json:"public"` // hex
}

func (j *journal) write(overwrite bool) error {
	b, err := json.MarshalIndent(j, "", "\t")
	if err != nil {
		return err
	}
	return safefile.WriteAtomic(journalPath(j.To), append(b, '\n'), 0o600, overwrite)
}

// phasePath is the tiny file that records the phase once the journal is
// written: the journal (which lists every key) is written once, before the
// merge changes anything, so nothing large has to be written after the
// commit, when a full disk could not take it. Its name holds the journal's
// id, so a stale one never applies to another merge.
func (j *journal) phasePath() string { return filepath.Join(j.To, ".postdeck-merge-"+j.ID+".phase") }

// setPhase records the phase in the phase file (atomically; a block or two).
func (j *journal) setPhase(phase string) error {
	if err := safefile.WriteAtomic(j.phasePath(), []byte(phase), 0o600, true); err != nil {
		return err
	}
	j.Phase = phase
	return nil
}

// removeFiles removes the journal, then the phase file (a phase file left
// without its journal is ignored), and syncs the folder.
func (j *journal) removeFiles() error {
	if err := os.Remove(journalPath(j.To)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Remove(j.phasePath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func readJournal(to string) (*journal, error) {
	b, err := os.ReadFile(journalPath(to))
	if err != nil {
		return nil, err
	}
	j := &journal{}
	if err := json.Unmarshal(b, j); err != nil {
		return nil, fmt.Errorf("the merge journal %s is unreadable (%v): it is written atomically, so this is not postdeck's; move it away after checking the target by hand", journalPath(to), err)
	}
	if j.ID == "" || j.Staging == "" || filepath.Base(j.Staging) != j.Staging {
		return nil, fmt.Errorf("the merge journal %s is incomplete: move it away after checking the target by hand", journalPath(to))
	}
	j.To = to
	b, err = os.ReadFile(j.phasePath())
	switch {
	case err == nil:
		switch ph := strings.TrimSpace(string(b)); ph {
		case phaseCommitted, phaseUndo:
			j.Phase = ph
		default:
			return nil, fmt.Errorf("the merge phase file %s holds %q: move it away after checking the target by hand", j.phasePath(), ph)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	return j, nil
}

func (j *journal) stagingDir() string { return filepath.Join(j.To, j.Staging) }
