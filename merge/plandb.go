package merge

// The database rules of a plan: whole SQLite files, no unfinished writes,
// schema versions, the same tables, and rows that would collide.

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// checkDBFiles checks that each side's local.sql is a whole SQLite file with
// no unfinished writes beside it. It reports whether each side can be read.
func checkDBFiles(p *Plan) (srcOK, dstOK bool) {
	check := func(side, dir string) bool {
		path := filepath.Join(dir, DBName)
		h, err := checkHeader(path)
		if errors.Is(err, fs.ErrNotExist) {
			if side == "target" {
				p.CreateDB = true
				return true
			}
			p.problem(KindPaths, "source %s has no %s: is it a node data folder?", dir, DBName)
			return false
		}
		ok := true
		if err != nil {
			p.problem(KindBadDatabase, "%s database: %v", side, err)
			ok = false
		}
		if side == "source" {
			p.walMode = h.wal
		}
		if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
			p.problem(KindWAL, "%s has unfinished writes in %s (%d bytes): start and stop the %s node cleanly first, so it writes them into the database",
				side, path+"-wal", fi.Size(), side)
			ok = false
		}
		if fi, err := os.Stat(path + "-journal"); err == nil && fi.Size() > 0 {
			p.problem(KindWAL, "%s has an unfinished transaction (%s): start and stop the %s node cleanly first", side, path+"-journal", side)
			ok = false
		}
		return ok
	}
	srcOK = check("source", p.From)
	dstOK = true
	if !p.CreateDir {
		dstOK = check("target", p.To)
	}
	return srcOK, dstOK
}

// planRows reads the schema versions, compares the tables and counts the
// rows to copy and those that would collide with the target's keys.
func planRows(ctx context.Context, p *Plan) error {
	srcPath := filepath.Join(p.From, DBName)
	db, err := openReadOnly(srcPath)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := quickCheck(ctx, conn, "main"); err != nil {
		p.problem(KindBadDatabase, "source database %s: %v", srcPath, err)
		return nil
	}
	sv, err := userVersion(ctx, conn, "main")
	if err != nil {
		p.problem(KindBadDatabase, "source database %s cannot be read: %v", srcPath, err)
		return nil
	}
	if !versionOK(p, "source", sv) {
		return nil
	}
	p.Version = sv
	// The target is attached to the source's connection, both immutable.
	var dv = sv
	if !p.CreateDB {
		dstPath := filepath.Join(p.To, DBName)
		if _, err := conn.ExecContext(ctx, "ATTACH DATABASE ? AS dst", readOnlyURI(dstPath)); err != nil {
			p.problem(KindBadDatabase, "target database %s cannot be opened: %v", dstPath, err)
			return nil
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE dst")
		if err := quickCheck(ctx, conn, "dst"); err != nil {
			p.problem(KindBadDatabase, "target database %s: %v", dstPath, err)
			return nil
		}
		if dv, err = userVersion(ctx, conn, "dst"); err != nil {
			p.problem(KindBadDatabase, "target database %s cannot be read: %v", dstPath, err)
			return nil
		}
		if !versionOK(p, "target", dv) {
			return nil
		}
		if dv != sv {
			p.Version = 0
			p.problem(KindVersion, "schema versions differ: source is %d (%s), target is %d (%s): run both nodes on the same go-spacemesh release first (start the older node once with the newer release, let it upgrade its database, and stop it cleanly), then merge",
				sv, Release(sv), dv, Release(dv))
			return nil
		}
	} else {
		if p.schema, err = readSchema(ctx, conn); err != nil {
			return err
		}
	}
	for _, t := range Tables(sv) {
		cols, pk, err := tableColumns(ctx, conn, "main", t)
		if err != nil {
			return err
		}
		if cols == nil {
			p.problem(KindSchema, "source database has no table %q although schema version %d should: is it a go-spacemesh local.sql?", t, sv)
			continue
		}
		tc := TableCopy{Name: t}
		if tc.Copy, err = countRows(ctx, conn, "main", t); err != nil {
			return err
		}
		if !p.CreateDB {
			dcols, _, err := tableColumns(ctx, conn, "dst", t)
			if err != nil {
				return err
			}
			if dcols == nil {
				p.problem(KindSchema, "target database has no table %q although schema version %d should: is it a go-spacemesh local.sql?", t, sv)
				continue
			}
			if !slices.Equal(cols, dcols) {
				p.problem(KindSchema, "table %q has different columns: source (%s), target (%s): the databases come from different releases; run both nodes on the same release first",
					t, strings.Join(cols, ", "), strings.Join(dcols, ", "))
				continue
			}
			if tc.Target, err = countRows(ctx, conn, "dst", t); err != nil {
				return err
			}
			if len(pk) > 0 {
				if err := rowClashes(ctx, conn, p, t, pk); err != nil {
					return err
				}
			}
		}
		p.Tables = append(p.Tables, tc)
	}
	return nil
}

func versionOK(p *Plan, side string, v int) bool {
	switch {
	case v < MinVersion:
		p.problem(KindVersion, "%s database has schema version %d (%s): nodes that only ran 1.3.x cannot be merged; run the node with go-spacemesh 1.4 or newer once (start it, let it upgrade, stop it cleanly) and plan again",
			side, v, Release(v))
		return false
	case v > MaxVersion:
		p.problem(KindVersion, "%s database has schema version %d (%s): postdeck knows versions %d–%d (up to go-spacemesh v1.7); use go-spacemesh's merge-nodes from the same release, or a newer postdeck",
			side, v, Release(v), MinVersion, MaxVersion)
		return false
	}
	return true
}

// rowClashes adds a problem when source rows share a primary key with rows
// already in the target, naming up to three.
func rowClashes(ctx context.Context, conn *sql.Conn, p *Plan, table string, pk []string) error {
	var on []string
	for _, c := range pk {
		on = append(on, fmt.Sprintf("d.%s IS s.%s", quoteIdent(c), quoteIdent(c)))
	}
	q := fmt.Sprintf("SELECT s.%s FROM main.%s s WHERE EXISTS (SELECT 1 FROM dst.%s d WHERE %s)",
		quoteIdent(pk[0]), quoteIdent(table), quoteIdent(table), strings.Join(on, " AND "))
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	var n int
	var ids []string
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return err
		}
		n++
		if len(ids) < 3 {
			ids = append(ids, describeValue(v))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n > 0 {
		more := ""
		if n > len(ids) {
			more = fmt.Sprintf(" and %d more", n-len(ids))
		}
		p.problem(KindRowClash, "%d row(s) of table %s already exist in the target with the same key (%s: %s%s): this identity already has data on the target node; was it merged before? Check with `postdeck keys list`, and do not run one identity on two nodes",
			n, table, strings.Join(pk, ", "), strings.Join(ids, ", "), more)
	}
	return nil
}

func describeValue(v any) string {
	switch x := v.(type) {
	case []byte:
		h := hex.EncodeToString(x)
		if len(h) > 12 {
			h = h[:12] + "…"
		}
		return h
	default:
		return fmt.Sprint(x)
	}
}

// readSchema returns the source's CREATE TABLE and CREATE INDEX statements, tables first, in the
// order they were made; SQLite's own objects are left out.
func readSchema(ctx context.Context, conn *sql.Conn) ([]string, error) {
	// Only tables and indexes: triggers and views are the node's business
	// (it recreates them when it migrates), and a trigger made before the
	// rows are copied would fire on every copied row.
	rows, err := conn.QueryContext(ctx, `SELECT sql FROM main.sqlite_master
		WHERE sql IS NOT NULL AND type IN ('table', 'index') AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
		ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
