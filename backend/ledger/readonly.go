package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// ErrNoLedger is OpenReadOnly's kind when the file does not exist yet.
var ErrNoLedger = errors.New("no ledger yet")

// OpenReadOnly opens an existing ledger to read it beside the postdeck that
// writes it (WAL lets readers in while it holds the lock): it never creates
// the file or its folder, takes no lock and runs no writer, so every Add
// is dropped. For `postdeck history`. A missing file is an *Error of kind
// ErrNoLedger.
func OpenReadOnly(path string, opts Options) (*Ledger, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, &Error{Path: path, Kind: ErrNoLedger, Hint: "run the dashboard or `postdeck serve` once"}
	} else if err != nil {
		return nil, explain(path, err)
	}
	if err := checkMagic(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", readOnlyURI(path))
	if err != nil {
		return nil, explain(path, err)
	}
	done := make(chan struct{})
	close(done) // no writer
	l := &Ledger{path: path, db: db, opts: opts, done: done, closed: true, readOnly: true}
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	if err := l.checkReadable(ctx); err != nil {
		db.Close()
		return nil, explain(path, err)
	}
	return l, nil
}

// checkReadable refuses a file of a newer schema and loads the caches.
func (l *Ledger) checkReadable(ctx context.Context) error {
	if err := l.checkVersion(ctx, "use that postdeck to read it"); err != nil {
		return err
	}
	return l.loadCache(ctx)
}

// checkVersion refuses a file a newer postdeck wrote; hint says what to do.
func (l *Ledger) checkVersion(ctx context.Context, hint string) error {
	var v int
	if err := l.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > schemaVersion {
		return &Error{Path: l.path, Err: fmt.Errorf("written by a newer postdeck (schema %d, this one knows %d)", v, schemaVersion), Hint: hint}
	}
	return nil
}

// readOnlyURI opens the file read-only: SQLite changes nothing in it.
func readOnlyURI(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	u := url.URL{Scheme: "file", Path: abs}
	return u.String() + "?mode=ro&_pragma=busy_timeout(2000)"
}

// Identities is every identity the ledger holds a record of, in no order.
func (l *Ledger) Identities() ([][]byte, error) {
	if l == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	var ids [][]byte
	err := each(ctx, l, "SELECT DISTINCT smesher FROM record", func(sc scanner) error {
		var id []byte
		err := sc.Scan(&id)
		ids = append(ids, id)
		return err
	})
	return ids, explain(l.path, err)
}
