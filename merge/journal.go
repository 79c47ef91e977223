package merge

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"postdeck/backend"
)

// JournalName is the file in the target that describes a merge in progress.
const JournalName = "postdeck-merge.journal"

// markerTable is created in the target by the merge's transaction and holds
// the journal's id: whether it exists is whether the rows were committed.
const markerTable = "postdeck_merge_marker"

func journalPath(to string) string { return filepath.Join(to, JournalName) }

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
	return backend.WriteFileAtomic(journalPath(j.To), append(b, '\n'), 0o600, overwrite)
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
	return j, nil
}

func (j *journal) stagingDir() string { return filepath.Join(j.To, j.Staging) }
