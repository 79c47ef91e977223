package proc

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"postdeck/backend/identities"
	"postdeck/model"
)

func unknownService(name string) error {
	return fmt.Errorf("no service named %q in the config", name)
}

// begin marks a service busy for one Start or Stop, in this postdeck and,
// through a lock file, in any other postdeck on the same state folder (the
// dashboard and a `postdeck start` in a script): two starts racing past the
// checks would run two processes on one data dir.
func (s *Supervisor) begin(name, what string) (*service, error) {
	s.mu.Lock()
	sv := s.svcs[name]
	if sv == nil {
		s.mu.Unlock()
		return nil, unknownService(name)
	}
	if sv.busy != "" {
		s.mu.Unlock()
		return nil, fmt.Errorf("%s is already %s: try again when that is done", name, sv.busy)
	}
	sv.busy = what
	s.mu.Unlock()
	f, err := s.lockFile(name, sv.file)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		sv.busy = ""
		return nil, err
	}
	sv.lock = f
	return sv, nil
}

// lockGrace is how long a held lock file is tried again before it is
// another postdeck's: a process this one (or anyone sharing the lock's
// open file) forks holds it too until its exec closes it.
const lockGrace = 250 * time.Millisecond

// lockFile opens and flocks services/<file>.lock.
func (s *Supervisor) lockFile(name, file string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(s.stateDir, "services", file+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot open its lock file: %v", name, err)
	}
	deadline := time.Now().Add(lockGrace)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("%s: cannot lock its lock file: %v", name, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%s is being started or stopped by another postdeck: try again when that is done", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
		return fmt.Errorf("%s: not started: %w", name, err)
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
			return fmt.Errorf("%s is %w (pid %d)", name, ErrAlreadyRunning, pid)
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
	meta, err := identities.ReadMetadata(sv.dir)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	for _, o := range others {
		if m, err := s.meta.Get(o.dir); err == nil && string(m.NodeID) == string(meta.NodeID) {
			return fmt.Errorf("%s: identity %s (NodeId in %s) is already being proven by %s: "+
				"a second connection for one identity is refused by the node and wastes RAM; stop that one first",
				name, hex.EncodeToString(meta.NodeID[:4]), model.MetadataFile, s.describe(o))
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
	fmt.Fprintf(f, "%s\n--- postdeck: command: %s\n", startMarker(name, time.Now()), QuoteArgs(argv))
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
	sv.st.PID, sv.st.StartTicks, sv.st.Argv, sv.st.StartedAt, sv.st.StoppingPID = pid, st.start, argv, time.Now(), 0
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

// QuoteArgs shows a command line as a shell would take it back: words with
// spaces, quotes or nothing in them are quoted (the log's start line, the
// detail view's command).
func QuoteArgs(argv []string) string {
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
