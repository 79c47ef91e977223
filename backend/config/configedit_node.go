package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"

	"postdeck/safefile"
)

// DefaultFirstNodeName is what a lone unnamed [node] is called when a
// second node joins it and nobody chose a name.
const DefaultFirstNodeName = "node1"

// NodeEdit is a node about to be added to a config file: the file's new
// text, checked to load, and what changed besides the appended node. Apply
// writes it.
type NodeEdit struct {
	Path string // the config file (its symlinks resolved)
	Text []byte // the whole new file
	// FirstName is the first node's name; FirstNamed says the edit gave it
	// (it had none, and the file may have said [node]).
	FirstName  string
	FirstNamed bool
	// Tagged is how many services of the first node gained node = FirstName.
	Tagged int
	// Services is how many services were appended for the new node.
	Services int

	old  []byte
	perm fs.FileMode
}

// PlanAddNode works out how to add node (its Name set) and the services
// that prove for it to the config file at configPath, editing the text
// instead of rendering it anew so the user's comments and layout stay.
// A lone unnamed [node] becomes a [[node]] block called firstName
// (DefaultFirstNodeName when ""), and every service that names no node
// gains node = that name, because in a config of several nodes the loader
// refuses a service that does not say which it proves for. The new block
// goes after the last node's, the services at the end. It refuses when the
// file does not load now, when the name is taken, when the node is
// configured already (one of its listeners is another block's: the
// loader's rule), or when the result would not load.
func PlanAddNode(configPath string, node NodeConfig, firstName string, services []ServiceConfig) (*NodeEdit, error) {
	if err := checkNewNodeText(node, firstName, services); err != nil {
		return nil, err
	}
	path, err := filepath.EvalSymlinks(configPath) // edit the file, not a symlink to it
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no config file at %s to add a node to: run `postdeck init` without --add-node to write one", configPath)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read config %s: %v", configPath, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config %s: %v", configPath, err)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config %s: %v", configPath, err)
	}
	cfg, err := Load(path)
	if err != nil {
		return nil, fmt.Errorf("config %s does not load now, so it is left alone; fix it first:\n%v", configPath, err)
	}
	e := &NodeEdit{Path: path, old: old, perm: fi.Mode().Perm(), Services: len(services)}
	if err := e.plan(cfg, node, firstName, services); err != nil {
		return nil, fmt.Errorf("not adding node %q to %s: %w", node.Name, configPath, err)
	}
	if err := checkNodeAdded(path, e.Text, cfg, node, e.FirstName, services); err != nil {
		return nil, err
	}
	return e, nil
}

// checkNewNodeText refuses names and paths that cannot be written on one
// TOML line.
func checkNewNodeText(node NodeConfig, firstName string, services []ServiceConfig) error {
	if node.Name == "" {
		return errors.New("the new node needs a name")
	}
	values := []string{node.Name, firstName, node.PostListener, node.PrivateListener, node.PublicListener,
		node.DataFolder, node.JSONConfig, node.TLSCACert, node.TLSCert, node.TLSKey, node.TLSServerName}
	for _, s := range services {
		if s.Name == "" || s.Dir == "" {
			return fmt.Errorf("service %q: a service needs a name and a dir", s.Name)
		}
		values = append(values, s.Name, s.Dir, s.Operator)
	}
	for _, v := range values {
		if strings.ContainsAny(v, "\n\r") {
			return fmt.Errorf("%q: a name or path in the config cannot contain line breaks", v)
		}
	}
	return nil
}

// plan fills e.Text from e.old.
func (e *NodeEdit) plan(cfg *Config, node NodeConfig, firstName string, services []ServiceConfig) error {
	first := cfg.Node.Name
	switch {
	case first != "" && firstName != "" && firstName != first:
		return fmt.Errorf("the first node is called %q already: leave out the first node's name, or rename it in the file", first)
	case first == "":
		first = firstName
		if first == "" {
			first = DefaultFirstNodeName
		}
		e.FirstNamed = true
	}
	e.FirstName = first
	if node.Name == first {
		if e.FirstNamed {
			return fmt.Errorf("the first node, which has no name yet, would be called %q too: choose another name for one of them", first)
		}
		return fmt.Errorf("name %q is the first node's: node names must be unique", first)
	}
	if cfg.NodeNamed(node.Name) != nil {
		return fmt.Errorf("name %q is another node's: node names must be unique", node.Name)
	}
	if err := nodeAlreadyConfigured(cfg, node); err != nil {
		return err
	}
	all := *cfg
	all.Services = append([]ServiceConfig(nil), cfg.Services...)
	for _, s := range services {
		if err := ServiceClash(&all, s); err != nil {
			return err
		}
		all.Services = append(all.Services, s)
	}

	// The edits work on the text with a final newline, so that every line
	// they add after another starts on a line of its own.
	base := e.old
	if len(base) > 0 && base[len(base)-1] != '\n' {
		base = append(append([]byte(nil), base...), '\n')
	}
	doc, err := scanSections(base)
	if err != nil {
		return fmt.Errorf("cannot read the file's sections: %v", err)
	}
	var ed textEdits
	nodes := doc.of("node")
	if len(nodes) == 0 {
		return errors.New("the file has no [node] section to keep beside the new node: write one, or run `postdeck init --force` to start afresh")
	}
	fn := nodes[0]
	if !fn.array {
		ed.replace(fn.open, fn.close, "[[node]]")
	}
	if e.FirstNamed {
		ed.setKey(fn, "name", first, true)
	}
	for _, s := range doc.of("service") {
		if v, ok := s.keys["node"]; !ok || v.value == "" {
			ed.setKey(s, "node", first, false)
			e.Tagged++
		}
	}
	at := nodeBlockAt(base, doc, nodes[len(nodes)-1])
	ed.insert(at, newNodeBlock(base, at, node))
	ed.insert(len(base), appendedServices(node.Name, services))
	e.Text = ed.apply(base)
	return nil
}

// nodeAlreadyConfigured refuses a node one of whose listeners a configured
// node has: the loader takes two such blocks for one node written twice.
func nodeAlreadyConfigured(cfg *Config, node NodeConfig) error {
	for i, n := range cfg.AllNodes() {
		for _, l := range [][2]string{
			{"post_listener", n.PostListener}, {"private_listener", n.PrivateListener}, {"public_listener", n.PublicListener},
		} {
			for _, m := range []string{node.PostListener, node.PrivateListener, node.PublicListener} {
				if m != "" && l[1] != "" && DialAddress(m) == DialAddress(l[1]) {
					who := "the first node"
					if i > 0 || n.Name != "" {
						who = fmt.Sprintf("node %q", n.Name)
					}
					return fmt.Errorf("this node is in the config already: %s has %s %s", who, l[0], l[1])
				}
			}
		}
	}
	return nil
}

// newNodeBlock is the [[node]] block to insert at offset at of text (a
// line start), set off from what is around it by blank lines.
func newNodeBlock(text []byte, at int, node NodeConfig) string {
	var w tomlWriter
	if at > 0 && len(bytes.TrimSpace(text[lineStart(text, at-1):at])) > 0 {
		w.blank()
	}
	w.comment("Added by `postdeck init --add-node " + node.Name + "`.")
	w.line("[[node]]")
	w.key("name", node.Name)
	renderNodeKeys(&w, &node, false) // ends with a blank line
	if at == len(text) {
		// The services that follow bring their own.
		return strings.TrimSuffix(w.String(), "\n")
	}
	return w.String()
}

// nodeBlockAt is where a new [[node]] block goes: after the last node's
// section, before the comment lines that introduce the section after it
// (they belong to that section), or at the end of the file.
func nodeBlockAt(text []byte, doc *sections, last *section) int {
	next := doc.after(last)
	if next == nil {
		return len(text)
	}
	at := lineStart(text, next.open)
	for at > 0 {
		prev := lineStart(text, at-1)
		if !bytes.HasPrefix(bytes.TrimSpace(text[prev:at]), []byte("#")) {
			break
		}
		at = prev
	}
	return at
}

// appendedServices is the services' [[service]] blocks, each naming node.
func appendedServices(node string, services []ServiceConfig) string {
	var w tomlWriter
	for _, s := range services {
		w.blank()
		w.comment("Added by `postdeck init --add-node " + node + "`: a post-service of that node.")
		s.Node = node
		renderService(&w, &s)
	}
	return w.String()
}

// checkNodeAdded loads the new text from a temp file beside the config (so
// relative paths resolve as they will) and checks it reads back as meant:
// the old nodes and services, then the new ones, every service with a node.
func checkNodeAdded(path string, text []byte, before *Config, node NodeConfig, first string, services []ServiceConfig) error {
	tmp, err := safefile.WriteTemp(filepath.Dir(path), filepath.Base(path)+".check", text, 0o600)
	if err != nil {
		return fmt.Errorf("cannot check the new config: %v", err)
	}
	defer os.Remove(tmp)
	cfg, err := Load(tmp)
	if err != nil {
		return fmt.Errorf("config would not load with the node added, so it is left alone:\n%v", strings.ReplaceAll(err.Error(), tmp, path))
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("the config with the node added would read back wrong (%s), so it is left alone", fmt.Sprintf(format, args...))
	}
	nodes, was := cfg.AllNodes(), before.AllNodes()
	if len(nodes) != len(was)+1 {
		return fail("%d nodes instead of %d", len(nodes), len(was)+1)
	}
	if nodes[0].Name != first {
		return fail("the first node is called %q", nodes[0].Name)
	}
	got := nodes[len(nodes)-1]
	if got.Name != node.Name || got.PostListener != DialAddress(node.PostListener) || got.DataFolder != node.DataFolder {
		return fail("the new node is %q at %q with data folder %q", got.Name, got.PostListener, got.DataFolder)
	}
	if len(cfg.Services) != len(before.Services)+len(services) {
		return fail("%d services instead of %d", len(cfg.Services), len(before.Services)+len(services))
	}
	for i, s := range cfg.Services {
		want := first
		if i >= len(before.Services) {
			want = node.Name
			if n := services[i-len(before.Services)]; s.Name != n.Name || s.Dir != n.Dir || s.Operator != DialAddress(n.Operator) {
				return fail("service %q is %q %q", n.Name, s.Name, s.Dir)
			}
		} else if b := before.Services[i].Node; b != "" {
			want = b
		}
		if s.Node != want {
			return fail("service %q names node %q, not %q", s.Name, s.Node, want)
		}
	}
	return nil
}

// Apply writes the edit: it keeps the old file as a backup beside it (the
// first free of config.toml.bak, config.toml.bak.2, …) and replaces the file
// atomically with its own mode. It refuses when the file changed since
// PlanAddNode read it. It returns the backup's path.
func (e *NodeEdit) Apply() (string, error) {
	// Someone may have edited the file meanwhile: do not throw that away.
	if now, err := os.ReadFile(e.Path); err != nil || !bytes.Equal(now, e.old) {
		return "", fmt.Errorf("config %s changed while the node was being added; nothing written: try again", e.Path)
	}
	backup, err := writeBackup(e.Path, e.old, e.perm)
	if err != nil {
		return "", fmt.Errorf("config %s is unchanged: cannot keep a backup of it: %v", e.Path, err)
	}
	if err := safefile.WriteAtomic(e.Path, e.Text, e.perm, true); err != nil {
		return backup, fmt.Errorf("config %s is unchanged: %v", e.Path, err)
	}
	return backup, nil
}

// writeBackup puts data at the first free backup name beside path, never
// replacing an older backup.
func writeBackup(path string, data []byte, perm fs.FileMode) (string, error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	tmp, err := safefile.WriteTemp(dir, base+".bak", data, perm)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp) // gone already once it is renamed
	for i := 1; i < 1000; i++ {
		name := path + ".bak"
		if i > 1 {
			name = fmt.Sprintf("%s.bak.%d", path, i)
		}
		err := safefile.RenameNoReplace(tmp, name)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return name, safefile.SyncDir(dir)
	}
	return "", fmt.Errorf("%s.bak to %s.bak.999 are all taken: remove old backups", path, path)
}

// sections is where each table header and key of a file is, by byte
// offset (the loader's docIndex keeps lines, for messages).
type sections struct{ list []*section }

type section struct {
	table       string
	array       bool
	open, close int // the header's "[" and one past its "]"
	body        int // the offset after the header's line
	last        int // the offset after the line of its last key's value
	keys        map[string]keyAt
}

type keyAt struct {
	start, end int // the value's text, quotes included
	value      string
}

func scanSections(data []byte) (*sections, error) {
	d := &sections{}
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			name, first := keyPath(e.Key())
			var last *unstable.Node
			for it := e.Key(); it.Next(); {
				last = it.Node()
			}
			at := int(first.Raw.Offset)
			end := int(last.Raw.Offset + last.Raw.Length)
			open := bytes.LastIndexByte(data[:at], '[')
			if e.Kind == unstable.ArrayTable && open > 0 && data[open-1] == '[' {
				open--
			}
			cl := bytes.IndexByte(data[end:], ']')
			if open < 0 || cl < 0 {
				return nil, fmt.Errorf("no brackets around [%s]", name)
			}
			cl += end + 1
			if e.Kind == unstable.ArrayTable {
				cl++
			}
			d.list = append(d.list, &section{table: name, array: e.Kind == unstable.ArrayTable,
				open: open, close: cl, body: lineEnd(data, cl), keys: map[string]keyAt{}})
		case unstable.KeyValue:
			if len(d.list) == 0 {
				continue // top-level keys need no edit
			}
			name, _ := keyPath(e.Key())
			v := e.Value()
			k := keyAt{start: int(v.Raw.Offset), end: int(v.Raw.Offset + v.Raw.Length)}
			if v.Kind == unstable.String {
				k.value = string(v.Data)
			}
			s := d.list[len(d.list)-1]
			s.keys[name] = k
			// The expression's range, unlike an array value's, covers
			// all its lines.
			s.last = max(s.last, lineEnd(data, int(e.Raw.Offset+e.Raw.Length)))
		}
	}
	return d, p.Error()
}

func (d *sections) of(table string) []*section {
	var out []*section
	for _, s := range d.list {
		if s.table == table {
			out = append(out, s)
		}
	}
	return out
}

// after is the section that follows s in the file, or nil.
func (d *sections) after(s *section) *section {
	for i, x := range d.list {
		if x == s && i+1 < len(d.list) {
			return d.list[i+1]
		}
	}
	return nil
}

// lineStart is the offset of the line holding offset i.
func lineStart(text []byte, i int) int {
	return bytes.LastIndexByte(text[:i], '\n') + 1
}

// lineEnd is the offset after the newline ending the line that holds i
// (len(text) on a last line without one).
func lineEnd(text []byte, i int) int {
	if j := bytes.IndexByte(text[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(text)
}

// textEdits are replacements of the original text, applied together.
type textEdits []textEdit

type textEdit struct {
	start, end int
	text       string
	order      int // keeps inserts at one offset in the order made
}

func (t *textEdits) replace(start, end int, text string) {
	*t = append(*t, textEdit{start, end, text, len(*t)})
}

func (t *textEdits) insert(at int, text string) { t.replace(at, at, text) }

// setKey sets key to a string in section s: its value replaced when the
// section has the key, else a new line first in the section (a name reads
// best there) or after its last key.
func (t *textEdits) setKey(s *section, key, value string, first bool) {
	if k, ok := s.keys[key]; ok {
		t.replace(k.start, k.end, tomlString(value))
		return
	}
	at := s.body
	if !first && s.last > at {
		at = s.last
	}
	t.insert(at, key+" = "+tomlString(value)+"\n")
}

// apply makes the new text; edits must not overlap.
func (t textEdits) apply(old []byte) []byte {
	sort.SliceStable(t, func(i, j int) bool {
		if t[i].start != t[j].start {
			return t[i].start < t[j].start
		}
		return t[i].order < t[j].order
	})
	var b bytes.Buffer
	at := 0
	for _, e := range t {
		b.Write(old[at:e.start])
		b.WriteString(e.text)
		at = e.end
	}
	b.Write(old[at:])
	return b.Bytes()
}
