// Package sshserve serves the dashboard over SSH (`postdeck serve`): one
// Bubble Tea program per session, all fed by one shared poller, with
// public-key authentication from authorized_keys files, view-only sessions
// for read-only keys, and an audit log of every action taken.
package sshserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"github.com/charmbracelet/colorprofile"
	gossh "golang.org/x/crypto/ssh"

	"postdeck/model"
	"postdeck/themes"
	"postdeck/ui"
)

// Feed is the shared poller as the sessions see it: backend.Poller's
// Subscribe, latest snapshot wins per subscriber.
type Feed interface {
	Subscribe() (<-chan model.Snapshot, func())
}

// Options configure a Server.
type Options struct {
	Keys    *Keyring
	HostKey gossh.Signer
	// IdleTimeout ends a session that sent no key, mouse or resize for
	// this long; 0 never does.
	IdleTimeout time.Duration
	Audit       *AuditLog
	Feed        Feed
	// Actions are the one controller of the process, shared by every full
	// session (each through its own auditing wrapper); nil makes every
	// session view-only.
	Actions ui.Actions
	// Identity names the identity a service proves for, for the audit log.
	Identity func(service string) string
	// Theme is the configured theme name; NO_COLOR or TERM=dumb in a
	// session's environment turns colour off for that session only.
	Theme string
	// Dashboard is the template of each session's ui.Options: Interval,
	// Title, Config. Snapshots, Theme, Actions and Keys are set per session.
	Dashboard ui.Options
	// Report tells the operator (the server's stderr) about bad key lines,
	// audit failures and sessions.
	Report func(string)
	// MaxSessions bounds the sessions open at once (default 64).
	MaxSessions int
	// Version is this postdeck's, told to another postdeck on the machine
	// channel.
	Version string
}

// Server is the SSH server. Serve it on a listener; Shutdown ends it.
type Server struct {
	o   Options
	srv *ssh.Server

	mu       sync.Mutex
	sessions map[*live]struct{}
	closing  bool
	bye      chan struct{} // closed by Shutdown: the machine channel's watches end
	active   int           // handlers running
	drained  chan struct{} // closed when active drops to 0 while closing
}

// live is one running session.
type live struct {
	prog      *tea.Program
	conn      *gossh.ServerConn
	reason    atomic.Pointer[string] // why the server ended it, nil if it did not
	done      chan struct{}          // closed when the program has returned
	lastInput atomic.Int64           // unix nanoseconds of the last key, mouse or resize
}

// New builds the server; it does not listen yet.
func New(o Options) (*Server, error) {
	if o.Keys == nil || o.HostKey == nil || o.Feed == nil || o.Audit == nil {
		return nil, errors.New("sshserve: Keys, HostKey, Feed and Audit are required")
	}
	if o.Report == nil {
		o.Report = func(string) {}
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 64
	}
	s := &Server{o: o, sessions: map[*live]struct{}{}, bye: make(chan struct{})}
	srv, err := wish.NewServer(
		wish.WithVersion("postdeck"),
		func(srv *ssh.Server) error { srv.AddHostKey(o.HostKey); return nil },
		// Public keys only: no password or keyboard-interactive handler is
		// set, so the server offers no other method.
		wish.WithPublicKeyAuth(func(_ ssh.Context, key ssh.PublicKey) bool {
			return o.Keys.Lookup(key) != Denied
		}),
		// No connection-level idle timeout: the dashboard writes every
		// second, so only input says a session is idle (watchIdle), and
		// charm.land/ssh's deadline updates race with its handshake.
		// One handler, not wish's bubbletea middleware: a session needs its
		// own idle clock, an end that works when its client stopped reading,
		// and no signal handler of its own.
		wish.WithMiddleware(func(ssh.Handler) ssh.Handler { return s.handle }),
	)
	if err != nil {
		return nil, err
	}
	srv.HandshakeTimeout = 20 * time.Second
	s.srv = srv
	return s, nil
}

// Serve accepts connections on ln until Shutdown; it then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	err := s.srv.Serve(ln)
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown tells every session the server is going away and ends them,
// waits (until ctx ends) for their handlers to return, then closes the
// listener and every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing {
		close(s.bye)
	}
	s.closing = true
	for l := range s.sessions {
		s.end(l, "postdeck serve is shutting down; bye")
	}
	drained := make(chan struct{})
	if s.active == 0 {
		close(drained)
	} else {
		s.drained = drained
	}
	s.mu.Unlock()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if cerr := s.srv.Close(); err == nil {
		err = cerr
	}
	return err
}

// end quits a session's program, saying why (the first reason stays); a program that cannot finish
// (its client stopped reading, so a write is stuck) has its connection
// closed after a grace period.
func (s *Server) end(l *live, reason string) {
	l.reason.CompareAndSwap(nil, &reason)
	if l.prog == nil {
		return // not built yet: handle quits it once it is
	}
	go l.prog.Quit() // Send blocks until the program runs; it ends with the session
	go func() {
		select {
		case <-l.done:
		case <-time.After(2 * time.Second):
			if l.conn != nil {
				l.conn.Close()
			}
		}
	}()
}

func (s *Server) handle(sess ssh.Session) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		fmt.Fprint(sess.Stderr(), "postdeck serve is shutting down\r\n")
		_ = sess.Exit(1)
		return
	}
	s.active++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		if s.active == 0 && s.drained != nil {
			close(s.drained)
			s.drained = nil
		}
		s.mu.Unlock()
	}()

	access := s.o.Keys.Lookup(sess.PublicKey())
	if access == Denied { // removed from the files since the login
		fmt.Fprint(sess.Stderr(), "postdeck: this key is no longer authorized\r\n")
		_ = sess.Exit(1)
		return
	}
	w := who{
		Fingerprint: gossh.FingerprintSHA256(sess.PublicKey()),
		User:        sess.User(),
		Remote:      sess.RemoteAddr().String(),
		Access:      access.String(),
	}
	if sess.Subsystem() != "" {
		fmt.Fprint(sess.Stderr(), "postdeck serve has no subsystems: connect without one, or run a command such as status\r\n")
		_ = sess.Exit(1)
		return
	}
	if len(sess.Command()) > 0 {
		s.machine(sess, access, w)
		return
	}
	pty, windows, ok := sess.Pty()
	if !ok {
		fmt.Fprintf(sess.Stderr(), "postdeck needs a terminal for the dashboard: ssh -t -p %s %s (or run a command: ssh -p %s %s status)\n",
			port(sess.LocalAddr()), hostFor(sess), port(sess.LocalAddr()), hostFor(sess))
		_ = sess.Exit(1)
		return
	}

	conn, _ := sess.Context().Value(ssh.ContextKeyConn).(*gossh.ServerConn)
	l := &live{conn: conn, done: make(chan struct{})}
	l.lastInput.Store(time.Now().UnixNano())
	s.mu.Lock()
	if s.closing || len(s.sessions) >= s.o.MaxSessions {
		closing := s.closing
		s.mu.Unlock()
		if closing {
			fmt.Fprint(sess.Stderr(), "postdeck serve is shutting down\r\n")
		} else {
			fmt.Fprintf(sess.Stderr(), "postdeck serve: too many sessions (%d); try again later\r\n", s.o.MaxSessions)
		}
		_ = sess.Exit(1)
		return
	}
	s.sessions[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, l)
		s.mu.Unlock()
	}()

	s.audit(w, "session-start", "ok")
	feed, unsubscribe := s.o.Feed.Subscribe()
	defer unsubscribe()

	env := append(sess.Environ(), "TERM="+pty.Term)
	opts := s.o.Dashboard
	opts.Snapshots = feed
	opts.Theme = themes.ByName(s.o.Theme, noColor(env))
	keys := sessionKeys()
	opts.Keys = &keys
	opts.Actions = nil
	if access == Full && s.o.Actions != nil {
		opts.Actions = &auditedActions{inner: s.o.Actions, log: s.o.Audit, who: w, identity: s.o.Identity, report: s.o.Report}
	} else {
		opts.ReadOnly = true
		if s.o.Actions != nil {
			opts.Logs = s.o.Actions // reading a log is watching: a read-only key may (as over the machine channel)
		}
	}

	ctx, cancel := context.WithCancel(sess.Context())
	defer cancel()
	prog := tea.NewProgram(ui.New(opts),
		tea.WithContext(ctx),
		tea.WithInput(sess),
		tea.WithOutput(sess),
		tea.WithEnvironment(env),
		tea.WithColorProfile(colorprofile.Env(env)),
		tea.WithWindowSize(pty.Window.Width, pty.Window.Height),
		// 120 frames a second: a keypress is on the client within one 60 Hz
		// frame (p50 ~9 ms against ~17 ms at the default 60, for +0.03 core
		// over 20 sessions of 1000 rows: BenchmarkServe1000x20).
		tea.WithFPS(120),
		tea.WithoutSignalHandler(), // signals are the server's, not one session's
		tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
			switch msg.(type) {
			case tea.SuspendMsg:
				return tea.ResumeMsg{} // ctrl+z must not stop the server
			case tea.KeyPressMsg, tea.MouseMsg, tea.PasteMsg, tea.WindowSizeMsg:
				l.lastInput.Store(time.Now().UnixNano())
			}
			return msg
		}),
	)
	// end reads prog under s.mu (Shutdown) or after this (watchIdle).
	s.mu.Lock()
	l.prog = prog
	if r := l.reason.Load(); r != nil { // Shutdown came first
		s.end(l, *r)
	}
	s.mu.Unlock()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case win, ok := <-windows:
				if !ok {
					return
				}
				l.prog.Send(tea.WindowSizeMsg{Width: win.Width, Height: win.Height})
			}
		}
	}()
	if s.o.IdleTimeout > 0 {
		go s.watchIdle(ctx, l)
	}

	_, err := l.prog.Run()
	close(l.done)
	reason := "bye"
	if r := l.reason.Load(); r != nil {
		reason = *r
		fmt.Fprintf(sess, "\r\npostdeck: %s\r\n", reason)
	} else if err != nil && !errors.Is(err, tea.ErrProgramKilled) && sess.Context().Err() == nil {
		reason = "error: " + err.Error()
		s.o.Report(fmt.Sprintf("session %s %s: %v", w.Remote, w.Fingerprint, err))
	}
	s.audit(w, "session-end", reason)
	_ = sess.Exit(0)
}

// sessionKeys is a session's key map. Adding a key, merging nodes and the
// wizard change files directly, not through Actions, so they could not be
// audited: not over SSH. Pressed, each says where it works. ctrl+r too:
// the server reads its config only when it starts (its SIGHUP reads the
// key files again, not the config), and no session may swap the others'.
func sessionKeys() ui.KeyMap {
	keys := ui.DefaultKeyMap()
	keys.Refuse("run postdeck locally to add a key", &keys.AddKey)
	keys.Refuse("run postdeck locally to merge", &keys.Merge)
	keys.Refuse("run postdeck locally for the wizard", &keys.Migrate)
	keys.Refuse(ReloadWhy, &keys.Reload)
	return keys
}

// ReloadWhy is what ctrl+r says over SSH: short, as the footer is one
// line at 80 columns.
const ReloadWhy = "postdeck serve reads its config only at launch"

// watchIdle ends the session once no input came for IdleTimeout.
func (s *Server) watchIdle(ctx context.Context, l *live) {
	every := min(max(s.o.IdleTimeout/4, 50*time.Millisecond), 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if time.Since(time.Unix(0, l.lastInput.Load())) >= s.o.IdleTimeout {
				s.end(l, fmt.Sprintf("disconnected after %s without a keypress", s.o.IdleTimeout))
				return
			}
		}
	}
}

func (s *Server) audit(w who, action, result string) {
	e := w.entry(action)
	e.Result = result
	if err := s.o.Audit.Write(e); err != nil {
		s.o.Report(fmt.Sprintf("audit log %s: %v", s.o.Audit.Path(), err))
	}
}

// noColor is true when the session's environment asks for no colour.
func noColor(env []string) bool {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if (k == "NO_COLOR" && v != "") || (k == "TERM" && v == "dumb") {
			return true
		}
	}
	return false
}

func port(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return fmt.Sprint(t.Port)
	}
	return "PORT"
}

// hostFor is what the user typed to reach us, as well as we can tell.
func hostFor(sess ssh.Session) string {
	host := "HOST"
	if t, ok := sess.LocalAddr().(*net.TCPAddr); ok && !t.IP.IsUnspecified() {
		host = t.IP.String()
	}
	if u := sess.User(); u != "" {
		host = u + "@" + host
	}
	return host
}
