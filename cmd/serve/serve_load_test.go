package serve

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"postdeck/backend/config"
	"postdeck/cmd/cmdtest"
	"postdeck/cmd/simcmd"
	"postdeck/sim"
)

// clientKey makes an in-memory ed25519 key and its authorized_keys line.
func clientKey(t testing.TB) (gossh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey())))
}

// sshDash is one SSH client with a PTY running the dashboard.
type sshDash struct {
	client *gossh.Client
	sess   *gossh.Session
	stdin  io.Writer
	stdout io.Reader

	mu  sync.Mutex
	out bytes.Buffer // what was read, when reading
	n   int          // bytes read so far
	got chan struct{}
}

// frozenConn is a client connection that stops reading once frozen, as a
// client that hangs does: the server's writes to it block.
type frozenConn struct {
	net.Conn
	frozen atomic.Bool
	closed chan struct{}
	once   sync.Once
}

func (c *frozenConn) Read(p []byte) (int, error) {
	if c.frozen.Load() {
		<-c.closed
		return 0, net.ErrClosed
	}
	return c.Conn.Read(p)
}

func (c *frozenConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func dialDash(addr string, signer gossh.Signer, w, h int) (*sshDash, error) {
	return dialDashConn(addr, signer, w, h, nil)
}

// dialDashConn dials, with fc (when not nil) taking the TCP connection.
func dialDashConn(addr string, signer gossh.Signer, w, h int, fc *frozenConn) (*sshDash, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if fc != nil {
		conn.(*net.TCPConn).SetReadBuffer(4096) // a small window, soon full
		fc.Conn, fc.closed = conn, make(chan struct{})
		conn = fc
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c, chans, reqs, err := gossh.NewClientConn(conn, addr, &gossh.ClientConfig{
		User: "op", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	client := gossh.NewClient(c, chans, reqs)
	sess, err := client.NewSession()
	if err != nil {
		client.Close()
		return nil, err
	}
	d := &sshDash{client: client, sess: sess, got: make(chan struct{}, 1)}
	if d.stdin, err = sess.StdinPipe(); err == nil {
		d.stdout, err = sess.StdoutPipe()
	}
	if err == nil {
		err = sess.RequestPty("xterm-256color", h, w, gossh.TerminalModes{})
	}
	if err == nil {
		err = sess.Shell()
	}
	if err != nil {
		client.Close()
		return nil, err
	}
	return d, nil
}

// read consumes the output in the background, keeping it for until.
func (d *sshDash) read() {
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := d.stdout.Read(buf)
			d.mu.Lock()
			d.out.Write(buf[:n])
			d.n += n
			d.mu.Unlock()
			select {
			case d.got <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
}

// until waits for the output (escapes stripped) to contain s.
func (d *sshDash) until(s string, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		d.mu.Lock()
		ok := strings.Contains(ansi.Strip(d.out.String()), s)
		d.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-d.got:
		case <-deadline:
			return fmt.Errorf("no %q in the output within %s", s, timeout)
		}
	}
}

// has says whether the output so far (escapes stripped) contains s.
func (d *sshDash) has(s string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Contains(ansi.Strip(d.out.String()), s)
}

func (d *sshDash) bytesRead() int { d.mu.Lock(); defer d.mu.Unlock(); return d.n }

func (d *sshDash) close() { d.client.Close() }

// simServeConfig is a simulator of n identities (no real services) and its config.
func simServeConfig(t testing.TB, n int, manual bool) *config.Config {
	t.Helper()
	s, err := sim.Start(context.Background(), sim.Options{IDs: n, Manual: manual, Seed: 7, Dir: t.TempDir(), Now: cmdtest.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg := simcmd.ConfigFromLayout(s.Layout())
	config.ApplyDefaults(cfg)
	return cfg
}

func TestServeSurvivesChurnAndAClientThatNeverReads(t *testing.T) {
	const ids = 200
	cfg := simServeConfig(t, ids, true)
	cfg.Poll.Interval.Duration = 500 * time.Millisecond
	signer, line := clientKey(t)
	auth := filepath.Join(t.TempDir(), "authorized_keys")
	os.WriteFile(auth, []byte(line+"\n"), 0o600)

	srv := startServe(t, cfg, serveFlags{authorized: auth, idleTimeout: time.Minute, clock: cmdtest.Clock})
	addr := srv.addr.String()
	// The first client's table: the poller and the server are warm.
	first, err := dialDash(addr, signer, 100, 30)
	if err != nil {
		t.Fatal(err)
	}
	first.read()
	if err := first.until(fmt.Sprint(ids, " identities"), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	first.close()
	// The baseline is taken once nothing of that session runs any more.
	cmdtest.WaitFor(t, "the first session's goroutines to end", func() bool { return len(takeCensus().session) == 0 })
	c0 := takeCensus()
	before, leftBefore := len(c0.rest), len(c0.teaReadLoop) // those of a test before this one stay

	// A client that stops reading its connection, made to fill it with
	// repaints of a big terminal (sorted by one column, then another…): the
	// server's writes to it block.
	fc := &frozenConn{}
	stuck, err := dialDashConn(addr, signer, 400, 120, fc)
	if err != nil {
		t.Fatal(err)
	}
	fc.frozen.Store(true)
	// charm.land/ssh v0.4.2 writes the window size of a window-change
	// request unguarded while the handler reads Pty(): no window change
	// until the handler has read it, which it has once the session's start
	// is audited (the second one: the first client's came before).
	cmdtest.WaitFor(t, "the stuck client's session to start", func() bool { return countAudit(srv.audit(t), "session-start") == 2 })
	const presses = 300
	var pressed atomic.Int32
	go func() { // its writes block too once the server stops reading it
		// One key per tick, not all at once: keys, not a paste, each its
		// own repaint.
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := range presses {
			<-tick.C
			if i%20 == 0 {
				stuck.sess.WindowChange(120-i%3, 400-i%7)
			}
			if _, err := io.WriteString(stuck.stdin, string(rune('1'+i%4))); err != nil {
				return
			}
			pressed.Add(1)
		}
	}()
	// The load is all its keys sent, each a repaint of the big terminal,
	// and the server left holding output it cannot deliver (its send queue
	// to the client is not empty, and cannot empty: the client reads
	// nothing). Then the churn starts beside it.
	stuckPort := fc.Conn.LocalAddr().(*net.TCPAddr).Port
	cmdtest.WaitFor(t, "the stuck client's keys sent and the server's output to it queued", func() bool {
		q, ok := sendQueue(srv.addr.Port, stuckPort)
		return pressed.Load() == presses && ok && q > 0
	})
	if os.Getenv("POSTDECK_PROBE_STUCK") != "" { // is the server's send queue to it full?
		out, _ := exec.Command("ss", "-tn", "sport = :"+strconv.Itoa(srv.addr.Port)).CombinedOutput()
		t.Logf("sockets:\n%s", out)
	}

	// 20 clients connecting and dropping, 3 rounds: half see the table
	// first, half drop at once.
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Go(func() {
				d, err := dialDash(addr, signer, 100, 30)
				if err != nil {
					errs <- fmt.Errorf("round %d client %d: %v", round, i, err)
					return
				}
				defer d.close()
				if i%2 == 0 {
					d.read()
					if err := d.until("identities", 15*time.Second); err != nil {
						errs <- fmt.Errorf("round %d client %d: %v", round, i, err)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}

	// A normal client is served while the stuck one is still connected:
	// its keypress is answered.
	d, err := dialDash(addr, signer, 120, 40)
	if err != nil {
		t.Fatal(err)
	}
	d.read()
	if err := d.until(fmt.Sprint(ids, " identities"), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	io.WriteString(d.stdin, "?")
	if err := d.until("again reverses", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("help answered in %s with a stuck client and %d bytes so far", time.Since(start), d.bytesRead())
	d.close()
	stuck.close()

	// Everything the sessions started ends with them: not one goroutine of
	// a session is left (but the one bubbletea leaks, see census)…
	var c census
	defer func() {
		if t.Failed() { // what was still there at the last look
			t.Logf("%d before; session goroutines:\n%s\n\nthe rest (shared pools left out):\n%s", before,
				strings.Join(append(c.session, c.teaReadLoop[min(leftBefore, len(c.teaReadLoop)):]...), "\n\n"), strings.Join(c.rest, "\n\n"))
		}
	}()
	cmdtest.WaitFor(t, "the sessions' goroutines to end", func() bool {
		c = takeCensus()
		return len(c.session) == 0 && len(c.teaReadLoop) <= leftBefore+1
	})
	// …and, beside the shared pools, which grow and shrink with the load
	// whatever the sessions do, no more goroutines than before them: what a
	// session starts elsewhere ends with it too. (The slack is for what
	// the server does for no session: a timer's, a ticker's.)
	cmdtest.WaitFor(t, "the goroutines beside the shared pools to be back to their number before the sessions (+3)", func() bool {
		c = takeCensus()
		return len(c.rest) <= before+3
	})
	t.Logf("goroutines (shared pools left out): %d before, %d after; %d in shared pools, %d left by bubbletea",
		before, len(c.rest), c.shared, len(c.teaReadLoop)-leftBefore)
}

func TestServeEndsIdleSessionsAndAuditsThem(t *testing.T) {
	cfg := simServeConfig(t, 3, true)
	signer, line := clientKey(t)
	auth := filepath.Join(t.TempDir(), "authorized_keys")
	os.WriteFile(auth, []byte(line+"\n"), 0o600)
	const idle = 1500 * time.Millisecond
	srv := startServe(t, cfg, serveFlags{authorized: auth, idleTimeout: idle, clock: cmdtest.Clock})

	d, err := dialDash(srv.addr.String(), signer, 100, 30)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	d.read()
	if err := d.until("3 identities", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// Keys keep it open past the timeout… The waiting is the scenario
	// here, in real time (the server's idle clock is the machine's): a key
	// every third of the timeout, until the session has been open for
	// twice the timeout since its first frame.
	opened := time.Now()
	keys := time.NewTicker(idle / 3)
	for time.Since(opened) < 2*idle {
		<-keys.C
		io.WriteString(d.stdin, "j")
	}
	keys.Stop()
	if d.has("without a keypress") {
		t.Fatal("ended while keys were coming")
	}
	// …and without them it ends, saying why.
	if err := d.until("disconnected after 1.5s without a keypress", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.sess.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the session stayed open after the idle message")
	}
	cmdtest.WaitFor(t, "the session end in the audit log", func() bool {
		e := hasAudit(srv.audit(t), "session-end", "SHA256:")
		return e != nil && strings.Contains(e["result"], "without a keypress")
	})
}

func TestServeColoursArePerSession(t *testing.T) {
	cfg := simServeConfig(t, 5, true)
	signer, line := clientKey(t)
	auth := filepath.Join(t.TempDir(), "authorized_keys")
	os.WriteFile(auth, []byte(line+"\n"), 0o600)
	srv := startServe(t, cfg, serveFlags{authorized: auth, clock: cmdtest.Clock})

	open := func(env ...string) string {
		t.Helper()
		client, err := gossh.Dial("tcp", srv.addr.String(), &gossh.ClientConfig{
			User: "op", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey()})
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		sess, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(env); i += 2 {
			if err := sess.Setenv(env[i], env[i+1]); err != nil {
				t.Fatal(err)
			}
		}
		d := &sshDash{client: client, sess: sess, got: make(chan struct{}, 1)}
		d.stdin, _ = sess.StdinPipe()
		d.stdout, _ = sess.StdoutPipe()
		if err := sess.RequestPty("xterm-256color", 30, 100, gossh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
		if err := sess.Shell(); err != nil {
			t.Fatal(err)
		}
		d.read()
		// A full frame: the header at its top and the footer's position
		// (cursor on row 1 of 5) at its bottom.
		if err := d.until("5 identities", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := d.until("1/5", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.out.String()
	}
	colour := func(out string) bool { return strings.Contains(out, "\x1b[38;") || strings.Contains(out, ";38;") }
	plain := open("NO_COLOR", "1")
	coloured := open()
	if colour(plain) {
		t.Errorf("NO_COLOR session got colours: %q", plain[:min(len(plain), 400)])
	}
	if !colour(coloured) {
		t.Errorf("a colour session got none: %q", coloured[:min(len(coloured), 400)])
	}
	// And after the plain session, a colour one still has colour: no global state.
	if again := open(); !colour(again) {
		t.Error("colour lost after a NO_COLOR session")
	}
}

func TestServeBinaryReloadsOnSIGHUPAndEndsOnSIGTERM(t *testing.T) {
	_, cfgPath := cmdtest.StartSim(t, 4)
	signer, line := clientKey(t)
	auth := filepath.Join(t.TempDir(), "authorized_keys")
	os.WriteFile(auth, []byte("garbage\n"), 0o600)
	state := t.TempDir()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := free.Addr().String()
	free.Close()
	cmd := exec.Command(cmdtest.Binary, "serve", "--config", cfgPath, "--listen", "127.0.0.1:0", "--authorized-keys", auth,
		"--metrics-listen", metricsAddr)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
	stderr := &cmdtest.SyncBuf{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	cmdtest.WaitFor(t, "serve to listen", func() bool { return strings.Contains(stderr.String(), "listening on") })
	addr := strings.Fields(strings.SplitN(stderr.String(), "listening on ", 2)[1])[0]
	if !strings.Contains(stderr.String(), auth+":1: not a public key") {
		t.Errorf("stderr:\n%s\nwant line 1 reported", stderr)
	}
	if _, err := os.Stat(filepath.Join(state, "postdeck", "ssh_host_ed25519_key")); err != nil {
		t.Errorf("host key not under $XDG_STATE_HOME/postdeck: %v", err)
	}

	if _, err := dialDash(addr, signer, 100, 30); err == nil {
		t.Fatal("a key in no file was let in")
	}
	// Same size and, maybe, the same second: only SIGHUP is sure to re-read it.
	os.WriteFile(auth, []byte(line+"\n"), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	cmdtest.WaitFor(t, "the SIGHUP reload", func() bool { return strings.Contains(stderr.String(), "SIGHUP") })
	d, err := dialDash(addr, signer, 100, 30)
	if err != nil {
		t.Fatalf("after SIGHUP: %v", err)
	}
	defer d.close()
	d.read()
	if err := d.until("4 identities", 10*time.Second); err != nil {
		t.Fatal(err)
	}

	// The metrics run once for the server, beside the sessions.
	cmdtest.WaitFor(t, "the metrics", func() bool {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && strings.Contains(string(body), "postdeck_")
	})

	cmd.Process.Signal(syscall.SIGTERM)
	if err := d.until("shutting down", 10*time.Second); err != nil {
		t.Error(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v; stderr:\n%s", err, stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("serve still running 15 s after SIGTERM; stderr:\n%s", stderr)
	}
	audit, _ := os.ReadFile(filepath.Join(state, "postdeck", "audit.log"))
	if !strings.Contains(string(audit), `"action":"session-end"`) || !strings.Contains(string(audit), "shutting down") {
		t.Errorf("audit log:\n%s\nwant the session's end by the shutdown", audit)
	}
}

// countAudit is how many audit entries have this action.
func countAudit(lines []map[string]string, action string) int {
	n := 0
	for _, e := range lines {
		if e["action"] == action {
			n++
		}
	}
	return n
}

// census sorts the process's goroutines (each one's stack, with the line
// naming its creator) by what they belong to.
type census struct {
	// session: an SSH session's — its connection (golang.org/x/crypto/ssh),
	// its handler and idle watch, its dashboard program (bubbletea). The
	// server's accept loop and the shared poller are not among them.
	session []string
	// teaReadLoop: a session's input reader that bubbletea (v2.0.10, with
	// ultraviolet's TerminalReader) leaves blocked for good, sending an
	// event to a program that has ended: StreamEvents' sendEvents takes no
	// context, and Program.msgs is unbuffered with no reader left. It
	// happens to a program that ends while input is coming and it is
	// stuck (here the client that never reads, whose keys keep coming
	// while the server's writes to it block). Upstream's; counted apart.
	teaReadLoop []string
	// shared is how many belong to the long-lived pools every session
	// shares and whose size follows the load, not the sessions: fsguard's
	// workers (each idles 30 s before it ends), gRPC's connections and
	// handlers (the poller's node client, the simulator's node), net/http's
	// connections (the poller's operator calls, the simulator's operator
	// endpoints) and a poll in flight.
	shared int
	// rest is every other goroutine.
	rest []string
}

func takeCensus() census {
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 2)
	var c census
	for _, g := range strings.Split(strings.TrimSpace(b.String()), "\n\n") {
		switch {
		case strings.Contains(g, "github.com/charmbracelet/ultraviolet.(*TerminalReader).sendEvents") &&
			strings.Contains(g, "charm.land/bubbletea/v2.(*Program).readLoop"):
			c.teaReadLoop = append(c.teaReadLoop, g)
		case strings.Contains(g, "golang.org/x/crypto/ssh.") || strings.Contains(g, "postdeck/sshserve.(*Server).handle") ||
			strings.Contains(g, "postdeck/sshserve.(*Server).watchIdle") || strings.Contains(g, "charm.land/bubbletea/"):
			c.session = append(c.session, g)
		case strings.Contains(g, "postdeck/backend/fsguard.(*Guard).worker") || strings.Contains(g, "google.golang.org/grpc") ||
			strings.Contains(g, "net/http.(*persistConn)") || strings.Contains(g, "net/http.(*conn).serve") ||
			strings.Contains(g, "postdeck/backend.(*Poller)"):
			c.shared++
		default:
			c.rest = append(c.rest, g)
		}
	}
	return c
}

// sendQueue is the bytes queued to send (tx_queue in /proc/net/tcp) on the
// loopback connection from localPort to remotePort; ok is false when there
// is none.
func sendQueue(localPort, remotePort int) (q int, ok bool) {
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, false
	}
	local, remote := fmt.Sprintf(":%04X", localPort), fmt.Sprintf(":%04X", remotePort)
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasSuffix(f[1], local) || !strings.HasSuffix(f[2], remote) {
			continue
		}
		tx, _, _ := strings.Cut(f[4], ":")
		v, err := strconv.ParseInt(tx, 16, 64)
		return int(v), err == nil
	}
	return 0, false
}
