package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"postdeck/backend/config"
	"postdeck/backend/proc"
	"postdeck/model"
)

// RefusedError is an action the host refused: its safe-stop rule (Unsafe),
// or a key it holds read-only (ReadOnly), or any other failure there.
type RefusedError struct {
	Host, Service    string
	Message          string
	Unsafe, ReadOnly bool
	// Reason is an unsafe stop's verdict, as the host's reply carries it
	// ("" from a host too old to send it).
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s on %s: %s", e.Service, e.Host, e.Message)
}

// UnsafeStop marks a stop the host's safe-stop rule refused.
func (e *RefusedError) UnsafeStop() {}

// StopReason is the verdict the host refused the stop on ("" when not
// unsafe, or not told).
func (e *RefusedError) StopReason() string {
	if !e.Unsafe {
		return ""
	}
	return e.Reason
}

// exec runs one command on the host in a session of its own, on the
// watch's connection, and returns what it wrote. ctx bounds it: the
// session is closed when ctx ends, whatever the host does.
func (h *Host) exec(ctx context.Context, cmd string) ([]byte, error) {
	h.mu.Lock()
	client, up := h.client, h.up
	h.mu.Unlock()
	if client == nil || !up {
		return nil, &RefusedError{Host: h.cfg.Name, Message: "the host does not answer now (see its rows); try again once it does"}
	}
	sess, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("host %s: %v", h.cfg.Name, err)
	}
	defer sess.Close()
	var out, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &stderr
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Close()
		return nil, fmt.Errorf("host %s did not answer %q in time: %v", h.cfg.Name, cmd, ctx.Err())
	}
	if out.Len() == 0 && err != nil {
		if msg := stderrText(&stderr); msg != "" {
			return nil, fmt.Errorf("host %s: %s", h.cfg.Name, msg)
		}
		return nil, fmt.Errorf("host %s: %v", h.cfg.Name, err)
	}
	return out.Bytes(), nil
}

// act runs start, stop or restart of service there and reads its reply.
func (h *Host) act(ctx context.Context, cmd, service string) (model.MachineReply, error) {
	out, err := h.exec(ctx, cmd+" "+shellQuote(service))
	if re := (*RefusedError)(nil); errors.As(err, &re) && re.Service == "" {
		re.Service = service // exec names the host alone: "data05 on rig2: the host does not answer"
	}
	if err != nil {
		return model.MachineReply{}, err
	}
	var r model.MachineReply
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		return r, fmt.Errorf("host %s answered %s with something that is not a postdeck reply: %q", h.cfg.Name, cmd, bytes.TrimSpace(out))
	}
	if !r.OK {
		return r, &RefusedError{Host: h.cfg.Name, Service: service, Message: r.Error, Unsafe: r.Unsafe, ReadOnly: r.ReadOnly, Reason: r.Reason}
	}
	return r, nil
}

// Start starts service on the host.
func (h *Host) Start(ctx context.Context, service string) (model.StartOutcome, error) {
	r, err := h.act(ctx, "start", service)
	return startOutcome(r), err
}

// Restart restarts service on the host (only if its rule says safe).
func (h *Host) Restart(ctx context.Context, service string) (model.StartOutcome, error) {
	r, err := h.act(ctx, "restart", service)
	return startOutcome(r), err
}

// startOutcome is the host's start outcome, from the reply's values.
func startOutcome(r model.MachineReply) model.StartOutcome {
	return model.StartOutcome{Warnings: r.Warnings, AlreadyRunning: r.AlreadyRunning}
}

// Stop stops service on the host in mode; the host's safe-stop rule
// decides, never this machine's.
func (h *Host) Stop(ctx context.Context, service string, mode model.StopMode) (model.StopOutcome, error) {
	cmd := "stop"
	switch mode {
	case model.StopWhenSafe:
		cmd += " --when-safe"
	case model.StopForce:
		cmd += " --force"
	}
	r, err := h.act(ctx, cmd, service)
	if err != nil {
		return model.StopOutcome{}, err
	}
	o := model.StopOutcome{Result: model.StopDone, Reason: r.Reason, Forced: mode == model.StopForce}
	switch {
	case r.Queued:
		o.Result = model.StopQueued
	case r.NotRunning:
		o.Result = model.StopNotRunning
	}
	return o, nil
}

// LogSource reads service's log on the host, one exec a read.
func (h *Host) LogSource(service string) proc.LogSource {
	return proc.LogSource{Read: func(ctx context.Context, cur proc.LogCursor) (proc.LogChunk, error) {
		cmd := "logs " + shellQuote(service)
		if t := cur.Token(); t != "" {
			cmd += " --from " + shellQuote(t)
		}
		out, err := h.exec(ctx, cmd)
		if err != nil {
			return proc.LogChunk{Next: cur}, err
		}
		return parseLogReply(h.cfg.Name, out, cur)
	}}
}

// parseLogReply reads a MachineLogHead line and the bytes after it.
func parseLogReply(host string, out []byte, cur proc.LogCursor) (proc.LogChunk, error) {
	br := bufio.NewReader(bytes.NewReader(out))
	line, err := br.ReadBytes('\n')
	var head model.MachineLogHead
	if err != nil || json.Unmarshal(line, &head) != nil {
		return proc.LogChunk{Next: cur}, fmt.Errorf("host %s answered logs with something that is not a postdeck reply", host)
	}
	if head.Error != "" {
		return proc.LogChunk{Next: cur}, fmt.Errorf("host %s: %s", host, head.Error)
	}
	data, _ := io.ReadAll(io.LimitReader(br, int64(head.Bytes)))
	return proc.LogChunk{Data: data, Skipped: head.Skipped, Reset: head.Reset, Missing: head.Missing, Next: proc.CursorFromToken(head.Next)}, nil
}

// shellQuote quotes s for the host's command line (the machine channel
// splits it as a shell would).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// logFollowEvery is how often a followed remote log is read again.
const logFollowEvery = time.Second

// PrintLog prints the last n lines of service's log on the host and, with
// follow, what it adds, until ctx ends.
func (h *Host) PrintLog(ctx context.Context, w io.Writer, service string, n int, follow bool) error {
	src := h.LogSource(service)
	c, err := proc.ReadLog(ctx, src, proc.LogCursor{})
	if err != nil {
		return err
	}
	if c.Missing {
		return fmt.Errorf("%s on %s has no log: its postdeck keeps logs only for services it started", service, h.cfg.Name)
	}
	lines := strings.Split(strings.TrimSuffix(string(c.Data), "\n"), "\n")
	for _, l := range lines[max(0, len(lines)-n):] {
		fmt.Fprintln(w, l)
	}
	for cur := c.Next; follow; {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(logFollowEvery):
		}
		c, err := proc.ReadLog(ctx, src, cur)
		if err != nil {
			return err
		}
		w.Write(c.Data)
		cur = c.Next
	}
	return nil
}

// AskStatus logs in to the host once and reads its `status --json` (the
// exit code, 2 when a row is critical there, is not a failure): what a
// one-shot command such as the equivocation guard needs, without a watch.
func AskStatus(ctx context.Context, hc config.HostConfig) (*model.StatusDoc, error) {
	type result struct {
		doc *model.StatusDoc
		err error
	}
	done := make(chan result, 1)
	var client *ssh.Client
	var mu sync.Mutex
	go func() {
		c, err := dial(hc)
		if err != nil {
			done <- result{err: err}
			return
		}
		mu.Lock()
		client = c
		mu.Unlock()
		defer c.Close()
		sess, err := c.NewSession()
		if err != nil {
			done <- result{err: fmt.Errorf("host %s: %v", hc.Name, err)}
			return
		}
		defer sess.Close()
		out, _ := sess.Output("status --json")
		var doc model.StatusDoc
		if err := json.Unmarshal(out, &doc); err != nil {
			done <- result{err: fmt.Errorf("host %s answered status with something that is not its JSON: %q", hc.Name, bytes.TrimSpace(out[:min(len(out), 80)]))}
			return
		}
		done <- result{doc: &doc}
	}()
	select {
	case r := <-done:
		return r.doc, r.err
	case <-ctx.Done():
		mu.Lock()
		if client != nil {
			client.Close()
		}
		mu.Unlock()
		return nil, fmt.Errorf("host %s did not answer in time: %v", hc.Name, ctx.Err())
	}
}
