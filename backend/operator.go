package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"postdeck/model"
)

// DefaultOperatorTimeout bounds each GET /status when none is configured.
const DefaultOperatorTimeout = time.Second

// maxStatusBody caps how much of a /status answer is read: the real bodies
// are under 100 bytes; anything bigger is not a post-service.
const maxStatusBody = 64 << 10

// OperatorClient asks post-services' operator APIs (GET /status). It keeps
// connections alive across polls and is safe for concurrent use.
type OperatorClient struct {
	timeout time.Duration
	http    *http.Client
}

// NewOperatorClient returns a client whose every call ends within timeout
// (0 = DefaultOperatorTimeout).
func NewOperatorClient(timeout time.Duration) *OperatorClient {
	if timeout <= 0 {
		timeout = DefaultOperatorTimeout
	}
	tr := &http.Transport{
		// Operator endpoints are on the local network: never via an
		// environment proxy.
		Proxy:       nil,
		DialContext: (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		// One idle connection per service is what a poll needs; room for a
		// thousand services so every poll reuses its connections.
		MaxIdleConns:        2048,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		// A /status answer is a few dozen bytes; the default 4 KiB buffers,
		// kept for each of a thousand idle connections, were most of the
		// dashboard's heap.
		ReadBufferSize:  1024,
		WriteBufferSize: 512,
	}
	return &OperatorClient{timeout: timeout, http: &http.Client{Transport: tr}}
}

// Close drops idle connections.
func (c *OperatorClient) Close() { c.http.CloseIdleConnections() }

// Status asks the post-service at addr ("ip:port", as given to its
// --operator-address) for its state. Any body that arrives is parsed, and an
// unexpected one is returned as ServiceUnknown with the raw body; errors are
// one line naming the address and what to check.
func (c *OperatorClient) Status(ctx context.Context, addr string) (model.OperatorStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, statusURL(addr), nil)
	if err != nil {
		return model.OperatorStatus{}, fmt.Errorf("operator %s: not an address (%v) — use ip:port as given to --operator-address", addr, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return model.OperatorStatus{}, c.explain(ctx, addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatusBody))
	if err != nil {
		return model.OperatorStatus{}, c.explain(ctx, addr, err)
	}
	// Drain a little so the connection can be reused; a huge body is dropped
	// with its connection instead.
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	if resp.StatusCode != http.StatusOK {
		return model.OperatorStatus{}, fmt.Errorf("operator %s: HTTP %s from /status — is this a post-service operator address?", addr, resp.Status)
	}
	return model.ParseStatus(body), nil
}

func statusURL(addr string) string {
	if strings.Contains(addr, "://") {
		return strings.TrimSuffix(addr, "/") + "/status"
	}
	return "http://" + addr + "/status"
}

// explain names what went wrong in terms of what the operator should check.
func (c *OperatorClient) explain(ctx context.Context, addr string, err error) error {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("operator %s: connection refused — is post-service running with --operator-address %s?", addr, addr)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("operator %s: no answer within %s — is the post-service hung, or is something else on this port?", addr, c.timeout)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("operator %s: canceled", addr)
	}
	return fmt.Errorf("operator %s: %v", addr, unwrapURLError(err))
}

// unwrapURLError drops net/http's `Get "http://…/status":` prefix, which
// repeats the address.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
