package backend

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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
}

// PostServiceName is the executable name ScanPostServices looks for.
const PostServiceName = "post-service"

// ScanPostServices lists the processes under procRoot (normally "/proc")
// whose argv[0] has the base name post-service, in PID order. Processes that
// vanish or cannot be read while scanning are skipped.
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
		if len(args) == 0 || filepath.Base(args[0]) != PostServiceName {
			continue
		}
		p := parsePostServiceArgs(args)
		p.PID = pid
		if p.Dir != "" && !filepath.IsAbs(p.Dir) {
			if cwd, err := os.Readlink(filepath.Join(procRoot, e.Name(), "cwd")); err == nil && filepath.IsAbs(cwd) {
				p.Dir = filepath.Join(cwd, p.Dir)
			}
		}
		procs = append(procs, p)
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i].PID < procs[j].PID })
	return procs, nil
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

// parsePostServiceArgs reads the flags postdeck cares about, in the forms the
// post-service's parser (clap) accepts: "--dir X", "--dir=X", "-d X", "-d=X",
// "-dX". Later occurrences win, as in clap.
func parsePostServiceArgs(args []string) PostServiceProc {
	p := PostServiceProc{Args: args}
	flags := []struct {
		long, short string
		dst         *string
	}{
		{"--address", "-a", &p.Address},
		{"--dir", "-d", &p.Dir},
		{"--operator-address", "", &p.Operator},
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		for _, f := range flags {
			if v, used, ok := flagValue(a, args[i+1:], f.long, f.short); ok {
				*f.dst = v
				i += used
				break
			}
		}
	}
	return p
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
