package identities

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"postdeck/model"
	"postdeck/safefile"
)

// IdentityKeyFile is the name postcli gives the key it writes into a PoST
// data directory.
const IdentityKeyFile = "identity.key"

// maxKeyFileRead bounds how much of a key file is read: a real one is 128
// bytes, anything much larger is not a key and need not be read whole.
const maxKeyFileRead = 4096

// AddKeyOptions says which key to add to which node.
type AddKeyOptions struct {
	DataFolder string // the node's data folder (holds identities/)
	PostDir    string // the PoST data directory holding identity.key
	// Name is the file name in identities/; default: the base name of
	// PostDir + ".key".
	Name string
	// Move renames <PostDir>/identity.key to identity.key.bak-<timestamp>
	// after the copy is in place (a backup, never deleted). Without it the
	// original is left as it is.
	Move bool
}

// AddKeyPlan is what ApplyAddKey will do, worked out and checked without
// changing anything. Steps and Warnings say it in words for the user.
type AddKeyPlan struct {
	Options   AddKeyOptions // Name filled in
	Source    string        // <PostDir>/identity.key
	Target    string        // <DataFolder>/identities/<Name>
	Public    []byte        // the identity (ed25519 public key)
	PublicHex string
	// CreateDir: identities/ does not exist yet and will be created 0700.
	CreateDir bool
	// Backup is where the original goes when Options.Move ("" otherwise).
	Backup string
	// Notes are facts about the source worth knowing (a newline that will
	// not be copied, upper-case hex written lower-case, a folder created).
	Notes []string
	// Steps says what ApplyAddKey will do, in order.
	Steps []string
	// Warnings are risks that do not stop the add: the restart it needs,
	// equivocation, other broken key files in identities/.
	Warnings []string

	clean []byte // the key as it will be written: 128 lower-case hex characters
}

// AddKeyResult is what ApplyAddKey did.
type AddKeyResult struct {
	Path       string // the key file written
	Public     []byte
	PublicHex  string
	CreatedDir bool   // identities/ was created
	Backup     string // where the original identity.key went ("" when kept in place)
	// Warnings are things that went wrong after the key was safely in place
	// (the original could not be moved, say): the key is added regardless.
	Warnings []string
}

// RestartReminder is what a user must do after adding a key.
const RestartReminder = "restart the node to load the key: it reads identities/ only when it starts"

// EquivocationWarning is the rule no operator may break.
const EquivocationWarning = "never run this identity on another node at the same time: " +
	"that is equivocation and gets the identity banned for good; if another node has this key, " +
	"stop it and remove the key there before restarting this node"

// PlanAddKey reads and checks everything ApplyAddKey needs and says what it
// will do. It changes nothing. An error is a refusal that says why and what
// to do.
func PlanAddKey(o AddKeyOptions) (*AddKeyPlan, error) {
	if o.PostDir == "" {
		return nil, errors.New("no PoST data directory given: name the folder postcli initialized (it holds identity.key and postdata_metadata.json)")
	}
	if o.DataFolder == "" {
		return nil, errors.New("no node data folder given: set data_folder in [node] of the config, or pass --data-folder")
	}
	o.PostDir = filepath.Clean(o.PostDir)
	o.DataFolder = filepath.Clean(o.DataFolder)
	if o.Name == "" {
		base := filepath.Base(o.PostDir)
		if base == "." || base == string(filepath.Separator) || base == ".." {
			return nil, fmt.Errorf("cannot name the key after %s: give a name such as data3.key", o.PostDir)
		}
		o.Name = base + ".key"
	}
	if filepath.Ext(o.Name) == "" {
		// "--name data3" means data3.key: the node needs the suffix anyway.
		o.Name += ".key"
	}
	if err := model.CheckKeyName(o.Name); err != nil {
		return nil, err
	}
	p := &AddKeyPlan{
		Options: o,
		Source:  filepath.Join(o.PostDir, IdentityKeyFile),
		Target:  filepath.Join(o.DataFolder, "identities", o.Name),
	}
	key, raw, err := readSourceKey(p.Source)
	if err != nil {
		return nil, err
	}
	p.Public = []byte(key.Public)
	p.PublicHex = hex.EncodeToString(p.Public)
	p.clean = []byte(hex.EncodeToString(key.Private))
	p.Notes = append(p.Notes, sourceNotes(raw)...)
	if err := checkKeyMatchesData(o.PostDir, p.Public); err != nil {
		return nil, err
	}
	if err := p.checkIdentities(); err != nil {
		return nil, err
	}
	if o.Move {
		p.Backup = p.Source + ".bak-" + time.Now().UTC().Format("20060102-150405")
	}
	p.describe()
	return p, nil
}

// readSourceKey reads and validates identity.key, naming the rule it breaks.
func readSourceKey(path string) (model.Key, []byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return model.Key{}, nil, missingSourceError(path)
	}
	if err != nil {
		return model.Key{}, nil, fmt.Errorf("cannot read %s: %v", path, err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFileRead+1))
	if err != nil {
		return model.Key{}, nil, fmt.Errorf("cannot read %s: %v", path, err)
	}
	if len(raw) > maxKeyFileRead {
		return model.Key{}, nil, fmt.Errorf("%s is not a key file: it is larger than %d bytes (a key is %d hex characters)", path, maxKeyFileRead, model.KeyHexLen)
	}
	k, err := model.ParseKey(raw)
	if err != nil {
		return model.Key{}, nil, fmt.Errorf("%s is not a valid identity key: %v", path, err)
	}
	return k, raw, nil
}

// missingSourceError explains a PoST dir without identity.key, pointing at a
// backup left by an earlier `keys add --move`.
func missingSourceError(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("PoST data directory %s does not exist: check the path", dir)
	}
	if baks, _ := filepath.Glob(path + ".bak-*"); len(baks) > 0 {
		return fmt.Errorf("no %s in %s, but %s is there: the key was moved by an earlier add and is probably in identities/ already (see `postdeck keys list`)",
			IdentityKeyFile, dir, filepath.Base(baks[len(baks)-1]))
	}
	return fmt.Errorf("no %s in %s: postcli writes it there when it initializes the data; is this the right folder?", IdentityKeyFile, dir)
}

// sourceNotes says what is cleaned when the key is written.
func sourceNotes(raw []byte) []string {
	var notes []string
	trimmed := bytes.TrimSpace(raw)
	switch {
	case bytes.HasSuffix(raw, []byte("\r\n")):
		notes = append(notes, "identity.key ends with a CRLF line break: the copy is written without it (the node would not start with it)")
	case len(trimmed) != len(raw):
		notes = append(notes, "identity.key has whitespace or a newline around the hex: the copy is written without it (the node would not start with it)")
	}
	if !bytes.Equal(trimmed, bytes.ToLower(trimmed)) {
		notes = append(notes, "identity.key is in upper-case hex: the copy is written in lower case")
	}
	return notes
}

// checkKeyMatchesData refuses a key that does not belong to the PoST data
// beside it: its service would prove for another identity.
func checkKeyMatchesData(postDir string, public []byte) error {
	meta, err := ReadMetadata(postDir)
	if err != nil {
		return fmt.Errorf("cannot check the key against the PoST data: %v", err)
	}
	if !bytes.Equal(meta.NodeID, public) {
		return fmt.Errorf("%s in %s is for identity %s, but the PoST data there belongs to %s: "+
			"the key and the data must come from the same postcli run; find the key that matches %s",
			IdentityKeyFile, postDir, ShortHex(public), ShortHex(meta.NodeID), model.MetadataFile)
	}
	return nil
}

// checkIdentities checks the target folder: it may be missing (it will be
// created), the name must be free, the identity must not be there under
// another name, and local.key must not end up beside other keys.
func (p *AddKeyPlan) checkIdentities() error {
	o := p.Options
	dir := filepath.Dir(p.Target)
	fi, err := os.Stat(o.DataFolder)
	if err != nil {
		return fmt.Errorf("node data folder %s: %v: check data_folder in the config (or --data-folder)", o.DataFolder, errors.Unwrap(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("node data folder %s is not a folder: check data_folder in the config (or --data-folder)", o.DataFolder)
	}
	fi, err = os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		p.CreateDir = true
		p.Notes = append(p.Notes, fmt.Sprintf("%s does not exist yet: it will be created (mode 0700)", dir))
		if o.Name == model.LocalKeyName {
			p.Warnings = append(p.Warnings, "local.key makes the node a supervised single-identity node; a descriptive name (such as the data directory's) is better")
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot check %s: %v", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder: the node keeps its keys in that folder; move the file away first", dir)
	}
	keys, err := ReadKeyDir(o.DataFolder)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Public != nil && bytes.Equal(k.Public, p.Public) {
			return fmt.Errorf("identity %s is already in %s as %s: nothing to add (one key in two files makes the node refuse to start)",
				ShortHex(p.Public), dir, k.Name)
		}
	}
	if _, err := os.Lstat(p.Target); err == nil {
		return fmt.Errorf("%s already exists (another identity): choose another name with --name, such as %s",
			p.Target, strings.TrimSuffix(o.Name, ".key")+"-2.key")
	}
	hasLocal := false
	for _, k := range keys {
		if k.Name == model.LocalKeyName {
			hasLocal = true
		}
	}
	switch {
	case o.Name == model.LocalKeyName && len(keys) > 0:
		return fmt.Errorf("local.key beside other keys makes the node refuse to start: choose a descriptive name, such as %s.key",
			filepath.Base(o.PostDir))
	case hasLocal:
		return fmt.Errorf("%s has local.key: the node refuses to start with other keys beside it; "+
			"rename local.key to a descriptive name first (stop the node, then for example: mv %s %s)",
			dir, filepath.Join(dir, model.LocalKeyName), filepath.Join(dir, "node-local.key"))
	case o.Name == model.LocalKeyName:
		p.Warnings = append(p.Warnings, "local.key makes the node a supervised single-identity node; a descriptive name (such as the data directory's) is better")
	}
	for _, k := range keys {
		if k.Public == nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s in %s is not a valid key (%s): the node will not start until it is fixed or removed", k.Name, dir, k.Problem))
		} else if k.Problem != "" && k.Name != model.LocalKeyName {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s in %s %s", k.Name, dir, k.Problem))
		}
	}
	return nil
}

// describe fills Steps and the standing warnings.
func (p *AddKeyPlan) describe() {
	dir := filepath.Dir(p.Target)
	if p.CreateDir {
		p.Steps = append(p.Steps, fmt.Sprintf("create %s (mode 0700)", dir))
	}
	p.Steps = append(p.Steps, fmt.Sprintf("write %s for identity %s: %d lower-case hex characters, no newline, mode 0600, atomically; an existing file is never replaced",
		p.Target, p.PublicHex, model.KeyHexLen))
	if p.Backup != "" {
		p.Steps = append(p.Steps, fmt.Sprintf("then move %s to %s (kept as a backup, never deleted)", p.Source, p.Backup))
	} else {
		p.Steps = append(p.Steps, fmt.Sprintf("keep %s as it is (--move renames it to a backup instead)", p.Source))
	}
	p.Warnings = append(p.Warnings, RestartReminder, EquivocationWarning)
}

// PlanLineKind is what a line of the plan is, for a screen that colours
// it: the kind travels with the line, so nothing is read back from its words.
type PlanLineKind int

const (
	PlanText PlanLineKind = iota
	PlanNote
	PlanWarning
)

// PlanLine is one line of the plan in words.
type PlanLine struct {
	Kind PlanLineKind
	Text string
}

// Lines is the plan in words, one line each, with its kind.
func (p *AddKeyPlan) Lines() []PlanLine {
	ls := []PlanLine{{Text: "Adding identity " + p.PublicHex}, {Text: "  from " + p.Source}, {Text: "  to   " + p.Target}}
	for _, n := range p.Notes {
		ls = append(ls, PlanLine{PlanNote, "note: " + n})
	}
	ls = append(ls, PlanLine{Text: "Will:"})
	for i, s := range p.Steps {
		ls = append(ls, PlanLine{Text: fmt.Sprintf("  %d. %s", i+1, s)})
	}
	for _, w := range p.Warnings {
		ls = append(ls, PlanLine{PlanWarning, "warning: " + w})
	}
	return ls
}

// String is the plan in words, for a terminal.
func (p *AddKeyPlan) String() string {
	var b strings.Builder
	for _, l := range p.Lines() {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

// ApplyAddKey carries out a plan. It first checks everything again (the
// folders may have changed since the plan was shown), then writes the key
// file atomically without ever replacing a file, and moves the original
// when asked. If writing fails, identities/ is left as it was (a folder it
// created is removed again while empty).
func ApplyAddKey(plan *AddKeyPlan) (*AddKeyResult, error) {
	if plan == nil {
		return nil, errors.New("no plan to apply")
	}
	unlock, err := lockDataFolder(plan.Options.DataFolder)
	if err != nil {
		return nil, fmt.Errorf("not added: %v", err)
	}
	defer unlock()
	now, err := PlanAddKey(plan.Options)
	if err != nil {
		return nil, fmt.Errorf("not added, things changed since the plan: %v", err)
	}
	if !bytes.Equal(now.Public, plan.Public) || !bytes.Equal(now.clean, plan.clean) {
		return nil, fmt.Errorf("not added: %s changed since the plan (it now holds identity %s); check it and start again", plan.Source, ShortHex(now.Public))
	}
	if !bytes.Equal(now.clean, bytes.ToLower(now.clean)) || len(now.clean) != model.KeyHexLen {
		return nil, errors.New("internal error: the key to write is not 128 lower-case hex characters") // never written
	}
	dir := filepath.Dir(now.Target)
	res := &AddKeyResult{Path: now.Target, Public: now.Public, PublicHex: now.PublicHex}
	if now.CreateDir {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("not added: cannot create %s: %v", dir, err)
		} else if err == nil {
			res.CreatedDir = true
			matchOwner(dir, now.Options.DataFolder)
			if err := safefile.SyncDir(now.Options.DataFolder); err != nil {
				os.Remove(dir)
				return nil, fmt.Errorf("not added: created %s but could not sync %s: %v", dir, now.Options.DataFolder, err)
			}
		}
	}
	undoDir := func() {
		if res.CreatedDir {
			os.Remove(dir) // only succeeds while empty
		}
	}
	if err := writeKeyFile(now.Target, now.clean); err != nil {
		undoDir()
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("not added: %s appeared meanwhile; it was not replaced: check it with `postdeck keys list`", now.Target)
		}
		return nil, fmt.Errorf("not added, %s is unchanged: %v", dir, err)
	}
	if err := verifyWritten(now.Target, now.clean); err != nil {
		// The file is ours, written a moment ago: take it back rather than
		// leave the node a key it may not be able to read.
		os.Remove(now.Target)
		safefile.SyncDir(dir)
		undoDir()
		return nil, fmt.Errorf("not added: %v", err)
	}
	if w := matchOwner(now.Target, dir); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	if now.Options.Move {
		backup, err := moveToBackup(now.Source, plan.Backup)
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("the key is added, but %s could not be moved to a backup (%v): it is still in place, which is harmless", now.Source, err))
		} else {
			res.Backup = backup
		}
	}
	return res, nil
}

// lockDataFolder takes an exclusive flock on the node's data folder, so two
// postdecks adding keys at once cannot both pass the duplicate check and
// write the same identity under two names. It waits for the other one.
func lockDataFolder(dataFolder string) (func(), error) { return safefile.LockDataFolder(dataFolder) }

// writeKeyFile writes the key file; a variable so tests can make it fail.
var writeKeyFile = func(path string, data []byte) error {
	return safefile.WriteAtomic(path, data, 0o600, false)
}

// verifyWritten reads the file back: it must be exactly what was meant.
func verifyWritten(path string, want []byte) error {
	got, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read %s back: %v", path, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s does not read back as written: the disk may be failing", path)
	}
	return nil
}

// matchOwner gives path the owner of ref when postdeck runs as root: a key
// written by root into a node's folder owned by its own user would be
// unreadable to that node. It returns a warning when that fails.
func matchOwner(path, ref string) string {
	if os.Geteuid() != 0 {
		return ""
	}
	fi, err := os.Stat(ref)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return ""
	}
	if err := os.Lchown(path, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Sprintf("%s belongs to root, while %s belongs to uid %d: the node may not be able to read it (%v); chown it", path, ref, st.Uid, err)
	}
	if f, err := os.Open(path); err == nil {
		f.Sync()
		f.Close()
	}
	return ""
}

// moveToBackup renames src to backup (or to a free name beside it if that
// is taken), never replacing a file, and syncs the folder.
func moveToBackup(src, backup string) (string, error) {
	if backup == "" {
		backup = src + ".bak-" + time.Now().UTC().Format("20060102-150405")
	}
	base := backup
	for i := 2; ; i++ {
		if _, err := os.Lstat(backup); errors.Is(err, fs.ErrNotExist) {
			break
		}
		if i > 100 {
			return "", fmt.Errorf("no free backup name beside %s", src)
		}
		backup = fmt.Sprintf("%s-%d", base, i)
	}
	if err := safefile.RenameNoReplace(src, backup); errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("%s appeared meanwhile", backup)
	} else if err != nil {
		return "", err
	}
	if err := safefile.SyncDir(filepath.Dir(src)); err != nil {
		return backup, fmt.Errorf("moved, but could not sync %s: %v", filepath.Dir(src), err)
	}
	return backup, nil
}

// ShortHex is the first 16 hex characters of an identity, for messages.
func ShortHex(b []byte) string {
	if len(b) > 8 {
		return model.ShortID(b, 16) + "…"
	}
	return model.ShortID(b, 16)
}
