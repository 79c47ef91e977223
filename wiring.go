package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"postdeck/backend"
)

// loadConfig reads the config file named by --config (or the default path),
// lets command-line flags override it and prints its warnings.
func loadConfig(g *globals, stderr io.Writer) (*backend.Config, error) {
	path := g.config
	if path == "" {
		path = backend.DefaultConfigPath()
		if _, err := os.Stat(path); os.IsNotExist(err) {
			return nil, fmt.Errorf("no config at %s: run `postdeck init` to write one, pass --config FILE, or try `postdeck demo`", path)
		}
	}
	cfg, err := backend.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	applyGlobals(cfg, g)
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, "postdeck: warning:", w)
	}
	return cfg, cfg.Validate()
}

// applyGlobals lets flags win over the config file.
func applyGlobals(cfg *backend.Config, g *globals) {
	if g.interval > 0 {
		cfg.Poll.Interval.Duration = g.interval
	}
	if g.timeout > 0 {
		cfg.Poll.Timeout.Duration = g.timeout
	}
	if g.theme != "" {
		cfg.UI.Theme = g.theme
	}
}

// session is the backend one dashboard or one status call works against.
type session struct {
	node   *backend.NodeClient
	poller *backend.Poller
}

func openSession(cfg *backend.Config) (*session, error) {
	node, err := backend.NewNodeClient(backend.NodeOptionsFor(cfg))
	if err != nil {
		return nil, err
	}
	ops := backend.NewOperatorClient(cfg.Poll.Timeout.Duration)
	return &session{node: node, poller: backend.NewPoller(cfg, node, ops)}, nil
}

func (s *session) Close() { s.node.Close() }

// control adds the supervisor and the controller to a session, for the
// commands that start and stop services.
func (s *session) control(ctx context.Context, cfg *backend.Config, stateDir string) (*backend.Controller, error) {
	sup, err := backend.NewSupervisor(cfg, stateDir)
	if err != nil {
		return nil, err
	}
	return backend.NewController(ctx, cfg, sup, s.poller, stateDir)
}

// fail prints an error for the user and returns the usage/config exit code.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "postdeck:", err)
	return 1
}

// signalContext is cancelled on Ctrl-C / SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
