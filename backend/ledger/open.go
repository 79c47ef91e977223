package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go)
)

// schemaVersion is the ledger's PRAGMA user_version.
const schemaVersion = 2

// openTimeout bounds opening, checking and loading the file.
const openTimeout = 10 * time.Second

// testPragmas lets the full-disk test cap the file's size.
var testPragmas string

// Open opens (or creates) the ledger at path, takes its lock, checks it and
// starts the writer. The errors are *Error, of kind ErrLocked (another
// postdeck has it), ErrCorrupt or ErrFull; the caller runs on without it.
func Open(path string, opts Options) (*Ledger, error) {
	if t := opts.Timing; t.Genesis.IsZero() || t.EpochDuration() <= 0 || t.LayersPerEpoch == 0 {
		// Without the network's clock no event can be placed in an epoch.
		return nil, &Error{Path: path, Err: errors.New("no network timing (genesis, layers per epoch) given"),
			Hint: "pass the timing the cycle countdown uses"}
	}
	if opts.Grace == 0 {
		opts.Grace = 10 * time.Minute
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, explain(path, err)
	}
	unlock, err := lockFile(path)
	if err != nil {
		return nil, err
	}
	l, err := openLocked(path, opts)
	if err != nil {
		unlock()
		return nil, err
	}
	l.lock = unlock
	go l.write()
	return l, nil
}

func openLocked(path string, opts Options) (*Ledger, error) {
	if err := checkMagic(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", fileURI(path))
	if err != nil {
		return nil, explain(path, err)
	}
	// The writer and one reader side by side (WAL): each connection keeps a
	// page cache, memory beside a prover.
	db.SetMaxOpenConns(2)
	l := &Ledger{path: path, db: db, opts: opts, queue: make(chan op, QueueSize), done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	if err := l.prepare(ctx); err != nil {
		db.Close()
		return nil, explain(path, err)
	}
	return l, nil
}

// fileURI opens the file read-write (creating it), in WAL mode, with each
// commit synced: a committed row survives a crash of postdeck or the machine.
// Each connection's page cache is capped at 2 MiB: it is memory beside a
// prover. A 16 MiB one made the 1000 × 50 backfill about 7 % faster
// (BenchmarkBackfill) for up to 14 MiB more per connection.
func fileURI(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	u := url.URL{Scheme: "file", Path: abs}
	return u.String() + "?mode=rwc&_txlock=immediate&_pragma=busy_timeout(2000)" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=cache_size(-2048)" + testPragmas
}

// checkMagic refuses a file that is not an SQLite database before SQLite
// gets to it (an empty file is a new ledger).
func checkMagic(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return explain(path, err)
	}
	defer f.Close()
	b := make([]byte, 16)
	n, err := io.ReadFull(f, b)
	if n == 0 {
		return nil
	}
	if err != nil || string(b) != "SQLite format 3\x00" {
		return &Error{Path: path, Kind: ErrCorrupt, Err: errors.New("not an SQLite database"), Hint: fmt.Sprintf(hintCorrupt, path)}
	}
	return nil
}

// prepare checks the file, creates or checks the schema and loads the
// caches.
func (l *Ledger) prepare(ctx context.Context) error {
	if err := l.checkVersion(ctx, "use that postdeck, or move the file aside"); err != nil {
		return err
	}
	if err := quickCheck(ctx, l.db, l.path); err != nil {
		return err
	}
	if err := l.upgrade(ctx); err != nil {
		return err
	}
	return l.loadCache(ctx)
}

// upgrade creates the schema, or brings an older one up to it, in one
// transaction.
func (l *Ledger) upgrade(ctx context.Context) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	script := schema + fmt.Sprintf("PRAGMA user_version = %d;", schemaVersion)
	if v == 1 {
		script = fromVersion1 + script
	}
	if _, err := tx.ExecContext(ctx, script); err != nil {
		return err
	}
	return tx.Commit()
}

// quickCheck runs PRAGMA quick_check: a damaged file is refused at open,
// not discovered by a later write.
func quickCheck(ctx context.Context, db *sql.DB, path string) error {
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check(1)").Scan(&res); err != nil {
		return err
	}
	if res != "ok" {
		return &Error{Path: path, Kind: ErrCorrupt, Err: errors.New(res), Hint: fmt.Sprintf(hintCorrupt, path)}
	}
	return nil
}

// lockFile takes a non-blocking flock on path+".lock" and writes our pid
// into it, so a second postdeck is told at once who holds the ledger.
func lockFile(path string) (func(), error) {
	lp := path + ".lock"
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, explain(path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := io.ReadAll(io.LimitReader(f, 32))
		f.Close()
		who := "another postdeck"
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
			who = fmt.Sprintf("another postdeck (pid %d)", pid)
		}
		return nil, &Error{Path: path, Kind: ErrLocked, Err: err,
			Hint: "held by " + who + ": this one runs without the ledger; stop that one, or give this one its own state folder (XDG_STATE_HOME)"}
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	}
	return func() { f.Close() }, nil
}

// Close writes what is queued, stops the writer and releases the file.
// Writes after Close are dropped.
func (l *Ledger) Close() error {
	if l == nil {
		return nil
	}
	if l.readOnly {
		return explain(l.path, l.db.Close())
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true // no write is queued after this
	l.mu.Unlock()
	l.queue <- op{apply: func(*sql.Tx) error { return nil }, stop: true}
	<-l.done
	err := l.db.Close()
	l.lock()
	return explain(l.path, err)
}
