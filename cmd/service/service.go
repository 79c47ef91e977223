package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/backend/proc"
	"postdeck/cmd/common"
	"postdeck/model"
)

// exitUnsafe is `postdeck stop`'s exit code when it refuses an unsafe stop.
const exitUnsafe = 3

// Start starts post-services by name.
func Start(g *common.Common, args []string, stdout, stderr io.Writer) int {
	return forServices(g, "start", args, stderr, nil, func(ctx context.Context, c *control, names []string) int {
		return eachName(stdout, stderr, names, func(n string) (fmt.Stringer, error) { return c.Start(ctx, n) })
	})
}

// Restart restarts post-services by name, refusing where stopping is
// unsafe unless --force.
func Restart(g *common.Common, args []string, stdout, stderr io.Writer) int {
	var force *bool
	flags := func(fs *flag.FlagSet) {
		force = fs.Bool("force", false, "restart even if stopping throws away a proof")
	}
	return forServices(g, "restart", args, stderr, flags, func(ctx context.Context, c *control, names []string) int {
		return eachName(stdout, stderr, names, func(n string) (fmt.Stringer, error) {
			if *force {
				return c.ForceRestart(ctx, n)
			}
			return c.Restart(ctx, n)
		})
	})
}

// Stop stops post-services, refusing (exit 3) when a stop would throw
// away a proof, unless --force; --when-safe waits for the safe moment.
func Stop(g *common.Common, args []string, stdout, stderr io.Writer) int {
	var whenSafe, force *bool
	flags := func(fs *flag.FlagSet) {
		whenSafe = fs.Bool("when-safe", false, "wait until stopping is safe, then stop (Ctrl-C cancels)")
		force = fs.Bool("force", false, "stop even if that throws away a proof")
	}
	return forServices(g, "stop", args, stderr, flags, func(ctx context.Context, c *control, names []string) int {
		if *whenSafe && *force {
			return common.Fail(stderr, errors.New("--when-safe and --force contradict each other: choose one"))
		}
		if *whenSafe {
			return c.stopAllWhenSafe(ctx, names, stdout, stderr)
		}
		mode := model.StopIfSafe
		if *force {
			mode = model.StopForce
		}
		return eachName(stdout, stderr, names, func(n string) (fmt.Stringer, error) { return c.Stop(ctx, n, mode) })
	})
}

// Logs prints the end of a service's log; -f follows it.
func Logs(g *common.Common, args []string, stdout, stderr io.Writer) int {
	var follow *bool
	var lines *int
	flags := func(fs *flag.FlagSet) {
		follow = fs.Bool("f", false, "keep printing new lines (Ctrl-C stops)")
		lines = fs.Int("n", 50, "how many of the last lines to print")
	}
	return forServices(g, "logs", args, stderr, flags, func(ctx context.Context, c *control, names []string) int {
		if len(names) != 1 {
			return common.Fail(stderr, fmt.Errorf("logs takes one service name, not %d: postdeck logs NAME [-f] [-n N]", len(names)))
		}
		if err := c.PrintLog(ctx, stdout, names[0], *lines, *follow); err != nil {
			return common.Fail(stderr, err)
		}
		return 0
	})
}

// forServices parses a command acting on NAMEs (flags adds its own flags),
// builds the controller, resolves the names to services and runs body.
func forServices(g *common.Common, verb string, args []string, stderr io.Writer, flags func(*flag.FlagSet),
	body func(context.Context, *control, []string) int) int {
	fs := common.NewFlagSet(verb, g, stderr)
	if flags != nil {
		flags(fs)
	}
	args, code, ok := common.ParseArgs(fs, g, args, true)
	if !ok {
		return code
	}
	if len(args) == 0 {
		// logs reads one service; the others act on one or more.
		what := "name at least one service"
		if verb == "logs" {
			what = "name the service whose log to print"
		}
		fmt.Fprintf(stderr, "postdeck %s: %s (its name in the config, or its key file name): postdeck %s %s\n", verb, what, verb, common.HelpFor(verb).Use)
		return 1
	}
	ctl, done, code := openControl(g, args, stderr)
	if ctl == nil {
		return code
	}
	defer done()
	ctx, stop := common.SignalContext()
	defer stop()
	names, err := ctl.resolve(ctx, args)
	if err != nil {
		return common.Fail(stderr, err)
	}
	return body(ctx, ctl, names)
}

// eachName runs act for every service and reports each result; the exit
// code is the worst one.
func eachName(stdout, stderr io.Writer, names []string, act func(string) (fmt.Stringer, error)) int {
	code := 0
	for _, n := range names {
		outcome, err := act(n)
		code = max(code, report(stdout, stderr, n, outcome, err))
	}
	return code
}

// report prints one service's outcome and returns its exit code: 3 for a
// refused unsafe stop, 1 for another error.
func report(stdout, stderr io.Writer, name string, outcome fmt.Stringer, err error) int {
	if err == nil {
		fmt.Fprintf(stdout, "%s: %s\n", name, outcome)
		return 0
	}
	fmt.Fprintln(stderr, err)            // it names the service (see backend.Controller)
	var unsafe interface{ UnsafeStop() } // this machine's rule, or a host's
	if errors.As(err, &unsafe) {
		return exitUnsafe
	}
	return 1
}

// control is a controller, with each [[host]] for its host:service names,
// plus what the CLI needs to find services by name.
type control struct {
	*backend.FleetActions
	cfg    *config.Config
	poller *backend.Poller
}

// openControl loads the config and builds the supervisor and controller.
func openControl(g *common.Common, names []string, stderr io.Writer) (*control, func(), int) {
	cfg, err := common.LoadConfig(g, stderr)
	if err != nil {
		return nil, nil, common.Fail(stderr, err)
	}
	s, err := common.OpenSession(cfg, g.Clock)
	if err != nil {
		return nil, nil, common.Fail(stderr, err)
	}
	ctl, err := s.Control(proc.DefaultStateDir())
	if err != nil {
		s.Close()
		return nil, nil, common.Fail(stderr, err)
	}
	c := &control{FleetActions: s.Actions(ctl), cfg: cfg, poller: s.Poller}
	for _, n := range names {
		if c.IsRemote(n) {
			s.WaitHosts(common.HostWait) // its connection, before acting over it
			break
		}
	}
	return c, s.Close, 0
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
		svc, known := serviceForKey(snap, n)
		switch {
		case svc == "" && known:
			// status lists it, so "no such name" would mislead: the
			// identity is there, only its post-service is not configured.
			return nil, fmt.Errorf("%s has no post-service in %s: add a [[service]] block for it (name, dir = its PoST data directory, operator = its operator address), "+
				"or let `postdeck keys add --add-service POSTDIR` write one", n, c.cfg.Path)
		case svc == "":
			return nil, fmt.Errorf("no service or key file named %q: see `postdeck status` for the names", n)
		}
		out = append(out, svc)
	}
	return out, nil
}

func (c *control) hasService(name string) bool {
	if c.IsRemote(name) {
		return true // the host knows its own services, and says so if not
	}
	for _, s := range c.cfg.Services {
		if s.Name == name {
			return true
		}
	}
	return false
}

// serviceForKey finds the one service proving for the identity whose key
// file is named key; known says a row has that name, with a service or not.
func serviceForKey(s *model.Snapshot, key string) (service string, known bool) {
	for i := range s.Rows {
		r := &s.Rows[i]
		for _, name := range strings.Split(r.Name, ", ") {
			if name != key {
				continue
			}
			known = true
			if r.Service != "" {
				return r.Service, true
			}
		}
	}
	return "", known
}

// stopAllWhenSafe stops every service when it is safe (the controller's
// queue, see backend.StopAllWhenSafe), saying what each waits for. Ctrl-C
// drops the queued stops and leaves the services running.
func (c *control) stopAllWhenSafe(ctx context.Context, names []string, stdout, stderr io.Writer) int {
	code := 0
	// Another host's stop when safe is queued there: its postdeck runs it.
	var local []string
	for _, n := range names {
		if !c.IsRemote(n) {
			local = append(local, n)
			continue
		}
		o, err := c.Stop(ctx, n, model.StopWhenSafe)
		code = max(code, report(stdout, stderr, n, o, err))
	}
	c.StopAllWhenSafe(ctx, local, c.cfg.Poll.Interval.Duration, func(e backend.SafeStopEvent) {
		switch e.Step {
		case backend.SafeStopDone:
			report(stdout, stderr, e.Service, e.Outcome, nil)
		case backend.SafeStopFailed:
			code = max(code, report(stdout, stderr, e.Service, nil, e.Err))
		case backend.SafeStopWaiting:
			fmt.Fprintf(stdout, "%s: waiting: %s\n", e.Service, e.Reason)
		case backend.SafeStopCancelled:
			fmt.Fprintf(stderr, "%s: cancelled, still running: %s\n", e.Service, e.Reason)
			code = max(code, 1)
		}
	})
	return code
}
