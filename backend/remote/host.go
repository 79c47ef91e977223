// Package remote is a central postdeck's side of other hosts' `postdeck
// serve`: one SSH connection per [[host]], a machine channel watching its
// snapshots (`status --json --watch`), and its start, stop, restart and
// logs as exec requests, each within what that host's keys allow. No new
// daemon, no new protocol to secure: the host's SSH server and its
// authorized keys decide.
package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"postdeck/backend/config"
	"postdeck/model"
)

// Reconnect backoff, and how long a watch may stay silent before the host
// counts as hung (its snapshots come every poll interval).
const (
	firstRetry  = time.Second
	maxRetry    = 30 * time.Second
	silentLimit = 30 * time.Second
	// maxLine bounds one snapshot line (1000 identities are about 1 MB).
	maxLine = 64 << 20
)

// Host is one [[host]]: its connection, the last snapshot it sent, and
// whether it answers now.
type Host struct {
	cfg  config.HostConfig
	opts Options

	mu        sync.Mutex
	client    *ssh.Client
	doc       *model.StatusDoc
	docAt     time.Time
	hello     model.MachineHello
	skew      time.Duration // the host's clock minus ours, at its hello
	up        bool
	downSince time.Time
	lastErr   string
	heard     chan struct{}
	heardOnce sync.Once
}

// Options tune a host's watch.
type Options struct {
	Version string           // this postdeck's, to compare with the host's
	Now     func() time.Time // the clock the host's times are shown against (default time.Now)
	// Silent is how long a watch may send nothing before the host counts
	// as hung (default silentLimit: its snapshots come every poll).
	Silent time.Duration
}

// New prepares the watch of h; Run connects.
func New(h config.HostConfig, o Options) *Host {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Silent <= 0 {
		o.Silent = silentLimit
	}
	return &Host{cfg: h, opts: o, downSince: o.Now(), heard: make(chan struct{})}
}

func (h *Host) now() time.Time { return h.opts.Now() }

// Name is the host's name in the config.
func (h *Host) Name() string { return h.cfg.Name }

// Run keeps a watch on the host until ctx ends, reconnecting with backoff
// after each failure.
func (h *Host) Run(ctx context.Context) {
	wait := firstRetry
	for ctx.Err() == nil {
		err := h.watch(ctx)
		if ctx.Err() != nil {
			break
		}
		if h.wasUp() {
			wait = firstRetry
		}
		h.setDown(err)
		h.markHeard()
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, maxRetry)
	}
	h.mu.Lock()
	if h.client != nil {
		h.client.Close()
		h.client = nil
	}
	h.mu.Unlock()
}

func (h *Host) wasUp() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.up
}

// setDown records a failure: since when the host is down, and why.
func (h *Host) setDown(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.up {
		h.downSince = h.now()
	}
	h.up = false
	if err != nil {
		h.lastErr = err.Error()
	}
	if h.client != nil {
		h.client.Close()
		h.client = nil
	}
}

// watch connects, opens `status --json --watch` and reads its lines until
// the stream ends, fails or stays silent too long.
func (h *Host) watch(ctx context.Context) error {
	client, err := dial(h.cfg)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.client = client
	h.mu.Unlock()
	sess, err := client.NewSession()
	if err != nil {
		return fmt.Errorf("host %s: %v", h.cfg.Name, err)
	}
	defer sess.Close()
	out, err := sess.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr lockedBuffer // ssh copies into it while the watch reads
	sess.Stderr = &stderr
	if err := sess.Start("status --json --watch"); err != nil {
		return fmt.Errorf("host %s: %v", h.cfg.Name, err)
	}
	// A host that hangs mid-stream sends nothing: the watchdog closes the
	// connection, which ends the read below.
	lines := make(chan struct{}, 1)
	stop := make(chan struct{})
	defer close(stop)
	var hung atomic.Bool
	go h.watchdog(client, lines, stop, &hung, ctx)

	br := bufio.NewReaderSize(out, 64<<10)
	first := true
	for {
		line, err := readLine(br)
		if err != nil {
			msg := stderr.text()
			switch {
			case ctx.Err() != nil:
				return nil
			case hung.Load():
				return fmt.Errorf("host %s sent nothing for %s: it hangs", h.cfg.Name, h.opts.Silent)
			case msg != "":
				return fmt.Errorf("host %s: %s", h.cfg.Name, msg)
			case errors.Is(err, io.EOF):
				return fmt.Errorf("host %s: its postdeck serve ended the watch", h.cfg.Name)
			}
			return fmt.Errorf("host %s: %v", h.cfg.Name, err)
		}
		select {
		case lines <- struct{}{}:
		default:
		}
		if first {
			first = false
			if err := h.takeHello(line); err != nil {
				return err
			}
			continue
		}
		var doc model.StatusDoc
		if err := json.Unmarshal(line, &doc); err != nil {
			return fmt.Errorf("host %s sent a snapshot that is not JSON (%v): is it a postdeck serve?", h.cfg.Name, err)
		}
		h.mu.Lock()
		h.doc, h.docAt, h.up, h.lastErr = &doc, h.now(), true, ""
		h.mu.Unlock()
		h.markHeard()
	}
}

// readLine reads one line, refusing one longer than maxLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if err == nil {
			return line, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		if len(line) > maxLine {
			return nil, fmt.Errorf("a line of more than %d MiB", maxLine>>20)
		}
	}
}

// lockedBuffer is a buffer one goroutine writes while another reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return stderrText(&l.b)
}

func stderrText(b *bytes.Buffer) string {
	return string(bytes.TrimSpace(b.Bytes()))
}

// watchdog closes the connection when no line came for Options.Silent,
// and says so in hung.
func (h *Host) watchdog(client *ssh.Client, lines <-chan struct{}, stop <-chan struct{}, hung *atomic.Bool, ctx context.Context) {
	t := time.NewTimer(h.opts.Silent)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			client.Close()
			return
		case <-lines:
			if !t.Stop() {
				<-t.C
			}
			t.Reset(h.opts.Silent)
		case <-t.C:
			hung.Store(true)
			client.Close()
			return
		}
	}
}

// takeHello reads the watch's first line: the host's postdeck and
// protocol. Another protocol is shown as a problem; the snapshots are
// still read, as far as this postdeck understands them.
func (h *Host) takeHello(line []byte) error {
	var hello model.MachineHello
	if err := json.Unmarshal(line, &hello); err != nil || hello.Postdeck == "" {
		return fmt.Errorf("host %s did not answer as a postdeck serve (%q): check its address", h.cfg.Name, bytes.TrimSpace(line[:min(len(line), 80)]))
	}
	h.mu.Lock()
	h.hello = hello
	if !hello.Now.IsZero() {
		h.skew = hello.Now.Sub(h.now())
	}
	h.mu.Unlock()
	return nil
}

// Parts is what the host last said, as snapshot parts for the fleet's
// table: each of its nodes, its rows under host:service. A host down
// keeps its last rows, each saying since when it has not answered; a
// host never reached is one node line saying why.
func (h *Host) Parts() []model.Part {
	h.mu.Lock()
	defer h.mu.Unlock()
	var parts []model.Part
	if h.doc != nil {
		parts = h.doc.Parts(h.cfg.Name, h.docAt)
		for i := range parts {
			shiftClock(&parts[i].Snap, h.skew)
		}
	} else {
		parts = []model.Part{{Host: h.cfg.Name, Snap: model.Snapshot{}}}
	}
	var notes []model.SourceError
	if !h.up {
		msg := "unreachable since " + h.downSince.Format("2006-01-02 15:04:05")
		if h.lastErr != "" {
			msg += ": " + h.lastErr
		}
		notes = append(notes, model.SourceError{Source: "host", Message: msg})
	}
	if p := h.protocolProblem(); p != "" {
		notes = append(notes, model.SourceError{Source: "host", Message: p})
	}
	if s := h.skew.Abs(); s > 30*time.Second {
		notes = append(notes, model.SourceError{Source: "host", Message: fmt.Sprintf("its clock is %s off this machine's: the times it shows are moved by that much", s.Round(time.Second))})
	}
	for i := range parts {
		v := &parts[i].Snap.Node
		if !h.up {
			v.HasStatus, v.HasPostStates, v.HasSmesherIDs = false, false, false
		}
		v.Errors = append(slices.Clone(notes), v.Errors...)
		if !h.up {
			for j := range parts[i].Snap.Rows {
				r := &parts[i].Snap.Rows[j]
				r.Errors = append(r.Errors, model.SourceError{Source: "host", Message: "host " + h.cfg.Name + " " + notes[0].Message + "; this is what it said then"})
				if !r.Has(model.HealthHostDown) {
					r.Health = append(r.Health, model.HealthHostDown)
				}
			}
		}
	}
	return parts
}

// protocolProblem says when the host speaks another machine protocol.
func (h *Host) protocolProblem() string {
	if h.hello.Postdeck == "" || h.hello.Protocol == model.MachineProtocol {
		return ""
	}
	return fmt.Sprintf("it runs postdeck %s (machine protocol %d), this is postdeck %s (protocol %d): what it sends may be read in part; run one version on both",
		h.hello.Postdeck, h.hello.Protocol, h.opts.Version, model.MachineProtocol)
}

// shiftClock moves the host's process start times onto this machine's
// clock, so the UP column counts right whatever the skew.
func shiftClock(s *model.Snapshot, skew time.Duration) {
	if skew == 0 {
		return
	}
	for i := range s.Rows {
		if p := &s.Rows[i].Proc; !p.Started.IsZero() {
			p.Started = p.Started.Add(-skew)
		}
	}
}

// Heard is closed once the host has been heard from, or tried and
// failed: a one-shot command waits for it before it polls.
func (h *Host) Heard() <-chan struct{} { return h.heard }

func (h *Host) markHeard() { h.heardOnce.Do(func() { close(h.heard) }) }
