package ui

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"postdeck/model"
)

// Memory bounds of the logs view: a log of any size, even one 100 MB line,
// costs at most about maxLogLines × maxLineBytes. (How much one read takes
// is backend.ReadLog's: LogTailWindow, LogReadMax.)
const (
	maxLogLines  = 5000
	maxLineBytes = 2048
)

// logRing keeps the last lines of a log in a fixed ring.
type logRing struct {
	buf   []string
	head  int   // position of the oldest line
	n     int   // lines kept
	total int64 // lines ever pushed: line numbers are absolute
}

func newLogRing(capacity int) logRing { return logRing{buf: make([]string, capacity)} }

// push appends a line, dropping the oldest when full.
func (r *logRing) push(s string) {
	c := len(r.buf)
	if r.n < c {
		r.buf[(r.head+r.n)%c] = s
		r.n++
	} else {
		r.buf[r.head] = s
		r.head = (r.head + 1) % c
	}
	r.total++
}

// first is the absolute number of the oldest line kept.
func (r *logRing) first() int64 { return r.total - int64(r.n) }

// line returns the line with absolute number a; ok is false when it is gone
// or not there yet.
func (r *logRing) line(a int64) (string, bool) {
	i := a - r.first()
	if i < 0 || i >= int64(r.n) {
		return "", false
	}
	return r.buf[(r.head+int(i))%len(r.buf)], true
}

// lineSplitter cuts a byte stream into lines of at most max bytes; the rest
// of a longer line is counted, not kept.
type lineSplitter struct {
	part []byte // the line read so far, at most max bytes
	cut  int64  // bytes of it dropped beyond max
	max  int
}

// feed splits b, calling emit for each complete line.
func (s *lineSplitter) feed(b []byte, emit func(string)) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		seg := b
		if i >= 0 {
			seg = b[:i]
		}
		room := max(0, s.max-len(s.part))
		take := min(room, len(seg))
		s.part = append(s.part, seg[:take]...)
		s.cut += int64(len(seg) - take)
		if i < 0 {
			return
		}
		emit(cleanLine(s.part, s.cut))
		s.part, s.cut = s.part[:0], 0
		b = b[i+1:]
	}
}

// partial is the unterminated last line, if any.
func (s *lineSplitter) partial() (string, bool) {
	if len(s.part) == 0 && s.cut == 0 {
		return "", false
	}
	return cleanLine(s.part, s.cut), true
}

func (s *lineSplitter) reset() { s.part, s.cut = s.part[:0], 0 }

// cleanLine makes a log line safe and plain: no colour codes or control
// characters, tabs as spaces, valid UTF-8, and a mark where it was cut.
func cleanLine(b []byte, cut int64) string {
	s := strings.TrimSuffix(string(b), "\r")
	if cut > 0 {
		s = strings.ToValidUTF8(s, "") // the cut may split a character
	}
	if strings.ContainsRune(s, '\x1b') {
		s = ansi.Strip(s)
	}
	s = strings.ReplaceAll(s, "\t", "    ")
	s = printable(strings.ToValidUTF8(s, "�"), false)
	if cut > 0 {
		s += fmt.Sprintf(" … [line cut: %s more]", model.HumanBytes(uint64(cut)))
	}
	return s
}
