package backend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"postdeck/model"
	"postdeck/safefile"
)

// The supervisor starts post-services detached from postdeck, re-adopts
// them after postdeck restarts, recognises post-services started by other
// means and stops any of them. Files under the state folder:
//
//	services/<name>.json  what postdeck knows of the process it started (pid, start ticks, argv, ...)
//	logs/<name>.log       the service's stdout and stderr, capped (see Maintain)
//	logs/<name>.log.1     the previous part of the log
//
// A process is identified by its pid AND its start time in clock ticks
// (/proc/<pid>/stat field 22): a pid the kernel reused for another process
// has another start time, so it is never taken for the service, and never
// signalled.

// ErrNotRunning is wrapped by Stop's error when there is nothing to stop.
var ErrNotRunning = errors.New("not running")

const (
	// DefaultLogCap is the size at which a service's log is rotated.
	DefaultLogCap = 10 << 20
	// startWait is how long Start watches a new process for an immediate
	// exit (bad arguments, unreadable data) before calling it started.
	startWait = time.Second
	// killWait bounds the wait for a process to vanish after SIGKILL.
	killWait = 5 * time.Second
	// maintainEvery is how often Procs runs Maintain by itself.
	maintainEvery = 10 * time.Second
)

// A process's end is recorded twice: short, as the table's EXIT column shows
// it (model.ProcInfo.LastExit: "exit 0", "exit 1", "SIGKILL", "SIGTERM",
// "died (status unknown)"), and in words (ProcInfo.ExitDetail, also in the
// log: "killed by SIGKILL after 10s: stopped by postdeck", "exited while
// postdeck was not running (status unknown)").
const (
	// diedUnknown is the short last exit of a process whose exit status
	// postdeck could not see: it was not postdeck's child.
	diedUnknown = "died (status unknown)"
	// exitedUnseen is the detail of a service whose process ended while no
	// postdeck was running.
	exitedUnseen = "exited while postdeck was not running (status unknown)"
	// exitedNotOurs is the detail of one that ended while a postdeck ran, but
	// not the one that started it (a `postdeck start` next to the dashboard).
	exitedNotOurs = "exited (status unknown: not started by this postdeck)"
)

// DefaultStateDir is $XDG_STATE_HOME/postdeck, falling back to
// ~/.local/state/postdeck.
func DefaultStateDir() string {
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "postdeck")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "postdeck")
	}
	return ".postdeck-state"
}

// Supervisor manages the configured services' processes. It is safe for
// concurrent use; Start and Stop of one service exclude each other.
type Supervisor struct {
	cfg       *Config
	stateDir  string
	procs     *procScanner
	meta      *MetadataCache
	logCap    int64
	startWait time.Duration
	// followEvery is how often FollowLog polls a log file.
	followEvery time.Duration

	mu           sync.Mutex
	svcs         map[string]*service
	lastMaintain time.Time
	// The services folder's mtime when Procs last re-read every state file,
	// and when (the machine's clock): see stateFilesMayHaveChangedLocked.
	stateSeen, stateReadAt time.Time
}

// service is one configured service and what the supervisor knows of it.
type service struct {
	conf ServiceConfig
	dir  string // conf.Dir, absolute and clean: how processes are matched
	file string // file name stem for its state and log files
	st   svcState
	mod  fileMod // of the state file when last read or written

	// While this postdeck is the process's parent: the child, its pid and a
	// channel closed once it has been reaped.
	proc     *os.Process
	childPID int
	done     chan struct{}

	busy string   // "starting" or "stopping" while Start or Stop runs
	lock *os.File // services/<name>.lock, flock'ed meanwhile

	disk      string
	diskKnown bool
}

// svcState is services/<name>.json.
type svcState struct {
	Name       string    `json:"name"`
	PID        int       `json:"pid,omitempty"`
	StartTicks uint64    `json:"start_ticks,omitempty"` // /proc/<pid>/stat field 22
	Argv       []string  `json:"argv,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	Restarts   int       `json:"restarts"`              // starts after the first
	LastExit   string    `json:"last_exit,omitempty"`   // short: "exit 1", "SIGTERM", "died (status unknown)"
	ExitDetail string    `json:"exit_detail,omitempty"` // the same in words
	ExitedAt   time.Time `json:"exited_at,omitzero"`
}

// fileMod tells whether a file changed: WriteFileAtomic renames a new file
// into place, so each write gives a new inode.
type fileMod struct {
	ino  uint64
	size int64
	mod  time.Time
}

func statMod(path string) (fileMod, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileMod{}, false
	}
	m := fileMod{size: fi.Size(), mod: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m.ino = st.Ino
	}
	return m, true
}

// NewSupervisor reads the state files under stateDir (created 0700 if
// needed) and re-adopts the processes they name, each only if /proc shows
// the same start time and the same --dir: a pid reused by another process
// is dropped, and the service shows as exited.
func NewSupervisor(cfg *Config, stateDir string) (*Supervisor, error) {
	for _, d := range []string{stateDir, filepath.Join(stateDir, "logs"), filepath.Join(stateDir, "services")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("cannot create postdeck's state folder: %v", err)
		}
	}
	dirs := map[string]bool{}
	for _, c := range cfg.Services {
		if d := absClean(c.Dir); d != "" {
			dirs[d] = true
		}
	}
	s := &Supervisor{
		cfg:         cfg,
		stateDir:    stateDir,
		procs:       newProcScanner("/proc", dirs),
		meta:        NewMetadataCache(),
		logCap:      DefaultLogCap,
		startWait:   startWait,
		followEvery: followEvery,
		svcs:        map[string]*service{},
	}
	for _, c := range cfg.Services {
		sv := &service{conf: c, dir: absClean(c.Dir), file: fileStem(c.Name)}
		sv.st.Name = c.Name
		s.refreshLocked(sv)
		if sv.st.PID != 0 && !s.adoptable(sv) {
			s.noteExitLocked(sv, diedUnknown, exitedUnseen)
		}
		s.svcs[c.Name] = sv
	}
	return s, nil
}

// adoptable: the recorded pid is alive with the recorded start time and
// serves this service's data dir.
func (s *Supervisor) adoptable(sv *service) bool {
	e, _ := s.procs.lookup(sv.st.PID)
	return e.is(sv.st.StartTicks) && s.procs.dirOf(e) == sv.dir
}

func absClean(dir string) string {
	if dir == "" {
		return ""
	}
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return filepath.Clean(dir)
}

// fileStem makes a service name safe as a file name; a name that had to be
// changed gets a hash of the original so two names never share files.
func fileStem(name string) string {
	safe := []byte(name)
	changed := name == "" || name[0] == '.'
	for i, c := range safe {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			safe[i], changed = '_', true
		}
	}
	if !changed {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return strings.TrimLeft(string(safe), ".") + "-" + hex.EncodeToString(sum[:4])
}

func (s *Supervisor) statePath(sv *service) string {
	return filepath.Join(s.stateDir, "services", sv.file+".json")
}

// refreshLocked reloads the state file when another postdeck (a `postdeck
// start` next to the dashboard, say) wrote it since we last did.
func (s *Supervisor) refreshLocked(sv *service) {
	path := s.statePath(sv)
	m, ok := statMod(path)
	if !ok || m == sv.mod {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var st svcState
	if json.Unmarshal(b, &st) != nil {
		return // damaged: keep what we have; the next save replaces it
	}
	st.Name = sv.conf.Name
	sv.st, sv.mod = st, m
}

// saveLocked writes the state file atomically.
func (s *Supervisor) saveLocked(sv *service) error {
	b, err := json.MarshalIndent(sv.st, "", "  ")
	if err != nil {
		return err
	}
	path := s.statePath(sv)
	if err := safefile.WriteAtomic(path, append(b, '\n'), 0o600, true); err != nil {
		return err
	}
	sv.mod, _ = statMod(path)
	return nil
}

// noteExitLocked records that the tracked process is gone: short is the
// EXIT column's word for it, detail the same in words.
func (s *Supervisor) noteExitLocked(sv *service, short, detail string) {
	sv.st.PID, sv.st.StartTicks = 0, 0
	sv.st.LastExit, sv.st.ExitDetail, sv.st.ExitedAt = short, detail, time.Now()
	s.saveLocked(sv)
}

func (sv *service) startable() bool { return sv.conf.Bin != "" || sv.conf.SystemdUnit != "" }

// Procs reports every configured service's process. Cost per call: one
// read of /proc, one small read per process, a stat of each state file and,
// when systemd units are configured, one `systemctl show` for all of them.
// It also runs Maintain every 10 seconds.
func (s *Supervisor) Procs() map[string]model.ProcInfo {
	s.maybeMaintain()
	table, scanErr := s.procs.scan()
	units := s.unitStates(context.Background())
	byDir := map[string]*procEntry{}
	for _, e := range table {
		if e.post != nil && !e.zombie && e.post.Dir != "" {
			if o := byDir[e.post.Dir]; o == nil || e.pid < o.pid {
				byDir[e.post.Dir] = e
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	reread := s.stateFilesMayHaveChangedLocked()
	out := make(map[string]model.ProcInfo, len(s.svcs))
	for name, sv := range s.svcs {
		if reread {
			s.refreshLocked(sv)
		}
		out[name] = s.infoLocked(sv, table, byDir, units, scanErr)
	}
	return out
}

// stateFilesMayHaveChangedLocked says whether Procs must look at every
// state file for one another postdeck wrote. Every postdeck writes them by
// rename (saveLocked), which moves the services folder's mtime: while it
// stands, one stat answers for a thousand. A folder changed within a second
// of the last look is looked at again (a change in the same tick of the file
// system's clock leaves the mtime as it was), and every FileRecheck anyway.
func (s *Supervisor) stateFilesMayHaveChangedLocked() bool {
	fi, err := os.Stat(filepath.Join(s.stateDir, "services"))
	if err != nil {
		return true
	}
	now := time.Now()
	if fi.ModTime().Equal(s.stateSeen) && now.Sub(s.stateReadAt) < FileRecheck && s.stateReadAt.Sub(s.stateSeen) > time.Second {
		return false
	}
	s.stateSeen, s.stateReadAt = fi.ModTime(), now
	return true
}

func (s *Supervisor) infoLocked(sv *service, table map[int]*procEntry, byDir map[string]*procEntry,
	units map[string]unitState, scanErr error) model.ProcInfo {
	info := model.ProcInfo{Startable: sv.startable(), Restarts: sv.st.Restarts, LastExit: sv.st.LastExit, ExitDetail: sv.st.ExitDetail}
	if sv.conf.SystemdUnit != "" {
		return unitInfo(info, units[sv.conf.Name], table)
	}
	if scanErr != nil {
		info.State = model.ProcUnknown
		return info
	}
	if pid := sv.st.PID; pid != 0 {
		e := table[pid]
		if !e.is(sv.st.StartTicks) {
			// The scan may predate a start recorded since: ask /proc again.
			e, _ = s.procs.lookup(pid)
		}
		if e.is(sv.st.StartTicks) {
			info.State, info.Manager, info.PID, info.Started = model.ProcRunning, model.ManagerPostdeck, pid, sv.st.StartedAt
			return info
		}
		if sv.childPID != pid {
			// Not our child, so no exit status: it was adopted, or started
			// by another postdeck.
			s.noteExitLocked(sv, diedUnknown, exitedNotOurs)
			info.LastExit, info.ExitDetail = sv.st.LastExit, sv.st.ExitDetail
		} // else our reaper records the status in a moment
	}
	if e := byDir[sv.dir]; e != nil && e.pid != sv.st.PID {
		info.State, info.Manager, info.PID, info.Started = model.ProcRunning, model.ManagerExternal, e.pid, startTime(e.start)
		return info
	}
	info.State = model.ProcStopped
	if !info.Startable {
		info.State = model.ProcUnknown // may run on another machine
	}
	return info
}

// Disk is the service's proving group: its configured disk, else its data
// dir's device (named by where the device is mounted), "" when unknown.
func (s *Supervisor) Disk(name string) string {
	s.mu.Lock()
	sv := s.svcs[name]
	if sv == nil {
		s.mu.Unlock()
		return ""
	}
	if sv.conf.Disk != "" || sv.diskKnown {
		defer s.mu.Unlock()
		if sv.conf.Disk != "" {
			return sv.conf.Disk
		}
		return sv.disk
	}
	dir := sv.dir
	s.mu.Unlock()
	d := deviceName(dir)
	if d != "" {
		s.mu.Lock()
		sv.disk, sv.diskKnown = d, true
		s.mu.Unlock()
	}
	return d
}

// deviceName names the device holding dir: the first mount point of that
// device in /proc/self/mountinfo (so bind mounts of one disk share a name),
// else "dev:MAJ:MIN"; "" when dir cannot be stat'ed.
func deviceName(dir string) string {
	var st syscall.Stat_t
	if dir == "" || syscall.Stat(dir, &st) != nil {
		return ""
	}
	dev := uint64(st.Dev)
	major := (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff)
	minor := dev&0xff | (dev>>12)&^uint64(0xff)
	return mountNames.name(fmt.Sprintf("%d:%d", major, minor))
}

// mountNames remembers each device's name: a thousand services on a few
// disks read mountinfo once per disk, not once per service.
var mountNames = &mountCache{names: map[string]string{}}

type mountCache struct {
	mu    sync.Mutex
	names map[string]string // MAJ:MIN → mount point or "dev:MAJ:MIN"
}

func (c *mountCache) name(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.names[id]; ok {
		return n
	}
	n := "dev:" + id
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			// id parent MAJ:MIN root mountpoint ...
			if f := strings.Fields(line); len(f) > 4 && f[2] == id {
				// A copy: a substring would keep all of mountinfo alive.
				n = strings.Clone(f[4])
				break
			}
		}
	}
	c.names[id] = n
	return n
}

// Args is the argv Start runs for a bin service.
func (s *Supervisor) Args(name string) ([]string, error) {
	s.mu.Lock()
	sv := s.svcs[name]
	s.mu.Unlock()
	if sv == nil {
		return nil, unknownService(name)
	}
	return s.args(sv)
}

func (s *Supervisor) args(sv *service) ([]string, error) {
	c := sv.conf
	switch {
	case c.SystemdUnit != "":
		return nil, fmt.Errorf("%s runs as systemd unit %s: systemd builds its command line", c.Name, c.SystemdUnit)
	case c.Bin == "":
		return nil, fmt.Errorf("%s has neither bin nor systemd_unit in its [[service]]: postdeck does not know how to start it; "+
			"set bin to the post-service executable", c.Name)
	}
	addr := c.Address
	if addr == "" {
		if s.cfg.Node.PostListener == "" {
			return nil, fmt.Errorf("%s: no address for the node: set address in its [[service]] or post_listener in [node]", c.Name)
		}
		addr = "http://" + s.cfg.Node.PostListener
	}
	argv := []string{c.Bin, "--address", addr, "--dir", sv.dir}
	if c.Operator != "" {
		argv = append(argv, "--operator-address", c.Operator)
	}
	if c.Threads != nil {
		argv = append(argv, "--threads", strconv.Itoa(*c.Threads))
	}
	if c.Nonces != 0 {
		argv = append(argv, "--nonces", strconv.Itoa(c.Nonces))
	}
	if c.RandomXMode != "" {
		argv = append(argv, "--randomx-mode", c.RandomXMode)
	}
	return append(argv, c.ExtraArgs...), nil
}

func unknownService(name string) error {
	return fmt.Errorf("no service named %q in the config", name)
}

// begin marks a service busy for one Start or Stop, in this postdeck and,
// through a lock file, in any other postdeck on the same state folder (the
// dashboard and a `postdeck start` in a script): two starts racing past the
// checks would run two processes on one data dir.
func (s *Supervisor) begin(name, what string) (*service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.svcs[name]
	if sv == nil {
		return nil, unknownService(name)
	}
	if sv.busy != "" {
		return nil, fmt.Errorf("%s is already %s: try again when that is done", name, sv.busy)
	}
	f, err := os.OpenFile(filepath.Join(s.stateDir, "services", sv.file+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot open its lock file: %v", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is being started or stopped by another postdeck: try again when that is done", name)
		}
		return nil, fmt.Errorf("%s: cannot lock its lock file: %v", name, err)
	}
	sv.busy, sv.lock = what, f
	return sv, nil
}

func (s *Supervisor) end(sv *service) {
	s.mu.Lock()
	sv.busy = ""
	sv.lock.Close() // releases the flock
	sv.lock = nil
	s.mu.Unlock()
}

// Start checks that the service can start (see startChecks) and launches
// it: detached, in its own session, stdin from /dev/null, stdout and stderr
// appended to its log file. Then it watches for up to a second: a process
// that exits at once is an error carrying its last log lines.
func (s *Supervisor) Start(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sv, err := s.begin(name, "starting")
	if err != nil {
		return err
	}
	defer s.end(sv)
	if sv.conf.SystemdUnit != "" {
		return s.startUnit(ctx, sv)
	}
	argv, err := s.args(sv)
	if err != nil {
		return err
	}
	if err := s.startChecks(sv); err != nil {
		return err
	}
	bin, err := checkBin(sv.conf.Name, argv[0])
	if err != nil {
		return err
	}
	return s.launch(ctx, sv, bin, argv)
}

// checkBin finds the executable and says plainly why it cannot run.
func checkBin(name, bin string) (string, error) {
	path := bin
	if !strings.Contains(bin, "/") {
		p, err := exec.LookPath(bin)
		if err != nil {
			return "", fmt.Errorf("%s: bin %q is not found in PATH: set bin to the post-service executable's full path", name, bin)
		}
		path = p
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("%s: bin %s does not exist: set bin to the post-service executable (from the post-rs release)", name, bin)
	case err != nil:
		return "", fmt.Errorf("%s: bin %s: %v", name, bin, err)
	case fi.IsDir():
		return "", fmt.Errorf("%s: bin %s is a directory: set bin to the post-service executable inside it", name, bin)
	case syscall.Access(path, 1 /* X_OK */) != nil:
		return "", fmt.Errorf("%s: bin %s is not executable: chmod +x it (and check the mount allows exec)", name, bin)
	}
	return path, nil
}

// runningProc is a post-service process running on this machine.
type runningProc struct {
	pid      int
	dir      string
	operator string
}

// running lists post-service processes: those the scan recognises (see
// matchPostService), and those this postdeck tracks whatever their command
// line (a wrapper script as bin, say).
func (s *Supervisor) running(table map[int]*procEntry) []runningProc {
	var out []runningProc
	seen := map[int]bool{}
	for _, e := range table {
		if e.post != nil && !e.zombie {
			out = append(out, runningProc{e.pid, e.post.Dir, e.post.Operator})
			seen[e.pid] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.svcs {
		if e := table[sv.st.PID]; sv.st.PID != 0 && !seen[sv.st.PID] && e.is(sv.st.StartTicks) {
			out = append(out, runningProc{e.pid, sv.dir, sv.conf.Operator})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pid < out[j].pid })
	return out
}

// describe names a running post-service for an error message.
func (s *Supervisor) describe(p runningProc) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.svcs {
		if sv.dir == p.dir {
			return fmt.Sprintf("pid %d (service %s, --dir %s)", p.pid, sv.conf.Name, p.dir)
		}
	}
	return fmt.Sprintf("pid %d (--dir %s)", p.pid, p.dir)
}

// startChecks refuses a start that cannot work or would do harm: the
// service already running, another process on its data dir or its identity,
// its data dir or metadata missing, its operator port taken.
func (s *Supervisor) startChecks(sv *service) error {
	name := sv.conf.Name
	s.mu.Lock()
	s.refreshLocked(sv)
	pid, ticks := sv.st.PID, sv.st.StartTicks
	s.mu.Unlock()
	if pid != 0 {
		if e, _ := s.procs.lookup(pid); e.is(ticks) {
			return fmt.Errorf("%s is already running (pid %d)", name, pid)
		}
	}
	table, err := s.procs.scan()
	if err != nil {
		return fmt.Errorf("cannot list processes to check nothing else serves %s: %v", sv.dir, err)
	}
	others := s.running(table)
	for _, o := range others {
		if o.dir == sv.dir {
			return fmt.Errorf("%s: data dir %s is already served by %s, started outside postdeck: "+
				"stop that process first (stopping %s in postdeck stops it)", name, sv.dir, s.describe(o), name)
		}
	}
	meta, err := ReadMetadata(sv.dir)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	for _, o := range others {
		if m, err := s.meta.Get(o.dir); err == nil && string(m.NodeID) == string(meta.NodeID) {
			return fmt.Errorf("%s: identity %s (NodeId in %s) is already being proven by %s: "+
				"a second connection for one identity is refused by the node and wastes RAM; stop that one first",
				name, hex.EncodeToString(meta.NodeID[:4]), MetadataFile, s.describe(o))
		}
	}
	if sv.conf.Operator != "" {
		if err := operatorPortFree(sv.conf.Operator, others, s.describe); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
	}
	return nil
}

// launch starts the process and records it.
func (s *Supervisor) launch(ctx context.Context, sv *service, bin string, argv []string) error {
	name := sv.conf.Name
	logPath := s.logPath(sv)
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("%s: cannot open its log file: %v", name, err)
	}
	// The marker: "exited at once" shows only what follows the last one.
	fmt.Fprintf(f, "%s\n--- postdeck: command: %s\n", startMarker(name, time.Now()), quoteArgs(argv))
	cmd := &exec.Cmd{
		Path: bin,
		Args: argv,
		Env:  serviceEnv(sv.conf.Env),
		// Stdin nil is /dev/null. The log file itself, not a pipe, is the
		// child's stdout and stderr: with a pipe, a postdeck that quit or
		// crashed would leave the child to die of SIGPIPE on its next line.
		Stdout: f,
		Stderr: f,
		// Its own session: no controlling terminal, so a closed terminal or
		// a lost SSH connection (SIGHUP to the session) does not reach it.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	f.Close() // the child has its own descriptor
	if err != nil {
		return fmt.Errorf("%s: cannot start %s: %v", name, bin, err)
	}
	pid := cmd.Process.Pid
	// Our unreaped child: its pid cannot be reused, so this read is safe.
	st, _ := readProcStat(s.procs.root, pid, nil)
	done := make(chan struct{})
	s.mu.Lock()
	s.refreshLocked(sv)
	if !sv.st.StartedAt.IsZero() {
		sv.st.Restarts++
	}
	sv.st.PID, sv.st.StartTicks, sv.st.Argv, sv.st.StartedAt = pid, st.start, argv, time.Now()
	sv.proc, sv.childPID, sv.done = cmd.Process, pid, done
	saveErr := s.saveLocked(sv)
	s.mu.Unlock()
	go s.reap(sv, cmd, done)

	timer := time.NewTimer(s.startWait)
	defer timer.Stop()
	select {
	case <-done:
		s.mu.Lock()
		status := sv.st.ExitDetail
		s.mu.Unlock()
		return fmt.Errorf("%s exited at once (%s); the last lines of %s:\n%s",
			name, status, logPath, strings.Join(s.runTail(sv, 10), "\n"))
	case <-timer.C:
	case <-ctx.Done():
	}
	if saveErr != nil {
		return fmt.Errorf("%s started (pid %d) but its state file could not be written, so a new postdeck will show it as external: %v",
			name, pid, saveErr)
	}
	return nil
}

// reap waits for our child, records how it ended and notes it in its log.
func (s *Supervisor) reap(sv *service, cmd *exec.Cmd, done chan struct{}) {
	err := cmd.Wait()
	short, detail := exitText(cmd.ProcessState, err)
	pid := cmd.Process.Pid
	appendLine(s.logPath(sv), fmt.Sprintf("--- postdeck: pid %d ended at %s: %s ---", pid, time.Now().Format(time.RFC3339), detail))
	s.mu.Lock()
	s.refreshLocked(sv)
	if sv.st.PID == pid {
		s.noteExitLocked(sv, short, detail)
	}
	if sv.childPID == pid {
		sv.proc, sv.childPID = nil, 0
	}
	s.mu.Unlock()
	close(done)
}

// serviceEnv is postdeck's environment plus the service's env table (later
// entries win in os/exec).
func serviceEnv(extra map[string]string) []string {
	env := os.Environ()
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+extra[k])
	}
	return env
}

func quoteArgs(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$") {
			a = strconv.Quote(a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// exitText words a reaped process's end, short ("exit 1", "SIGKILL") and
// long ("exit status 1", "killed by SIGKILL (core dumped)").
func exitText(ps *os.ProcessState, err error) (short, detail string) {
	if ps == nil {
		return diedUnknown, fmt.Sprintf("status unknown (%v)", err)
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	switch {
	case ok && ws.Exited():
		return exitCode(ws.ExitStatus())
	case ok && ws.Signaled():
		return killedBy(ws.Signal(), ws.CoreDump())
	}
	return diedUnknown, ps.String()
}

func exitCode(code int) (short, detail string) {
	return fmt.Sprintf("exit %d", code), fmt.Sprintf("exit status %d", code)
}

func killedBy(sig syscall.Signal, core bool) (short, detail string) {
	detail = "killed by " + signalName(sig)
	if core {
		detail += " (core dumped)"
	}
	return signalName(sig), detail
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT", syscall.SIGILL: "SIGILL",
	syscall.SIGTRAP: "SIGTRAP", syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE",
	syscall.SIGKILL: "SIGKILL", syscall.SIGUSR1: "SIGUSR1", syscall.SIGSEGV: "SIGSEGV", syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGPIPE: "SIGPIPE", syscall.SIGALRM: "SIGALRM", syscall.SIGTERM: "SIGTERM",
}

func signalName(sig syscall.Signal) string {
	if n, ok := signalNames[sig]; ok {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// target is a process Stop acts on, identified by pid and start ticks.
type target struct {
	pid      int
	start    uint64
	proc     *os.Process   // set when it is our child
	done     chan struct{} // closed when our child was reaped
	external bool
	adopted  bool // tracked in the state file, not our child
	// group: Stop signals the process group -pid, not only the pid. Set
	// only for a process a postdeck started (our child or adopted), once
	// /proc showed it with the recorded start time leading its own session
	// and process group, as launch's Setsid made it: the group is then the
	// one postdeck created, the service and whatever it runs (the real
	// post-service under a wrapper script given as bin, which would
	// otherwise outlive the shell). Never for an external process: its group
	// may hold anything, the operator's shell included.
	group bool
}

// Stop ends the service's process, whoever started it: SIGTERM, then
// SIGKILL when it is still there after [proving] stop_grace. For a process
// postdeck started, that is its whole process group (see target.group), and
// Stop waits until none of the group is left. It does not judge whether
// stopping is safe: the caller did. Nothing running is an error wrapping
// ErrNotRunning, and nothing is signalled.
func (s *Supervisor) Stop(ctx context.Context, name string) error {
	sv, err := s.begin(name, "stopping")
	if err != nil {
		return err
	}
	defer s.end(sv)
	if sv.conf.SystemdUnit != "" {
		return s.stopUnit(ctx, sv)
	}
	t, ok := s.findTarget(sv)
	if !ok {
		return fmt.Errorf("%s is %w: nothing to stop", name, ErrNotRunning)
	}
	if err := s.signal(t, syscall.SIGTERM); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("%s is %w: it ended before it was signalled", name, ErrNotRunning)
		}
		return fmt.Errorf("%s: %v", name, err)
	}
	grace := s.cfg.Proving.StopGrace.Duration
	if grace <= 0 {
		grace = DefaultStopGrace
	}
	if s.waitGone(ctx, t, grace) {
		s.noteStopped(sv, t, "SIGTERM", "stopped by postdeck with SIGTERM")
		return nil
	}
	what := fmt.Sprintf("pid %d", t.pid)
	if t.group {
		what = fmt.Sprintf("process group %d", t.pid)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: stop cancelled after SIGTERM; %s may still be running: %w", name, what, ctx.Err())
	}
	if err := s.signal(t, syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: %v", name, err)
	}
	if s.waitGone(context.WithoutCancel(ctx), t, killWait) {
		s.noteStopped(sv, t, "SIGKILL", fmt.Sprintf("killed by postdeck with SIGKILL after %s", grace))
		return nil
	}
	return fmt.Errorf("%s: %s is still there %s after SIGKILL (stuck in the kernel, such as on a dead disk?)", name, what, killWait)
}

// findTarget is the running process of a service: the one postdeck tracks,
// else an external post-service on its data dir.
func (s *Supervisor) findTarget(sv *service) (target, bool) {
	s.mu.Lock()
	s.refreshLocked(sv)
	pid, ticks := sv.st.PID, sv.st.StartTicks
	t := target{pid: pid, start: ticks, adopted: true}
	if sv.childPID == pid && pid != 0 {
		t.proc, t.done, t.adopted = sv.proc, sv.done, false
	}
	s.mu.Unlock()
	if pid != 0 && s.alive(t) {
		t.group = s.leadsOwnGroup(t)
		return t, true
	}
	table, err := s.procs.scan()
	if err != nil {
		return target{}, false
	}
	var found *procEntry
	for _, e := range table {
		if e.post != nil && !e.zombie && e.post.Dir == sv.dir && (found == nil || e.pid < found.pid) {
			found = e
		}
	}
	if found == nil {
		return target{}, false
	}
	return target{pid: found.pid, start: found.start, external: true}, true
}

// alive: the process is still there, not a zombie, with its start time.
func (s *Supervisor) alive(t target) bool {
	if t.done != nil {
		select {
		case <-t.done:
			return false
		default:
		}
	}
	st, err := readProcStat(s.procs.root, t.pid, nil)
	return err == nil && st.is(t.start)
}

// leadsOwnGroup: the target, with its start time, leads its own session and
// process group, as a process launch started does.
func (s *Supervisor) leadsOwnGroup(t target) bool {
	st, err := readProcStat(s.procs.root, t.pid, nil)
	return err == nil && st.is(t.start) && st.pgrp == t.pid && st.sid == t.pid
}

// signal sends sig to the target: its process group when target.group,
// else exactly the process. For a single process that is not our child it
// takes a pidfd first and then checks the start time: the pidfd keeps
// pointing at that process even if its pid is reused later, so a process
// that merely inherited the pid is never signalled.
func (s *Supervisor) signal(t target, sig syscall.Signal) error {
	if t.group {
		return s.signalGroup(t, sig)
	}
	p := t.proc
	if p == nil {
		var err error
		if p, err = os.FindProcess(t.pid); err != nil {
			return os.ErrProcessDone
		}
		defer p.Release()
		if !s.alive(t) {
			return os.ErrProcessDone
		}
	}
	err := p.Signal(sig)
	if errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("permission denied sending %s to pid %d: it belongs to another user; stop it as that user or as root",
			signalName(sig), t.pid)
	}
	return err
}

// signalGroup sends sig to every process of the target's group. The group
// was verified as postdeck's (findTarget) while its leader ran. The kernel
// does not give a new process a pid still in use as a process group id, so
// while any process of the group is left the id names the same group; the
// only window is the group emptying and its id going to a new session
// between groupAlive and the kill, which needs the pid counter to wrap
// around in that moment.
func (s *Supervisor) signalGroup(t target, sig syscall.Signal) error {
	if !s.groupAlive(t) {
		return os.ErrProcessDone
	}
	err := syscall.Kill(-t.pid, sig)
	switch {
	case errors.Is(err, syscall.ESRCH):
		return os.ErrProcessDone
	case errors.Is(err, syscall.EPERM):
		return fmt.Errorf("permission denied sending %s to process group %d: it belongs to another user; stop it as that user or as root",
			signalName(sig), t.pid)
	}
	return err
}

// groupAlive: a process of the target's group is still running (zombies,
// which have ended, do not count).
func (s *Supervisor) groupAlive(t target) bool {
	if s.alive(t) {
		return true // its leader
	}
	if err := syscall.Kill(-t.pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	return groupHasLive(s.procs.root, t.pid)
}

// groupHasLive reads every /proc/<pid>/stat for a live process of group
// pgid. Only asked while a stopping group outlives its leader (a wrapper
// script's post-service), a few times a second for at most the grace. When
// /proc cannot be read it says yes: the waits are bounded anyway.
func groupHasLive(root string, pgid int) bool {
	d, err := os.Open(root)
	if err != nil {
		return true
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return true
	}
	buf := make([]byte, 1024)
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid <= 0 {
			continue
		}
		if st, err := readProcStat(root, pid, buf); err == nil && st.pgrp == pgid && !st.zombie {
			return true
		}
	}
	return false
}

// waitGone polls until the target (its whole group, when target.group) is
// gone or d has passed.
func (s *Supervisor) waitGone(ctx context.Context, t target, d time.Duration) bool {
	gone := func() bool {
		if t.group {
			return !s.groupAlive(t)
		}
		return !s.alive(t)
	}
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	reaped := t.done // nil unless our child: never ready then
	for {
		if gone() {
			return true
		}
		select {
		case <-deadline.C:
			return gone()
		case <-ctx.Done():
			return gone()
		case <-tick.C:
		case <-reaped:
			reaped = nil // once: the group may outlive its leader
		}
	}
}

// noteStopped records a stop. For our child the reaper records its real
// exit status; when its group needed SIGKILL after the child itself ended
// of the SIGTERM, the detail says so.
func (s *Supervisor) noteStopped(sv *service, t target, short, detail string) {
	if t.proc != nil {
		<-t.done // reaped right after it ended; bounded by the reaper
		if t.group && short == "SIGKILL" {
			s.mu.Lock()
			s.refreshLocked(sv)
			if sv.st.PID == 0 && sv.st.LastExit != "SIGKILL" {
				sv.st.ExitDetail += "; the rest of its process group was " + detail
				s.saveLocked(sv)
			}
			s.mu.Unlock()
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked(sv)
	if t.external {
		sv.st.LastExit, sv.st.ExitDetail, sv.st.ExitedAt = short, detail+" (external)", time.Now()
		s.saveLocked(sv)
		return
	}
	if sv.st.PID == t.pid {
		s.noteExitLocked(sv, short, detail+" (exit status unknown: not this postdeck's child)")
	}
}
