package merge

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"postdeck/model"
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

// moveKeys links each staged key into identities/ (never replacing a file)
// and removes the staged copy. On failure it undoes the whole merge.
func (x *executor) moveKeys() error {
	j := x.j
	ids := filepath.Join(j.To, "identities")
	for i, k := range j.Keys {
		if err := safefile.RenameNoReplace(filepath.Join(j.stagingDir(), k.Name), filepath.Join(ids, k.Name)); err != nil {
			cause := fmt.Errorf("cannot move key %s into identities/: %v", k.Name, err)
			if uerr := undo(j); uerr != nil {
				return fmt.Errorf("%v; undoing the merge also failed (%v): run `postdeck merge --recover --to %s`", cause, uerr, j.To)
			}
			how := "the database was restored from the backup " + j.Backup
			if j.CreatedDB {
				how = "the new database was removed"
			}
			return fmt.Errorf("%v; the merge was undone: %s and the keys already moved were removed", cause, how)
		}
		if i == 0 {
			hook("moved-one")
		}
	}
	return syncDir(ids)
}

// stageKey writes a key into the (new, private) staging folder the way the
// node wants it: lower-case hex, no newline, 0600, synced. The folder is not
// synced here: the caller syncs it once after all keys.
func stageKey(path string, private []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(hex.EncodeToString(private)))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func newID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

func mkdirSync(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// syncDir fsyncs a folder; a variable so tests can count the calls.
var syncDir = safefile.SyncDir

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// backup copies the target's database (byte for byte: the target is idle
// and only read) and identities/ into a new timestamped folder inside the
// target, syncs it, and checks the copy opens (read-only and immutable, so
// checking it does not change it).
func backup(ctx context.Context, p *Plan) (string, error) {
	var dir string
	base := filepath.Join(p.To, "backup-"+time.Now().Format("20060102-150405"))
	for i := 1; ; i++ {
		dir = base
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i > 100 {
			return "", err
		}
	}
	fail := func(err error) (string, error) {
		os.RemoveAll(dir)
		return "", err
	}
	if !p.CreateDB {
		if err := backupDB(ctx, p, dir); err != nil {
			return fail(err)
		}
	}
	if !p.CreateIdentities {
		if err := copyDir(filepath.Join(p.To, "identities"), filepath.Join(dir, "identities")); err != nil {
			return fail(err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fail(err)
	}
	return dir, syncDir(p.To)
}

// backupDB copies the target's local.sql into dir and checks the copy.
func backupDB(ctx context.Context, p *Plan, dir string) error {
	fail := func(err error) error { return err }
	// A byte-for-byte copy: the plan proved the target idle (no -wal with
	// unfinished writes, no process has it open), so the file alone is the
	// database, and restoring the copy gives back exactly the original bytes.
	out := filepath.Join(dir, DBName)
	if err := copyFile(filepath.Join(p.To, DBName), out); err != nil {
		return fail(fmt.Errorf("copying %s: %v", DBName, err))
	}
	// The copy must open and hold the same schema version.
	bk, err := openReadOnly(out)
	if err != nil {
		return fail(err)
	}
	err = quickCheck(ctx, bk, "main")
	var v int
	if err == nil {
		v, err = userVersion(ctx, bk, "main")
	}
	bk.Close()
	if err == nil && v != p.Version {
		err = fmt.Errorf("the backup has schema version %d, want %d", v, p.Version)
	}
	if err != nil {
		return fail(fmt.Errorf("the backup %s does not check out: %v", out, err))
	}
	return nil
}

// copyDir copies the regular files of src (not recursive) into a new
// folder dst, keeping their modes, each synced.
func copyDir(src, dst string) error {
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return syncDir(dst)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// createDB builds an empty database with the source's schema and
// user_version at tmp, then moves it to path.
func createDB(ctx context.Context, p *Plan, tmp, path string) error {
	db, err := sql.Open("sqlite", fileURI(tmp, "mode=rwc&_pragma=synchronous(FULL)"))
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	err = func() error {
		if p.walMode {
			if _, err := db.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
				return err
			}
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, s := range p.schema {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%v in %q", err, s)
			}
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", p.Version)); err != nil {
			return err
		}
		return tx.Commit()
	}()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncFile(tmp)
	}
	if err == nil {
		err = safefile.RenameNoReplace(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	return err
}

// copyRows copies every table's rows from the source (attached read-only
// and immutable) into the target in one transaction that also records id
// in the marker table.
func copyRows(ctx context.Context, p *Plan, id string) error {
	db, err := openWritable(filepath.Join(p.To, DBName))
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE ? AS src", readOnlyURI(filepath.Join(p.From, DBName))); err != nil {
		return fmt.Errorf("cannot attach the source read-only: %v", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE src")
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range p.Tables {
		res, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO main.%s SELECT * FROM src.%s", quoteIdent(t.Name), quoteIdent(t.Name)))
		if err != nil {
			return fmt.Errorf("table %s: %v", t.Name, err)
		}
		if n, err := res.RowsAffected(); err == nil && n != t.Copy {
			return fmt.Errorf("table %s: %d rows copied, the plan said %d", t.Name, n, t.Copy)
		}
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+markerTable+" (journal_id TEXT PRIMARY KEY)"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+markerTable+" (journal_id) VALUES (?)", id); err != nil {
		return err
	}
	hook("inserted")
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %v", err)
	}
	return nil
}

// verify checks the merged target: every table has before + copied rows,
// no marker is left, and every key is there and parses to its public key.
func verify(ctx context.Context, p *Plan, backupDir string) (*Summary, error) {
	db, err := openReadOnly(filepath.Join(p.To, DBName))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	sum := &Summary{From: p.From, To: p.To, Version: p.Version, Backup: backupDir, Created: p.CreateDB, Keys: p.Keys}
	if backupDir != "" {
		sum.BackupOf = p.backupOf()
	}
	var problems []string
	for _, t := range p.Tables {
		n, err := countRows(ctx, db, "main", t.Name)
		if err != nil {
			return nil, err
		}
		if n != t.Target+t.Copy {
			problems = append(problems, fmt.Sprintf("table %s has %d rows, want %d + %d", t.Name, n, t.Target, t.Copy))
		}
		sum.Tables = append(sum.Tables, TableResult{TableCopy: t, After: n})
	}
	for _, k := range p.Keys {
		b, err := os.ReadFile(filepath.Join(p.To, "identities", k.Name))
		if err != nil {
			problems = append(problems, fmt.Sprintf("key %s: %v", k.Name, err))
			continue
		}
		key, err := model.ParseKey(b)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("key %s: %v", k.Name, err))
		case !bytes.Equal(key.Public, k.Public):
			problems = append(problems, fmt.Sprintf("key %s holds another public key", k.Name))
		case key.Warning != "":
			problems = append(problems, fmt.Sprintf("key %s %s", k.Name, key.Warning))
		}
	}
	if len(problems) > 0 {
		return sum, errors.New(strings.Join(problems, "; "))
	}
	return sum, nil
}
