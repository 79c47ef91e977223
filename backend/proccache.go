package backend

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// procEntry is one process seen in /proc. Entries are never changed once
// made, so a scan's result can be read without locks.
type procEntry struct {
	pid    int
	start  uint64 // start ticks: with pid, identifies the process for good
	comm   string
	zombie bool
	args   []string
	// post is set when argv[0]'s base name is post-service (as in
	// ScanPostServices); Dir is cleaned and absolute when it could be.
	post *PostServiceProc
}

// procScanner lists processes cheaply enough to run every poll with a
// thousand processes on the machine: one read of the /proc folder and one
// small read of each /proc/<pid>/stat per scan; the command line (and the
// working folder, for a relative --dir) is read again only when the pid's
// start time or its executable name (comm, changed by exec) is new. A wrapper
// script that execs post-service therefore is seen once it has exec'd.
type procScanner struct {
	root  string
	mu    sync.Mutex
	cache map[int]*procEntry
	buf   []byte
}

func newProcScanner(root string) *procScanner {
	return &procScanner{root: root, cache: map[int]*procEntry{}, buf: make([]byte, 1024)}
}

// scan returns every process by pid. The map is the scanner's new cache:
// callers must not change it.
func (p *procScanner) scan() (map[int]*procEntry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, err := os.Open(p.root)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	next := make(map[int]*procEntry, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid <= 0 {
			continue
		}
		st, err := readProcStat(p.root, pid, p.buf)
		if err != nil {
			continue // gone since the folder was read
		}
		old := p.cache[pid]
		if old != nil && old.start == st.start && old.comm == st.comm && old.zombie == st.zombie &&
			(old.post != nil || st.comm != PostServiceName) {
			next[pid] = old
			continue
		}
		next[pid] = p.read(pid, st)
	}
	p.cache = next
	return next, nil
}

// read makes a fresh entry for a process, reading its command line.
func (p *procScanner) read(pid int, st procStat) *procEntry {
	e := &procEntry{pid: pid, start: st.start, comm: st.comm, zombie: st.zombie}
	if st.zombie {
		return e // a zombie has no command line
	}
	e.args = readCmdline(filepath.Join(p.root, strconv.Itoa(pid), "cmdline"))
	if len(e.args) > 0 && filepath.Base(e.args[0]) == PostServiceName {
		ps := parsePostServiceArgs(e.args)
		ps.PID = pid
		ps.Dir = p.absDir(pid, ps.Dir)
		e.post = &ps
	}
	return e
}

// absDir resolves a relative --dir against the process's working folder.
func (p *procScanner) absDir(pid int, dir string) string {
	if dir == "" {
		return ""
	}
	if !filepath.IsAbs(dir) {
		cwd, err := os.Readlink(filepath.Join(p.root, strconv.Itoa(pid), "cwd"))
		if err != nil || !filepath.IsAbs(cwd) {
			return filepath.Clean(dir)
		}
		dir = filepath.Join(cwd, dir)
	}
	return filepath.Clean(dir)
}

// lookup reads one process now, bypassing the cache: for decisions such as
// whether to signal a pid, which must not trust a scan seconds old.
func (p *procScanner) lookup(pid int) (*procEntry, bool) {
	st, err := readProcStat(p.root, pid, nil)
	if err != nil {
		return nil, false
	}
	return p.read(pid, st), true
}

// dirOf is the process's --dir, absolute and clean, whatever its argv[0]
// (a service postdeck started may run a binary with another name).
func (p *procScanner) dirOf(e *procEntry) string {
	if e.post != nil {
		return e.post.Dir
	}
	if len(e.args) == 0 {
		return ""
	}
	return p.absDir(e.pid, parsePostServiceArgs(e.args).Dir)
}
