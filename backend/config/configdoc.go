package config

import (
	"bytes"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// docIndex is where each table and key sits in the file, read with
// go-toml's parser, because the decoder only gives positions for errors it
// finds itself and our checks come after decoding.
type docIndex struct {
	sections []*docSection // in file order; [0] is the part before any header
}

type docSection struct {
	table string // "" for the top level
	index int    // nth occurrence of this table name, from 0 ([[service]] #index+1)
	line  int    // header line; 0 for the top level
	array bool   // a [[table]] block
	keys  map[string]docKey
}

type docKey struct {
	line  int
	kind  unstable.Kind
	value string // the decoded string for string values
	// nonString is the kind of the first element (array) or value (inline
	// table) that is not a string; Invalid when all are strings.
	nonString unstable.Kind
}

// indexDoc parses the file for positions; a syntax error is returned as is.
func indexDoc(data []byte) (*docIndex, error) {
	d := &docIndex{sections: []*docSection{{keys: map[string]docKey{}}}}
	seen := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	// lineAt counts lines from where it last stopped: the parser's Shape
	// counts from the top each time, which made a 1000-service config take
	// a quarter of a second to load. Positions only move forward here.
	off, ln := 0, 1
	lineAt := func(r unstable.Range) int {
		end := int(r.Offset)
		if end < off {
			off, ln = 0, 1
		}
		ln += bytes.Count(data[off:end], []byte{'\n'})
		off = end
		return ln
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			name, first := keyPath(e.Key())
			d.sections = append(d.sections, &docSection{
				table: name, index: seen[name], keys: map[string]docKey{},
				line: lineAt(first.Raw), array: e.Kind == unstable.ArrayTable,
			})
			seen[name]++
		case unstable.KeyValue:
			name, _ := keyPath(e.Key())
			v := e.Value()
			k := docKey{line: lineAt(e.Raw), kind: v.Kind}
			if v.Kind == unstable.String {
				k.value = string(v.Data)
			}
			k.nonString = firstNonString(v)
			d.sections[len(d.sections)-1].keys[name] = k
		}
	}
	return d, p.Error()
}

// firstNonString is the kind of the first element of an array, or value of
// an inline table, that is not a string (Invalid when there is none).
func firstNonString(v *unstable.Node) unstable.Kind {
	if v.Kind != unstable.Array && v.Kind != unstable.InlineTable {
		return unstable.Invalid
	}
	for it := v.Children(); it.Next(); {
		n := it.Node()
		if n.Kind == unstable.KeyValue {
			n = n.Value()
		}
		if n.Kind != unstable.String {
			return n.Kind
		}
	}
	return unstable.Invalid
}

// keyPath joins a dotted key and returns its first part for its position.
func keyPath(it unstable.Iterator) (string, *unstable.Node) {
	var parts []string
	var first *unstable.Node
	for it.Next() {
		if first == nil {
			first = it.Node()
		}
		parts = append(parts, string(it.Node().Data))
	}
	return strings.Join(parts, "."), first
}

// arrayOf says whether the file writes table as [[table]] blocks.
func (d *docIndex) arrayOf(table string) bool {
	for _, s := range d.sections {
		if s.table == table {
			return s.array
		}
	}
	return false
}

func (d *docIndex) section(table string, index int) *docSection {
	for _, s := range d.sections {
		if s.table == table && s.index == index {
			return s
		}
	}
	return nil
}

// line is the line of a key, else of its section's header, else 0.
func (d *docIndex) line(table string, index int, key string) int {
	s := d.section(table, index)
	if s == nil {
		return 0
	}
	if k, ok := s.keys[key]; ok {
		return k.line
	}
	return s.line
}

// hasAt reports whether the file sets key in the index-th table of that name.
func (d *docIndex) hasAt(table string, index int, key string) bool {
	s := d.section(table, index)
	if s == nil {
		return false
	}
	_, ok := s.keys[key]
	return ok
}

// has reports whether the file sets table.key (first occurrence of table).
func (d *docIndex) has(table, key string) bool {
	s := d.section(table, 0)
	if s == nil {
		return false
	}
	_, ok := s.keys[key]
	return ok
}

func (d *docIndex) rootHasKey(key string) bool {
	_, ok := d.sections[0].keys[key]
	return ok
}

// sectionAt is the section a line belongs to.
func (d *docIndex) sectionAt(line int) *docSection {
	var at *docSection
	for _, s := range d.sections {
		if s.line <= line {
			at = s
		}
	}
	return at
}

func (d *docIndex) context(table string, index int) string {
	if s := d.section(table, index); s != nil {
		return d.sectionContext(s)
	}
	return sectionName(table, index, "", d.arrayOf(table))
}

// sectionContext names a section as the user wrote it, with the service's
// name when it has one.
func (d *docIndex) sectionContext(s *docSection) string {
	return sectionName(s.table, s.index, s.keys["name"].value, s.array)
}

// typeErrors checks each known key's value has the right TOML type (and
// durations parse), so the user gets "expected ..." instead of a Go type name.
func (d *docIndex) typeErrors(path string) []*ConfigError {
	var errs []*ConfigError
	for _, s := range d.sections {
		t := schemaTable(s.table)
		if t == nil {
			continue
		}
		for name, k := range s.keys {
			sk := t.key(name)
			if sk == nil {
				continue // unknown keys are the decoder's to report
			}
			if msg := sk.check(k); msg != "" {
				errs = append(errs, &ConfigError{File: path, Line: k.line, Context: d.sectionContext(s), Message: msg})
			}
		}
	}
	return errs
}
