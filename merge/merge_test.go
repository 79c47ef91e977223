package merge

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"postdeck/merge/mergetest"
	"postdeck/safefile"
)

func TestMergeEachVersion(t *testing.T) {
	for _, v := range []int{5, 7, 8, 9} {
		for _, rollback := range []bool{false, true} {
			t.Run(fmt.Sprintf("v%d/rollback=%v", v, rollback), func(t *testing.T) {
				root := t.TempDir()
				pr := pair{from: filepath.Join(root, "old"), to: filepath.Join(root, "node")}
				srcKeys := build(t, pr.from, mergetest.Options{Version: v, IDs: 3, Prefix: "s", Rollback: rollback})
				dstKeys := build(t, pr.to, mergetest.Options{Version: v, IDs: 2, Prefix: "t", Rollback: rollback})
				srcBefore := snapshot(t, pr.from, false)
				dstDump := dump(t, pr.to)

				p := mustPlan(t, Options{From: pr.from, To: pr.to})
				if !p.OK() {
					t.Fatalf("problems: %v", p.Problems)
				}
				if p.Version != v || len(p.Keys) != 3 || len(p.Tables) != 4 || p.Tables[0].Name != mergetest.PostTable(v) {
					t.Fatalf("plan: %+v", p)
				}
				if p.Tables[2].Copy != 6 || p.Tables[2].Target != 4 { // poet_registration: 2 per identity
					t.Fatalf("poet_registration: %+v", p.Tables[2])
				}
				var steps []string
				sum, err := Execute(context.Background(), p, func(s Step) { steps = append(steps, s.String()) })
				if err != nil {
					t.Fatal(err)
				}
				if len(steps) != 7 || !strings.Contains(steps[0], sum.Backup) {
					t.Errorf("steps: %q", steps)
				}
				sameSnapshot(t, "source", srcBefore, snapshot(t, pr.from, false))
				for _, tr := range sum.Tables {
					if tr.After != tr.Target+tr.Copy {
						t.Errorf("%+v", tr)
					}
				}
				// Every key on the target, written as the node wants it.
				for _, k := range append(srcKeys, dstKeys...) {
					path := filepath.Join(pr.to, "identities", k.Name)
					b, err := os.ReadFile(path)
					if err != nil || string(b) != hex.EncodeToString(k.Private) {
						t.Errorf("%s: %q %v", k.Name, b, err)
					}
					if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
						t.Errorf("%s mode %v", k.Name, fi.Mode())
					}
				}
				// Rows: the target's plus the source's; misc is not copied.
				after := dump(t, pr.to)
				for _, tb := range mergetest.Tables(v) {
					if !strings.Contains(after, fmt.Sprintf("table %s: %d rows", tb, map[bool]int{true: 10, false: 5}[tb == "poet_registration"])) {
						t.Errorf("table %s rows wrong:\n%s", tb, after)
					}
				}
				if !strings.Contains(after, "table misc: 1 rows") || strings.Contains(after, markerTable) {
					t.Errorf("misc copied or marker left:\n%s", after)
				}
				leftovers(t, pr.to)
				// The backup opens and holds the target as it was.
				if got := dump(t, sum.Backup); got != dstDump {
					t.Errorf("backup differs from the target before:\n%s\nwant\n%s", got, dstDump)
				}
				if !strings.Contains(sum.String(), sum.Backup) {
					t.Error(sum.String())
				}
			})
		}
	}
}

// leftovers fails when a merge left its journal, staging or SQLite side
// files in the target.
func leftovers(t *testing.T, to string) {
	t.Helper()
	entries, _ := os.ReadDir(to)
	for _, e := range entries {
		n := e.Name()
		if n == JournalName || strings.HasPrefix(n, "postdeck-merge-staging") || strings.HasPrefix(n, ".postdeck") ||
			strings.HasSuffix(n, "-wal") || strings.HasSuffix(n, "-shm") || strings.HasSuffix(n, "-journal") {
			t.Errorf("left over in target: %s", n)
		}
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	pr := newPair(t, 9, 3, 3)
	src, dst := snapshot(t, pr.from, false), snapshot(t, pr.to, false)
	p := mustPlan(t, Options{From: pr.from, To: pr.to, NodeAddrs: []string{"127.0.0.1:1"}})
	if !p.OK() {
		t.Fatal(p.Problems)
	}
	out := p.String()
	for _, want := range []string{"s0.key", "challenge", "3  (target has 3)", "backed up"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	sameSnapshot(t, "source", src, snapshot(t, pr.from, false))
	sameSnapshot(t, "target", dst, snapshot(t, pr.to, false))
}

// refusal is one way a merge must be refused before anything is written.
type refusal struct {
	name  string
	setup func(t *testing.T, pr pair, o *Options)
	kind  string
	text  string
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func copyKey(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

func sqlExec(t *testing.T, dbPath, q string, args ...any) {
	t.Helper()
	db, err := openWritable(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

func TestRefusals(t *testing.T) {
	cases := []refusal{
		{"local.key in source", func(t *testing.T, pr pair, o *Options) {
			os.Rename(filepath.Join(pr.from, "identities", "s0.key"), filepath.Join(pr.from, "identities", "local.key"))
		}, KindLocalKey, "merging of supervised smeshing nodes is not supported: rename local.key"},
		{"local.key in target", func(t *testing.T, pr pair, o *Options) {
			os.Rename(filepath.Join(pr.to, "identities", "t0.key"), filepath.Join(pr.to, "identities", "local.key"))
		}, KindLocalKey, "target has"},
		{"name on both sides", func(t *testing.T, pr pair, o *Options) {
			k := mergetest.KeyFor("other", 0)
			writeFile(t, filepath.Join(pr.to, "identities", "s1.key"), hex.EncodeToString(k.Private))
		}, KindNameClash, "s1.key"},
		{"same key under another name on the target", func(t *testing.T, pr pair, o *Options) {
			copyKey(t, filepath.Join(pr.from, "identities", "s1.key"), filepath.Join(pr.to, "identities", "renamed.key"))
		}, KindDuplicateKey, "source s1.key and target renamed.key"},
		{"same key twice in the source", func(t *testing.T, pr pair, o *Options) {
			copyKey(t, filepath.Join(pr.from, "identities", "s1.key"), filepath.Join(pr.from, "identities", "again.key"))
		}, KindDuplicateKey, "source again.key and source s1.key"},
		{"row already in target", func(t *testing.T, pr pair, o *Options) {
			k := mergetest.KeyFor("s", 2)
			sqlExec(t, filepath.Join(pr.to, DBName), "INSERT INTO nipost SELECT ?, post_nonce, post_indices, post_pow, num_units, vrf_nonce, poet_proof_membership, poet_proof_ref, labels_per_unit FROM nipost LIMIT 1", []byte(k.Public))
		}, KindRowClash, "table nipost"},
		{"poet_registration (id, address) already in target", func(t *testing.T, pr pair, o *Options) {
			k := mergetest.KeyFor("s", 0)
			sqlExec(t, filepath.Join(pr.to, DBName), "INSERT INTO poet_registration VALUES (?, x'00', 'https://poet-111.example.org', '1', 0)", []byte(k.Public))
		}, KindRowClash, "poet_registration"},
		{"key with wrong length", func(t *testing.T, pr pair, o *Options) {
			writeFile(t, filepath.Join(pr.from, "identities", "s1.key"), "abcd")
		}, KindInvalidKey, "must be exactly 128 hex characters"},
		{"key not hex", func(t *testing.T, pr pair, o *Options) {
			writeFile(t, filepath.Join(pr.to, "identities", "t1.key"), strings.Repeat("zz", 64))
		}, KindInvalidKey, "not hex"},
		{"target key ends with a newline", func(t *testing.T, pr pair, o *Options) {
			k := mergetest.KeyFor("t", 1)
			writeFile(t, filepath.Join(pr.to, "identities", "t1.key"), hex.EncodeToString(k.Private)+"\n")
		}, KindInvalidKey, "identities/t1.key has whitespace or a newline around the hex: the node will fail to start"},
		{"key halves mismatch", func(t *testing.T, pr pair, o *Options) {
			a, b := mergetest.KeyFor("x", 0), mergetest.KeyFor("x", 1)
			writeFile(t, filepath.Join(pr.from, "identities", "s1.key"), hex.EncodeToString(a.Private[:32])+hex.EncodeToString(b.Public))
		}, KindInvalidKey, "public half does not match"},
		{"truncated source database", func(t *testing.T, pr pair, o *Options) {
			path := filepath.Join(pr.from, DBName)
			fi, _ := os.Stat(path)
			os.Truncate(path, fi.Size()-1000)
		}, KindBadDatabase, "truncated"},
		{"source database not SQLite", func(t *testing.T, pr pair, o *Options) {
			writeFile(t, filepath.Join(pr.from, DBName), strings.Repeat("not a database\n", 100))
		}, KindBadDatabase, "not an SQLite database"},
		{"empty target database", func(t *testing.T, pr pair, o *Options) {
			writeFile(t, filepath.Join(pr.to, DBName), "")
		}, KindBadDatabase, "empty (0 bytes)"},
		{"unfinished writes in source -wal", func(t *testing.T, pr pair, o *Options) {
			writeFile(t, filepath.Join(pr.from, DBName+"-wal"), "frames")
		}, KindWAL, "start and stop the source node cleanly first"},
		{"unfinished writes in target -wal", func(t *testing.T, pr pair, o *Options) {
			writeFile(t, filepath.Join(pr.to, DBName+"-wal"), "frames")
		}, KindWAL, "start and stop the target node cleanly first"},
		{"node gRPC answers", func(t *testing.T, pr pair, o *Options) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			o.NodeAddrs = []string{"127.0.0.1:1", l.Addr().String()}
		}, KindInUse, "a node is running"},
		{"process has the source database open", func(t *testing.T, pr pair, o *Options) {
			pid := holdOpen(t, filepath.Join(pr.from, DBName))
			t.Cleanup(func() {}) // the holder stops with the test
			_ = pid
		}, KindInUse, "source database is in use: process"},
		{"process has the target database open", func(t *testing.T, pr pair, o *Options) {
			holdOpen(t, filepath.Join(pr.to, DBName))
		}, KindInUse, "target database is in use"},
		{"target is a file", func(t *testing.T, pr pair, o *Options) {
			o.To = filepath.Join(pr.to, "identities", "t0.key")
		}, KindPaths, "is a file, not a folder"},
		{"target not writable (injected access error)", func(t *testing.T, pr pair, o *Options) {
			old := writable
			writable = func(path string) error {
				if path == o.To {
					return syscall.EROFS
				}
				return nil
			}
			t.Cleanup(func() { writable = old })
		}, KindReadOnly, "read-only file system"},
		{"unfinished merge journal", func(t *testing.T, pr pair, o *Options) {
			writeFile(t, filepath.Join(pr.to, JournalName), "{}")
		}, KindUnfinished, "postdeck merge --recover --to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pr := newPair(t, 9, 3, 2)
			o := Options{From: pr.from, To: pr.to}
			c.setup(t, pr, &o)
			checkRefused(t, pr, o, c.kind, c.text)
		})
	}
}

// checkRefused plans and executes, expecting the problem and no change.
func checkRefused(t *testing.T, pr pair, o Options, kind, text string) *Plan {
	t.Helper()
	src, dst := snapshot(t, pr.from, false), snapshot(t, pr.to, false)
	p := mustPlan(t, o)
	if !hasProblem(p, kind, text) {
		t.Fatalf("want a %s problem with %q, got %q", kind, text, p.Problems)
	}
	_, err := Execute(context.Background(), p, nil)
	var re *RefusedError
	if !errors.As(err, &re) || !errors.Is(err, ErrRefused) {
		t.Fatalf("Execute: %v", err)
	}
	sameSnapshot(t, "source", src, snapshot(t, pr.from, false))
	sameSnapshot(t, "target", dst, snapshot(t, pr.to, false))
	return p
}

func TestAllProblemsAtOnce(t *testing.T) {
	pr := newPair(t, 9, 3, 2)
	os.Rename(filepath.Join(pr.from, "identities", "s0.key"), filepath.Join(pr.from, "identities", "local.key"))
	copyKey(t, filepath.Join(pr.from, "identities", "s1.key"), filepath.Join(pr.to, "identities", "s1.key"))
	writeFile(t, filepath.Join(pr.to, DBName+"-wal"), "x")
	p := checkRefused(t, pr, Options{From: pr.from, To: pr.to}, KindLocalKey, "")
	for _, k := range []string{KindNameClash, KindDuplicateKey, KindWAL} {
		if !hasProblem(p, k, "") {
			t.Errorf("missing %s in %q", k, p.Problems)
		}
	}
	if !strings.Contains(p.String(), "Refused: 4 problem(s), nothing was changed") {
		t.Error(p.String())
	}
}

func TestMismatchedVersions(t *testing.T) {
	root := t.TempDir()
	pr := pair{from: filepath.Join(root, "old"), to: filepath.Join(root, "node")}
	build(t, pr.from, mergetest.Options{Version: 7, IDs: 2, Prefix: "s"})
	build(t, pr.to, mergetest.Options{Version: 9, IDs: 2, Prefix: "t"})
	checkRefused(t, pr, Options{From: pr.from, To: pr.to}, KindVersion, "source is 7 (go-spacemesh v1.4.6–v1.5.7), target is 9 (go-spacemesh v1.7)")

	old := pair{from: filepath.Join(root, "older"), to: pr.to}
	build(t, old.from, mergetest.Options{Version: 9, IDs: 1, Prefix: "o"})
	sqlExec(t, filepath.Join(old.from, DBName), "PRAGMA user_version = 4")
	checkRefused(t, old, Options{From: old.from, To: old.to}, KindVersion, "1.3.x cannot be merged")
}

// mountTmpfs mounts a tmpfs of size bytes at a new folder, or skips.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).Run(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): the injected-error tests cover this path", err)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// A real read-only file system: tests run as root, which chmod cannot stop,
// but EROFS stops root too.
func TestReadOnlyTarget(t *testing.T) {
	mnt := mountTmpfs(t, 8<<20)
	root := t.TempDir()
	pr := pair{from: filepath.Join(root, "old"), to: filepath.Join(mnt, "node")}
	build(t, pr.from, mergetest.Options{Version: 9, IDs: 2, Prefix: "s"})
	build(t, pr.to, mergetest.Options{Version: 9, IDs: 2, Prefix: "t"})
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Skipf("remount ro: %v %s", err, out)
	}
	checkRefused(t, pr, Options{From: pr.from, To: pr.to}, KindReadOnly, "read-only file system")
}

// A full disk while staging keys: a tiny tmpfs filled up right after the
// journal is written, so the first key write fails with ENOSPC.
func TestDiskFullWhileStagingKeys(t *testing.T) {
	mnt := mountTmpfs(t, 4<<20)
	root := t.TempDir()
	pr := pair{from: filepath.Join(root, "old"), to: filepath.Join(mnt, "node")}
	build(t, pr.from, mergetest.Options{Version: 9, IDs: 3, Prefix: "s"})
	build(t, pr.to, mergetest.Options{Version: 9, IDs: 2, Prefix: "t"})
	src, dst := snapshot(t, pr.from, false), snapshot(t, pr.to, false)
	p := mustPlan(t, Options{From: pr.from, To: pr.to})
	if !p.OK() {
		t.Fatal(p.Problems)
	}
	filler := filepath.Join(mnt, "filler")
	testHook = func(point string) {
		if point == "journal" {
			f, _ := os.Create(filler)
			buf := make([]byte, 64<<10)
			for {
				if _, err := f.Write(buf); err != nil {
					break
				}
			}
			f.Close()
		}
	}
	defer func() { testHook = nil }()
	_, err := Execute(context.Background(), p, nil)
	if err == nil || !strings.Contains(err.Error(), "no space left") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("want a disk-full error saying nothing changed, got %v", err)
	}
	os.Remove(filler)
	sameSnapshot(t, "target", dst, snapshot(t, pr.to, true))
	sameSnapshot(t, "source", src, snapshot(t, pr.from, false))
}

// Moving keys fails after the commit (a file appears in identities/ under a
// merged key's name): the database is restored from the backup and the keys
// moved are removed.
func TestMoveFailureRestoresBackup(t *testing.T) {
	pr := newPair(t, 8, 3, 2)
	before := dump(t, pr.to)
	dst := snapshot(t, pr.to, false)
	src := snapshot(t, pr.from, false)
	p := mustPlan(t, Options{From: pr.from, To: pr.to})
	intruder := hex.EncodeToString(mergetest.KeyFor("intruder", 0).Private)
	testHook = func(point string) {
		if point == "moved-one" {
			writeFile(t, filepath.Join(pr.to, "identities", "s1.key"), intruder)
		}
	}
	defer func() { testHook = nil }()
	_, err := Execute(context.Background(), p, nil)
	if err == nil || !strings.Contains(err.Error(), "restored from the backup") || !strings.Contains(err.Error(), "keys already moved were removed") {
		t.Fatalf("got %v", err)
	}
	os.Remove(filepath.Join(pr.to, "identities", "s1.key")) // the intruder is not ours to remove
	if got := dump(t, pr.to); got != before {
		t.Errorf("target after undo:\n%s\nwant\n%s", got, before)
	}
	// Byte-identical, not just the same rows: every file's sha256.
	sameSnapshot(t, "target", dst, snapshot(t, pr.to, true))
	leftovers(t, pr.to)
	sameSnapshot(t, "source", src, snapshot(t, pr.from, false))
	// The backup stays openable.
	backups, _ := filepath.Glob(filepath.Join(pr.to, "backup-*"))
	if len(backups) != 1 {
		t.Fatalf("backups: %v", backups)
	}
	bk, err := openReadOnly(filepath.Join(backups[0], DBName))
	if err != nil {
		t.Fatal(err)
	}
	defer bk.Close()
	if err := quickCheck(context.Background(), bk, "main"); err != nil {
		t.Errorf("backup: %v", err)
	}
}

func TestMissingTargetIsCreated(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(to string)
	}{
		{"no folder", func(string) {}},
		{"empty folder", func(to string) { os.Mkdir(to, 0o700) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			pr := pair{from: filepath.Join(root, "old"), to: filepath.Join(root, "new", "node")}
			build(t, pr.from, mergetest.Options{Version: 7, IDs: 2, Prefix: "s"})
			c.setup(pr.to)
			src := snapshot(t, pr.from, false)
			p := mustPlan(t, Options{From: pr.from, To: pr.to})
			if !p.OK() || !p.CreateDB || !p.CreateIdentities {
				t.Fatalf("%+v", p)
			}
			if !strings.Contains(p.String(), "created") {
				t.Error(p.String())
			}
			sum, err := Execute(context.Background(), p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Backup != "" || !sum.Created {
				t.Errorf("%+v", sum)
			}
			sameSnapshot(t, "source", src, snapshot(t, pr.from, false))
			// Same schema, same version, the merged rows, no misc rows.
			want := regexp.MustCompile(`table misc: 1 rows\n  [0-9a-f]+\n`).ReplaceAllString(dump(t, pr.from), "table misc: 0 rows\n")
			if got := dump(t, pr.to); got != want {
				t.Errorf("created target:\n%s\nwant\n%s", got, want)
			}
			fi, _ := os.Stat(pr.to)
			if fi.Mode().Perm() != 0o700 && c.name == "no folder" {
				t.Errorf("mode %v", fi.Mode())
			}
			h, err := checkHeader(filepath.Join(pr.to, DBName))
			if err != nil || !h.wal {
				t.Errorf("created database not in WAL mode like the source: %+v %v", h, err)
			}
			leftovers(t, pr.to)
		})
	}
}

func TestRecoverWithoutJournal(t *testing.T) {
	pr := newPair(t, 9, 1, 1)
	msg, err := Recover(pr.to)
	if err != nil || !strings.Contains(msg, "nothing to recover") {
		t.Fatal(msg, err)
	}
}

// crashPoints are the points between two writes of a merge, in order, and
// whether the rows had committed there.
var crashPoints = []struct {
	point     string
	committed bool
}{
	{"backup", false}, {"journal", false}, {"staged-one", false}, {"staged", false}, {"inserted", false},
	{"committed", true}, {"journal-committed", true}, {"moved-one", true}, {"moved", true},
	{"marker-dropped", true}, {"staging-removed", true}, {"verified", true},
}

// TestCrashAtEveryStep runs the merge in a child process that kill -9s
// itself at each point, runs Recover, and checks the target is either
// byte-identical to before or the same as a clean merge, and the source is
// byte-identical.
func TestCrashAtEveryStep(t *testing.T) {
	for _, mode := range []struct {
		version  int
		rollback bool
	}{{9, false}, {7, true}} {
		// The clean merge to compare with.
		ref := pair{from: filepath.Join(t.TempDir(), "old"), to: filepath.Join(t.TempDir(), "node")}
		buildCrashPair(t, ref, mode.version, mode.rollback)
		if _, err := Execute(context.Background(), mustPlan(t, Options{From: ref.from, To: ref.to}), nil); err != nil {
			t.Fatal(err)
		}
		merged := dump(t, ref.to)
		for _, cp := range crashPoints {
			t.Run(fmt.Sprintf("v%d/rollback=%v/%s", mode.version, mode.rollback, cp.point), func(t *testing.T) {
				root := t.TempDir()
				pr := pair{from: filepath.Join(root, "old"), to: filepath.Join(root, "node")}
				buildCrashPair(t, pr, mode.version, mode.rollback)
				src, dst := snapshot(t, pr.from, false), snapshot(t, pr.to, false)
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), "MERGE_TEST_CHILD=crash", "MERGE_FROM="+pr.from, "MERGE_TO="+pr.to, "MERGE_KILL_AT="+cp.point)
				out, err := cmd.CombinedOutput()
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
					t.Fatalf("child was not killed at %s: %v\n%s", cp.point, err, out)
				}
				if cp.point == "inserted" { // the transaction really was half-written
					w, _ := os.Stat(filepath.Join(pr.to, DBName+"-wal"))
					j, _ := os.Stat(filepath.Join(pr.to, DBName+"-journal"))
					if (w == nil || w.Size() == 0) && (j == nil || j.Size() == 0) {
						t.Error("no uncommitted pages on disk at the kill")
					}
				}
				msg, err := Recover(pr.to)
				if err != nil {
					t.Fatalf("Recover: %v", err)
				}
				t.Log(msg)
				switch {
				case cp.point == "verified" || cp.point == "backup":
					if !strings.Contains(msg, "nothing to recover") {
						t.Errorf("message: %s", msg)
					}
				case cp.committed:
					if !strings.HasPrefix(msg, "rolled forward: ") || !strings.Contains(msg, "had committed its rows, so it was finished") {
						t.Errorf("message: %s", msg)
					}
				default:
					if !strings.HasPrefix(msg, "rolled back: ") || !strings.Contains(msg, "nothing was merged") {
						t.Errorf("message: %s", msg)
					}
				}
				if cp.committed {
					if got := dump(t, pr.to); got != merged {
						t.Errorf("not fully merged after recovery:\n%s\nwant\n%s", got, merged)
					}
				} else {
					sameSnapshot(t, "target", dst, snapshot(t, pr.to, true))
				}
				leftovers(t, pr.to)
				sameSnapshot(t, "source", src, snapshot(t, pr.from, false))
				if msg, _ := Recover(pr.to); !strings.Contains(msg, "nothing to recover") {
					t.Errorf("second recovery: %s", msg)
				}
			})
		}
	}
}

// buildCrashPair makes folders big enough that the transaction spills
// pages before its commit (the child runs with a tiny page cache).
func buildCrashPair(t *testing.T, pr pair, version int, rollback bool) {
	build(t, pr.from, mergetest.Options{Version: version, IDs: 150, Prefix: "s", Rollback: rollback})
	build(t, pr.to, mergetest.Options{Version: version, IDs: 100, Prefix: "t", Rollback: rollback})
}

// A crash while merging into a new target: recovery removes what the merge
// created, or finishes it.
func TestCrashIntoNewTarget(t *testing.T) {
	for _, cp := range []string{"created-dir", "journal", "created-db", "staged", "inserted", "committed", "moved-one"} {
		t.Run(cp, func(t *testing.T) {
			root := t.TempDir()
			pr := pair{from: filepath.Join(root, "old"), to: filepath.Join(root, "node")}
			build(t, pr.from, mergetest.Options{Version: 9, IDs: 20, Prefix: "s"})
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "MERGE_TEST_CHILD=crash", "MERGE_FROM="+pr.from, "MERGE_TO="+pr.to, "MERGE_KILL_AT="+cp)
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Fatalf("child not killed: %s", out)
			}
			msg, err := Recover(pr.to)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(msg)
			if cp == "committed" || cp == "moved-one" {
				if !strings.HasPrefix(msg, "rolled forward") {
					t.Fatal(msg)
				}
				p := mustPlan(t, Options{From: pr.from, To: pr.to})
				if !hasProblem(p, KindDuplicateKey, "") { // the keys are all there now
					t.Errorf("%v", p.Problems)
				}
				return
			}
			if cp != "created-dir" && !strings.HasPrefix(msg, "rolled back") {
				t.Fatal(msg)
			}
			entries, err := os.ReadDir(pr.to)
			if err == nil && len(entries) > 0 {
				t.Errorf("target not back to empty: %v", entries)
			}
		})
	}
}

func BenchmarkMerge1000(b *testing.B) {
	for range b.N {
		b.StopTimer()
		pr := newPair(b, 9, 1000, 1000)
		b.StartTimer()
		p, err := NewPlan(context.Background(), Options{From: pr.from, To: pr.to})
		if err != nil || !p.OK() {
			b.Fatal(err, p.Problems)
		}
		if _, err := Execute(context.Background(), p, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// One node answering on several listeners is one problem naming them all.
func TestRunningNodeIsOneProblem(t *testing.T) {
	pr := newPair(t, 9, 1, 1)
	var addrs []string
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		addrs = append(addrs, l.Addr().String())
	}
	p := mustPlan(t, Options{From: pr.from, To: pr.to, NodeAddrs: append([]string{"127.0.0.1:1"}, addrs...)})
	var n int
	for _, pr := range p.Problems {
		if pr.Kind == KindInUse {
			n++
			for _, a := range addrs {
				if !strings.Contains(pr.Message, a) {
					t.Errorf("problem does not name %s: %s", a, pr.Message)
				}
			}
			if strings.Contains(pr.Message, "127.0.0.1:1 ") || strings.Contains(pr.Message, "127.0.0.1:1,") {
				t.Errorf("names a listener that did not answer: %s", pr.Message)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d in-use problems, want 1: %q", n, p.Problems)
	}
}

// A new target gets the source's tables and indexes only: a trigger made
// before the rows are copied would fire on each of them, and views are the
// node's to make.
func TestNewTargetGetsNoTriggersOrViews(t *testing.T) {
	root := t.TempDir()
	pr := pair{from: filepath.Join(root, "old"), to: filepath.Join(root, "node")}
	build(t, pr.from, mergetest.Options{Version: 9, IDs: 3, Prefix: "s"})
	src := filepath.Join(pr.from, DBName)
	sqlExec(t, src, "CREATE TRIGGER count_nipost AFTER INSERT ON nipost BEGIN INSERT INTO misc VALUES (hex(NEW.id), 'copied'); END")
	sqlExec(t, src, "CREATE VIEW nipost_ids AS SELECT id FROM nipost")
	p := mustPlan(t, Options{From: pr.from, To: pr.to})
	if !p.OK() {
		t.Fatal(p.Problems)
	}
	if _, err := Execute(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	db, err := openReadOnly(filepath.Join(pr.to, DBName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type IN ('trigger', 'view')").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d triggers/views in the new target (%v)", n, err)
	}
	if err := db.QueryRow("SELECT count(*) FROM misc").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows in misc: a trigger fired on the copied rows (%v)", n, err)
	}
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'challenge_by_epoch'").Scan(&n); err != nil || n != 1 {
		t.Errorf("index missing (%d, %v)", n, err)
	}
}

// Staging syncs each key file and the staging folder once, not once per key
// (150,000 keys took minutes of folder fsyncs).
func TestStagingSyncsFolderOnce(t *testing.T) {
	pr := newPair(t, 9, 20, 1)
	p := mustPlan(t, Options{From: pr.from, To: pr.to})
	if !p.OK() {
		t.Fatal(p.Problems)
	}
	staged := 0
	old := syncDir
	syncDir = func(dir string) error {
		if strings.HasPrefix(filepath.Base(dir), "postdeck-merge-staging-") {
			staged++
		}
		return old(dir)
	}
	defer func() { syncDir = old }()
	if _, err := Execute(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	if staged != 1 {
		t.Errorf("staging folder synced %d times for %d keys, want once", staged, len(p.Keys))
	}
	for _, k := range p.Keys {
		fi, err := os.Stat(filepath.Join(pr.to, "identities", k.Name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("key %s: %v %v", k.Name, fi, err)
		}
	}
}

// A target with identities/ but no local.sql: identities/ is still backed
// up, and the plan and summary say what was (and was not) there.
func TestBackupIdentitiesWithoutDatabase(t *testing.T) {
	pr := newPair(t, 9, 2, 2)
	os.Remove(filepath.Join(pr.to, DBName))
	keysBefore := snapshot(t, filepath.Join(pr.to, "identities"), false)
	p := mustPlan(t, Options{From: pr.from, To: pr.to})
	if !p.OK() || !p.CreateDB || p.CreateIdentities {
		t.Fatalf("%+v", p)
	}
	if s := p.String(); !strings.Contains(s, "target's identities/ is backed up into") || strings.Contains(s, DBName+" and identities/") {
		t.Errorf("plan:\n%s", s)
	}
	sum, err := Execute(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Backup == "" {
		t.Fatalf("identities/ was not backed up: %+v", sum)
	}
	sameSnapshot(t, "backed-up identities/", keysBefore, snapshot(t, filepath.Join(sum.Backup, "identities"), false))
	if _, err := os.Stat(filepath.Join(sum.Backup, DBName)); err == nil {
		t.Errorf("a %s appeared in the backup", DBName)
	}
	if s := sum.String(); !strings.Contains(s, "backup of the target's identities/ as before the merge: "+sum.Backup) {
		t.Errorf("summary:\n%s", s)
	}
}

// Execute and Recover wait for the data folder lock `keys add` takes.
func TestMergeAndRecoverTakeTheDataFolderLock(t *testing.T) {
	pr := newPair(t, 9, 2, 2)
	p := mustPlan(t, Options{From: pr.from, To: pr.to})
	if !p.OK() {
		t.Fatal(p.Problems)
	}
	for _, c := range []struct {
		name string
		run  func() error
	}{
		{"merge", func() error { _, err := Execute(context.Background(), p, nil); return err }},
		{"recover", func() error { _, err := Recover(pr.to); return err }},
	} {
		unlock, err := safefile.LockDataFolder(pr.to)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.run() }()
		select {
		case err := <-done:
			unlock()
			t.Fatalf("%s ran while another postdeck held the data folder lock (%v)", c.name, err)
		case <-time.After(300 * time.Millisecond):
		}
		unlock()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not run after the lock was released", c.name)
		}
	}
}

// A failure writing the journal removes the backup just made.
func TestJournalFailureRemovesBackup(t *testing.T) {
	pr := newPair(t, 9, 2, 2)
	dst := snapshot(t, pr.to, false)
	p := mustPlan(t, Options{From: pr.from, To: pr.to})
	testHook = func(point string) {
		if point == "backup" {
			os.Mkdir(journalPath(pr.to), 0o700) // the journal cannot be written
		}
	}
	defer func() { testHook = nil }()
	_, err := Execute(context.Background(), p, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot write the merge journal, nothing was changed") {
		t.Fatalf("got %v", err)
	}
	os.Remove(journalPath(pr.to))
	sameSnapshot(t, "target", dst, snapshot(t, pr.to, false))
}

// After the commit only a tiny phase file is written: the journal, which
// lists every key, is written once before anything changes.
func TestJournalNotRewrittenAfterCommit(t *testing.T) {
	pr := newPair(t, 9, 5, 1)
	p := mustPlan(t, Options{From: pr.from, To: pr.to})
	var atStart, afterCommit []byte
	var phase string
	testHook = func(point string) {
		switch point {
		case "journal":
			atStart, _ = os.ReadFile(journalPath(pr.to))
		case "journal-committed":
			afterCommit, _ = os.ReadFile(journalPath(pr.to))
			m, _ := filepath.Glob(filepath.Join(pr.to, ".postdeck-merge-*.phase"))
			for _, f := range m {
				b, _ := os.ReadFile(f)
				phase = string(b)
			}
		}
	}
	defer func() { testHook = nil }()
	if _, err := Execute(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	if len(atStart) == 0 || string(atStart) != string(afterCommit) {
		t.Errorf("journal rewritten after the commit:\n%s\n->\n%s", atStart, afterCommit)
	}
	if phase != phaseCommitted {
		t.Errorf("phase file holds %q after the commit", phase)
	}
	leftovers(t, pr.to)
}

// The space check counts the staged keys, the journal and the -wal of the
// copied rows, in the file system's blocks: a disk with room for the two
// databases and a megabyte is not enough for a merge of 300 keys.
func TestSpaceCheckCountsKeysJournalAndWAL(t *testing.T) {
	pr := newPair(t, 9, 300, 2)
	var dbs int64
	for _, path := range []string{filepath.Join(pr.from, DBName), filepath.Join(pr.to, DBName)} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		dbs += fi.Size()
	}
	setFree := func(free int64) {
		statfs = func(path string, st *syscall.Statfs_t) error {
			st.Bsize = 4096
			st.Bavail = uint64(free / 4096)
			return nil
		}
	}
	defer func() { statfs = syscall.Statfs }()
	setFree(dbs + 1<<20 + 64<<10) // what the old check asked for, and a bit
	p := mustPlan(t, Options{From: pr.from, To: pr.to})
	if !hasProblem(p, KindSpace, "300 staged key(s) 1.2") {
		t.Fatalf("want a disk-space problem counting the staged keys, got %q", p.Problems)
	}
	for _, s := range []string{"journal", "copied rows with their -wal", "backup"} {
		if !hasProblem(p, KindSpace, s) {
			t.Errorf("problem does not mention %s: %q", s, p.Problems)
		}
	}
	setFree(1 << 40)
	if p := mustPlan(t, Options{From: pr.from, To: pr.to}); !p.OK() {
		t.Errorf("refused with plenty of space: %q", p.Problems)
	}
}

// Recovery on a full disk says how much to free and where, then works once
// that is done.
func TestRecoverOnFullDisk(t *testing.T) {
	for _, point := range []string{"committed", "moved-one"} {
		t.Run(point, func(t *testing.T) {
			mnt := mountTmpfs(t, 8<<20)
			root := t.TempDir()
			pr := pair{from: filepath.Join(root, "old"), to: filepath.Join(mnt, "node")}
			build(t, pr.from, mergetest.Options{Version: 9, IDs: 50, Prefix: "s"})
			build(t, pr.to, mergetest.Options{Version: 9, IDs: 2, Prefix: "t"})
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "MERGE_TEST_CHILD=crash", "MERGE_FROM="+pr.from, "MERGE_TO="+pr.to, "MERGE_KILL_AT="+point)
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Fatalf("child not killed: %s", out)
			}
			filler := filepath.Join(mnt, "filler")
			f, _ := os.Create(filler)
			buf := make([]byte, 4096)
			for {
				if _, err := f.Write(buf); err != nil {
					break
				}
			}
			f.Close()
			_, err := Recover(pr.to)
			want := regexp.MustCompile(`free \d+ bytes \([^)]*\) on ` + regexp.QuoteMeta(mnt) + `, then run ` + "`" + `postdeck merge --recover --to ` + regexp.QuoteMeta(pr.to) + "` again")
			if err == nil || !want.MatchString(err.Error()) {
				t.Fatalf("want a message saying what to free, got %v", err)
			}
			os.Remove(filler)
			msg, err := Recover(pr.to)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(msg, "rolled forward") {
				t.Error(msg)
			}
			sum := dump(t, pr.to)
			if !strings.Contains(sum, "key s49.key") || strings.Contains(sum, markerTable) {
				t.Errorf("not fully merged:\n%s", sum)
			}
			leftovers(t, pr.to)
		})
	}
}
