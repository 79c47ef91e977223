package merge

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"postdeck/model"
)

// keyFile is a key file read from one side.
type keyFile struct {
	side, name string
	rawBytes   []byte
	key        model.Key
	err        error
}

// NewPlan reads both sides and says what a merge would do and what stops it.
// It never writes: databases are opened read-only and immutable (see
// readOnlyURI). The error is for failures that stop planning at all (a
// cancelled context); everything wrong with the data is a Problem.
func NewPlan(ctx context.Context, o Options) (*Plan, error) {
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	p := &Plan{Options: o}
	if o.From == "" || o.To == "" {
		p.problem(KindPaths, "both --from (the old node's data folder) and --to (the node data folder to merge into) are needed")
		return p, nil
	}
	var err error
	if p.From, err = filepath.Abs(o.From); err != nil {
		return nil, err
	}
	if p.To, err = filepath.Abs(o.To); err != nil {
		return nil, err
	}
	if !checkPaths(p) {
		return p, nil
	}
	if Interrupted(p.To) {
		p.problem(KindUnfinished, "an earlier merge into %s did not finish (%s exists): run `postdeck merge --recover --to %s` first, then plan again", p.To, journalPath(p.To), p.To)
		return p, nil
	}
	keys := planKeys(p)
	srcOK, dstOK := checkDBFiles(p)
	checkInUse(ctx, p)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	checkWritable(p)
	if srcOK && dstOK {
		if err := planRows(ctx, p); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			p.problem(KindBadDatabase, "cannot read the databases: %v", err)
		}
	}
	p.Keys = keys
	checkSpace(p)
	return p, nil
}

// checkPaths refuses a source that is not a node data folder, a target that
// is not a folder, and merging a folder into itself.
func checkPaths(p *Plan) bool {
	fi, err := os.Stat(p.From)
	if err != nil || !fi.IsDir() {
		p.problem(KindPaths, "source %s is not a folder: give the old node's data folder (the one holding %s and identities/)", p.From, DBName)
		return false
	}
	fi, err = os.Stat(p.To)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.CreateDir, p.CreateIdentities, p.CreateDB = true, true, true
	case err != nil:
		p.problem(KindPaths, "cannot read target %s: %v", p.To, err)
		return false
	case !fi.IsDir():
		p.problem(KindPaths, "target %s is a file, not a folder: give the node's data folder", p.To)
		return false
	}
	if same(p.From, p.To) {
		p.problem(KindPaths, "source and target are the same folder (%s): nothing to merge", p.From)
		return false
	}
	return true
}

func same(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// planKeys reads both identities folders and checks every key rule that
// spans them. It returns the source's keys, to be copied.
func planKeys(p *Plan) []KeyCopy {
	src, srcErr := readKeys(p.From, "source")
	if srcErr != nil {
		p.problem(KindPaths, "%v", srcErr)
	}
	var dst []keyFile
	if !p.CreateDir {
		var err error
		dst, err = readKeys(p.To, "target")
		if errors.Is(err, fs.ErrNotExist) {
			p.CreateIdentities = true
		} else if err != nil {
			p.problem(KindPaths, "%v", err)
		}
	}
	if srcErr == nil && len(src) == 0 {
		p.note("the source has no key files: only database rows are merged")
	}
	for _, side := range [][]keyFile{src, dst} {
		for _, k := range side {
			if k.name == model.LocalKeyName {
				p.problem(KindLocalKey, "%s has %s: merging of supervised smeshing nodes is not supported: rename %s to a descriptive name (like the PoST data folder's name, e.g. data1.key) and plan again",
					k.side, filepath.Join(sideDir(p, k.side), "identities", model.LocalKeyName), model.LocalKeyName)
			}
			if k.err != nil {
				p.problem(KindInvalidKey, "%s key file %s is invalid: %v: fix or remove it first (the node would not start with it either)",
					k.side, filepath.Join(sideDir(p, k.side), "identities", k.name), k.err)
			} else if k.key.Warning != "" && k.side == "target" {
				// The merge leaves the target's own keys alone, but the
				// node would not start with this one: the merged node
				// would not run at all.
				path := filepath.Join(sideDir(p, k.side), "identities", k.name)
				p.problem(KindInvalidKey, "target key file %s %s (for example: `tr -d '[:space:]' < %s > %s.tmp && chmod 600 %s.tmp && mv %s.tmp %s`), then plan again",
					path, k.key.Warning, path, path, path, path, path)
			}
		}
	}
	dstNames := map[string]bool{}
	for _, k := range dst {
		dstNames[k.name] = true
	}
	var clash []string
	for _, k := range src {
		if dstNames[k.name] {
			clash = append(clash, k.name)
		}
	}
	if len(clash) > 0 {
		p.problem(KindNameClash, "key file name(s) on both sides: %s: rename the source's file(s) (a key's file name is only a label) and plan again", strings.Join(clash, ", "))
	}
	// The same public key under any names, on either side: the node refuses
	// to start, or worse, one identity ends up running twice.
	type where struct{ side, name string }
	byPub := map[string][]where{}
	var order []string
	for _, side := range [][]keyFile{src, dst} {
		for _, k := range side {
			if k.err != nil {
				continue
			}
			h := hex.EncodeToString(k.key.Public)
			if byPub[h] == nil {
				order = append(order, h)
			}
			byPub[h] = append(byPub[h], where{k.side, k.name})
		}
	}
	for _, h := range order {
		ws := byPub[h]
		if len(ws) < 2 {
			continue
		}
		var names []string
		for _, w := range ws {
			names = append(names, w.side+" "+w.name)
		}
		p.problem(KindDuplicateKey, "one identity (public key %s…) is in %s: an identity must be in exactly one key file on one node (two copies get it banned for equivocation); remove the extra copy and plan again",
			h[:12], strings.Join(names, " and "))
	}
	var out []KeyCopy
	for _, k := range src {
		if k.err != nil {
			continue
		}
		out = append(out, KeyCopy{Name: k.name, Public: k.key.Public, private: k.key.Private,
			Rewritten: k.key.Warning != "" || !bytes.Equal(k.raw(), []byte(hex.EncodeToString(k.key.Private)))})
	}
	return out
}

func (k keyFile) raw() []byte { return k.rawBytes }

func sideDir(p *Plan, side string) string {
	if side == "source" {
		return p.From
	}
	return p.To
}

// readKeys lists <dir>/identities/*.key the way the node does
// (non-recursive, exact lower-case ".key") and parses each file.
func readKeys(dir, side string) ([]keyFile, error) {
	kd := filepath.Join(dir, "identities")
	entries, err := os.ReadDir(kd)
	if errors.Is(err, fs.ErrNotExist) {
		if side == "source" {
			return nil, fmt.Errorf("source %s has no identities/ folder: is it a node data folder?", dir)
		}
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list %s: %v", kd, err)
	}
	var keys []keyFile
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".key") {
			continue
		}
		kf := keyFile{side: side, name: e.Name()}
		b, err := os.ReadFile(filepath.Join(kd, e.Name()))
		if err != nil {
			kf.err = fmt.Errorf("cannot read: %v", err)
		} else {
			kf.rawBytes = b
			kf.key, kf.err = model.ParseKey(b)
		}
		keys = append(keys, kf)
	}
	return keys, nil
}

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

// checkWritable refuses a target the merge could not write: permissions, or a
// read-only file system (which stops root too). access(2) answers without
// writing anything.
func checkWritable(p *Plan) {
	paths := []string{p.To, filepath.Join(p.To, "identities"), filepath.Join(p.To, DBName)}
	if p.CreateDir {
		paths = []string{existingParent(p.To)}
	}
	for _, path := range paths {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if err := writable(path); err != nil {
			p.problem(KindReadOnly, "target is not writable: %s: %v: make it writable (remount read-write, fix its owner or mode) and plan again", path, err)
			return
		}
	}
}

// writable is access(path, W_OK); a variable so tests can inject a failure.
var writable = func(path string) error {
	return syscall.Access(path, 2 /* W_OK */)
}

func existingParent(path string) string {
	for {
		if _, err := os.Stat(path); err == nil {
			return path
		}
		parent := filepath.Dir(path)
		if parent == path {
			return path
		}
		path = parent
	}
}

// statfs is syscall.Statfs; a variable so tests can set the free space.
var statfs = syscall.Statfs

// spaceNeed is what a merge writes into the target's file system, in bytes
// of whole blocks.
type spaceNeed struct {
	backup, staged, journal, rows int64
}

func (n spaceNeed) total() int64 { return n.backup + n.staged + n.journal + n.rows + spaceSlack }

// spaceSlack covers what is not counted: the new database's schema, the
// -shm file, folders.
const spaceSlack = 1 << 20

// roundUp is n bytes in whole blocks of bs; an empty file takes none.
func roundUp(n, bs int64) int64 { return (n + bs - 1) / bs * bs }

// checkSpace refuses when the target's file system cannot hold everything
// the merge writes there, counted in its blocks (statfs):
//   - the backup: a copy of the target's local.sql and of each identities/ file;
//   - the staged keys: one small file (a block) each;
//   - the journal, written once (it lists every key), and the phase file;
//   - the copied rows: the target database grows by up to the source's
//     size, and first the transaction's pages go to the -wal (or the old
//     ones to the rollback -journal): the new pages plus the target pages
//     they touch, bounded by both databases' sizes.
func checkSpace(p *Plan) {
	var st syscall.Statfs_t
	if err := statfs(existingParent(p.To), &st); err != nil {
		return
	}
	bs := int64(st.Bsize)
	if bs <= 0 {
		bs = 4096
	}
	size := func(path string) int64 {
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
		return 0
	}
	srcDB := roundUp(size(filepath.Join(p.From, DBName)), bs)
	dstDB := int64(0)
	if !p.CreateDB {
		dstDB = roundUp(size(filepath.Join(p.To, DBName)), bs)
	}
	var n spaceNeed
	n.backup = dstDB
	if !p.CreateIdentities {
		ids := filepath.Join(p.To, "identities")
		if entries, err := os.ReadDir(ids); err == nil {
			for _, e := range entries {
				if e.Type().IsRegular() {
					n.backup += roundUp(max(size(filepath.Join(ids, e.Name())), 1), bs)
				}
			}
		}
	}
	n.staged = int64(len(p.Keys)) * roundUp(2*64, bs)
	n.journal = roundUp(journalSize(p), bs) + 2*bs // the phase file and its temp
	n.rows = srcDB + srcDB + dstDB
	need := n.total()
	free := int64(st.Bavail) * bs
	if free < need {
		p.problem(KindSpace, "not enough free space for %s: %s free, about %s needed (backup %s, %d staged key(s) %s, journal %s, copied rows with their -wal %s, slack %s): free %s and plan again",
			p.To, model.HumanBytes(uint64(free)), model.HumanBytes(uint64(need)),
			model.HumanBytes(uint64(n.backup)), len(p.Keys), model.HumanBytes(uint64(n.staged)), model.HumanBytes(uint64(n.journal)),
			model.HumanBytes(uint64(n.rows)), model.HumanBytes(spaceSlack), model.HumanBytes(uint64(need-free)))
	}
}

// journalSize is the size of the journal a merge of p writes.
func journalSize(p *Plan) int64 {
	j := &journal{ID: newID(), From: p.From, To: p.To, Started: time.Now().UTC(), Staging: "postdeck-merge-staging-" + newID(),
		CreatedDir: p.CreateDir, CreatedIdentities: p.CreateIdentities, CreatedDB: p.CreateDB,
		Backup: filepath.Join(p.To, "backup-20060102-150405-99"), NewDB: ".postdeck-merge-new-" + newID() + ".sql"}
	for _, k := range p.Keys {
		j.Keys = append(j.Keys, journalKey{Name: k.Name, Public: k.PublicHex()})
	}
	b, err := json.MarshalIndent(j, "", "\t")
	if err != nil {
		return 1 << 20
	}
	return int64(len(b)) + 1
}
