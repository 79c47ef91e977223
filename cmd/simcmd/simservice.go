package simcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"

	"postdeck/cmd/common"
	"postdeck/sim"
	"postdeck/version"
)

// RunService runs one simulated post-service (sim.RunService) as its own
// process. It takes post-rs's command line, so the supervisor starts it
// exactly as it starts a real post-service; postdeck started under the name
// post-service lands here too (see main).
func RunService(g *common.Common, args []string, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("sim-service", g, stderr)
	var o sim.ServiceOptions
	for _, name := range []string{"address", "a"} {
		fs.StringVar(&o.Address, name, "", "the node's post listener, http://host:port")
	}
	for _, name := range []string{"dir", "d"} {
		fs.StringVar(&o.Dir, name, "", "PoST data directory")
	}
	fs.StringVar(&o.OperatorAddress, "operator-address", "", "ip:port of the operator API (GET /status); off when absent")
	fs.IntVar(&o.Threads, "threads", 1, "proving threads, 0 = all cores (accepted; the simulation's pace does not depend on it)")
	fs.IntVar(&o.Nonces, "nonces", 128, "nonces per pass: a multiple of 16, at most 4096")
	fs.StringVar(&o.RandomXMode, "randomx-mode", "fast", "fast or light (light makes k2pow slower)")
	reconnect := fs.Float64("reconnect-interval-s", 5, "seconds to wait before dialling the node again")
	fs.IntVar(&o.MaxRetries, "max-retries", 0, "give up after this many failed connection attempts in a row (0 = never)")
	watchPID := fs.Int("watch-pid", 0, "exit when the process with this `pid` exits (0: never)")
	speed := fs.Float64("speed", 1, "time compression of proving (default $POSTDECK_SIM_SPEED, else 1)")
	// Remote k2pow is accepted as post-rs takes it; the simulation does its
	// k2pow itself all the same.
	fs.String("remote-k2pow", "", "URL of a k2pow-service (accepted; the simulation does k2pow itself)")
	fs.Int("remote-k2pow-parallelism", 5, "remote k2pow jobs at once (accepted, not used)")
	fs.Int("remote-k2pow-backoff", 5, "seconds between asks of the k2pow-service (accepted, not used)")
	var tls [4]string
	for i, name := range []string{"ca-cert", "cert", "key", "domain"} {
		fs.StringVar(&tls[i], name, "", "TLS option of post-rs (not supported by the simulation)")
	}
	// --version (-V), as post-rs's clap answers it: `postdeck version --node`
	// and the detail view ask every bin, the simulated one included.
	var showVersion bool
	for _, name := range []string{"version", "V"} {
		fs.BoolVar(&showVersion, name, false, "print the version and exit")
	}
	if _, code, ok := common.ParseArgs(fs, g, args, false); !ok {
		return code
	}
	if showVersion {
		fmt.Fprintln(stdout, "post-service", SimServiceVersion())
		return 0
	}
	for _, v := range tls {
		if v != "" {
			return common.Fail(stderr, errors.New("sim-service: TLS (--ca-cert, --cert, --key, --domain) is not supported by the simulated post-service"))
		}
	}
	o.Speed = *speed
	if !flagGiven(fs.Visit, "speed") {
		if v := os.Getenv("POSTDECK_SIM_SPEED"); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 {
				return common.Fail(stderr, fmt.Errorf("sim-service: POSTDECK_SIM_SPEED=%q is not a positive number", v))
			}
			o.Speed = f
		}
	}
	if *reconnect <= 0 {
		return common.Fail(stderr, errors.New("sim-service: --reconnect-interval-s must be positive"))
	}
	o.ReconnectInterval = time.Duration(*reconnect * float64(time.Second))
	o.Log = stderr

	ctx, stop := common.SignalContext()
	defer stop()
	if *watchPID > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go watchProcess(ctx, *watchPID, cancel)
	}
	if err := sim.RunService(ctx, o); err != nil {
		return common.Fail(stderr, err)
	}
	return 0
}

// SimServiceVersion is what the simulated post-service answers to
// --version after its name: "simulated by postdeck <version>", so no one
// takes it for a post-rs release.
func SimServiceVersion() string { return "simulated by postdeck " + version.String() }

// flagGiven tells whether the flag name was given on the command line.
func flagGiven(visit func(func(*flag.Flag)), name string) bool {
	found := false
	visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// watchProcess calls done once the process pid no longer exists, as post-rs's --watch-pid.
func watchProcess(ctx context.Context, pid int, done context.CancelFunc) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
				done()
				return
			}
		}
	}
}
