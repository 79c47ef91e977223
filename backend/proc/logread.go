package proc

// The one log reader: where a service's log is (a file postdeck writes, or a
// systemd unit's journal) and reading what was added to it since the last
// read. The dashboard's log view polls ReadLog in Cmds; `postdeck logs -f`
// follows a file with the same reads (see followFile).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"postdeck/backend/fsguard"
)

const (
	// LogTailWindow is how far from the end a first read of a file starts.
	LogTailWindow = 4 << 20
	// LogReadMax is the most one read of a file returns; a read that leaves
	// more says so (LogChunk.More) and the caller reads again at once.
	LogReadMax = 1 << 20
	// journalFirstLines is how many journal lines a first read returns.
	journalFirstLines = 2000
	// logReadTimeout bounds one read: a hung disk or a stuck journalctl
	// cannot hold a reader longer.
	logReadTimeout = 5 * time.Second
	// journalCursorMark starts the line `journalctl --show-cursor` ends with.
	journalCursorMark = "-- cursor: "
)

// LogSource is where a service's log is: Path for a bin service (the file
// its output goes to), Unit for a systemd unit (its journal).
type LogSource struct {
	Path string
	Unit string
	// Read reads a log kept elsewhere (another host's, over SSH); when
	// set, ReadLog calls it instead.
	Read func(ctx context.Context, cur LogCursor) (LogChunk, error)
}

// None says the source names no log at all.
func (s LogSource) None() bool { return s.Path == "" && s.Unit == "" && s.Read == nil }

// LogSource says where the service's log is; an error for a name not in
// the config.
func (s *Supervisor) LogSource(name string) (LogSource, error) {
	s.mu.Lock()
	sv := s.svcs[name]
	s.mu.Unlock()
	switch {
	case sv == nil:
		return LogSource{}, unknownService(name)
	case sv.conf.SystemdUnit != "":
		return LogSource{Unit: sv.conf.SystemdUnit}, nil
	}
	return LogSource{Path: s.logPath(sv)}, nil
}

// LogCursor is where the next read of a log starts; the zero value starts
// near the end (the last LogTailWindow bytes, the last journal lines).
type LogCursor struct {
	started bool
	offset  int64
	file    os.FileInfo
	journal string // journalctl's cursor of the last entry read
}

// Token is the cursor as text, for another postdeck to read on from
// (the machine channel's logs --from): "" for the zero cursor.
func (c LogCursor) Token() string {
	switch {
	case !c.started:
		return ""
	case c.journal != "":
		return "j:" + c.journal
	}
	return "o:" + strconv.FormatInt(c.offset, 10)
}

// CursorFromToken is the cursor a Token names; an unknown token is the
// zero cursor (read near the end).
func CursorFromToken(t string) LogCursor {
	if j, ok := strings.CutPrefix(t, "j:"); ok && j != "" {
		return LogCursor{started: true, journal: j}
	}
	if o, ok := strings.CutPrefix(t, "o:"); ok {
		if n, err := strconv.ParseInt(o, 10, 64); err == nil && n >= 0 {
			return LogCursor{started: true, offset: n}
		}
	}
	return LogCursor{}
}

// LogChunk is what one read found.
type LogChunk struct {
	Data    []byte // the bytes added (a journal's lines, each ending in \n)
	Skipped int64  // bytes before the first one read, left unread (a first read of a large file)
	Reset   bool   // the file shrank or was replaced: reading started again
	More    bool   // more is there than was read: read again at once
	Missing bool   // the file is not there (yet)
	Next    LogCursor
}

// logGuard bounds the log reads, so a hung disk costs one stuck goroutine.
var logGuard = fsguard.New()

// ReadLog reads what was added to the log since cur.
func ReadLog(ctx context.Context, src LogSource, cur LogCursor) (LogChunk, error) {
	if src.Read != nil {
		return src.Read(ctx, cur)
	}
	if src.Unit != "" {
		return readJournal(ctx, src.Unit, cur)
	}
	return fsguard.Guarded(logGuard, src.Path, "the log "+src.Path, logReadTimeout, func() (LogChunk, error) {
		return readFileChunk(src.Path, cur)
	})
}

// readFileChunk reads what was appended to path since cur. A file that
// shrank (truncated, see rotateLog) or is another file now (rotated by a
// rename) is read again from near its start. It reads at most LogReadMax.
func readFileChunk(path string, cur LogCursor) (LogChunk, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return LogChunk{Missing: true, Next: cur}, nil
	}
	if err != nil {
		return LogChunk{Next: cur}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return LogChunk{Next: cur}, err
	}
	var c LogChunk
	size, offset := fi.Size(), cur.offset
	if cur.started && (size < offset || (cur.file != nil && !os.SameFile(cur.file, fi))) {
		c.Reset, cur.started = true, false
	}
	if !cur.started {
		offset = max(0, size-LogTailWindow)
		c.Skipped = offset
	}
	if n := min(size-offset, LogReadMax); n > 0 {
		c.Data = make([]byte, n)
		got, err := f.ReadAt(c.Data, offset)
		if err != nil && !errors.Is(err, io.EOF) {
			return LogChunk{Next: cur}, err
		}
		c.Data = c.Data[:got]
	}
	c.Next = LogCursor{started: true, offset: offset + int64(len(c.Data)), file: fi}
	c.More = c.Next.offset < size
	return c, nil
}

// readJournal asks journalctl for the unit's entries after cur's (the last
// journalFirstLines on a first read) and keeps the cursor it shows.
func readJournal(ctx context.Context, unit string, cur LogCursor) (LogChunk, error) {
	path, err := exec.LookPath("journalctl")
	if err != nil {
		return LogChunk{Next: cur}, fmt.Errorf("journalctl not found: no log for systemd unit %s", unit)
	}
	ctx, cancel := context.WithTimeout(ctx, logReadTimeout)
	defer cancel()
	args := []string{"-u", unit, "--no-pager", "-o", "cat", "--show-cursor"}
	if cur.journal != "" {
		args = append(args, "--after-cursor", cur.journal)
	} else {
		args = append(args, "-n", strconv.Itoa(journalFirstLines))
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			err = errors.New(firstLine(string(bytes.TrimSpace(ee.Stderr))))
		}
		return LogChunk{Next: cur}, fmt.Errorf("journalctl -u %s: %w", unit, err)
	}
	data, cursor := splitCursor(out)
	if cursor != "" {
		cur.journal = cursor
	}
	return LogChunk{Data: data, Next: cur}, nil
}

// splitCursor cuts the "-- cursor: …" line off journalctl's output.
func splitCursor(out []byte) (data []byte, cursor string) {
	body := bytes.TrimSuffix(out, []byte("\n"))
	i := bytes.LastIndexByte(body, '\n') + 1
	if !bytes.HasPrefix(body[i:], []byte(journalCursorMark)) {
		return out, ""
	}
	return out[:i], string(body[i+len(journalCursorMark):])
}

// PrintLog writes the last n lines of the service's log (its file, or a
// systemd unit's journal), then, when follow is set, what is added until
// ctx ends: `postdeck logs [-f]`. A bin service's log that is not there is
// an error: postdeck writes it only for services it started.
func (s *Supervisor) PrintLog(ctx context.Context, w io.Writer, name string, n int, follow bool) error {
	src, err := s.LogSource(name)
	if err != nil {
		return err
	}
	if src.Path != "" {
		if _, err := os.Stat(src.Path); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no log at %s: postdeck keeps logs only for services it started", src.Path)
		} else if err != nil {
			return err
		}
	}
	for _, l := range s.LogTail(name, n) {
		fmt.Fprintln(w, l)
	}
	if !follow {
		return nil
	}
	return s.FollowLog(ctx, name, w)
}
