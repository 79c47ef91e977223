package proc

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// procEntry is one process seen in /proc. Entries are never changed once
// made, so a scan's result can be read without locks.
type procEntry struct {
	pid    int
	start  uint64 // start ticks: with pid, identifies the process for good
	comm   string
	zombie bool
	args   []string
	// exe is /proc/<pid>/exe when first seen: the executable's path, "
	// (deleted)" appended by the kernel when it was removed or replaced;
	// "" when it cannot be read (another user's process). exeDev and exeIno
	// are the executable's file, which an upgrade in place does not change
	// for a running process.
	exe            string
	exeDev, exeIno uint64
	// post is set when the command line is a post-service's (see
	// matchPostService: named post-service, or any name with the --dir of a
	// configured service and an --address); Dir is cleaned and absolute when
	// it could be.
	post *PostServiceProc
}

// is reports whether e is the process that started at start ticks and has
// not ended: a pid alone may have been reused by another process.
func (e *procEntry) is(start uint64) bool { return e != nil && e.start == start && !e.zombie }

// procScanner lists processes cheaply enough to run every poll with a
// thousand processes on the machine: one read of the /proc folder and one
// small read of each /proc/<pid>/stat per scan; the command line (and the
// working folder, for a relative --dir) is read again only when the pid's
// start time or its executable name (comm, changed by exec) is new. A wrapper
// script that execs post-service therefore is seen once it has exec'd.
type procScanner struct {
	root  string
	dirs  map[string]bool // the configured services' data dirs, absolute and clean; fixed after creation
	mu    sync.Mutex
	cache map[int]*procEntry
	buf   []byte
}

// newProcScanner scans root; dirs are the configured data dirs, which a
// post-service not named post-service must serve to be recognised.
func newProcScanner(root string, dirs map[string]bool) *procScanner {
	return &procScanner{root: root, dirs: dirs, cache: map[int]*procEntry{}, buf: make([]byte, 1024)}
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
	link := filepath.Join(p.root, strconv.Itoa(pid), "exe")
	e.exe, _ = os.Readlink(link)
	if fi, err := os.Stat(link); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			e.exeDev, e.exeIno = st.Dev, st.Ino
		}
	}
	resolve := func(dir string) string { return p.absDir(pid, dir) }
	if ps, ok := matchPostService(e.args, resolve, func(dir string) bool { return p.dirs[dir] }); ok {
		ps.PID = pid
		e.post = &ps
	}
	return e
}

// absDir resolves a relative --dir against the process's working folder.
func (p *procScanner) absDir(pid int, dir string) string { return resolveDir(p.root, pid, dir) }

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
	return p.absDir(e.pid, ParsePostServiceArgs(e.args).Dir)
}
