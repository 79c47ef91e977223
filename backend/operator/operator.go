package operator

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"postdeck/model"
)

// DefaultTimeout bounds each GET /status when none is configured.
const DefaultTimeout = time.Second

// maxStatusBody caps how much of a /status answer is read: the real bodies
// are under 100 bytes; anything bigger is not a post-service.
const maxStatusBody = 64 << 10

// idleTimeout is how long an unused connection is kept for the next poll.
const idleTimeout = 90 * time.Second

// Client asks post-services' operator APIs (GET /status) over plain
// HTTP/1.1, keeping one idle connection per service between polls. It is
// safe for concurrent use.
//
// It is its own small client rather than net/http's Transport: a Transport
// keeps two goroutines and two buffers for every idle connection, which at a
// thousand services was 2000 goroutines, 9 MiB of stacks and most of the
// dashboard's heap. Here an idle connection is only its socket; a request
// borrows a pooled read buffer while it runs, and answers are read by
// readResponse, which allocates only the body.
type Client struct {
	timeout time.Duration
	dialer  net.Dialer

	mu   sync.Mutex
	idle map[string]idleConn // by address
}

type idleConn struct {
	conn  net.Conn
	since time.Time
}

// readers are the read buffers requests borrow: a /status answer and its
// headers are a few hundred bytes; a header line must fit in one.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// NewClient returns a client whose every call ends within timeout
// (0 = DefaultTimeout).
func NewClient(timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// Operator endpoints are on the local network: never via a proxy, so
	// the environment's proxy settings are not consulted at all.
	return &Client{timeout: timeout, dialer: net.Dialer{Timeout: timeout}, idle: map[string]idleConn{}}
}

// Close drops idle connections.
func (c *Client) Close() {
	c.mu.Lock()
	idle := c.idle
	c.idle = map[string]idleConn{}
	c.mu.Unlock()
	for _, ic := range idle {
		ic.conn.Close()
	}
}

// Status asks the post-service at addr ("ip:port", as given to its
// --operator-address) for its state. Any body that arrives is parsed, and an
// unexpected one is returned as ServiceUnknown with the raw body; errors are
// one line naming the address and what to check.
func (c *Client) Status(ctx context.Context, addr string) (model.OperatorStatus, error) {
	// A deadline on the socket, not a context with a timeout: at a thousand
	// calls a cycle, a timer and a context each were a cost of their own.
	deadline := time.Now().Add(c.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	hostport := strings.TrimSuffix(strings.TrimPrefix(addr, "http://"), "/")
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		return model.OperatorStatus{}, fmt.Errorf("operator %s: not an address (%v) — use ip:port as given to --operator-address", addr, err)
	}
	code, status, body, err := c.get(ctx, hostport, deadline)
	if err != nil {
		return model.OperatorStatus{}, c.explain(ctx, addr, err)
	}
	if code != http.StatusOK {
		return model.OperatorStatus{}, fmt.Errorf("operator %s: HTTP %s from /status — is this a post-service operator address?", addr, status)
	}
	return model.ParseStatus(body), nil
}

// get sends GET /status on a kept connection or a new one. A kept
// connection the service has closed meanwhile fails before any answer
// arrives; the request is then sent once more on a new connection (a GET is
// safe to repeat).
func (c *Client) get(ctx context.Context, hostport string, deadline time.Time) (int, string, []byte, error) {
	conn, reused := c.take(hostport)
	for {
		if conn == nil {
			d := c.dialer
			d.Deadline = deadline
			var err error
			if conn, err = d.DialContext(ctx, "tcp", hostport); err != nil {
				return 0, "", nil, err
			}
		}
		code, status, body, keep, err := roundTrip(ctx, conn, hostport, deadline)
		if err != nil {
			conn.Close()
			if reused && staleConn(err) && ctx.Err() == nil {
				conn, reused = nil, false
				continue
			}
			return 0, "", nil, err
		}
		if keep {
			c.put(hostport, conn)
		} else {
			conn.Close()
		}
		return code, status, body, nil
	}
}

// roundTrip writes the request and reads the answer by deadline, or until
// ctx ends; keep says whether the connection may carry the next request.
func roundTrip(ctx context.Context, conn net.Conn, hostport string, deadline time.Time) (code int, status string, body []byte, keep bool, err error) {
	_ = conn.SetDeadline(deadline)
	// A parent cancelled (postdeck shutting down) interrupts the I/O too.
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	if _, err = io.WriteString(conn, "GET /status HTTP/1.1\r\nHost: "+hostport+"\r\nUser-Agent: postdeck\r\nAccept: application/json\r\n\r\n"); err != nil {
		return 0, "", nil, false, err
	}
	br := readers.Get().(*bufio.Reader)
	br.Reset(conn)
	defer func() { br.Reset(nil); readers.Put(br) }()
	r, err := readResponse(br, maxStatusBody)
	if err != nil {
		return 0, "", nil, false, err
	}
	return r.code, r.status, r.body, r.keep && br.Buffered() == 0, nil
}

// staleConn tells a kept connection closed by the other end (before it
// answered) from a real failure.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (c *Client) take(hostport string) (net.Conn, bool) {
	c.mu.Lock()
	ic, ok := c.idle[hostport]
	delete(c.idle, hostport)
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	if time.Since(ic.since) > idleTimeout {
		ic.conn.Close()
		return nil, false
	}
	return ic.conn, true
}

// put keeps conn for the next request to hostport; one is enough.
func (c *Client) put(hostport string, conn net.Conn) {
	_ = conn.SetDeadline(time.Time{})
	c.mu.Lock()
	_, have := c.idle[hostport]
	if !have {
		c.idle[hostport] = idleConn{conn: conn, since: time.Now()}
	}
	c.mu.Unlock()
	if have {
		conn.Close()
	}
}

// explain names what went wrong in terms of what the operator should check.
func (c *Client) explain(ctx context.Context, addr string, err error) error {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("operator %s: connection refused — is post-service running with --operator-address %s?", addr, addr)
	case errors.Is(ctx.Err(), context.DeadlineExceeded),
		(errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)) && ctx.Err() == nil:
		return fmt.Errorf("operator %s: no answer within %s — is the post-service hung, or is something else on this port?", addr, c.timeout)
	case errors.Is(ctx.Err(), context.Canceled), errors.Is(err, context.Canceled):
		return fmt.Errorf("operator %s: canceled", addr)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("operator %s: the connection closed before an answer — is this a post-service operator address?", addr)
	}
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Err != nil {
		err = ne.Err
	}
	return fmt.Errorf("operator %s: %v", addr, err)
}
