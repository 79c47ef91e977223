package merge

// The rows: a new target database with the source's schema, the copy in one
// transaction, and the verification afterwards.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"postdeck/model"
	"postdeck/safefile"
)

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
