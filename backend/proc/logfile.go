package proc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// maxLogLine caps one line returned by LogTail; maxTailBytes caps what one
// LogTail reads, whatever n.
const (
	maxLogLine   = 4 << 10
	maxTailBytes = 8 << 20
	// runTailWindow is how many lines runTail looks back for the start
	// marker.
	runTailWindow = 200
	// followEvery is how often FollowLog looks for new lines in a log file.
	followEvery = 300 * time.Millisecond
	// logCapped is what FollowLog writes when the log was capped under it.
	logCapped = "--- log was capped; continuing from its new start ---"
)

// startMarker is the line launch writes into the log before each start.
func startMarker(name string, t time.Time) string {
	return startMarkerPrefix(name) + t.Format(time.RFC3339) + " ---"
}

func startMarkerPrefix(name string) string { return "--- postdeck: starting " + name + " at " }

// runTail is the last n lines of the service's log written since its last
// start marker: what the run that just ended printed, not the one before.
func (s *Supervisor) runTail(sv *service, n int) []string {
	lines := s.LogTail(sv.conf.Name, max(n, runTailWindow))
	prefix := startMarkerPrefix(sv.conf.Name)
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], prefix) {
			lines = lines[i+1:]
			break
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// LogPath is the file a bin service's stdout and stderr go to; "" for a
// systemd unit (its output is in the journal: `journalctl -u UNIT`) and for
// a name not in the config.
func (s *Supervisor) LogPath(name string) string {
	s.mu.Lock()
	sv := s.svcs[name]
	s.mu.Unlock()
	if sv == nil || sv.conf.SystemdUnit != "" {
		return ""
	}
	return s.logPath(sv)
}

func (s *Supervisor) logPath(sv *service) string {
	return filepath.Join(s.stateDir, "logs", sv.file+".log")
}

// LogTail is the last n lines of the service's log, oldest first, reaching
// into the rotated <name>.log.1 when the current file has fewer. Memory is
// bounded: lines longer than 4 KiB are cut (marked "…"), and very long lines
// may make it return fewer than n. For a systemd unit it asks journalctl.
func (s *Supervisor) LogTail(name string, n int) []string {
	s.mu.Lock()
	sv := s.svcs[name]
	s.mu.Unlock()
	if sv == nil || n <= 0 {
		return nil
	}
	if sv.conf.SystemdUnit != "" {
		return journalTail(sv.conf.SystemdUnit, n)
	}
	path := s.logPath(sv)
	lines := tailFile(path, n)
	if len(lines) < n {
		lines = append(tailFile(path+".1", n-len(lines)), lines...)
	}
	return lines
}

// tailFile reads only the end of the file: n lines of at most maxLogLine
// bytes fit in the window read.
func tailFile(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return nil
	}
	window := min(int64(n)*(maxLogLine+1), maxTailBytes, fi.Size())
	off := fi.Size() - window
	buf := make([]byte, window)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return nil
	}
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	parts := bytes.Split(buf, []byte("\n"))
	cutStart := false
	if off > 0 {
		if len(parts) > 1 {
			parts = parts[1:] // the window began inside this line
		} else {
			cutStart = true // one line longer than the whole window
		}
	}
	if len(parts) > n {
		parts = parts[len(parts)-n:]
	}
	lines := make([]string, len(parts))
	for i, p := range parts {
		lines[i] = capLine(p, cutStart && i == 0)
	}
	return lines
}

// capLine keeps a line's first maxLogLine bytes (its last, when its start
// was not read), cut on a character boundary.
func capLine(p []byte, cutStart bool) string {
	p = bytes.TrimSuffix(p, []byte("\r"))
	switch {
	case cutStart:
		if len(p) > maxLogLine {
			p = p[len(p)-maxLogLine:]
		}
		for len(p) > 0 && !utf8.RuneStart(p[0]) {
			p = p[1:]
		}
		return "…" + string(p)
	case len(p) > maxLogLine:
		// A character cut in two at the end is dropped.
		return strings.ToValidUTF8(string(p[:maxLogLine]), "") + "…"
	}
	return string(p)
}

// Maintain caps the log files of bin services (see rotateLog). Procs calls
// it by itself at most every 10 seconds; calling it more often is harmless.
//
// The cap therefore holds only while a postdeck runs: the dashboard caps the
// logs every 10 seconds, and a command that reads the processes' state
// (`postdeck status`, `stop`, ...) caps them once. The services write their
// logs themselves, detached from postdeck, so while no postdeck runs nothing
// caps them: a log can grow without limit, and the next Maintain moves all
// of it to <name>.log.1 at once.
func (s *Supervisor) Maintain() {
	s.mu.Lock()
	s.lastMaintain = time.Now()
	var paths []string
	for _, sv := range s.svcs {
		if sv.conf.SystemdUnit == "" {
			paths = append(paths, s.logPath(sv))
		}
	}
	limit := s.logCap
	s.mu.Unlock()
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Size() > limit {
			rotateLog(p)
		}
	}
}

func (s *Supervisor) maybeMaintain() {
	s.mu.Lock()
	due := time.Since(s.lastMaintain) >= maintainEvery
	s.mu.Unlock()
	if due {
		s.Maintain()
	}
}

// rotateLog moves a log's content to <log>.1 and empties the log in place.
// Copy-then-truncate rather than rename: the running service holds the log
// open, and after a rename it would go on writing into <log>.1. It opened the
// file with O_APPEND, so after the truncate its next write lands at the new
// end (offset 0), leaving no hole. The window: lines written between the end
// of the copy and the truncate are lost, a few milliseconds once per cap.
func rotateLog(path string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".1.tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	_, err = io.Copy(tmp, src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path+".1")
	}
	if err != nil {
		return err
	}
	return os.Truncate(path, 0)
}

// appendLine adds one line of postdeck's own to a log file.
func appendLine(path, line string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	f.WriteString(line + "\n")
	f.Close()
}

// FollowLog writes what is added to the service's log from now on, until
// ctx ends (then it returns nil): for `postdeck logs -f`. A bin service's log
// file is polled (a missing file is waited for; a file that shrank was
// capped, see rotateLog, and is read again from its start after a line
// saying so); a systemd unit's journal is followed with `journalctl -u UNIT
// -f -n 0`.
func (s *Supervisor) FollowLog(ctx context.Context, name string, w io.Writer) error {
	s.mu.Lock()
	sv := s.svcs[name]
	s.mu.Unlock()
	if sv == nil {
		return unknownService(name)
	}
	if sv.conf.SystemdUnit != "" {
		return journalFollow(ctx, sv.conf.SystemdUnit, w)
	}
	return followFile(ctx, s.logPath(sv), w, s.followEvery)
}

// followStarter is a test hook: a writer given to followFile that has this
// method is told once following has begun (the starting offset is taken), so
// a test can write to the log knowing the order without sleeping.
type followStarter interface{ followStarted() }

// followFile polls path every interval and copies what was appended, with
// the reads of the dashboard's log view (readFileChunk). A missing log is
// waited for; a log that shrank was capped (see rotateLog) and is read
// again after a line saying so.
func followFile(ctx context.Context, path string, w io.Writer, every time.Duration) error {
	var cur LogCursor
	if fi, err := os.Stat(path); err == nil {
		cur = LogCursor{started: true, offset: fi.Size(), file: fi}
	}
	if fs, ok := w.(followStarter); ok {
		fs.followStarted()
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		var err error
		if cur, err = copyNew(w, path, cur); err != nil {
			return err
		}
	}
}

// copyNew writes what was appended to path since cur and returns where the
// next read starts.
func copyNew(w io.Writer, path string, cur LogCursor) (LogCursor, error) {
	for {
		c, err := readFileChunk(path, cur)
		switch {
		case err != nil:
			return cur, err
		case c.Missing: // not written yet: read it from its start once it is
			return LogCursor{started: true}, nil
		case c.Reset:
			if _, err := fmt.Fprintln(w, logCapped); err != nil {
				return cur, err
			}
		}
		if _, err := w.Write(c.Data); err != nil {
			return cur, err
		}
		if cur = c.Next; !c.More {
			return cur, nil
		}
	}
}
