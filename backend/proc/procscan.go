package proc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"postdeck/model"
)

// PostServiceProc is a running post-service found in /proc.
type PostServiceProc struct {
	PID int
	// Dir is --dir, made absolute with the process's working folder when it
	// was relative and that folder is readable.
	Dir      string
	Address  string // --address: the node's post listener as a URL
	Operator string // --operator-address, "" when absent (operator API off)
	Args     []string
	// Exe is /proc/<pid>/exe as the kernel shows it (" (deleted)" appended
	// when the file was removed or replaced since); "" when unreadable.
	// Set by ScanPostServices.
	Exe string
}

// PostServiceName is post-rs's executable name. A process of that name is
// always taken for a post-service; one of another name (the official guide
// runs ./service, operators rename binaries) needs the arguments of one (see
// matchPostService).
const PostServiceName = "post-service"

// ScanPostServices lists the post-services among the processes under
// procRoot (normally "/proc"), in PID order: those whose argv[0] has the base
// name post-service, and those of any other name whose command line has a
// --dir holding postdata_metadata.json and an --address (see
// matchPostService). Processes that vanish or cannot be read while scanning
// are skipped.
func ScanPostServices(procRoot string) ([]PostServiceProc, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("cannot list processes in %s: %v", procRoot, err)
	}
	var procs []PostServiceProc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		args := readCmdline(filepath.Join(procRoot, e.Name(), "cmdline"))
		if p, ok := matchPostService(args, func(dir string) string { return resolveDir(procRoot, pid, dir) }, nil); ok {
			p.PID = pid
			p.Exe, _ = os.Readlink(filepath.Join(procRoot, e.Name(), "exe"))
			procs = append(procs, p)
		}
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i].PID < procs[j].PID })
	return procs, nil
}

// resolveDir makes a relative --dir absolute with the process's working
// folder (when that can be read) and cleans it.
func resolveDir(procRoot string, pid int, dir string) string {
	if dir == "" {
		return ""
	}
	if !filepath.IsAbs(dir) {
		cwd, err := os.Readlink(filepath.Join(procRoot, strconv.Itoa(pid), "cwd"))
		if err != nil || !filepath.IsAbs(cwd) {
			return filepath.Clean(dir)
		}
		dir = filepath.Join(cwd, dir)
	}
	return filepath.Clean(dir)
}

// matchPostService tells whether a command line is a post-service's, and
// parses it (Dir resolved with resolve). It is one when:
//
//   - argv[0]'s base name is post-service (whatever its arguments), or
//   - it has both a --dir (-d) and an --address (-a), its --dir is a known
//     data dir (known(dir), a configured service's) or holds
//     postdata_metadata.json, and argv[0] is not a shell, an interpreter or a
//     launcher (sh -c, a wrapper script run by its interpreter, sudo, tmux,
//     timeout, ...: those stay as parents of the real post-service, whose
//     arguments they carry) and not postdeck itself other than `postdeck
//     sim-service` (the simulated post-service).
func matchPostService(args []string, resolve func(string) string, known func(string) bool) (PostServiceProc, bool) {
	if len(args) == 0 {
		return PostServiceProc{}, false
	}
	p, seen := parsePostServiceFlags(args)
	p.Dir = resolve(p.Dir)
	base := filepath.Base(args[0])
	if base == PostServiceName {
		return p, true
	}
	if !seen.dir || !seen.address || p.Dir == "" || p.Address == "" || isLauncher(base) ||
		(base == "postdeck" && postdeckCommand(args) != "sim-service") {
		return PostServiceProc{}, false
	}
	if known != nil && known(p.Dir) {
		return p, true
	}
	if fi, err := os.Stat(filepath.Join(p.Dir, model.MetadataFile)); err == nil && fi.Mode().IsRegular() {
		return p, true
	}
	return PostServiceProc{}, false
}

// isLauncher: programs that run another program and (often) stay as its
// parent with its arguments in their own command line.
func isLauncher(base string) bool {
	switch base {
	case "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "yash", "csh", "tcsh", "fish", "busybox",
		"env", "sudo", "doas", "su", "runuser", "setsid", "nohup", "nice", "ionice", "taskset", "chrt",
		"numactl", "timeout", "stdbuf", "flock", "time", "watch", "xargs", "parallel", "screen", "SCREEN",
		"tmux", "systemd-run", "strace", "ltrace", "gdb", "valgrind", "perf", "perl", "ruby", "node":
		return true
	}
	return strings.HasPrefix(base, "python")
}

// postdeckCommand is the subcommand of a postdeck command line: its first
// word that is neither a flag nor the value of one of postdeck's global
// flags.
func postdeckCommand(args []string) string {
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a
		}
		switch strings.TrimLeft(a, "-") {
		case "config", "interval", "timeout", "theme":
			i++ // its value follows
		}
	}
	return ""
}

// readCmdline splits a /proc/PID/cmdline (NUL-separated argv); nil when it
// cannot be read or is empty (kernel threads, zombies).
func readCmdline(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil
	}
	b = bytes.TrimSuffix(b, []byte{0})
	return strings.Split(string(b), "\x00")
}

// ParsePostServiceArgs reads the flags postdeck cares about, in the forms the
// post-service's parser (clap) accepts: "--dir X", "--dir=X", "-d X", "-d=X",
// "-dX". Later occurrences win, as in clap.
func ParsePostServiceArgs(args []string) PostServiceProc {
	p, _ := parsePostServiceFlags(args)
	return p
}

// seenFlags says which flags a command line has (their values may be "").
type seenFlags struct{ address, dir, operator bool }

func parsePostServiceFlags(args []string) (PostServiceProc, seenFlags) {
	p := PostServiceProc{Args: args}
	var seen seenFlags
	flags := []struct {
		long, short string
		dst         *string
		seen        *bool
	}{
		{"--address", "-a", &p.Address, &seen.address},
		{"--dir", "-d", &p.Dir, &seen.dir},
		{"--operator-address", "", &p.Operator, &seen.operator},
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		for _, f := range flags {
			if v, used, ok := flagValue(a, args[i+1:], f.long, f.short); ok {
				*f.dst, *f.seen = v, true
				i += used
				break
			}
		}
	}
	return p, seen
}

// flagValue matches arg against one flag; used is how many of the following
// args it consumed.
func flagValue(arg string, rest []string, long, short string) (value string, used int, ok bool) {
	next := func() (string, int, bool) {
		if len(rest) == 0 {
			return "", 0, true
		}
		return rest[0], 1, true
	}
	switch {
	case arg == long || (short != "" && arg == short):
		return next()
	case strings.HasPrefix(arg, long+"="):
		return strings.TrimPrefix(arg, long+"="), 0, true
	case short != "" && strings.HasPrefix(arg, short) && !strings.HasPrefix(arg, "--"):
		return strings.TrimPrefix(strings.TrimPrefix(arg, short), "="), 0, true
	}
	return "", 0, false
}
