package common

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/proc"
	"postdeck/model"
)

// Once is what a one-shot command (status, plan) prints from: its config,
// its session (Close it) and one snapshot.
type Once struct {
	Config  *config.Config
	Session *Session
	Snap    model.Snapshot
}

// PollOnce parses a one-shot command's flags (fs, no names), loads the
// config, opens a session and polls once. The controller only adds process
// facts and disks: the scheduler and queued stops never run here. When ok
// is false, return code.
func PollOnce(g *Common, fs *flag.FlagSet, args []string, stderr io.Writer) (o *Once, code int, ok bool) {
	if _, code, ok := ParseArgs(fs, g, args, false); !ok {
		return nil, code, false
	}
	cfg, err := LoadConfig(g, stderr)
	if err != nil {
		return nil, Fail(stderr, err), false
	}
	s, err := OpenSession(cfg, g.Clock)
	if err != nil {
		return nil, Fail(stderr, err), false
	}
	if _, err := s.Control(proc.DefaultStateDir()); err != nil {
		fmt.Fprintln(stderr, "postdeck: warning: process state and disks unavailable:", err)
	}
	s.WaitHosts(HostWait)
	// The poller bounds every call; this only guards against a bug there.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return &Once{Config: cfg, Session: s, Snap: s.Poller.PollOnce(ctx)}, 0, true
}

// HostWait is how long a one-shot command waits for the [[host]]s to
// answer: a dial and an SSH handshake, bounded themselves.
const HostWait = 12 * time.Second

// WriteJSON writes v as indented JSON, the documents of `status --json` and
// `plan --json`.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
