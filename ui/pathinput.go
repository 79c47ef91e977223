package ui

import (
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"postdeck/backend/fsguard"
	"postdeck/themes"
)

// maxMatchesShown is how many completion candidates are listed under a path.
const maxMatchesShown = 8

// completeDir completes the last element of a typed path to the folders
// whose names start with it (hidden ones only when it starts with a dot;
// symlinks to folders count). One match completes to "<it>/"; several
// complete to their longest common prefix. It returns the new text and the
// matching names (empty when nothing matched: the text is then unchanged),
// and the listing as backend found it. A leading "~/" means the home
// folder and is kept in the text. It lists the folder: run it in a Cmd.
func completeDir(typed string) (string, []string, fsguard.FolderList, error) {
	dir, prefix := splitPath(typed)
	l, err := fsguard.ListFolders(dir, prefix)
	switch {
	case err != nil || len(l.Names) == 0:
		return typed, nil, l, err
	case len(l.Names) == 1:
		return dir + l.Names[0] + string(filepath.Separator), l.Names, l, nil
	}
	return dir + commonPrefix(l.Names), l.Names, l, nil
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

// resolvePath turns typed text into a clean absolute path ("" stays "").
func resolvePath(typed string) string { return fsguard.AbsPath(typed) }

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
	hint    string   // the placeholder in full: view fits it to the width
}

func newPathInput(th *themes.Theme, value, placeholder string) pathInput {
	in := newInput(th, value)
	in.Placeholder = placeholder
	return pathInput{id: int(inputSeq.Add(1)), input: in, hint: placeholder}
}

// view draws the input width cells wide. A hint wider than that is wrapped
// at words, not cut: its first line is the placeholder and the rest comes
// back as lines to draw under the input while it is empty (at 80 columns
// "(tab completes)" lost its end).
func (p *pathInput) view(width int) (line string, more []string) {
	p.input.SetWidth(width)
	if p.hint != "" {
		// ansi.Wrap cuts only a word longer than the line; one cell stays
		// free for the cursor drawn after the placeholder.
		hl := strings.Split(wrap(p.hint, width-1), "\n")
		p.input.Placeholder = hl[0]
		if p.value() == "" {
			more = hl[1:]
		}
	}
	return p.input.View(), more
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
	text, names, list, err := completeDir(typed)
	r := completeMsg{input: id, typed: typed, text: text}
	switch {
	case err != nil:
		r.note = err.Error()
	case len(names) == 0:
		dir, prefix := splitPath(typed)
		if dir == "" {
			dir = "."
		}
		r.note = "no folder in " + dir + " starts with “" + prefix + "”"
		if list.Missing {
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
