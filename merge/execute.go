package merge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"postdeck/safefile"
)

// Step is one finished step of Execute, for progress lines.
type Step struct {
	N, Of  int
	Name   string // "backup", "journal", "stage keys", "copy rows", "move keys", "clean up", "verify"
	Detail string
}

func (s Step) String() string { return fmt.Sprintf("[%d/%d] %s: %s", s.N, s.Of, s.Name, s.Detail) }

// Summary is what a finished merge did.
type Summary struct {
	From, To string
	Version  int
	// Backup is the folder holding the target's database and identities/ as
	// they were before the merge (those of them it had: BackupOf); "" when
	// the target had neither.
	Backup   string
	BackupOf []string // what Backup holds: "local.sql", "identities/"
	Created  bool     // the target database was created
	Keys     []KeyCopy
	Tables   []TableResult
	Elapsed  time.Duration
}

// TableResult is one table after the merge.
type TableResult struct {
	TableCopy
	After int64
}

func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Merged %s into %s in %s:\n", s.From, s.To, s.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "  %d key(s) added to identities/, each checked\n", len(s.Keys))
	for _, t := range s.Tables {
		fmt.Fprintf(&b, "  %-20s %6d + %6d = %6d rows (checked)\n", t.Name, t.Target, t.Copy, t.After)
	}
	if s.Backup != "" {
		fmt.Fprintf(&b, "  backup of the target's %s as before the merge: %s\n", strings.Join(s.BackupOf, " and "), s.Backup)
	} else {
		fmt.Fprintf(&b, "  the target had no %s and no identities/: nothing to back up\n", DBName)
	}
	fmt.Fprintf(&b, "Restart the node to load the new keys, then start a post-service for each merged identity. Never start the old node with these keys again.\n")
	return b.String()
}

// testHook, when set (by tests), is called at every point between two
// writes of a merge; the crash tests kill the process there.
var testHook func(point string)

func hook(point string) {
	if testHook != nil {
		testHook(point)
	}
}

const totalSteps = 7

// Execute runs a plan. It refuses a plan with problems, and plans again
// first: if anything changed since (a node started, a key appeared), it
// refuses rather than act on stale facts. The steps:
//
//  1. back up the target's local.sql (a byte-for-byte copy) and identities/ into
//     <To>/backup-YYYYmmdd-HHMMSS/;
//  2. write a journal into the target (atomically);
//  3. stage the keys in a folder inside the target (not yet in identities/);
//  4. copy all rows in one transaction that also records the journal's id in
//     a marker table: the commit decides whether the merge happened;
//  5. move the staged keys into identities/;
//  6. drop the marker, remove the staging folder and the journal;
//  7. verify row counts and every key.
//
// A failure before the commit leaves the database and identities/ as they
// were. A failure moving keys restores the database from the backup and
// removes the keys moved. A crash at any point is finished or undone by
// Recover.
func Execute(ctx context.Context, plan *Plan, progress func(Step)) (*Summary, error) {
	if plan == nil {
		return nil, errors.New("no merge plan")
	}
	if !plan.OK() {
		return nil, &RefusedError{Problems: plan.Problems}
	}
	start := time.Now()
	// The same exclusive lock `keys add` and Recover take, held throughout,
	// and taken before planning again so the fresh plan's facts hold. A
	// target that does not exist yet is locked through its nearest existing
	// parent until the merge creates it (then it is locked too).
	lockDir := plan.To
	if abs, err := filepath.Abs(plan.To); err == nil {
		lockDir = existingParent(abs)
	}
	unlock, err := lockDataFolder(lockDir)
	if err != nil {
		return nil, fmt.Errorf("cannot lock the target, nothing was changed: %v", err)
	}
	defer unlock()
	fresh, err := NewPlan(ctx, plan.Options)
	if err != nil {
		return nil, err
	}
	if !fresh.OK() {
		return nil, &RefusedError{Problems: fresh.Problems}
	}
	if changed(plan, fresh) {
		return nil, &RefusedError{Problems: []Problem{{Kind: KindPaths,
			Message: "the folders changed since the plan was made (keys or rows differ): plan again and check the new plan"}}}
	}
	if progress == nil {
		progress = func(Step) {}
	}
	x := &executor{p: fresh, progress: progress}
	defer x.unlockCreated()
	sum, err := x.run(ctx)
	if sum != nil {
		sum.Elapsed = time.Since(start)
	}
	return sum, err
}

// changed reports whether two plans of the same folders differ in what
// they would copy.
func changed(a, b *Plan) bool {
	if a.From != b.From || a.To != b.To || a.Version != b.Version || a.CreateDB != b.CreateDB ||
		len(a.Keys) != len(b.Keys) || !slices.Equal(a.Tables, b.Tables) {
		return true
	}
	for i := range a.Keys {
		if a.Keys[i].Name != b.Keys[i].Name || !bytes.Equal(a.Keys[i].Public, b.Keys[i].Public) {
			return true
		}
	}
	return false
}

type executor struct {
	p        *Plan
	progress func(Step)
	j        *journal
	n        int
	// unlock releases the lock on a target folder the merge created.
	unlock func()
}

func (x *executor) unlockCreated() {
	if x.unlock != nil {
		x.unlock()
	}
}

// lockDataFolder is safefile.LockDataFolder: an exclusive flock on the data
// folder, the lock `postdeck keys add` takes. A variable for tests.
var lockDataFolder = safefile.LockDataFolder

func (x *executor) step(name, format string, args ...any) {
	x.n++
	x.progress(Step{N: x.n, Of: totalSteps, Name: name, Detail: fmt.Sprintf(format, args...)})
}

func (x *executor) run(ctx context.Context) (*Summary, error) {
	p := x.p
	dbPath := filepath.Join(p.To, DBName)
	id := newID()
	j := &journal{ID: id, From: p.From, To: p.To, Started: time.Now().UTC(), Staging: "postdeck-merge-staging-" + id,
		CreatedDir: p.CreateDir, CreatedIdentities: p.CreateIdentities, CreatedDB: p.CreateDB}
	for _, k := range p.Keys {
		j.Keys = append(j.Keys, journalKey{Name: k.Name, Public: k.PublicHex()})
	}
	x.j = j

	// 1. Backup: whatever the target has of local.sql and identities/.
	if what := p.backupOf(); len(what) == 0 {
		x.step("backup", "the target has no %s and no identities/ yet: nothing to back up", DBName)
	} else {
		dir, err := backup(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("backup failed, nothing was changed: %v", err)
		}
		j.Backup = dir
		x.step("backup", "target's %s saved in %s", strings.Join(what, " and "), dir)
	}
	hook("backup")

	// 2. Journal.
	if p.CreateDir {
		if err := os.MkdirAll(p.To, 0o700); err != nil {
			x.removeBackup()
			return nil, fmt.Errorf("cannot create the target folder %s: %v", p.To, err)
		}
		unlock, err := lockDataFolder(p.To)
		if err != nil {
			x.undoCreatedDir()
			return nil, fmt.Errorf("cannot lock the new target folder, nothing was changed: %v", err)
		}
		x.unlock = unlock
		hook("created-dir")
	}
	if p.CreateDB {
		j.NewDB = ".postdeck-merge-new-" + id + ".sql"
	}
	if err := j.write(false); err != nil {
		x.removeBackup()
		x.undoCreatedDir()
		return nil, fmt.Errorf("cannot write the merge journal, nothing was changed: %v", err)
	}
	x.step("journal", "%s written", journalPath(p.To))
	hook("journal")

	// Things a new target lacks.
	if p.CreateIdentities {
		if err := mkdirSync(filepath.Join(p.To, "identities")); err != nil {
			return nil, x.failBeforeCommit("cannot create identities/", err)
		}
	}
	if p.CreateDB {
		if err := createDB(ctx, p, filepath.Join(p.To, j.NewDB), dbPath); err != nil {
			return nil, x.failBeforeCommit("cannot create the target database", err)
		}
		hook("created-db")
	}

	// 3. Stage the keys.
	staging := j.stagingDir()
	if err := mkdirSync(staging); err != nil {
		return nil, x.failBeforeCommit("cannot create the staging folder", err)
	}
	// Each staged file is synced; the folder once, after the last (it is
	// new and private: nothing reads it before the commit, and a crash
	// before the commit removes it whole).
	for i, k := range p.Keys {
		if err := stageKey(filepath.Join(staging, k.Name), k.private); err != nil {
			return nil, x.failBeforeCommit("cannot stage key "+k.Name, err)
		}
		if i == 0 {
			hook("staged-one")
		}
	}
	if err := syncDir(staging); err != nil {
		return nil, x.failBeforeCommit("cannot sync the staging folder", err)
	}
	x.step("stage keys", "%d key(s) written to %s", len(p.Keys), staging)
	hook("staged")

	// 4. Copy the rows: one transaction, with the marker.
	if err := ctx.Err(); err != nil {
		return nil, x.failBeforeCommit("cancelled", err)
	}
	if err := copyRows(ctx, p, j.ID); err != nil {
		return nil, x.failBeforeCommit("copying the rows failed", err)
	}
	hook("committed")
	// Only the tiny phase file is written after the commit (the journal
	// is not rewritten).
	if err := j.setPhase(phaseCommitted); err != nil {
		// The marker in the database still says "committed": Recover
		// rolls forward from it.
		return nil, fmt.Errorf("the rows were copied but the merge phase could not be recorded (%v): run `postdeck merge --recover --to %s` to finish the merge", err, p.To)
	}
	x.step("copy rows", "%d row(s) copied in one transaction", p.Rows())
	hook("journal-committed")

	// 5. Move the keys into identities/.
	if err := x.moveKeys(); err != nil {
		return nil, err
	}
	x.step("move keys", "%d key(s) moved into %s", len(p.Keys), filepath.Join(p.To, "identities"))
	hook("moved")

	// 6. Clean up.
	if err := finish(j); err != nil {
		return nil, fmt.Errorf("the merge is complete but cleaning up failed (%v): run `postdeck merge --recover --to %s`", err, p.To)
	}
	x.step("clean up", "marker, staging folder and journal removed")

	// 7. Verify.
	sum, err := verify(ctx, p, j.Backup)
	if err != nil {
		return nil, &unverifiedError{fmt.Sprintf("the merge ran but verification failed: %v; the target as it was is in %s", err, j.Backup)}
	}
	x.step("verify", "row counts and %d key(s) checked", len(p.Keys))
	hook("verified")
	return sum, nil
}

// failBeforeCommit undoes everything (nothing was committed) and returns
// an error that says so.
func (x *executor) failBeforeCommit(what string, cause error) error {
	// The transaction (if begun) was rolled back and its connection closed:
	// the database needs no opening, which a full disk might not allow.
	if err := rollBack(x.j, false); err != nil {
		return fmt.Errorf("%s: %v; cleaning up also failed (%v): run `postdeck merge --recover --to %s`", what, cause, err, x.p.To)
	}
	return fmt.Errorf("%s: %v; nothing was changed in the target's database or identities/ (cleaned up)", what, cause)
}

// removeBackup removes the backup folder just made when the merge stops
// before its journal exists (nothing else refers to it).
func (x *executor) removeBackup() {
	if x.j.Backup != "" {
		os.RemoveAll(x.j.Backup)
		syncDir(x.p.To)
	}
}

func (x *executor) undoCreatedDir() {
	if x.p.CreateDir {
		os.Remove(x.p.To) // only if still empty
	}
}
