package proc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/model"
)

// groupOf lists the live processes of process group pgid other than pgid.
func groupOf(pgid int) []int {
	var out []int
	names, _ := filepath.Glob("/proc/[0-9]*")
	for _, n := range names {
		pid, err := strconv.Atoi(filepath.Base(n))
		if err != nil || pid == pgid {
			continue
		}
		if st, err := readProcStat("/proc", pid, nil); err == nil && st.pgrp == pgid && !st.zombie {
			out = append(out, pid)
		}
	}
	return out
}

// writeScript writes an executable shell script.
func writeScript(t *testing.T, path, body string) {
	t.Helper()
	testkit.WriteFile(t, path, "#!/bin/sh\n"+body)
	if err := os.Chmod(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

// startScript starts a service whose bin is a script this test just wrote:
// while another test forks, executing a file just written can fail with
// "text file busy" for a moment.
func startScript(t *testing.T, s *Supervisor, name string) {
	t.Helper()
	for i := 0; ; i++ {
		err := s.Start(context.Background(), name)
		if err == nil {
			return
		}
		if i == 20 || !strings.Contains(err.Error(), "text file busy") {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitExec waits until pid runs argv0 (it has exec'd).
func waitExec(t *testing.T, pid int, argv0 string) {
	t.Helper()
	testkit.WaitFor(t, fmt.Sprintf("pid %d to run %s", pid, argv0), func() bool {
		args := readCmdline(fmt.Sprintf("/proc/%d/cmdline", pid))
		return len(args) > 0 && args[0] == argv0
	})
}

// A bin that is a wrapper script which does not exec: stopping signals the
// whole process group postdeck created, so the real post-service under the
// shell ends too, by SIGTERM or, when it ignores that, by SIGKILL after the
// grace; and Stop returns only once the group is empty.
func TestSupervisorStopsWrapperGroup(t *testing.T) {
	t.Parallel()
	for _, ignoreTerm := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignoreTerm=%v", ignoreTerm), func(t *testing.T) {
			t.Parallel()
			w := newSupWorld(t)
			w.cfg.Proving.StopGrace = config.Duration{Duration: 300 * time.Millisecond}
			wrapper := filepath.Join(w.root, "bin", "wrapper")
			writeScript(t, wrapper, w.bin+` "$@"`+"\n")
			w.service("wrapped", 1, func(c *config.ServiceConfig) {
				c.Bin = wrapper
				if ignoreTerm {
					c.Env = map[string]string{"FAKE_IGNORE_TERM": "1"}
				}
			})
			s := w.sup()
			startScript(t, s, "wrapped")
			shell := s.Procs()["wrapped"].PID
			var real int
			testkit.WaitFor(t, "the real post-service under the shell", func() bool {
				for _, pid := range groupOf(shell) {
					if args := readCmdline(fmt.Sprintf("/proc/%d/cmdline", pid)); len(args) > 0 && args[0] == w.bin {
						real = pid
						return true
					}
				}
				return false
			})
			realStat, err := readProcStat("/proc", real, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Stop(context.Background(), "wrapped"); err != nil {
				t.Fatal(err)
			}
			// Stop returned: nothing of the group is left running.
			if st, err := readProcStat("/proc", real, nil); err == nil && st.is(realStat.start) {
				t.Fatalf("the real post-service (pid %d) still runs after Stop: orphaned", real)
			}
			if g := groupOf(shell); len(g) != 0 {
				t.Errorf("group %d still has %v", shell, g)
			}
			p := s.Procs()["wrapped"]
			if p.State != model.ProcStopped || p.LastExit != "SIGTERM" {
				t.Errorf("after stop: %+v", p)
			}
			if ignoreTerm && !strings.Contains(p.ExitDetail, "the rest of its process group was killed by postdeck with SIGKILL after 300ms") {
				t.Errorf("detail %q does not say the group needed SIGKILL", p.ExitDetail)
			}
		})
	}
}

// A process tracked in a state file but not leading its own group (not
// started by postdeck's launch) is signalled alone: its group is not
// postdeck's. Here the group's leader is another process of this test, which
// must survive.
func TestSupervisorNeverSignalsAForeignGroup(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	svc := w.service("odd", 1, nil)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	leader := exec.Command(sleep, "60")
	leader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { leader.Process.Kill(); leader.Wait() })
	member := exec.Command(w.bin, "--address", "http://127.0.0.1:9094", "--dir", svc.Dir)
	member.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: leader.Process.Pid}
	if err := member.Start(); err != nil {
		t.Fatal(err)
	}
	memberDone := make(chan struct{})
	go func() { member.Wait(); close(memberDone) }()
	t.Cleanup(func() { member.Process.Kill(); <-memberDone })
	waitExec(t, member.Process.Pid, w.bin)
	st, err := readProcStat("/proc", member.Process.Pid, nil)
	if err != nil || st.pgrp != leader.Process.Pid {
		t.Fatalf("member: %+v %v", st, err)
	}
	b, _ := json.Marshal(svcState{Name: "odd", PID: member.Process.Pid, StartTicks: st.start, Argv: member.Args, StartedAt: time.Now()})
	os.MkdirAll(filepath.Join(w.state, "services"), 0o700)
	testkit.WriteFile(t, filepath.Join(w.state, "services", "odd.json"), string(b))

	s := w.sup()
	if p := s.Procs()["odd"]; p.State != model.ProcRunning || p.Manager != model.ManagerPostdeck || p.PID != member.Process.Pid {
		t.Fatalf("adopted: %+v", p)
	}
	if err := s.Stop(context.Background(), "odd"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-memberDone:
		if ws := member.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
			t.Errorf("member ended %v, want SIGTERM", member.ProcessState)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("member still running")
	}
	if ls, err := readProcStat("/proc", leader.Process.Pid, nil); err != nil || ls.zombie {
		t.Errorf("the group's leader, not postdeck's, was signalled: %+v %v", ls, err)
	}
}

// External post-services of any name are recognised by their --dir (made
// absolute with their working folder) and --address: shown as external,
// refused a second start on the same dir or identity, found by
// ScanPostServices. A wrapper shell carrying the same arguments is not taken
// for the post-service: its child is.
func TestSupervisorRenamedExternal(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	samedir := w.service("samedir", 1, nil)
	w.service("sameid", 2, nil)
	wrapped := w.service("wrapped", 3, func(c *config.ServiceConfig) { c.Bin = "" })
	copyDir := filepath.Join(w.root, "data", "copy-of-sameid")
	os.MkdirAll(copyDir, 0o700)
	testkit.Metadata(t, copyDir, w.id(2), 1)
	binDir := filepath.Join(w.root, "bin")
	exe, _ := os.Executable()
	renamed := filepath.Join(binDir, "service")
	if err := os.Symlink(exe, renamed); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "POSTDECK_TEST_FAKE=1")
	run := func(c *exec.Cmd) *exec.Cmd {
		t.Helper()
		c.Env = env
		if c.SysProcAttr == nil {
			c.SysProcAttr = &syscall.SysProcAttr{}
		}
		c.SysProcAttr.Setpgid = true // its own group, which the cleanup kills
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		t.Cleanup(func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL); <-done })
		return c
	}
	// As the guide runs it: ./service --dir=../data/samedir from bin/.
	ext := run(&exec.Cmd{Path: renamed, Args: []string{"./service", "--dir=../data/samedir", "--address", "http://127.0.0.1:9094"}, Dir: binDir})
	ext2 := run(&exec.Cmd{Path: renamed, Args: []string{renamed, "-d", copyDir, "-a", "http://127.0.0.1:9094"}})
	script := filepath.Join(binDir, "run-post.sh")
	writeScript(t, script, renamed+` "$@"`+"\n")
	var shell *exec.Cmd
	for i := 0; shell == nil; i++ {
		c := &exec.Cmd{Path: script, Args: []string{script, "--address", "http://127.0.0.1:9094", "--dir", wrapped.Dir}, Env: env,
			SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
		if err := c.Start(); err != nil {
			if i < 20 && errors.Is(err, syscall.ETXTBSY) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			t.Fatal(err)
		}
		shell = c
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		t.Cleanup(func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL); <-done })
	}
	waitExec(t, ext.Process.Pid, "./service")
	waitExec(t, ext2.Process.Pid, renamed)
	var child int
	testkit.WaitFor(t, "the wrapper's child", func() bool {
		for _, pid := range groupOf(shell.Process.Pid) {
			if args := readCmdline(fmt.Sprintf("/proc/%d/cmdline", pid)); len(args) > 0 && args[0] == renamed {
				child = pid
				return true
			}
		}
		return false
	})

	s := w.sup()
	p := s.Procs()
	if m := p["samedir"]; m.State != model.ProcRunning || m.Manager != model.ManagerExternal || m.PID != ext.Process.Pid {
		t.Errorf("samedir: %+v, want external pid %d", m, ext.Process.Pid)
	}
	if m := p["wrapped"]; m.State != model.ProcRunning || m.Manager != model.ManagerExternal || m.PID != child {
		t.Errorf("wrapped: %+v, want the shell's child %d (shell %d)", m, child, shell.Process.Pid)
	}
	ctx := context.Background()
	wantErr(t, s.Start(ctx, "samedir"), fmt.Sprintf("data dir %s is already served by pid %d", samedir.Dir, ext.Process.Pid))
	wantErr(t, s.Start(ctx, "sameid"), fmt.Sprintf("is already being proven by pid %d (--dir %s)", ext2.Process.Pid, copyDir))

	found := map[int]string{}
	procs, err := ScanPostServices("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range procs {
		found[q.PID] = q.Dir
	}
	if found[ext.Process.Pid] != samedir.Dir || found[ext2.Process.Pid] != copyDir || found[child] != wrapped.Dir {
		t.Errorf("ScanPostServices: %v", found)
	}
	if _, ok := found[shell.Process.Pid]; ok {
		t.Errorf("the wrapper shell %d was taken for a post-service", shell.Process.Pid)
	}

	// Stopping an external one signals exactly it.
	if err := s.Stop(ctx, "samedir"); err != nil {
		t.Fatal(err)
	}
	if m := s.Procs()["samedir"]; m.State != model.ProcStopped || m.LastExit != "SIGTERM" {
		t.Errorf("after stop: %+v", m)
	}
}
