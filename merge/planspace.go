package merge

// The target's file system: writable, and room for everything a merge
// writes there.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"postdeck/model"
)

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
