package merge

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// probeTimeout bounds each TCP connect to a node listener.
const probeTimeout = 500 * time.Millisecond

// Answering returns the addresses among addrs (empty ones skipped) where
// something accepts a TCP connection within probeTimeout, in their order:
// the sign of a node still running. The probes run at once.
func Answering(ctx context.Context, addrs []string) []string {
	var wg sync.WaitGroup
	answered := make([]bool, len(addrs))
	for i, addr := range addrs {
		if addr == "" {
			continue
		}
		wg.Go(func() {
			d := net.Dialer{Timeout: probeTimeout}
			if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
				c.Close()
				answered[i] = true
			}
		})
	}
	wg.Wait()
	var up []string
	for i, ok := range answered {
		if ok {
			up = append(up, addrs[i])
		}
	}
	return up
}

// checkInUse refuses when a node answers at one of NodeAddrs, or a process
// on this machine has either local.sql open.
func checkInUse(ctx context.Context, p *Plan) {
	// One running node usually answers on several listeners: one problem
	// naming every listener that answered.
	if up := Answering(ctx, p.NodeAddrs); len(up) > 0 {
		what := "its gRPC listener " + up[0] + " answers"
		if len(up) > 1 {
			what = "its gRPC listeners " + strings.Join(up, ", ") + " answer"
		}
		p.problem(KindInUse, "a node is running: %s: stop the node (and wait until it exits) before merging; a running node keeps writing its database", what)
	}
	files := map[string]string{} // resolved path → side
	for side, dir := range map[string]string{"source": p.From, "target": p.To} {
		if side == "target" && p.CreateDir {
			continue
		}
		path := filepath.Join(dir, DBName)
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		} else if !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		files[path] = side
		files[path+"-wal"] = side
	}
	users, unreadable, err := openers(p.ProcRoot, files)
	if err != nil {
		p.note("could not check which processes use the databases: %v; make sure both nodes are stopped", err)
		return
	}
	for _, u := range users {
		p.problem(KindInUse, "the %s database is in use: process %d (%s) has %s open: stop it (a running node, or a tool holding the database) and plan again",
			u.side, u.pid, u.comm, u.path)
	}
	if unreadable > 0 {
		p.note("%d processes could not be checked for open databases (not permitted); run as the node's user or root to check them all", unreadable)
	}
}

type opener struct {
	pid        int
	comm, path string
	side       string
}

// openers scans procRoot/*/fd for descriptors pointing at one of files
// (this process excluded). unreadable counts processes whose descriptors
// could not be listed.
func openers(procRoot string, files map[string]string) (users []opener, unreadable int, err error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot list %s: %v", procRoot, err)
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 || pid == self {
			continue
		}
		fdDir := filepath.Join(procRoot, e.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				unreadable++
			}
			continue // gone, or a kernel thread
		}
		seen := map[string]bool{}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil {
				continue
			}
			side, ok := files[target]
			if !ok || seen[target] {
				continue
			}
			seen[target] = true
			comm, _ := os.ReadFile(filepath.Join(procRoot, e.Name(), "comm"))
			users = append(users, opener{pid: pid, comm: strings.TrimSpace(string(comm)), path: target, side: side})
		}
	}
	return users, unreadable, nil
}
