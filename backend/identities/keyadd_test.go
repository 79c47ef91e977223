package identities

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"postdeck/backend/testkit"
	"postdeck/model"
	"postdeck/safefile"
)

// akWorld is a node data folder with an identities/ folder and a PoST dir
// "data3" whose identity.key holds content (for identity seed 3).
type akWorld struct {
	data, ids, post string
	hex             string // the good key of data3
	pub             []byte
}

func akNewWorld(t *testing.T, content func(good string) string) akWorld {
	t.Helper()
	root := t.TempDir()
	w := akWorld{data: filepath.Join(root, "node_data"), post: filepath.Join(root, "disk3", "data3")}
	w.ids = filepath.Join(w.data, "identities")
	if err := os.MkdirAll(w.ids, 0o700); err != nil {
		t.Fatal(err)
	}
	w.hex, w.pub = testkit.IdentityKey(3)
	testkit.PostDir(t, w.post, w.pub)
	c := w.hex
	if content != nil {
		c = content(w.hex)
	}
	testkit.WriteFile(t, filepath.Join(w.post, IdentityKeyFile), c)
	return w
}

func (w akWorld) opts() AddKeyOptions { return AddKeyOptions{DataFolder: w.data, PostDir: w.post} }

// akSnapshot is every file under dir with its mode and content.
func akSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		snap[strings.TrimPrefix(p, dir)] = v
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func akSame(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("%s changed:\nbefore %v\nafter  %v", what, before, after)
	}
}

// akCheckWritten checks the key file holds exactly the lower-case hex, no
// newline, mode 0600, and that no temp file was left beside it.
func akCheckWritten(t *testing.T, path, wantHex string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != wantHex || len(b) != 128 {
		t.Errorf("%s holds %q, want exactly the 128 lower-case hex characters", path, b)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %v, want 0600", path, fi.Mode().Perm())
	}
	testkit.NoTempFiles(t, filepath.Dir(path))
}

func TestAddKeySourceRules(t *testing.T) {
	otherHex, _ := testkit.IdentityKey(9)
	cases := []struct {
		name    string
		content func(good string) string
		wantErr []string
		note    string
	}{
		{"clean", func(g string) string { return g }, nil, ""},
		{"trailing newline", func(g string) string { return g + "\n" }, nil, "newline"},
		{"crlf", func(g string) string { return g + "\r\n" }, nil, "CRLF"},
		{"upper case", strings.ToUpper, nil, "upper-case"},
		{"127 chars", func(g string) string { return g[:127] }, []string{"exactly 128 hex characters, found 127"}, ""},
		{"129 chars", func(g string) string { return g + "a" }, []string{"exactly 128 hex characters, found 129"}, ""},
		{"non hex", func(g string) string { return "zz" + g[2:] }, []string{"not hex"}, ""},
		{"mismatched halves", func(g string) string { return g[:64] + otherHex[64:] }, []string{"public half does not match the seed"}, ""},
		{"huge", func(g string) string { return strings.Repeat(g, 100) }, []string{"larger than"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := akNewWorld(t, c.content)
			before := akSnapshot(t, w.ids)
			p, err := PlanAddKey(w.opts())
			if c.wantErr != nil {
				testkit.WantErr(t, err, append(c.wantErr, filepath.Join(w.post, IdentityKeyFile))...)
				akSame(t, "identities/", before, akSnapshot(t, w.ids))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.note != "" && !strings.Contains(strings.Join(p.Notes, "\n"), c.note) {
				t.Errorf("notes %q do not mention %q", p.Notes, c.note)
			}
			if p.Options.Name != "data3.key" || p.Target != filepath.Join(w.ids, "data3.key") {
				t.Errorf("name %q target %q, want data3.key after the PoST dir", p.Options.Name, p.Target)
			}
			if _, err := os.Stat(p.Target); err == nil {
				t.Fatal("planning wrote the key")
			}
			srcBefore, _ := os.ReadFile(p.Source)
			res, err := ApplyAddKey(p)
			if err != nil {
				t.Fatal(err)
			}
			akCheckWritten(t, res.Path, w.hex)
			if !bytes.Equal(res.Public, w.pub) {
				t.Errorf("result identity %x, want %x", res.Public, w.pub)
			}
			if src, err := os.ReadFile(p.Source); err != nil || !bytes.Equal(src, srcBefore) || res.Backup != "" {
				t.Errorf("original identity.key not kept as it was (err %v, backup %q)", err, res.Backup)
			}
		})
	}
}

func TestAddKeyMetadataMustMatch(t *testing.T) {
	w := akNewWorld(t, nil)
	_, other := testkit.IdentityKey(5)
	testkit.PostDir(t, w.post, other)
	_, err := PlanAddKey(w.opts())
	testkit.WantErr(t, err, "identity.key in "+w.post+" is for identity "+hex.EncodeToString(w.pub)[:16],
		"belongs to "+hex.EncodeToString(other)[:16])

	os.Remove(filepath.Join(w.post, model.MetadataFile))
	_, err = PlanAddKey(w.opts())
	testkit.WantErr(t, err, "no postdata_metadata.json in "+w.post)
}

func TestAddKeyMissingSource(t *testing.T) {
	w := akNewWorld(t, nil)
	os.Remove(filepath.Join(w.post, IdentityKeyFile))
	_, err := PlanAddKey(w.opts())
	testkit.WantErr(t, err, "no identity.key in "+w.post, "postcli")

	testkit.WriteFile(t, filepath.Join(w.post, "identity.key.bak-20240101-000000"), w.hex)
	_, err = PlanAddKey(w.opts())
	testkit.WantErr(t, err, "identity.key.bak-20240101-000000", "keys list")

	_, err = PlanAddKey(AddKeyOptions{DataFolder: w.data, PostDir: filepath.Join(w.post, "nope")})
	testkit.WantErr(t, err, "does not exist")
}

func TestAddKeyNameRules(t *testing.T) {
	w := akNewWorld(t, nil)
	for name, want := range map[string]string{
		"data3.KEY":     `lower-case .key; use "data3.key"`,
		"data3.key.txt": "ending in .key",
		"sub/data3.key": "plain file name",
		"../data3.key":  "plain file name",
		".data3.key":    "must not start with a dot",
		"da\nta3.key":   "control characters",
	} {
		o := w.opts()
		o.Name = name
		_, err := PlanAddKey(o)
		testkit.WantErr(t, err, want)
	}
	// A name without any extension gets .key, as in `keys add DIR --name data3`.
	o := w.opts()
	o.Name = "data3"
	if p, err := PlanAddKey(o); err != nil || p.Target != filepath.Join(w.ids, "data3.key") {
		t.Errorf("--name data3: %v %v, want data3.key", p, err)
	}
	o = w.opts()
	o.Name = "my disk 3.key"
	p, err := PlanAddKey(o)
	if err != nil {
		t.Fatal(err)
	}
	if p.Target != filepath.Join(w.ids, "my disk 3.key") {
		t.Errorf("target %s", p.Target)
	}
	// Trailing slash on the PoST dir: the default name is still its base name.
	o = AddKeyOptions{DataFolder: w.data, PostDir: w.post + "/"}
	if p, err := PlanAddKey(o); err != nil || p.Options.Name != "data3.key" {
		t.Errorf("default name %v %v, want data3.key", p, err)
	}
	if _, err := PlanAddKey(AddKeyOptions{PostDir: w.post}); err == nil || !strings.Contains(err.Error(), "data_folder") {
		t.Errorf("no data folder: %v", err)
	}
}

func TestAddKeyNameTaken(t *testing.T) {
	w := akNewWorld(t, nil)
	otherHex, _ := testkit.IdentityKey(4)
	testkit.WriteFile(t, filepath.Join(w.ids, "data3.key"), otherHex)
	before := akSnapshot(t, w.ids)
	_, err := PlanAddKey(w.opts())
	testkit.WantErr(t, err, filepath.Join(w.ids, "data3.key")+" already exists", "--name")
	akSame(t, "identities/", before, akSnapshot(t, w.ids))
}

func TestAddKeySameIdentityUnderAnotherName(t *testing.T) {
	for name, content := range map[string]func(string) string{
		"same bytes": func(g string) string { return g },
		"upper case": strings.ToUpper,
		"newline":    func(g string) string { return g + "\n" },
	} {
		t.Run(name, func(t *testing.T) {
			w := akNewWorld(t, nil)
			testkit.WriteFile(t, filepath.Join(w.ids, "old-name.key"), content(w.hex))
			_, err := PlanAddKey(w.opts())
			testkit.WantErr(t, err, "already in "+w.ids+" as old-name.key", "nothing to add")
			// Also when the user picks that very name.
			o := w.opts()
			o.Name = "old-name.key"
			_, err = PlanAddKey(o)
			testkit.WantErr(t, err, "as old-name.key")
		})
	}
}

func TestAddKeyLocalKey(t *testing.T) {
	t.Run("beside an existing local.key", func(t *testing.T) {
		w := akNewWorld(t, nil)
		localHex, _ := testkit.IdentityKey(1)
		testkit.WriteFile(t, filepath.Join(w.ids, model.LocalKeyName), localHex)
		_, err := PlanAddKey(w.opts())
		testkit.WantErr(t, err, "rename local.key to a descriptive name first")
	})
	t.Run("named local.key beside others", func(t *testing.T) {
		w := akNewWorld(t, nil)
		otherHex, _ := testkit.IdentityKey(1)
		testkit.WriteFile(t, filepath.Join(w.ids, "post1.key"), otherHex)
		o := w.opts()
		o.Name = model.LocalKeyName
		_, err := PlanAddKey(o)
		testkit.WantErr(t, err, "local.key beside other keys", "data3.key")
	})
	t.Run("named local.key alone", func(t *testing.T) {
		w := akNewWorld(t, nil)
		o := w.opts()
		o.Name = model.LocalKeyName
		p, err := PlanAddKey(o)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(p.Warnings, "\n"), "supervised single-identity") {
			t.Errorf("warnings %q do not explain local.key", p.Warnings)
		}
	})
}

func TestAddKeyCreatesIdentitiesFolder(t *testing.T) {
	w := akNewWorld(t, nil)
	os.Remove(w.ids)
	p, err := PlanAddKey(w.opts())
	if err != nil {
		t.Fatal(err)
	}
	if !p.CreateDir || !strings.Contains(p.String(), "create "+w.ids+" (mode 0700)") {
		t.Errorf("plan does not say it creates identities/:\n%s", p)
	}
	if _, err := os.Stat(w.ids); err == nil {
		t.Fatal("planning created identities/")
	}
	res, err := ApplyAddKey(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(w.ids)
	if err != nil || fi.Mode().Perm() != 0o700 || !res.CreatedDir {
		t.Fatalf("identities/ %v %v, want created 0700", fi, err)
	}
	akCheckWritten(t, res.Path, w.hex)

	// A data folder that does not exist is a typo, not something to create.
	_, err = PlanAddKey(AddKeyOptions{DataFolder: filepath.Join(w.data, "typo"), PostDir: w.post})
	testkit.WantErr(t, err, "typo", "data_folder")
}

func TestAddKeyPlanSaysWhatHappens(t *testing.T) {
	w := akNewWorld(t, nil)
	p, err := PlanAddKey(w.opts())
	if err != nil {
		t.Fatal(err)
	}
	s := p.String()
	for _, want := range []string{p.Target, "mode 0600", "no newline", "keep " + p.Source, "restart the node", "equivocation", "banned", hex.EncodeToString(w.pub)} {
		if !strings.Contains(s, want) {
			t.Errorf("plan does not say %q:\n%s", want, s)
		}
	}
	// The warnings say they are warnings as a value: a screen colours them
	// without reading the words.
	var warned []string
	for _, l := range p.Lines() {
		if l.Kind == PlanWarning {
			warned = append(warned, l.Text)
		}
	}
	if len(warned) != len(p.Warnings) || !strings.Contains(strings.Join(warned, "\n"), "restart the node") {
		t.Errorf("warning lines %q, want one per warning (%d)", warned, len(p.Warnings))
	}
	o := w.opts()
	o.Move = true
	p, err = PlanAddKey(o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Backup, p.Source+".bak-") || !strings.Contains(p.String(), "kept as a backup, never deleted") {
		t.Errorf("move plan: backup %q\n%s", p.Backup, p)
	}
}

func TestAddKeyMoveKeepsBackup(t *testing.T) {
	w := akNewWorld(t, func(g string) string { return strings.ToUpper(g) + "\n" })
	orig, _ := os.ReadFile(filepath.Join(w.post, IdentityKeyFile))
	o := w.opts()
	o.Move = true
	p, err := PlanAddKey(o)
	if err != nil {
		t.Fatal(err)
	}
	// A backup of that name exists already (an earlier move this second):
	// it is not replaced.
	testkit.WriteFile(t, p.Backup, "earlier backup")
	res, err := ApplyAddKey(p)
	if err != nil {
		t.Fatal(err)
	}
	akCheckWritten(t, res.Path, w.hex)
	if _, err := os.Stat(p.Source); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("identity.key still in place after --move: %v", err)
	}
	if res.Backup == "" || res.Backup == p.Backup {
		t.Fatalf("backup %q: want a free name beside %q", res.Backup, p.Backup)
	}
	if b, _ := os.ReadFile(res.Backup); !bytes.Equal(b, orig) {
		t.Errorf("backup holds %q, want the original bytes %q", b, orig)
	}
	if b, _ := os.ReadFile(p.Backup); string(b) != "earlier backup" {
		t.Errorf("earlier backup replaced: %q", b)
	}
}

func TestAddKeyRechecksAtApply(t *testing.T) {
	t.Run("name taken meanwhile", func(t *testing.T) {
		w := akNewWorld(t, nil)
		p, err := PlanAddKey(w.opts())
		if err != nil {
			t.Fatal(err)
		}
		otherHex, _ := testkit.IdentityKey(6)
		testkit.WriteFile(t, p.Target, otherHex)
		before := akSnapshot(t, w.ids)
		_, err = ApplyAddKey(p)
		testkit.WantErr(t, err, "changed since the plan", "already exists")
		akSame(t, "identities/", before, akSnapshot(t, w.ids))
	})
	t.Run("identity added under another name meanwhile", func(t *testing.T) {
		w := akNewWorld(t, nil)
		p, err := PlanAddKey(w.opts())
		if err != nil {
			t.Fatal(err)
		}
		testkit.WriteFile(t, filepath.Join(w.ids, "copied-by-hand.key"), w.hex)
		_, err = ApplyAddKey(p)
		testkit.WantErr(t, err, "copied-by-hand.key")
		if _, err := os.Stat(p.Target); err == nil {
			t.Error("key written beside its duplicate")
		}
	})
	t.Run("identity.key replaced meanwhile", func(t *testing.T) {
		w := akNewWorld(t, nil)
		p, err := PlanAddKey(w.opts())
		if err != nil {
			t.Fatal(err)
		}
		// Another key whose data sits there too (the user re-ran postcli).
		otherHex, otherPub := testkit.IdentityKey(8)
		testkit.WriteFile(t, p.Source, otherHex)
		testkit.PostDir(t, w.post, otherPub)
		_, err = ApplyAddKey(p)
		testkit.WantErr(t, err, "changed since the plan")
		if _, err := os.Stat(p.Target); err == nil {
			t.Error("key written after its source changed")
		}
	})
}

func TestAddKeyWriteFailureLeavesIdentitiesAsBefore(t *testing.T) {
	defer func(f func(string, []byte) error) { writeKeyFile = f }(writeKeyFile)
	writeKeyFile = func(path string, data []byte) error {
		// The real write, into a folder where the final step fails: write
		// the temp file and stop, as a crash between the steps would.
		tmp, err := safefile.WriteTemp(filepath.Dir(path), filepath.Base(path), data[:10], 0o600)
		if err == nil {
			os.Remove(tmp)
		}
		return fmt.Errorf("cannot write %s: no space left on device", path)
	}
	w := akNewWorld(t, nil)
	otherHex, _ := testkit.IdentityKey(2)
	testkit.WriteFile(t, filepath.Join(w.ids, "post2.key"), otherHex)
	before := akSnapshot(t, w.ids)
	p, err := PlanAddKey(w.opts())
	if err != nil {
		t.Fatal(err)
	}
	_, err = ApplyAddKey(p)
	testkit.WantErr(t, err, "not added", "unchanged", "no space left")
	akSame(t, "identities/", before, akSnapshot(t, w.ids))
	if _, err := os.Stat(p.Source); err != nil {
		t.Error("original gone after a failed add")
	}

	// A folder the add created is removed again.
	w = akNewWorld(t, nil)
	os.Remove(w.ids)
	o := w.opts()
	o.Move = true
	p, err = PlanAddKey(o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ApplyAddKey(p)
	testkit.WantErr(t, err, "not added")
	if _, err := os.Stat(w.ids); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("identities/ left behind after a failed add: %v", err)
	}
	if _, err := os.Stat(p.Source); err != nil {
		t.Error("original moved although the add failed")
	}
}

// TestAddKeyFullDisk runs the add in a child process whose file size limit
// (RLIMIT_FSIZE, 64 bytes) makes the 128-byte key write fail with EFBIG, as a
// full disk would; tests run as root, so a read-only mode would not stop it.
func TestAddKeyFullDisk(t *testing.T) {
	w := akNewWorld(t, nil)
	otherHex, _ := testkit.IdentityKey(2)
	testkit.WriteFile(t, filepath.Join(w.ids, "post2.key"), otherHex)
	before := akSnapshot(t, w.ids)
	postBefore := akSnapshot(t, w.post)
	cmd := exec.Command(os.Args[0], "-test.run=^TestAddKeyFullDiskChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "AK_CHILD_DATA="+w.data, "AK_CHILD_POST="+w.post)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "AK_CHILD_ERR") {
		t.Fatalf("child did not fail as expected: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "file too large") || !strings.Contains(string(out), "unchanged") {
		t.Errorf("child's error does not say the write failed and nothing changed:\n%s", out)
	}
	t.Logf("child: %s", out)
	akSame(t, "identities/", before, akSnapshot(t, w.ids))
	akSame(t, "PoST dir", postBefore, akSnapshot(t, w.post))
}

func TestAddKeyFullDiskChild(t *testing.T) {
	data, post := os.Getenv("AK_CHILD_DATA"), os.Getenv("AK_CHILD_POST")
	if data == "" {
		t.Skip("helper for TestAddKeyFullDisk")
	}
	p, err := PlanAddKey(AddKeyOptions{DataFolder: data, PostDir: post, Move: true})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = 64
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	_, err = ApplyAddKey(p)
	if err != nil {
		t.Fatalf("AK_CHILD_ERR %v", err)
	}
}

func TestAddKeyFollowsFolderOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	w := akNewWorld(t, nil)
	if err := os.Chown(w.ids, 1234, 1235); err != nil {
		t.Fatal(err)
	}
	p, err := PlanAddKey(w.opts())
	if err != nil {
		t.Fatal(err)
	}
	res, err := ApplyAddKey(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(res.Path)
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1234 || st.Gid != 1235 {
		t.Errorf("key owned by %d:%d, want the folder's 1234:1235 so the node can read it", st.Uid, st.Gid)
	}
	if len(res.Warnings) > 0 {
		t.Errorf("warnings %q", res.Warnings)
	}
}

func TestAddKeyNeverOverwritesAtTheLastMoment(t *testing.T) {
	// The name appears between the re-check and the write: the atomic
	// no-replace write refuses, the file stays as it was.
	defer func(f func(string, []byte) error) { writeKeyFile = f }(writeKeyFile)
	w := akNewWorld(t, nil)
	otherHex, _ := testkit.IdentityKey(6)
	writeKeyFile = func(path string, data []byte) error {
		testkit.WriteFile(t, path, otherHex)
		return safefile.WriteAtomic(path, data, 0o600, false)
	}
	p, err := PlanAddKey(w.opts())
	if err != nil {
		t.Fatal(err)
	}
	_, err = ApplyAddKey(p)
	testkit.WantErr(t, err, "appeared meanwhile", "not replaced")
	if b, _ := os.ReadFile(p.Target); string(b) != otherHex {
		t.Errorf("file that appeared was replaced: %q", b)
	}
	testkit.NoTempFiles(t, w.ids)
	names := []string{}
	entries, _ := os.ReadDir(w.ids)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "data3.key" {
		t.Errorf("identities/ holds %v", names)
	}
}

func TestAddKeyConcurrentAddsOfOneIdentity(t *testing.T) {
	// Two adds of the same key under two names, planned before either ran:
	// exactly one lands, the other is refused naming it.
	w := akNewWorld(t, nil)
	o1, o2 := w.opts(), w.opts()
	o1.Name, o2.Name = "one.key", "two.key"
	p1, err := PlanAddKey(o1)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := PlanAddKey(o2)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for _, p := range []*AddKeyPlan{p1, p2} {
		go func() { _, err := ApplyAddKey(p); errs <- err }()
	}
	var failed []error
	for range 2 {
		if err := <-errs; err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0].Error(), "already in") {
		t.Fatalf("errors %v, want exactly one refusal", failed)
	}
	keys, _ := ReadKeyDir(w.data)
	if len(keys) != 1 {
		t.Errorf("identities/ holds %d keys, want 1", len(keys))
	}
}
