package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"postdeck/backend"
	"postdeck/model"
)

// exitUnsafe is `postdeck stop`'s exit code when it refuses an unsafe stop.
const exitUnsafe = 3

// cmdStart starts post-services by name.
func cmdStart(g *globals, args []string, stdout, stderr io.Writer) int {
	return eachService(g, "start", args, stdout, stderr, func(ctx context.Context, c *backend.Controller, name string) (string, error) {
		return c.Start(ctx, name)
	})
}

// cmdRestart restarts post-services by name, refusing where stopping is unsafe.
func cmdRestart(g *globals, args []string, stdout, stderr io.Writer) int {
	return eachService(g, "restart", args, stdout, stderr, func(ctx context.Context, c *backend.Controller, name string) (string, error) {
		return c.Restart(ctx, name)
	})
}

// eachService runs act for every NAME argument and reports each result.
func eachService(g *globals, verb string, args []string, stdout, stderr io.Writer,
	act func(context.Context, *backend.Controller, string) (string, error)) int {
	fs := newFlagSet(verb, g, stderr)
	args, code, ok := parseArgs(fs, g, args, true)
	if !ok {
		return code
	}
	ctl, done, openCode := openControl(g, args, stderr)
	if ctl == nil {
		return openCode
	}
	defer done()
	ctx, stop := signalContext()
	defer stop()
	names, err := ctl.resolve(ctx, args)
	if err != nil {
		return fail(stderr, err)
	}
	code = 0
	for _, n := range names {
		note, err := act(ctx, ctl.Controller, n)
		code = max(code, report(stdout, stderr, n, note, err))
	}
	return code
}

// report prints one service's result and returns its exit code.
func report(stdout, stderr io.Writer, name, note string, err error) int {
	var unsafe *backend.UnsafeStopError
	switch {
	case errors.As(err, &unsafe):
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitUnsafe
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s\n", name, note)
	return 0
}

// cmdStop stops post-services, refusing (exit 3) when a stop would throw
// away a proof, unless --force; --when-safe waits for the safe moment.
func cmdStop(g *globals, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("stop", g, stderr)
	whenSafe := fs.Bool("when-safe", false, "wait until stopping is safe, then stop (Ctrl-C cancels)")
	force := fs.Bool("force", false, "stop even if that throws away a proof")
	args, code, ok := parseArgs(fs, g, args, true)
	if !ok {
		return code
	}
	if *whenSafe && *force {
		return fail(stderr, errors.New("--when-safe and --force contradict each other: choose one"))
	}
	ctl, done, openCode := openControl(g, args, stderr)
	if ctl == nil {
		return openCode
	}
	defer done()
	ctx, stop := signalContext()
	defer stop()
	names, err := ctl.resolve(ctx, args)
	if err != nil {
		return fail(stderr, err)
	}
	code = 0
	for _, n := range names {
		var note string
		switch {
		case *force:
			note, err = ctl.Stop(ctx, n, model.StopForce)
		case *whenSafe:
			note, err = ctl.stopWhenSafe(ctx, n, stdout)
		default:
			note, err = ctl.Stop(ctx, n, model.StopIfSafe)
		}
		code = max(code, report(stdout, stderr, n, note, err))
	}
	return code
}

// cmdLogs prints the end of a service's log; -f follows it.
func cmdLogs(g *globals, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("logs", g, stderr)
	follow := fs.Bool("f", false, "keep printing new lines (Ctrl-C stops)")
	lines := fs.Int("n", 50, "how many of the last lines to print")
	args, code, ok := parseArgs(fs, g, args, true)
	if !ok {
		return code
	}
	if len(args) != 1 {
		return fail(stderr, errors.New("usage: postdeck logs NAME [-f] [-n LINES]"))
	}
	ctl, done, openCode := openControl(g, args, stderr)
	if ctl == nil {
		return openCode
	}
	defer done()
	ctx, stop := signalContext()
	defer stop()
	names, err := ctl.resolve(ctx, args)
	if err != nil {
		return fail(stderr, err)
	}
	if err := printLog(ctx, stdout, ctl, names[0], *lines, *follow); err != nil {
		return fail(stderr, err)
	}
	return 0
}

// printLog prints the last n lines of a service's log (its log file, or a
// systemd unit's journal), then, when follow is set, what is added until
// ctx ends.
func printLog(ctx context.Context, w io.Writer, c *control, name string, n int, follow bool) error {
	if path := c.LogPath(name); path != "" { // "" for a systemd unit: its journal
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no log at %s: postdeck keeps logs only for services it started", path)
		} else if err != nil {
			return err
		}
	}
	for _, l := range c.LogTail(name, n) {
		fmt.Fprintln(w, l)
	}
	if !follow {
		return nil
	}
	// The controller does not pass FollowLog on yet: a supervisor on the
	// same state folder, which only reads the log here, follows it.
	sup, err := backend.NewSupervisor(c.cfg, backend.DefaultStateDir())
	if err != nil {
		return err
	}
	return sup.FollowLog(ctx, name, w)
}

// control is a controller plus what the CLI needs to find services by name.
type control struct {
	*backend.Controller
	cfg    *backend.Config
	poller *backend.Poller
}

// openControl loads the config and builds the supervisor and controller.
func openControl(g *globals, names []string, stderr io.Writer) (*control, func(), int) {
	if len(names) == 0 {
		fmt.Fprintln(stderr, "postdeck: name at least one service (its name in the config, or its key file name)")
		return nil, nil, 1
	}
	cfg, err := loadConfig(g, stderr)
	if err != nil {
		return nil, nil, fail(stderr, err)
	}
	s, err := openSession(cfg)
	if err != nil {
		return nil, nil, fail(stderr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ctl, err := s.control(ctx, cfg, backend.DefaultStateDir())
	if err != nil {
		cancel()
		s.Close()
		return nil, nil, fail(stderr, err)
	}
	done := func() {
		cancel()
		ctl.Wait()
		s.Close()
	}
	return &control{Controller: ctl, cfg: cfg, poller: s.poller}, done, 0
}

// resolve maps each NAME — a service name, or a key file name the node or
// the identities folder knows — to a configured service.
func (c *control) resolve(ctx context.Context, names []string) ([]string, error) {
	var out []string
	var snap *model.Snapshot
	for _, n := range names {
		if c.hasService(n) {
			out = append(out, n)
			continue
		}
		if snap == nil {
			s := c.poller.PollOnce(ctx)
			snap = &s
		}
		svc := serviceForKey(snap, n)
		if svc == "" {
			return nil, fmt.Errorf("no service or key file named %q: see `postdeck status` for the names", n)
		}
		out = append(out, svc)
	}
	return out, nil
}

func (c *control) hasService(name string) bool {
	for _, s := range c.cfg.Services {
		if s.Name == name {
			return true
		}
	}
	return false
}

// serviceForKey finds the one service proving for the identity whose key
// file is named key.
func serviceForKey(s *model.Snapshot, key string) string {
	for i := range s.Rows {
		r := &s.Rows[i]
		for _, name := range strings.Split(r.Name, ", ") {
			if name == key && r.Service != "" {
				return r.Service
			}
		}
	}
	return ""
}

// stopWhenSafe waits, saying what for, until stopping is safe, then stops.
// Ctrl-C cancels and leaves the service running.
func (c *control) stopWhenSafe(ctx context.Context, name string, w io.Writer) (string, error) {
	last := ""
	for {
		note, err := c.Stop(ctx, name, model.StopIfSafe)
		var unsafe *backend.UnsafeStopError
		if !errors.As(err, &unsafe) {
			return note, err
		}
		if unsafe.Reason != last {
			fmt.Fprintf(w, "%s: waiting: %s\n", name, unsafe.Reason)
			last = unsafe.Reason
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("cancelled; still running: %s", unsafe.Reason)
		case <-time.After(c.cfg.Poll.Interval.Duration):
		}
	}
}
