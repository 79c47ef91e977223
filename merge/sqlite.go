package merge

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go)
)

// DBName is the node's local database inside its data folder.
const DBName = "local.sql"

// fileURI turns a path into an SQLite URI with the given query, escaping
// the characters ('?', '#', '%', spaces) a path may hold.
func fileURI(path, query string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	u := url.URL{Scheme: "file", Path: abs}
	return u.String() + "?" + query
}

// readOnlyURI opens a database without ever writing to it or beside it:
// mode=ro alone is not enough for a WAL-mode database (SQLite then creates
// -wal and -shm files next to it and leaves them); immutable=1 makes SQLite
// read the main file only, with no locks and no side files. That is sound
// only because the plan has made sure no process has the file open and no
// -wal holds unfinished writes.
func readOnlyURI(path string) string { return fileURI(path, "mode=ro&immutable=1") }

// openReadOnly opens a database for reading only (see readOnlyURI).
func openReadOnly(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", readOnlyURI(path))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// openWritable opens the target database for the merge: one connection,
// transactions take the write lock at BEGIN, commits are synced.
func openWritable(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", fileURI(path, "mode=rw&_txlock=immediate&_pragma=busy_timeout(2000)&_pragma=synchronous(FULL)"+testPragmas))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// testPragmas lets the crash tests shrink SQLite's page cache so a big
// transaction spills into the database file (or WAL) before its commit.
var testPragmas string

// sqliteMagic starts every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// header is what postdeck reads from a database file's first 100 bytes.
type header struct {
	pageSize int64
	pages    int64 // in-header database size, 0 when not valid
	wal      bool  // read/write versions say WAL mode
}

// checkHeader reads the file's header and says, in words, what is wrong:
// not a database, or shorter than its header says (a truncated copy).
func checkHeader(path string) (header, error) {
	f, err := os.Open(path)
	if err != nil {
		return header{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return header{}, err
	}
	if fi.IsDir() {
		return header{}, fmt.Errorf("%s is a folder, not a database file", path)
	}
	b := make([]byte, 100)
	n, err := io.ReadFull(f, b)
	if err != nil && n < len(sqliteMagic) {
		if n == 0 {
			return header{}, fmt.Errorf("%s is empty (0 bytes): not an SQLite database; was the copy interrupted?", path)
		}
		return header{}, fmt.Errorf("%s is only %d bytes: not an SQLite database, or a truncated copy", path, n)
	}
	if string(b[:len(sqliteMagic)]) != sqliteMagic {
		return header{}, fmt.Errorf("%s is not an SQLite database (its first bytes are not \"SQLite format 3\")", path)
	}
	if n < 100 {
		return header{}, fmt.Errorf("%s is truncated: %d bytes, shorter than an SQLite header", path, n)
	}
	h := header{pageSize: int64(binary.BigEndian.Uint16(b[16:18]))}
	if h.pageSize == 1 {
		h.pageSize = 65536
	}
	if h.pageSize < 512 || h.pageSize&(h.pageSize-1) != 0 {
		return header{}, fmt.Errorf("%s has a corrupt header (page size %d)", path, h.pageSize)
	}
	h.wal = b[18] == 2 || b[19] == 2
	// The in-header size is valid when the change counter matches the
	// version-valid-for number (SQLite 3.7.0 and newer write both).
	if binary.BigEndian.Uint32(b[24:28]) == binary.BigEndian.Uint32(b[92:96]) {
		h.pages = int64(binary.BigEndian.Uint32(b[28:32]))
	}
	size := fi.Size()
	if size%h.pageSize != 0 || (h.pages > 0 && size < h.pages*h.pageSize) {
		want := size
		if h.pages > 0 {
			want = h.pages * h.pageSize
		}
		return h, fmt.Errorf("%s is truncated: %d bytes, its header says %d: restore it from a complete copy", path, size, want)
	}
	return h, nil
}

// quickCheck runs PRAGMA quick_check and returns its complaint, "" when ok.
func quickCheck(ctx context.Context, db queryer, schema string) error {
	rows, err := db.QueryContext(ctx, "PRAGMA "+schema+".quick_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			msgs = append(msgs, s)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(msgs) > 0 {
		if len(msgs) > 3 {
			msgs = append(msgs[:3], fmt.Sprintf("and %d more", len(msgs)-3))
		}
		return fmt.Errorf("integrity check failed: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// userVersion reads PRAGMA user_version of schema ("main" or "src").
func userVersion(ctx context.Context, q queryer, schema string) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, "PRAGMA "+schema+".user_version").Scan(&v)
	return v, err
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// tableColumns lists a table's columns in order and which form its primary
// key (in key order); nil columns when the table does not exist.
func tableColumns(ctx context.Context, q queryer, schema, table string) (cols, pk []string, err error) {
	rows, err := q.QueryContext(ctx, fmt.Sprintf("PRAGMA %s.table_info(%s)", schema, quoteIdent(table)))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	type pkCol struct {
		name string
		pos  int
	}
	var pks []pkCol
	for rows.Next() {
		var (
			cid, notnull, pkPos int
			name, typ           string
			dflt                sql.NullString
		)
		if err := rows.Scan(&cid, &name, &typ, &notnull, &dflt, &pkPos); err != nil {
			return nil, nil, err
		}
		cols = append(cols, name)
		if pkPos > 0 {
			pks = append(pks, pkCol{name, pkPos})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	pk = make([]string, len(pks))
	for _, p := range pks {
		if p.pos-1 < len(pk) {
			pk[p.pos-1] = p.name
		}
	}
	return cols, pk, nil
}

func countRows(ctx context.Context, q queryer, schema, table string) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM %s.%s", schema, quoteIdent(table))).Scan(&n)
	return n, err
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// sideFiles are the files SQLite may keep next to a database.
var sideFiles = []string{"-wal", "-shm", "-journal"}
