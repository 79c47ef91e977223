package ui

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"postdeck/themes"
)

// maxMatchesShown is how many completion candidates are listed under a path.
const maxMatchesShown = 8

// completeDir completes the last element of a typed path to the folders
// whose names start with it (hidden ones only when it starts with a dot;
// symlinks to folders count). One match completes to "<it>/"; several
// complete to their longest common prefix. It returns the new text and the
// matching names (empty when nothing matched: the text is then unchanged).
// A leading "~/" means the home folder and is kept in the text.
func completeDir(typed string) (string, []string) {
	dir, prefix := splitPath(typed)
	read := expandHome(dir)
	if read == "" {
		read = "."
	}
	entries, err := os.ReadDir(read)
	if err != nil {
		return typed, nil
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, prefix) || (strings.HasPrefix(n, ".") && !strings.HasPrefix(prefix, ".")) {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(filepath.Join(read, n)); err == nil {
				isDir = fi.IsDir()
			}
		}
		if isDir {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	switch len(names) {
	case 0:
		return typed, nil
	case 1:
		return dir + names[0] + string(filepath.Separator), names
	}
	return dir + commonPrefix(names), names
}

// splitPath splits typed text into the folder part (ending in a separator,
// or "") and the name being typed. "~" alone is the home folder.
func splitPath(typed string) (dir, prefix string) {
	if typed == "~" {
		return "~/", ""
	}
	i := strings.LastIndexByte(typed, filepath.Separator)
	return typed[:i+1], typed[i+1:]
}

// expandHome replaces a leading "~/" with the home folder.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	return p
}

// resolvePath turns typed text into a clean absolute path ("" stays "").
func resolvePath(typed string) string {
	p := strings.TrimSpace(typed)
	if p == "" {
		return ""
	}
	p = expandHome(p)
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}

func commonPrefix(names []string) string {
	p := names[0]
	for _, n := range names[1:] {
		for !strings.HasPrefix(n, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}

// pathInput is a one-line entry for a folder with tab completion: the
// candidates of an ambiguous completion are listed under it.
type pathInput struct {
	id      int
	input   textinput.Model
	matches []string // after an ambiguous tab
	note    string   // after a tab that found nothing
}

func newPathInput(th *themes.Theme, value, placeholder string) pathInput {
	in := newInput(th, value)
	in.Placeholder = placeholder
	return pathInput{id: int(inputSeq.Add(1)), input: in}
}

func (p *pathInput) value() string { return p.input.Value() }

func (p *pathInput) set(v string) {
	p.input.SetValue(v)
	p.input.CursorEnd()
	p.matches, p.note = nil, ""
}

func (p *pathInput) focus() tea.Cmd { return p.input.Focus() }
func (p *pathInput) blur()          { p.input.Blur() }

// completeMsg is the result of a tab: the folder listing is read in a Cmd
// (a hung disk must not freeze the screen).
type completeMsg struct {
	input   int    // the pathInput that asked
	typed   string // its text when asked: a result for older text is dropped
	text    string
	matches []string
	note    string
}

// inputSeq numbers path inputs, so a completion finds its input.
var inputSeq atomic.Int64

// complete is the tab key: it returns the Cmd that reads the folder.
func (p *pathInput) complete() tea.Cmd {
	typed, id := p.input.Value(), p.id
	return func() tea.Msg { return completion(id, typed) }
}

// completion completes typed and says why nothing matched.
func completion(id int, typed string) completeMsg {
	text, names := completeDir(typed)
	r := completeMsg{input: id, typed: typed, text: text}
	switch {
	case len(names) == 0:
		dir, prefix := splitPath(typed)
		if dir == "" {
			dir = "."
		}
		r.note = "no folder in " + dir + " starts with “" + prefix + "”"
		if _, err := os.Stat(expandHome(dir)); errors.Is(err, fs.ErrNotExist) {
			r.note = dir + " does not exist"
		}
	case len(names) > 1:
		r.matches = names
	}
	return r
}

// apply takes a completion meant for this input, unless the text changed
// meanwhile.
func (p *pathInput) apply(r completeMsg) {
	if r.input != p.id || r.typed != p.input.Value() {
		return
	}
	p.matches, p.note = r.matches, r.note
	p.input.SetValue(r.text)
	p.input.CursorEnd()
}

// update edits the text; any edit drops the candidates shown.
func (p *pathInput) update(msg tea.Msg) tea.Cmd {
	before := p.input.Value()
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	if p.input.Value() != before {
		p.matches, p.note = nil, ""
	}
	return cmd
}

// notes are the lines shown under the focused entry: the candidates of the
// last tab, or why it found none.
func (p *pathInput) notes(width int) []string {
	if p.note != "" {
		return []string{truncate(printable(p.note, false), width)}
	}
	if len(p.matches) == 0 {
		return nil
	}
	shown := p.matches
	more := ""
	if len(shown) > maxMatchesShown {
		more = " … " + strconv.Itoa(len(shown)-maxMatchesShown) + " more"
		shown = shown[:maxMatchesShown]
	}
	return []string{truncate(printable(strings.Join(shown, "/  ")+"/"+more, false), width)}
}
