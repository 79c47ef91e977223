package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// VersionTimeout bounds one `--version` run: post-rs answers at once,
	// a binary on a hung disk or one that ignores the flag must not stall.
	VersionTimeout = 5 * time.Second
	// versionRecheck is how often the supervisor looks again whether a
	// binary changed (an upgrade in place) and asks it again if so.
	versionRecheck = 30 * time.Second
	// versionOutputCap bounds what is read of the answer.
	versionOutputCap = 4 << 10
)

// BinVersion asks a post-service binary its version: `exe --version`, with
// argv0 as its argv[0] ("" = exe), bounded by VersionTimeout and ctx. It is
// the first line printed, without the program's name ("post-service 0.7.11"
// is "0.7.11"). argv0 matters for the simulated post-service, which is
// postdeck started under the name post-service; a real one ignores it.
//
// Only a compiled (ELF) executable is run: a script given as bin may start
// a service whatever its arguments, and a second prover on a data dir is
// worse than an unknown version.
func BinVersion(ctx context.Context, exe, argv0 string) (string, error) {
	path := exe
	if !strings.Contains(exe, "/") {
		p, err := exec.LookPath(exe)
		if err != nil {
			return "", fmt.Errorf("%s is not found in PATH", exe)
		}
		path = p
	}
	if err := isELF(path); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, VersionTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--version")
	if argv0 != "" {
		cmd.Args[0] = argv0
	}
	var out, errOut capped
	cmd.Stdout, cmd.Stderr = &out, &errOut
	// A child that keeps the output open past the kill must not hold us.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return "", fmt.Errorf("%s did not answer --version in time", exe)
	case err != nil:
		msg := firstText(errOut.Bytes())
		if msg == "" {
			msg = firstText(out.Bytes())
		}
		if msg != "" {
			return "", fmt.Errorf("%s --version failed (%v): %s", exe, err, msg)
		}
		return "", fmt.Errorf("%s --version failed (%v)", exe, err)
	}
	line := firstText(out.Bytes())
	if line == "" {
		return "", fmt.Errorf("%s --version printed nothing", exe)
	}
	// clap prints "<name> <version>"; the name is the binary's own.
	for _, name := range []string{filepath.Base(argv0), filepath.Base(exe), PostServiceName} {
		if v, ok := strings.CutPrefix(line, name+" "); ok && name != "." {
			return strings.TrimSpace(v), nil
		}
	}
	return line, nil
}

// isELF refuses what is not a compiled executable (see BinVersion).
func isELF(path string) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s does not exist", path)
		}
		return err
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil || string(magic) != "\x7fELF" {
		return fmt.Errorf("%s is not a compiled executable (a script?): not run with --version, as a wrapper may start a service", path)
	}
	return nil
}

// firstText is the first line of b with text on it, trimmed.
func firstText(b []byte) string {
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if s := strings.TrimSpace(string(line)); s != "" {
			return s
		}
	}
	return ""
}

// capped is a buffer that keeps the first versionOutputCap bytes and
// drops the rest, so a binary that prints without end costs nothing.
type capped struct{ bytes.Buffer }

func (c *capped) Write(p []byte) (int, error) {
	if room := versionOutputCap - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// versionCache holds the binaries' versions for the supervisor's process
// facts. get never waits: an unknown or due binary is asked in the
// background, and the answer shows from the next call on. One entry per
// binary (and the name it runs under), so a thousand services on one bin
// cost one run, and the entries stay as few as the binaries.
type versionCache struct {
	recheck time.Duration // versionRecheck; tests make it 0
	mu      sync.Mutex
	m       map[versionKey]*binVersion
}

// versionKey is a configured bin by its path (asked again when the file
// changes), or a running process's executable by its inode (path ""): that
// file's version never changes, and it is reached through /proc/<pid>/exe
// even once removed or replaced on disk, as an upgrade in place does.
type versionKey struct {
	path     string
	dev, ino uint64
	argv0    string
}

type binVersion struct {
	mod     fileMod   // of a configured bin when last asked
	checked time.Time // when last looked at (the machine's clock)
	asking  bool
	asked   bool
	version string
	err     string // why there is no version
	// A running executable's path now (from /proc/<pid>/exe), and whether
	// the kernel says it was removed or replaced since.
	path    string
	deleted bool
}

func newVersionCache() *versionCache {
	return &versionCache{recheck: versionRecheck, m: map[versionKey]*binVersion{}}
}

// get is what is known of k's binary (zero until first asked); pid is a
// process running it, for a running executable's key.
func (c *versionCache) get(k versionKey, pid int) binVersion {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[k]
	if e == nil {
		e = &binVersion{}
		c.m[k] = e
	}
	if !e.asking && (!e.asked || time.Since(e.checked) >= c.recheck) {
		e.asking = true
		go c.ask(k, pid, *e)
	}
	return *e
}

// ask looks at the binary again and runs it with --version if it was not
// asked yet, or (a configured bin) its file changed since.
func (c *versionCache) ask(k versionKey, pid int, was binVersion) {
	now := was
	if k.path == "" {
		link := filepath.Join("/proc", strconv.Itoa(pid), "exe")
		if target, err := os.Readlink(link); err == nil {
			now.path, now.deleted = strings.CutSuffix(target, " (deleted)")
		}
		if !was.asked {
			now.version, now.err = versionOf(link, k.argv0)
		}
	} else {
		path := k.path
		if !strings.Contains(path, "/") {
			path, _ = exec.LookPath(path)
		}
		mod, ok := statMod(path)
		if !was.asked || !ok || mod != was.mod {
			now.mod = mod
			now.version, now.err = versionOf(k.path, k.argv0)
		}
	}
	now.asking, now.asked, now.checked = false, true, time.Now()
	c.mu.Lock()
	*c.m[k] = now
	c.mu.Unlock()
}

func versionOf(exe, argv0 string) (version, why string) {
	v, err := BinVersion(context.Background(), exe, argv0)
	if err != nil {
		return "", err.Error()
	}
	return v, ""
}
