package proc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/identities"
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

// ErrAlreadyRunning is wrapped by Start's error when the service runs
// already: nothing was started, and the caller may count it a success.
var ErrAlreadyRunning = errors.New("already running")

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
	cfg       *config.Config
	stateDir  string
	procs     *procScanner
	meta      *identities.MetadataCache
	versions  *versionCache
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
	conf config.ServiceConfig
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

	// launchArgv is the argv Start would run (see args), made once: the
	// config of a supervisor does not change. nil for a service without bin.
	launchArgv     []string
	launchArgvDone bool
}

// svcState is services/<name>.json.
type svcState struct {
	Name       string    `json:"name"`
	PID        int       `json:"pid,omitempty"`
	StartTicks uint64    `json:"start_ticks,omitempty"` // /proc/<pid>/stat field 22
	Argv       []string  `json:"argv,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	// UnexpectedExits counts the ends of this service's processes that no
	// postdeck asked for: a crash, an exit at start, a kill by someone
	// else. Starts do not count (automatic proving starts every service
	// each cycle), nor do postdeck's own stops (StoppingPID). A new field
	// name, so the start counts older postdecks wrote as "restarts" are
	// not read as crashes.
	UnexpectedExits int `json:"unexpected_exits"`
	// StoppingPID is the process a postdeck is stopping, written before
	// the first signal so that whichever postdeck sees it end (its parent's
	// reaper, another postdeck's scan) knows the end was asked for.
	StoppingPID int       `json:"stopping_pid,omitempty"`
	LastExit    string    `json:"last_exit,omitempty"`   // short: "exit 1", "SIGTERM", "died (status unknown)"
	ExitDetail  string    `json:"exit_detail,omitempty"` // the same in words
	ExitedAt    time.Time `json:"exited_at,omitzero"`
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
func NewSupervisor(cfg *config.Config, stateDir string) (*Supervisor, error) {
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
		meta:        identities.NewMetadataCache(),
		versions:    newVersionCache(),
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
// EXIT column's word for it, detail the same in words. An end no postdeck
// asked for counts as unexpected.
func (s *Supervisor) noteExitLocked(sv *service, short, detail string) {
	if sv.st.PID != 0 && sv.st.StoppingPID != sv.st.PID {
		sv.st.UnexpectedExits++
	}
	sv.st.PID, sv.st.StartTicks, sv.st.StoppingPID = 0, 0, 0
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
	if fi.ModTime().Equal(s.stateSeen) && now.Sub(s.stateReadAt) < identities.FileRecheck && s.stateReadAt.Sub(s.stateSeen) > time.Second {
		return false
	}
	s.stateSeen, s.stateReadAt = fi.ModTime(), now
	return true
}

func (s *Supervisor) infoLocked(sv *service, table map[int]*procEntry, byDir map[string]*procEntry,
	units map[string]unitState, scanErr error) model.ProcInfo {
	info := s.stateLocked(sv, table, byDir, units, scanErr)
	s.binFactsLocked(&info, sv, table)
	return info
}

// binFactsLocked adds the program, its version and its command line: the
// running process's when /proc shows it, else the launch settings'.
func (s *Supervisor) binFactsLocked(info *model.ProcInfo, sv *service, table map[int]*procEntry) {
	if e := table[info.PID]; info.State == model.ProcRunning && info.PID > 0 && e != nil && len(e.args) > 0 {
		info.Args = e.args
		exe, deleted := strings.CutSuffix(e.exe, " (deleted)")
		info.Bin = exe
		switch {
		case e.exe == "" || e.exeIno == 0:
			info.Bin, info.BinNote = e.args[0], fmt.Sprintf("its executable cannot be read in /proc/%d/exe (another user's process?): version unknown", e.pid)
		case e.post == nil:
			// The tracked process is not a post-service's command line: a
			// wrapper script given as bin, whose interpreter's version
			// would only mislead.
			info.BinNote = "not a post-service's command line (a wrapper?): not asked its version"
		default:
			v := s.versions.get(versionKey{dev: e.exeDev, ino: e.exeIno, argv0: e.args[0]}, e.pid)
			info.BinVersion, info.BinNote = v.version, v.err
			if v.path != "" {
				info.Bin, deleted = v.path, v.deleted
			}
		}
		if deleted {
			info.BinNote = strings.TrimPrefix(info.BinNote+"; ", "; ") +
				"this file was replaced or removed since the process started: it runs the version shown, not the file's"
		}
		return
	}
	if sv.conf.Bin == "" {
		return
	}
	if !sv.launchArgvDone {
		sv.launchArgv, _ = s.args(sv)
		sv.launchArgvDone = true
	}
	info.Bin, info.Args = sv.conf.Bin, sv.launchArgv
	v := s.versions.get(versionKey{path: sv.conf.Bin, argv0: sv.conf.Bin}, 0)
	info.BinVersion, info.BinNote = v.version, v.err
}

// stateLocked is the process's state, who manages it and how it last ended.
func (s *Supervisor) stateLocked(sv *service, table map[int]*procEntry, byDir map[string]*procEntry,
	units map[string]unitState, scanErr error) model.ProcInfo {
	info := model.ProcInfo{Startable: sv.startable(), Restarts: sv.st.UnexpectedExits, LastExit: sv.st.LastExit, ExitDetail: sv.st.ExitDetail}
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
		node := s.cfg.NodeOf(&c)
		if node.PostListener == "" {
			where := "[node]"
			if s.cfg.Fleet() {
				where = fmt.Sprintf("its [[node]] %q", node.Name)
			}
			return nil, fmt.Errorf("%s: no address for the node: set address in its [[service]] or post_listener in %s", c.Name, where)
		}
		addr = "http://" + node.PostListener
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
	if c.RemoteK2Pow != "" {
		argv = append(argv, "--remote-k2pow", c.RemoteK2Pow)
		if c.RemoteK2PowParallelism != 0 {
			argv = append(argv, "--remote-k2pow-parallelism", strconv.Itoa(c.RemoteK2PowParallelism))
		}
		if b := c.RemoteK2PowBackoff.Duration; b != 0 {
			// post-rs takes whole seconds; the config checks it is whole.
			argv = append(argv, "--remote-k2pow-backoff", strconv.Itoa(int(b/time.Second)))
		}
	}
	return append(argv, c.ExtraArgs...), nil
}
