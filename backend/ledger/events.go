package ledger

import (
	"database/sql"
	"encoding/hex"
	"time"

	"postdeck/model"
)

// An event's step is a column of its record, set the first time it is
// seen (a replay changes nothing).
var stepColumn = map[string]string{
	"registered_in_poet":                   "registered",
	"poet_wait_round":                      "registered", // deprecated 9: sent once registered
	"poet_wait_proof":                      "registered", // deprecated 10: waiting for the round it registered in
	"waiting_for_poet_round_end":           "registered",
	"waiting_for_poet_registration_window": "reg_wait",
	"best_proof_selected":                  "poet_proof",
}

// AddEvent records one event of the node's stream. Its publish epoch comes
// from the event and the timing: a registration belongs to the round it
// joins (its round_end, else the next round to end), a PoET proof or PoST
// proof to the round that last ended, an ATX to its target epoch − 1,
// eligibilities and proposals to the epoch before the one they are for.
// The same event replayed on a reconnect counts once: every write below
// leaves a record as it was when given an event it already holds (and a
// proposal is counted once per layer), so no table of events seen is kept.
func (l *Ledger) AddEvent(ev model.Event) {
	if l == nil || len(ev.Smesher) == 0 {
		return // node-wide events say nothing about one identity
	}
	o, ok := eventOp(ev, l.opts.Timing)
	if !ok {
		return
	}
	if u := o.upsert; u != nil && u.once {
		// A step already committed in this run is not written again: a
		// busy node repeats them (every proof cycle registers anew).
		k := onceKey{u.key, u.cols}
		l.mu.RLock()
		_, known := l.cache.once[k]
		l.mu.RUnlock()
		if known {
			return
		}
		o.committed = func(c *cache) { c.addOnce(k) }
	}
	if ev.Kind == "malfeasance" {
		o.committed = func(c *cache) { c.malicious[hex.EncodeToString(ev.Smesher)] = true }
	}
	l.enqueue(o)
}

// eventOp is the write an event makes, false for an event that makes none.
// Most are one upsert of one record, which a batch folds with others.
func eventOp(ev model.Event, t model.Timing) (op, bool) {
	at := ev.Time.UnixNano()
	one := func(epoch uint32, cols, set string, vals ...any) (op, bool) {
		return op{upsert: newUpsert(ev.Smesher, epoch, cols, set, vals...)}, true
	}
	first := func(epoch uint32, col string, val any) (op, bool) { // the first seen
		u := newUpsert(ev.Smesher, epoch, col, col+" = coalesce("+col+", excluded."+col+")", val)
		u.once = true
		return op{upsert: u}, true
	}
	if col, ok := stepColumn[ev.Kind]; ok {
		e := nextRound(t, ev.Time)
		if col == "registered" && !ev.RoundEnd.IsZero() {
			e = lastRound(t, ev.RoundEnd)
		}
		if col == "poet_proof" {
			e = lastRound(t, ev.Time)
		}
		return first(e, col, at)
	}
	switch ev.Kind {
	case "post_start":
		// A start after a completion is a retry: it clears the outcome. An
		// older start (a replay) changes nothing.
		return one(lastRound(t, ev.Time), "post_start", `post_start = max(coalesce(post_start, 0), excluded.post_start),
			post_failed = CASE WHEN post_done < excluded.post_start THEN 0 ELSE post_failed END,
			post_done = CASE WHEN post_done < excluded.post_start THEN NULL ELSE post_done END`, at)
	case "post_complete":
		// The latest completion is the outcome.
		return one(lastRound(t, ev.Time), "post_done, post_failed", `post_failed = CASE WHEN coalesce(post_done, 0) <= excluded.post_done THEN excluded.post_failed ELSE post_failed END,
			post_done = max(coalesce(post_done, 0), excluded.post_done)`, at, ev.Failure)
	case "atx_published":
		e := uint32(t.Epoch(ev.Time))
		if ev.Epoch > 0 {
			e = ev.Epoch - 1
		}
		return first(e, "atx_id", nonNil(ev.ATXID))
	case "eligibilities":
		if ev.Epoch == 0 {
			return op{}, false
		}
		layers := ev.EligibleLayers
		if layers == 0 {
			layers = ev.Eligibilities // a feed without layers: at most one a layer
		}
		return one(ev.Epoch-1, "eligibilities, eligible_layers",
			"eligibilities = excluded.eligibilities, eligible_layers = excluded.eligible_layers", ev.Eligibilities, layers)
	case "proposal":
		return op{apply: func(tx *sql.Tx) error { return addProposal(tx, ev.Smesher, ev.Layer, t.LayersPerEpoch) }}, true
	case "malfeasance":
		m := model.Malfeasance{SmesherID: ev.Smesher, Kind: "event", Layer: ev.Layer}
		return op{apply: func(tx *sql.Tx) error { return addMalicious(tx, m) }}, true
	}
	return op{}, false
}

// addProposal counts a proposal of layer once, for the ATX of the epoch
// before the layer's.
func addProposal(tx *sql.Tx, smesher []byte, layer, lpe uint32) error {
	if lpe == 0 || layer/lpe == 0 {
		return nil
	}
	res, err := tx.Exec("INSERT INTO proposal (smesher, layer) VALUES (?, ?) ON CONFLICT DO NOTHING", smesher, layer)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	return newUpsert(smesher, layer/lpe-1, "proposals", "proposals = proposals + 1", 1).exec(tx)
}

// lastRound is the epoch whose PoET round ended last at or before at (0
// before the first); nextRound the epoch whose round ends next after at.
func lastRound(t model.Timing, at time.Time) uint32 {
	ed := t.EpochDuration()
	x := at.Sub(t.Genesis) - t.PhaseShift
	if ed <= 0 || x < 0 {
		return 0
	}
	return uint32(x / ed)
}

func nextRound(t model.Timing, at time.Time) uint32 {
	if t.EpochDuration() <= 0 || at.Before(t.RoundEnd(0)) {
		return 0
	}
	return lastRound(t, at) + 1
}
