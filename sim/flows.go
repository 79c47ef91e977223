package sim

// The folders that let a demo or a sim try adding a key and merging a node
// with no Spacemesh node at all (Options.FlowFolders): a PoST folder as
// postcli leaves it, and the data folder of an old node.

import (
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" driver, pure Go

	"postdeck/model"
)

// The names of the flow folders in Options.Dir, and how many identities
// the old node has.
const (
	NewPostFolder = "new-post"
	OldNodeFolder = "old-node"
	oldNodeIDs    = 2
)

// oldNodeVersion is the old node's schema version (PRAGMA user_version):
// go-spacemesh v1.7's.
const oldNodeVersion = 9

// oldNodeTables are the tables of an old node's local.sql that a merge
// copies, with their columns at version 9 (SPACEMESH.md, "Merging nodes").
// Each column's type tells rowValue what to put in it.
var oldNodeTables = []struct {
	name, key string
	columns   [][2]string // name, SQL type
}{
	{"post", "id", [][2]string{
		{"id", "CHAR(32) PRIMARY KEY"}, {"post_nonce", "UNSIGNED INT NOT NULL"}, {"post_indices", "VARCHAR NOT NULL"},
		{"post_pow", "UNSIGNED LONG INT NOT NULL"}, {"num_units", "UNSIGNED INT NOT NULL"}, {"commit_atx", "CHAR(32) NOT NULL"},
		{"vrf_nonce", "UNSIGNED LONG INT NOT NULL"}, {"challenge", "BLOB NOT NULL"},
	}},
	{"challenge", "id", [][2]string{
		{"id", "CHAR(32) PRIMARY KEY"}, {"epoch", "UNSIGNED INT NOT NULL"}, {"sequence", "UNSIGNED INT NOT NULL"},
		{"prev_atx", "CHAR(32) NOT NULL"}, {"pos_atx", "CHAR(32) NOT NULL"}, {"commit_atx", "CHAR(32)"},
		{"post_nonce", "UNSIGNED INT"}, {"post_indices", "VARCHAR"}, {"post_pow", "UNSIGNED LONG INT"},
		{"poet_proof_ref", "CHAR(32)"}, {"poet_proof_membership", "VARCHAR"},
	}},
	{"poet_registration", "id, address", [][2]string{
		{"id", "CHAR(32) NOT NULL"}, {"hash", "CHAR(32) NOT NULL"}, {"address", "VARCHAR NOT NULL"},
		{"round_id", "VARCHAR NOT NULL"}, {"round_end", "INT NOT NULL"},
	}},
	{"nipost", "id", [][2]string{
		{"id", "CHAR(32) PRIMARY KEY"}, {"post_nonce", "UNSIGNED INT NOT NULL"}, {"post_indices", "VARCHAR NOT NULL"},
		{"post_pow", "UNSIGNED LONG INT NOT NULL"}, {"num_units", "UNSIGNED INT NOT NULL"}, {"vrf_nonce", "UNSIGNED LONG INT NOT NULL"},
		{"poet_proof_membership", "VARCHAR NOT NULL"}, {"poet_proof_ref", "CHAR(32) NOT NULL"}, {"labels_per_unit", "UNSIGNED INT NOT NULL"},
	}},
}

// flowSource is the key stream of the flow folders: from Seed like the
// node's identities, but a stream of its own, so that asking for the
// folders leaves the node's keys as they are for the seed.
func (s *Sim) flowSource() *rand.ChaCha8 {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(s.opts.Seed))
	copy(seed[8:], "flows")
	return rand.NewChaCha8(seed)
}

// writeFlowFolders writes Dir/new-post, a PoST folder with identity.key
// and postdata_metadata.json of an identity the node does not have, and
// Dir/old-node, an old node's data folder: identities/old01.key … and a
// local.sql at schema version 9 with each identity's rows in the tables a
// merge copies. Neither holds a key of this node.
func (s *Sim) writeFlowFolders() error {
	src := s.flowSource()
	newPost := s.newIdent(src, "new-post")
	dir := filepath.Join(s.opts.Dir, NewPostFolder)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := writePrivate(filepath.Join(dir, "identity.key"), []byte(hex.EncodeToString(newPost.priv))); err != nil {
		return err
	}
	if err := writeMetadata(dir, newPost.meta); err != nil {
		return err
	}

	old := filepath.Join(s.opts.Dir, OldNodeFolder)
	if err := os.MkdirAll(filepath.Join(old, "identities"), 0o700); err != nil {
		return err
	}
	var ids []*ident
	for i := 1; i <= oldNodeIDs; i++ {
		id := s.newIdent(src, fmt.Sprintf("old%02d", i))
		if err := writePrivate(filepath.Join(old, "identities", id.keyFile()), []byte(hex.EncodeToString(id.priv))); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	return writeOldNodeDB(filepath.Join(old, "local.sql"), ids, rand.New(src))
}

// writeOldNodeDB creates local.sql as a stopped go-spacemesh node leaves
// it: WAL mode with nothing left in the -wal (closing checkpoints it), and
// the schema version set.
func writeOldNodeDB(path string, ids []*ident, rng *rand.Rand) error {
	u := url.URL{Scheme: "file", Path: path}
	db, err := sql.Open("sqlite", u.String()+"?mode=rwc")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1) // one connection: the pragmas hold for every statement
	err = fillOldNodeDB(db, ids, rng)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("old node's %s: %w", path, err)
	}
	return nil
}

func fillOldNodeDB(db *sql.DB, ids []*ident, rng *rand.Rand) error {
	if _, err := db.Exec("PRAGMA journal_mode=WAL"); err != nil {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range oldNodeTables {
		var defs, names []string
		for _, c := range t.columns {
			defs = append(defs, c[0]+" "+c[1])
			names = append(names, c[0])
		}
		if t.key != "id" {
			defs = append(defs, "PRIMARY KEY ("+t.key+")")
		}
		if _, err := tx.Exec(fmt.Sprintf("CREATE TABLE %s (%s)", t.name, strings.Join(defs, ", "))); err != nil {
			return err
		}
		insert := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", t.name, strings.Join(names, ", "),
			strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", "))
		for _, id := range ids {
			vals := make([]any, len(t.columns))
			for i, c := range t.columns {
				vals[i] = rowValue(c[0], c[1], id, rng)
			}
			if _, err := tx.Exec(insert, vals...); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}
	if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", oldNodeVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// rowValue is a plausible value for one column of an identity's row: its
// public key for id, its metadata where the column has it, else random
// bytes for ids and hashes, and small numbers.
func rowValue(name, typ string, id *ident, rng *rand.Rand) any {
	bytesOf := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	switch {
	case name == "id":
		return []byte(id.pub)
	case name == "num_units":
		return int64(id.meta.NumUnits)
	case name == "labels_per_unit":
		return int64(id.meta.LabelsPerUnit)
	case name == "commit_atx":
		return id.meta.CommitmentAtxID
	case name == "address":
		return "https://poet-110.spacemesh.network"
	case name == "round_id":
		return fmt.Sprint(rng.IntN(100))
	case strings.HasPrefix(typ, "CHAR(32)"):
		return bytesOf(32)
	case strings.HasPrefix(typ, "VARCHAR"), strings.HasPrefix(typ, "BLOB"):
		return bytesOf(48)
	}
	return int64(rng.IntN(1 << 20))
}

// writeMetadata writes postdata_metadata.json into a PoST folder,
// tab-indented as post writes it.
func writeMetadata(dir string, meta model.PostMetadata) error {
	b, err := json.MarshalIndent(meta, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, model.MetadataFile), b, 0o644)
}
