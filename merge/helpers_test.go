package merge

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"postdeck/merge/mergetest"
)

// TestMain lets the test binary act as a child process: a merge that kills
// itself at a given point, or a process holding a database open.
func TestMain(m *testing.M) {
	switch os.Getenv("MERGE_TEST_CHILD") {
	case "crash":
		os.Exit(childCrash())
	case "hold":
		os.Exit(childHold())
	}
	os.Exit(m.Run())
}

// childCrash runs a merge from MERGE_FROM into MERGE_TO and kill -9s
// itself at MERGE_KILL_AT.
func childCrash() int {
	at := os.Getenv("MERGE_KILL_AT")
	testPragmas = "&_pragma=cache_size(8)"
	testHook = func(p string) {
		if p == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	ctx := context.Background()
	p, err := NewPlan(ctx, Options{From: os.Getenv("MERGE_FROM"), To: os.Getenv("MERGE_TO")})
	if err != nil || !p.OK() {
		fmt.Fprintln(os.Stderr, "plan:", err, p)
		return 3
	}
	if _, err := Execute(ctx, p, nil); err != nil {
		fmt.Fprintln(os.Stderr, "execute:", err)
		return 4
	}
	return 0
}

// childHold opens MERGE_HOLD, says "ready" and waits for stdin to close.
func childHold() int {
	f, err := os.Open(os.Getenv("MERGE_HOLD"))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	defer f.Close()
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}

// holdOpen starts a child process holding path open until the test ends.
func holdOpen(t *testing.T, path string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "MERGE_TEST_CHILD=hold", "MERGE_HOLD="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("holder: %q", line)
	}
	return cmd.Process.Pid
}

type pair struct{ from, to string }

// newPair builds a source node (keys s0…) and a target node (keys t0…).
func newPair(t testing.TB, version, nSrc, nDst int) pair {
	t.Helper()
	root := t.TempDir()
	p := pair{from: filepath.Join(root, "old"), to: filepath.Join(root, "node")}
	build(t, p.from, mergetest.Options{Version: version, IDs: nSrc, Prefix: "s"})
	build(t, p.to, mergetest.Options{Version: version, IDs: nDst, Prefix: "t"})
	return p
}

func build(t testing.TB, dir string, o mergetest.Options) []mergetest.Key {
	t.Helper()
	keys, err := mergetest.Build(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// snapshot hashes every file and lists every folder under dir (modes too);
// top-level backup-* folders are left out when skipBackups.
func snapshot(t testing.TB, dir string, skipBackups bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if skipBackups && d.IsDir() && strings.HasPrefix(rel, "backup-") && !strings.Contains(rel, "/") {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[rel] = "dir " + fi.Mode().String()
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[rel] = fi.Mode().String() + " " + hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSnapshot(t testing.TB, what string, before, after map[string]string) {
	t.Helper()
	var diffs []string
	for k, v := range before {
		if after[k] != v {
			diffs = append(diffs, fmt.Sprintf("%s: %q -> %q", k, v, after[k]))
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: new (%s)", k, v))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s changed:\n  %s", what, strings.Join(diffs, "\n  "))
	}
}

// dump is a node folder's content for logical comparison: every row of
// every table (sorted), the schema version and the key files.
func dump(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	db, err := openReadOnly(filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := userVersion(context.Background(), db, "main")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "user_version %d\n", v)
	rows, err := db.Query("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var typ, name, s string
		rows.Scan(&typ, &name, &s)
		fmt.Fprintf(&b, "%s %s: %s\n", typ, name, s)
		if typ == "table" {
			tables = append(tables, name)
		}
	}
	rows.Close()
	for _, tb := range tables {
		lines := tableRows(t, db, tb)
		sort.Strings(lines)
		fmt.Fprintf(&b, "table %s: %d rows\n", tb, len(lines))
		for _, l := range lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "identities"))
	for _, e := range entries {
		fi, _ := e.Info()
		c, _ := os.ReadFile(filepath.Join(dir, "identities", e.Name()))
		fmt.Fprintf(&b, "key %s %s %s\n", e.Name(), fi.Mode(), c)
	}
	return b.String()
}

func tableRows(t testing.TB, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query("SELECT * FROM " + quoteIdent(table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(fmt.Sprintf("%#v", vals)))
		out = append(out, hex.EncodeToString(sum[:8]))
	}
	return out
}

func mustPlan(t testing.TB, o Options) *Plan {
	t.Helper()
	p, err := NewPlan(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func hasProblem(p *Plan, kind, substr string) bool {
	for _, pr := range p.Problems {
		if pr.Kind == kind && strings.Contains(pr.Message, substr) {
			return true
		}
	}
	return false
}
