// Package history is `postdeck history`: per identity and publish epoch,
// the ATX, its rewards and why one is missing, read from the epoch ledger.
package history

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/backend/ledger"
	"postdeck/backend/proc"
	"postdeck/cmd/common"
	"postdeck/model"
)

// defaultEpochs is how many complete publish epochs are shown by default.
const defaultEpochs = 8

// Run prints the ledger's last complete publish epochs for every identity
// (or the NAMEd ones), as a table or as JSON. Exit code: 0, or 1 on usage,
// config or ledger errors.
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	return run(g, args, stdout, stderr, proc.DefaultStateDir())
}

// run is Run on the state folder stateDir (tests give their own).
func run(g *common.Common, args []string, stdout, stderr io.Writer, stateDir string) int {
	fs := common.NewFlagSet("history", g, stderr)
	epochs := fs.Int("epochs", defaultEpochs, "how many of the last complete publish epochs to show")
	asJSON := fs.Bool("json", false, "print JSON, one record per identity and publish epoch, instead of a table")
	names, code, ok := common.ParseArgs(fs, g, args, true)
	if !ok {
		return code
	}
	if *epochs < 1 {
		return common.Fail(stderr, fmt.Errorf("--epochs %d: must be at least 1, like --epochs %d", *epochs, defaultEpochs))
	}
	cfg, err := common.LoadConfig(g, stderr)
	if err != nil {
		return common.Fail(stderr, err)
	}
	t := backend.TimingOf(&cfg.Timing)
	if t.Genesis.IsZero() || t.EpochDuration() <= 0 {
		return common.Fail(stderr, fmt.Errorf("the network's timing is not known: check [timing] in %s", cfg.Path))
	}
	l, err := openLedger(stateDir, t, g.Clock.Now)
	if err != nil {
		return common.Fail(stderr, err)
	}
	defer l.Close()
	ids, err := identities(cfg, g, l, stderr)
	if err == nil {
		ids, err = pick(ids, names)
	}
	if err != nil {
		return common.Fail(stderr, err)
	}
	from, to, ok := window(t, g.Clock.Now(), *epochs)
	var recs []model.EpochRecord
	if ok {
		if recs, err = l.Records(ledgerIDs(ids), from, to); err != nil {
			return common.Fail(stderr, err)
		}
	}
	if *asJSON {
		return writeJSON(stdout, stderr, recs)
	}
	printHistory(stdout, recs, from, to, ok)
	return 0
}

// openLedger opens the state folder's ledger read-only: a running
// dashboard keeps writing it, and a missing one is never created.
func openLedger(stateDir string, t model.Timing, now func() time.Time) (*ledger.Ledger, error) {
	path := ledger.PathIn(stateDir)
	l, err := ledger.OpenReadOnly(path, ledger.Options{Timing: t, Now: now})
	if errors.Is(err, ledger.ErrNoLedger) {
		return nil, fmt.Errorf("no ledger yet: run the dashboard or `postdeck serve` once (it keeps %s)", path)
	}
	return l, err
}

// window is the last n complete publish epochs at now: those that have
// ended (their rewards epoch may still run). ok is false before any has.
func window(t model.Timing, now time.Time, n int) (from, to uint32, ok bool) {
	cur := t.Epoch(now)
	if cur == 0 {
		return 0, 0, false
	}
	to = uint32(cur - 1)
	from = to - min(to, uint32(n-1))
	return from, to, true
}

// writeJSON prints the records as the `history --json` contract: always an
// array, empty when there is nothing.
func writeJSON(stdout, stderr io.Writer, recs []model.EpochRecord) int {
	out := make([]model.HistoryRecord, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.History())
	}
	if err := common.WriteJSON(stdout, out); err != nil {
		return common.Fail(stderr, err)
	}
	return 0
}

// pollTimeout bounds asking the node and the identities folder for names.
const pollTimeout = time.Minute

// identities is every identity the ledger or the node knows, named by its
// key file and service where the node, the identities folder or the config
// say. An unreachable node only costs the names it would have given.
func identities(cfg *config.Config, g *common.Common, l *ledger.Ledger, stderr io.Writer) ([]identity, error) {
	s, err := common.OpenSession(cfg, g.Clock)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), pollTimeout)
	defer cancel()
	snap := s.Poller.PollOnce(ctx)
	if !snap.Node.HasSmesherIDs {
		for _, e := range snap.Node.Errors {
			fmt.Fprintf(stderr, "postdeck: warning: names from the identities folder only: %s: %s\n", e.Source, e.Message)
		}
	}
	stored, err := l.Identities()
	if err != nil {
		return nil, err
	}
	return joinIdentities(snap.Rows, stored), nil
}

// identity is one identity to print, with what NAME may call it.
type identity struct {
	ledger.Identity
	service string
}

func ledgerIDs(ids []identity) []ledger.Identity {
	out := make([]ledger.Identity, len(ids))
	for i, id := range ids {
		out[i] = id.Identity
	}
	return out
}

// hexID is an identity's id in lower-case hex, as the JSON has it.
func (id identity) hexID() string { return hex.EncodeToString(id.ID) }
