package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"postdeck/backend/config"
	"postdeck/model"
)

// Alert delivery limits.
const (
	// AlertQueueSize bounds alerts waiting to be sent; when full the oldest
	// is dropped (and counted).
	AlertQueueSize = 64
	// alertWorkers bounds deliveries in flight (each with its retries).
	alertWorkers = 4
	// alertLogMax caps alerts.log; past it the file is started afresh.
	alertLogMax = 1 << 20
)

// DefaultAlertRetries are the waits before the second, third and fourth
// tries of a failed delivery.
var DefaultAlertRetries = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute}

// Stats count what the alerter did, for tests and metrics.
type Stats struct {
	Raised  int64 // alerts that passed the debounce
	Sent    int64 // deliveries that succeeded (command and webhook count apart)
	Failed  int64 // deliveries that failed for good, after every retry
	Retried int64 // failed tries followed by another
	Dropped int64 // alerts dropped because the queue was full
}

// Alerter turns snapshots into alerts (model.Transitions), debounces them per
// kind and identity, and delivers them in the background to the configured
// command and webhook, retrying with backoff. Its Hook never blocks the
// poller: the queue is bounded and drops its oldest alert when full.
// Failures are written to alerts.log in the state folder, never fatal.
type Alerter struct {
	cfg     config.AlertsConfig
	logPath string
	retries []time.Duration
	client  *http.Client
	now     func() time.Time

	queue chan model.Alert

	mu       sync.Mutex
	prev     *model.Snapshot
	epochs   model.EpochWatch     // the ledger's and the plan's alerts
	last     map[string]time.Time // debounce key → when last raised
	logMu    sync.Mutex
	raised   atomic.Int64
	sent     atomic.Int64
	failed   atomic.Int64
	retried  atomic.Int64
	dropped  atomic.Int64
	inflight sync.WaitGroup
}

// New builds an alerter for cfg (defaults filled), logging to
// stateDir/alerts.log ("" = no log file). Start it with Run.
func New(cfg config.AlertsConfig, stateDir string) *Alerter {
	if cfg.Timeout.Duration <= 0 {
		cfg.Timeout.Duration = config.DefaultAlertTimeout
	}
	a := &Alerter{
		cfg:     cfg,
		retries: DefaultAlertRetries,
		client:  &http.Client{Timeout: cfg.Timeout.Duration},
		now:     time.Now,
		queue:   make(chan model.Alert, AlertQueueSize),
		last:    map[string]time.Time{},
		epochs:  model.EpochWatch{RewardsStopped: cfg.RewardsStopped.Duration},
	}
	if stateDir != "" {
		a.logPath = filepath.Join(stateDir, "alerts.log")
	}
	return a
}

// Enabled reports whether there is anywhere to send alerts.
func (a *Alerter) Enabled() bool { return a.cfg.Command != "" || a.cfg.Webhook != "" }

// Stats returns the counters so far.
func (a *Alerter) Stats() Stats {
	return Stats{Raised: a.raised.Load(), Sent: a.sent.Load(), Failed: a.failed.Load(),
		Retried: a.retried.Load(), Dropped: a.dropped.Load()}
}

// Hook compares s with the previous snapshot and queues the alerts raised;
// a poller hook. It keeps its own copy of what it needs from s.
func (a *Alerter) Hook(s *model.Snapshot) {
	cur := *s
	a.mu.Lock()
	alerts := model.Transitions(a.prev, &cur)
	alerts = append(alerts, a.epochs.Check(&cur)...)
	a.prev = &cur
	a.mu.Unlock()
	for _, al := range alerts {
		a.Raise(al)
	}
}

// Raise queues al unless the same kind for the same identity was raised
// within the debounce.
func (a *Alerter) Raise(al model.Alert) {
	now := a.now()
	key := al.DebounceKey()
	a.mu.Lock()
	if t, ok := a.last[key]; ok && now.Sub(t) < a.cfg.Debounce.Duration {
		a.mu.Unlock()
		return
	}
	a.last[key] = now
	a.mu.Unlock()
	a.raised.Add(1)
	for {
		select {
		case a.queue <- al:
			return
		default:
		}
		select {
		case old := <-a.queue:
			a.dropped.Add(1)
			a.logf("dropped %s for %q: the queue of %d alerts is full", old.Kind, old.Name, AlertQueueSize)
		default:
		}
	}
}

// Run delivers queued alerts until ctx ends, at most alertWorkers at a time,
// then waits for deliveries under way (their retries give up with ctx).
func (a *Alerter) Run(ctx context.Context) {
	slots := make(chan struct{}, alertWorkers)
	defer a.inflight.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case al := <-a.queue:
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			a.inflight.Go(func() {
				defer func() { <-slots }()
				a.deliver(ctx, al)
			})
		}
	}
}

// deliver sends al to the command and the webhook, each retried on its own.
func (a *Alerter) deliver(ctx context.Context, al model.Alert) {
	body, err := json.Marshal(al)
	if err != nil {
		a.logf("cannot encode %s: %v", al.Kind, err)
		return
	}
	var wg sync.WaitGroup
	if a.cfg.Command != "" {
		wg.Go(func() {
			a.withRetries(ctx, al, "command", func(ctx context.Context) error { return a.runCommand(ctx, al, body) })
		})
	}
	if a.cfg.Webhook != "" {
		wg.Go(func() {
			a.withRetries(ctx, al, "webhook", func(ctx context.Context) error { return a.post(ctx, body) })
		})
	}
	wg.Wait()
}

func (a *Alerter) withRetries(ctx context.Context, al model.Alert, via string, try func(context.Context) error) {
	tries := len(a.retries) + 1
	for i := 0; ; i++ {
		err := try(ctx)
		if err == nil {
			a.sent.Add(1)
			a.logf("sent %s for %q via %s", al.Kind, al.Name, via)
			return
		}
		if i == tries-1 || ctx.Err() != nil {
			a.failed.Add(1)
			a.logf("FAILED %s for %q via %s after %d tr%s: %v", al.Kind, al.Name, via, i+1, map[bool]string{true: "y", false: "ies"}[i == 0], err)
			return
		}
		a.retried.Add(1)
		a.logf("%s for %q via %s failed (try %d of %d, next in %s): %v", al.Kind, al.Name, via, i+1, tries, a.retries[i], err)
		select {
		case <-ctx.Done():
		case <-time.After(a.retries[i]):
		}
	}
}

// runCommand runs the command with sh -c, the alert's JSON on its stdin and
// POSTDECK_ALERT_* in its environment. At the timeout the whole process
// group is killed, so a command that started children does not linger.
func (a *Alerter) runCommand(ctx context.Context, al model.Alert, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout.Duration)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", a.cfg.Command)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = append(os.Environ(), "POSTDECK_ALERT_KIND="+al.Kind, "POSTDECK_ALERT_IDENTITY="+al.Identity,
		"POSTDECK_ALERT_NAME="+al.Name, "POSTDECK_ALERT_SERVICE="+al.Service, "POSTDECK_ALERT_MESSAGE="+al.Message)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("command did not finish within %s: killed", a.cfg.Timeout.Duration)
	}
	if err != nil {
		msg := bytes.TrimSpace(out.Bytes())
		if len(msg) > 300 {
			msg = msg[len(msg)-300:]
		}
		if len(msg) > 0 {
			return fmt.Errorf("command: %v: %s", err, msg)
		}
		return fmt.Errorf("command: %v", err)
	}
	return nil
}

// post POSTs the alert to the webhook; any 2xx is success.
func (a *Alerter) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout.Duration)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.Webhook, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "postdeck")
	resp, err := a.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("webhook did not answer within %s", a.cfg.Timeout.Duration)
		}
		return fmt.Errorf("webhook: %v", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s: %s", resp.Status, bytes.TrimSpace(snippet))
	}
	return nil
}

// logf appends one line to alerts.log; a log that cannot be written is
// given up on silently (alerts are never fatal).
func (a *Alerter) logf(format string, args ...any) {
	if a.logPath == "" {
		return
	}
	a.logMu.Lock()
	defer a.logMu.Unlock()
	if st, err := os.Stat(a.logPath); err == nil && st.Size() > alertLogMax {
		_ = os.Rename(a.logPath, a.logPath+".1")
	}
	_ = os.MkdirAll(filepath.Dir(a.logPath), 0o700)
	f, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s\n", a.now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}
