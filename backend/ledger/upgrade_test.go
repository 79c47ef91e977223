package ledger

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A ledger the previous schema wrote (records keyed identity first, a table
// of events seen) opens with every record kept, in the new layout; a ledger
// from a newer postdeck is refused and left as it was.
func TestAnOlderLedgerIsUpgradedAndANewerOneRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	version1 := `CREATE TABLE record (` + recordColumns + `, PRIMARY KEY (smesher, epoch)) WITHOUT ROWID;
		CREATE INDEX record_epoch ON record (epoch);
		CREATE TABLE seen (k BLOB PRIMARY KEY) WITHOUT ROWID;
		INSERT INTO record (smesher, epoch, atx_id, atx_weight, atx_units, rewards_count, rewards_sum, post_done)
			VALUES (x'010101', 3, x'07', 500, 4, 2, 9000, 42);
		PRAGMA user_version = 1;`
	if _, err := db.Exec(version1); err != nil {
		t.Fatal(err)
	}
	db.Close()

	l := openAt(t, path, &testClock{epochAt(9, 0)})
	r := records(t, l, []Identity{ident("a.key", 1)}, 3, 3)[key("a.key", 3)]
	if r.ATX == nil || r.ATX.Weight != 500 || r.ATX.NumUnits != 4 || r.Rewards.Count != 2 || r.Rewards.Sum != 9000 || r.Proof.Completed.IsZero() {
		t.Errorf("the old record after the upgrade: %+v", r)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	var ddl string
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != schemaVersion {
		t.Errorf("user_version %d (%v), want %d", v, err, schemaVersion)
	}
	if err := db.QueryRow("SELECT sql FROM sqlite_master WHERE name = 'record'").Scan(&ddl); err != nil || !strings.Contains(ddl, "PRIMARY KEY (epoch, smesher)") {
		t.Errorf("record table after the upgrade (%v): %s", err, ddl)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE name IN ('seen', 'record_epoch', 'record_v2')").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d leftovers of the old schema (%v)", n, err)
	}

	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if _, err := Open(path, Options{Timing: testTiming}); err == nil || !strings.Contains(err.Error(), "newer postdeck") {
		t.Errorf("a ledger of schema 99 opened: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("refusing a newer ledger changed its file")
	}
}
