package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"postdeck/backend/config"
)

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
	s.markStopping(sv, t)
	if err := s.signal(t, syscall.SIGTERM); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("%s is %w: it ended before it was signalled", name, ErrNotRunning)
		}
		return fmt.Errorf("%s: %v", name, err)
	}
	grace := s.cfg.Proving.StopGrace.Duration
	if grace <= 0 {
		grace = config.DefaultStopGrace
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

// markStopping records, before the first signal, that the tracked process
// is being stopped by postdeck, so its end is not counted as unexpected by
// the reaper or by another postdeck that sees it go. An external process is
// not tracked: its end is not counted either way.
func (s *Supervisor) markStopping(sv *service, t target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked(sv)
	if t.external || sv.st.PID != t.pid {
		return
	}
	sv.st.StoppingPID = t.pid
	s.saveLocked(sv)
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
