package serve

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/backend/proc"
	"postdeck/clock"
	"postdeck/cmd/common"
	"postdeck/sshserve"
	"postdeck/ui"
	"postdeck/version"
)

// serveFlags are `postdeck serve`'s own flags.
type serveFlags struct {
	listen        string
	authorized    string
	readOnly      string
	hostKey       string
	idleTimeout   time.Duration
	metricsListen string
	clock         clock.Clock // not a flag: POSTDECK_NOW, read once in run
}

// Run serves the dashboard over SSH until SIGTERM or Ctrl-C.
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("serve", g, stderr)
	f := serveFlags{clock: g.Clock}
	fs.StringVar(&f.listen, "listen", ":2222", "address to accept SSH connections on")
	fs.StringVar(&f.authorized, "authorized-keys", "", "authorized_keys file of the keys allowed in (default ~/.ssh/authorized_keys)")
	fs.StringVar(&f.readOnly, "readonly-keys", "", "authorized_keys file of keys that get a view-only dashboard")
	fs.StringVar(&f.hostKey, "host-key", "", "host key, generated on first use (default $XDG_STATE_HOME/postdeck/ssh_host_ed25519_key)")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", 30*time.Minute, "end a session after this long without a keypress (0: never)")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "serve Prometheus metrics on this address, like 127.0.0.1:9101")
	if _, code, ok := common.ParseArgs(fs, g, args, false); !ok {
		return code
	}
	if f.metricsListen == "" {
		f.metricsListen = g.MetricsListen // `postdeck --metrics-listen A serve`
	}
	if f.idleTimeout < 0 {
		fmt.Fprintf(stderr, "postdeck serve: --idle-timeout %s: must be positive, or 0 for never\n", f.idleTimeout)
		return 1
	}
	if f.authorized == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return common.Fail(stderr, fmt.Errorf("--authorized-keys: no home folder to find ~/.ssh/authorized_keys in (%v)", err))
		}
		f.authorized = filepath.Join(home, ".ssh", "authorized_keys")
	}
	cfg, err := common.LoadConfig(g, stderr)
	if err != nil {
		return common.Fail(stderr, err)
	}
	ctx, stop := common.SignalContext()
	defer stop()
	if err := serve(ctx, cfg, f, proc.DefaultStateDir(), nil, stderr); err != nil {
		return common.Fail(stderr, err)
	}
	return 0
}

// serve runs one poller and one controller for the process, and the SSH
// server whose sessions share them, until ctx ends. ln, when not nil, is
// used instead of listening on f.listen (tests).
func serve(ctx context.Context, cfg *config.Config, f serveFlags, stateDir string, ln net.Listener, stderr io.Writer) error {
	logger := log.New(stderr, "postdeck serve: ", 0)
	report := func(s string) { logger.Print(s) }
	if f.hostKey == "" {
		f.hostKey = filepath.Join(stateDir, "ssh_host_ed25519_key")
	}
	keys, err := sshserve.NewKeyring(f.authorized, f.readOnly, report)
	if err != nil {
		return err
	}
	hostKey, err := sshserve.HostKey(f.hostKey)
	if err != nil {
		return err
	}
	audit, err := sshserve.NewAuditLog(filepath.Join(stateDir, "audit.log"))
	if err != nil {
		return err
	}

	s, err := common.OpenSession(cfg, f.clock)
	if err != nil {
		return err
	}
	defer s.Close()
	// One controller, one set of extras (events, the cycle countdown,
	// alerts, metrics) and one poller for the whole process: automatic
	// proving and pending stops run once, whatever the number of sessions.
	ctl, err := s.Live(stateDir, f.metricsListen)
	if err != nil {
		return err
	}

	srv, err := sshserve.New(sshserve.Options{
		Keys:        keys,
		HostKey:     hostKey,
		IdleTimeout: f.idleTimeout,
		Audit:       audit,
		Feed:        s.Poller,
		Actions:     ctl,
		Identity:    identityOf(s.Poller),
		Theme:       cfg.UI.Theme,
		Dashboard: ui.Options{
			Interval: cfg.Poll.Interval.Duration,
			Title:    "postdeck — " + cfg.Path,
			Now:      f.clock.Now,
			Config:   cfg,
		},
		Report:  report,
		Version: version.String(),
	})
	if err != nil {
		return err
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", f.listen); err != nil {
			return fmt.Errorf("--listen %s: %w", f.listen, err)
		}
	}
	logger.Printf("listening on %s (host key %s); audit log %s", ln.Addr(), gossh.FingerprintSHA256(hostKey.PublicKey()), audit.Path())

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				logger.Print("SIGHUP: reading the key files again")
				keys.Reload()
			}
		}
	}()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Print("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, net.ErrClosed) {
		logger.Printf("shutdown: %v", err)
	}
	return <-served
}

// identityOf names, for the audit log, the identity a service proves for:
// its key file name and id prefix in the latest snapshot.
func identityOf(p *backend.Poller) func(string) string {
	return func(service string) string {
		snap, ok := p.Latest()
		if !ok {
			return ""
		}
		for i := range snap.Rows {
			r := &snap.Rows[i]
			if r.Service != service {
				continue
			}
			id := hex.EncodeToString(r.ID)
			if len(id) > 12 {
				id = id[:12]
			}
			switch {
			case r.Name != "" && id != "":
				return r.Name + " " + id
			case id != "":
				return id
			}
			return r.Name
		}
		return ""
	}
}
