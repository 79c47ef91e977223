// Package mergetest builds node data folders for tests: identities/ with
// ed25519 key files and a local.sql at a go-spacemesh schema version, with
// rows for every identity in the tables a merge copies.
//
// The DDL is OURS, written from the facts in SPACEMESH.md ("Merging nodes"):
// version 9's columns are go-spacemesh's; the older versions are plausible
// reconstructions, not copies of upstream migrations. Version 8 is 9 without
// post.challenge; version 7 names the table initial_post (before 8) and has
// no challenge column either; version 5 (v1.4.0) has initial_post without
// vrf_nonce, and nipost without labels_per_unit. Primary keys are on the
// identity, poet_registration's on (id, address). Each database also has an
// index and a table a merge must not copy (misc), so tests can tell.
package mergetest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite"
)

// DDL returns our CREATE statements for a schema version (5 to 9).
func DDL(version int) []string {
	post := "post"
	postCols := "id CHAR(32) PRIMARY KEY, post_nonce UNSIGNED INT NOT NULL, post_indices VARCHAR NOT NULL, post_pow UNSIGNED LONG INT NOT NULL, num_units UNSIGNED INT NOT NULL, commit_atx CHAR(32) NOT NULL, vrf_nonce UNSIGNED LONG INT NOT NULL"
	nipostCols := "id CHAR(32) PRIMARY KEY, post_nonce UNSIGNED INT NOT NULL, post_indices VARCHAR NOT NULL, post_pow UNSIGNED LONG INT NOT NULL, num_units UNSIGNED INT NOT NULL, vrf_nonce UNSIGNED LONG INT NOT NULL, poet_proof_membership VARCHAR NOT NULL, poet_proof_ref CHAR(32) NOT NULL, labels_per_unit UNSIGNED INT NOT NULL"
	switch {
	case version >= 9:
		postCols += ", challenge BLOB NOT NULL"
	case version == 8:
	case version >= 6:
		post = "initial_post"
	default: // 5
		post = "initial_post"
		postCols = strings.Replace(postCols, ", vrf_nonce UNSIGNED LONG INT NOT NULL", "", 1)
		nipostCols = strings.Replace(nipostCols, ", labels_per_unit UNSIGNED INT NOT NULL", "", 1)
	}
	return []string{
		"CREATE TABLE " + post + " (" + postCols + ")",
		"CREATE TABLE challenge (id CHAR(32) PRIMARY KEY, epoch UNSIGNED INT NOT NULL, sequence UNSIGNED INT NOT NULL, prev_atx CHAR(32) NOT NULL, pos_atx CHAR(32) NOT NULL, commit_atx CHAR(32), post_nonce UNSIGNED INT, post_indices VARCHAR, post_pow UNSIGNED LONG INT, poet_proof_ref CHAR(32), poet_proof_membership VARCHAR)",
		"CREATE INDEX challenge_by_epoch ON challenge (epoch)",
		"CREATE TABLE poet_registration (id CHAR(32) NOT NULL, hash CHAR(32) NOT NULL, address VARCHAR NOT NULL, round_id VARCHAR NOT NULL, round_end INT NOT NULL, PRIMARY KEY (id, address))",
		"CREATE TABLE nipost (" + nipostCols + ")",
		"CREATE TABLE misc (k TEXT PRIMARY KEY, v TEXT)",
	}
}

// PostTable is the table with each identity's initial PoST at a version.
func PostTable(version int) string {
	if version >= 8 {
		return "post"
	}
	return "initial_post"
}

// Tables a merge copies at a version.
func Tables(version int) []string {
	return []string{PostTable(version), "challenge", "poet_registration", "nipost"}
}

// Options describe one node data folder.
type Options struct {
	Version int    // schema version, 5 to 9
	IDs     int    // identities
	Prefix  string // key file names are <Prefix><i>.key; keys derive from it
	// Rollback makes the database use a rollback journal instead of WAL
	// (go-spacemesh uses WAL).
	Rollback bool
	// NoDB leaves local.sql out; NoIdentities leaves identities/ out.
	NoDB, NoIdentities bool
}

// Key is one identity of a built node.
type Key struct {
	Name    string
	Public  ed25519.PublicKey
	Private ed25519.PrivateKey
}

// KeyFor derives the i-th key of a prefix (the same every run).
func KeyFor(prefix string, i int) Key {
	seed := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", prefix, i)))
	priv := ed25519.NewKeyFromSeed(seed[:])
	return Key{Name: fmt.Sprintf("%s%d.key", prefix, i), Public: priv.Public().(ed25519.PublicKey), Private: priv}
}

// Build writes a node data folder at dir and returns its keys.
func Build(dir string, o Options) ([]Key, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var keys []Key
	for i := range o.IDs {
		keys = append(keys, KeyFor(o.Prefix, i))
	}
	if !o.NoIdentities {
		ids := filepath.Join(dir, "identities")
		if err := os.MkdirAll(ids, 0o700); err != nil {
			return nil, err
		}
		for _, k := range keys {
			if err := os.WriteFile(filepath.Join(ids, k.Name), []byte(hex.EncodeToString(k.Private)), 0o600); err != nil {
				return nil, err
			}
		}
	}
	if o.NoDB {
		return keys, nil
	}
	return keys, buildDB(filepath.Join(dir, "local.sql"), o, keys)
}

func buildDB(path string, o Options, keys []Key) error {
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: path}).String()+"?mode=rwc")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if !o.Rollback {
		if _, err := db.Exec("PRAGMA journal_mode=WAL"); err != nil {
			return err
		}
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range DDL(o.Version) {
		if _, err := tx.Exec(s); err != nil {
			return fmt.Errorf("%v: %s", err, s)
		}
	}
	if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", o.Version)); err != nil {
		return err
	}
	if _, err := tx.Exec("INSERT INTO misc VALUES ('node', ?)", o.Prefix); err != nil {
		return err
	}
	for _, t := range Tables(o.Version) {
		cols, err := columns(tx, t)
		if err != nil {
			return err
		}
		marks := strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",")
		stmt, err := tx.Prepare(fmt.Sprintf("INSERT INTO %s VALUES (%s)", t, marks))
		if err != nil {
			return err
		}
		perID := 1
		if t == "poet_registration" {
			perID = 2
		}
		for i, k := range keys {
			for r := range perID {
				vals := make([]any, len(cols))
				for c, name := range cols {
					vals[c] = value(name, k, i, r)
				}
				if _, err := stmt.Exec(vals...); err != nil {
					stmt.Close()
					return fmt.Errorf("insert into %s: %v", t, err)
				}
			}
		}
		stmt.Close()
	}
	return tx.Commit()
}

func columns(tx *sql.Tx, table string) ([]string, error) {
	rows, err := tx.Query("SELECT name FROM pragma_table_info(?)", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		cols = append(cols, s)
	}
	return cols, rows.Err()
}

// value makes a plausible value for a column of identity i's r-th row.
func value(col string, k Key, i, r int) any {
	h := func(tag string) []byte {
		s := sha256.Sum256([]byte(fmt.Sprintf("%s/%x/%d", tag, k.Public, r)))
		return s[:]
	}
	switch col {
	case "id":
		return []byte(k.Public)
	case "address":
		return fmt.Sprintf("https://poet-%d.example.org", 110+r)
	case "round_id":
		return fmt.Sprint(30 + i%3)
	case "post_indices", "poet_proof_membership", "challenge", "hash":
		return h(col)
	case "commit_atx", "prev_atx", "pos_atx", "poet_proof_ref":
		return h(col)
	default:
		return int64(i*7 + len(col) + r)
	}
}
