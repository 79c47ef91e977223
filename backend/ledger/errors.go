package ledger

import (
	"errors"
	"fmt"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The kinds of ledger failure a caller may tell apart (errors.Is). In all
// of them the dashboard runs on without the ledger.
var (
	ErrCorrupt = errors.New("ledger file is corrupt")
	ErrLocked  = errors.New("ledger is in use by another postdeck")
	ErrFull    = errors.New("disk full")
	ErrClosed  = errors.New("ledger is closed")
)

// Error is a ledger failure: the file, what went wrong and what to do.
type Error struct {
	Path string
	Kind error // one of the Err kinds above, or nil
	Err  error // the underlying cause
	Hint string
}

func (e *Error) Error() string {
	s := "epoch ledger " + e.Path + ": "
	switch {
	case e.Kind != nil && e.Err != nil:
		s += fmt.Sprintf("%v (%v)", e.Kind, e.Err)
	case e.Kind != nil:
		s += e.Kind.Error()
	default:
		s += fmt.Sprint(e.Err)
	}
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// hintCorrupt says what to do with a corrupt file: the node's history
// refills ATXs and rewards, only the watched steps are lost.
const hintCorrupt = "move it aside (mv %[1]s %[1]s.bad) and start postdeck again: it refills ATXs and rewards from the node's history (the PoET and PoST steps it watched are lost)"

// explain turns an SQLite or system error into an *Error of the right kind.
func explain(path string, err error) error {
	if err == nil {
		return nil
	}
	var le *Error
	if errors.As(err, &le) {
		return err
	}
	var se *sqlite.Error
	code := 0
	if errors.As(err, &se) {
		code = se.Code() & 0xff // the primary code, without the extended bits
	}
	switch {
	case code == sqlite3.SQLITE_FULL || errors.Is(err, syscall.ENOSPC):
		return &Error{Path: path, Kind: ErrFull, Err: err,
			Hint: "free space on its file system; until then new ledger entries are dropped (the dashboard runs on)"}
	case code == sqlite3.SQLITE_CORRUPT || code == sqlite3.SQLITE_NOTADB:
		return &Error{Path: path, Kind: ErrCorrupt, Err: err, Hint: fmt.Sprintf(hintCorrupt, path)}
	}
	return &Error{Path: path, Err: err}
}
