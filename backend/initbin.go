package backend

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/proc"
)

// proposeBin sets the service's bin, and the keys its command line maps to,
// from the process found running, so postdeck can start it again the same
// way; or notes plainly why not. The rest of the command line goes to
// extra_args as it was, so nothing the operator chose is lost.
func (in *initScan) proposeBin(s *config.ServiceConfig, p proc.PostServiceProc, dir string) {
	bin, why := binOfProcess(p)
	if bin == "" {
		in.note("post-service for %s: %s: bin not set, so postdeck only watches it; set bin to the post-service executable to let it start and stop it", dir, why)
		return
	}
	s.Bin = bin
	if why != "" {
		in.note("post-service for %s: %s", dir, why)
	}
	var dropped []string
	s.ExtraArgs, dropped = mapServiceArgs(s, p.Args)
	if len(dropped) > 0 {
		in.note("post-service for %s: %s left out of extra_args: it names a process (the node's pid changes when the node restarts)", dir, strings.Join(dropped, " "))
	}
	in.note("post-service for %s: bin %s, from the process running (pid %d)", dir, bin, p.PID)
}

// binOfProcess is the executable a found post-service runs, as a bin: its
// argv[0] when that names the same file as /proc/<pid>/exe (keeping the
// operator's path, a symlink such as /usr/local/bin/post-service, and the
// name a program may look at), else the executable itself. Empty, with the
// reason, when there is none to propose. A non-empty why beside a bin is a
// note about it.
func binOfProcess(p proc.PostServiceProc) (bin, why string) {
	exe, deleted := strings.CutSuffix(p.Exe, " (deleted)")
	var argv0 string
	if len(p.Args) > 0 && filepath.IsAbs(p.Args[0]) {
		argv0 = p.Args[0]
	}
	switch {
	case p.Exe == "":
		return "", "its executable cannot be read in /proc/" + strconv.Itoa(p.PID) + "/exe (another user's process? run init as that user or as root)"
	case deleted:
		// Removed, or replaced by an upgrade: a new file at the path is
		// what a start would run.
		for _, c := range []string{argv0, exe} {
			if c != "" && isExecutableFile(c) {
				return c, "the binary it was started from was replaced since (an upgrade?): bin is the file now at " + c + ", which a start runs"
			}
		}
		return "", "the binary it runs, " + exe + ", was removed since it started"
	}
	if argv0 != "" && sameFile(argv0, exe) {
		return argv0, ""
	}
	return exe, ""
}

func isExecutableFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// mapServiceArgs moves the flags a [[service]] has keys for from a
// post-service command line into s, and returns the rest, in order, as its
// extra_args. The flags postdeck writes from other keys (--address, --dir,
// --operator-address) are left out; --watch-pid is dropped (and returned),
// as a pid does not outlive the process. A value that does not fit its key
// stays in extra_args as it was.
func mapServiceArgs(s *config.ServiceConfig, args []string) (extra, dropped []string) {
	if len(args) == 0 {
		return nil, nil
	}
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			extra = append(extra, rest[i:]...)
			break
		}
		name, value, inline := strings.Cut(a, "=")
		takes := func() (string, bool) {
			if inline {
				return value, true
			}
			if i+1 < len(rest) {
				i++
				return rest[i], true
			}
			return "", false
		}
		start := i
		switch name {
		case "--address", "-a", "--dir", "-d", "--operator-address":
			takes()
			continue
		case "--watch-pid":
			takes()
			dropped = append(dropped, rest[start:i+1]...)
			continue
		case "--threads", "--nonces", "--remote-k2pow-parallelism", "--remote-k2pow-backoff":
			v, ok := takes()
			n, err := strconv.Atoi(v)
			if ok && err == nil && fitsKey(name, n) {
				switch name {
				case "--threads":
					s.Threads = &n
				case "--nonces":
					s.Nonces = n
				case "--remote-k2pow-parallelism":
					s.RemoteK2PowParallelism = n
				default:
					s.RemoteK2PowBackoff = config.Duration{Duration: time.Duration(n) * time.Second}
				}
				continue
			}
		case "--randomx-mode", "--remote-k2pow":
			if v, ok := takes(); ok && (name == "--randomx-mode" && (v == "fast" || v == "light") ||
				name == "--remote-k2pow" && isHTTPURL(v)) {
				if name == "--randomx-mode" {
					s.RandomXMode = v
				} else {
					s.RemoteK2Pow = v
				}
				continue
			}
		}
		extra = append(extra, rest[start:i+1]...)
	}
	// The config has the k2pow-service's tuning only beside its URL.
	if s.RemoteK2Pow == "" {
		if n := s.RemoteK2PowParallelism; n != 0 {
			extra = append(extra, "--remote-k2pow-parallelism", strconv.Itoa(n))
		}
		if b := s.RemoteK2PowBackoff.Duration; b != 0 {
			extra = append(extra, "--remote-k2pow-backoff", strconv.Itoa(int(b/time.Second)))
		}
		s.RemoteK2PowParallelism, s.RemoteK2PowBackoff = 0, config.Duration{}
	}
	return extra, dropped
}

// fitsKey says whether a number is one the config takes for that flag's key
// (see config's checks); one it does not stays in extra_args as it was.
func fitsKey(flag string, n int) bool {
	switch flag {
	case "--threads":
		return n >= 0
	case "--nonces":
		return n >= 16 && n <= 4096 && n%16 == 0
	}
	return n >= 1 // parallelism, backoff in seconds
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
