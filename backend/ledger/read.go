package ledger

import (
	"context"
	"database/sql"
	"encoding/hex"
	"time"

	"postdeck/model"
)

// readTimeout bounds one read, so a table waiting on it never hangs.
const readTimeout = 5 * time.Second

// row is one record row as stored; NULL columns are not-observed steps.
type row struct {
	atxID                              []byte
	weight, units, eligibilities       sql.NullInt64
	layers                             int64
	count, sum, proposals              int64
	registered, poetProof, start, done sql.NullInt64
	failed                             bool
	k2pow, disk                        sql.NullInt64
}

const rowColumns = `smesher, epoch, atx_id, atx_weight, atx_units, rewards_count, rewards_sum, eligibilities, coalesce(eligible_layers, 0), proposals,
	registered, poet_proof, post_start, post_done, post_failed, k2pow_ns, disk_ns`

// Records is one record per identity and publish epoch from..to (inclusive),
// in that order (ids are distinct), with what is committed: one query over
// a range of the table (it is keyed epoch first), its rows written straight
// into their places (a fleet's records are megabytes: no second copy of
// them is built on the way).
func (l *Ledger) Records(ids []Identity, from, to uint32) ([]model.EpochRecord, error) {
	if l == nil || to < from {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	per := int(to - from + 1)
	at := make(map[string]int, len(ids)) // id → its first record's index
	for i, id := range ids {
		at[string(id.ID)] = i * per
	}
	out := make([]model.EpochRecord, len(ids)*per)
	filled := make([]bool, len(out))
	l.mu.RLock() // the cache's maps are read while the records are built
	defer l.mu.RUnlock()
	v := l.view()
	err := each(ctx, l, "SELECT "+rowColumns+" FROM record WHERE epoch BETWEEN ? AND ?", func(sc scanner) error {
		var id []byte
		var epoch uint32
		var r row
		if err := sc.Scan(&id, &epoch, &r.atxID, &r.weight, &r.units, &r.count, &r.sum, &r.eligibilities, &r.layers, &r.proposals,
			&r.registered, &r.poetProof, &r.start, &r.done, &r.failed, &r.k2pow, &r.disk); err != nil {
			return err
		}
		if i, ok := at[string(id)]; ok {
			i += int(epoch - from)
			out[i], filled[i] = v.record(ids[i/per], epoch, r), true
		}
		return nil
	}, from, to)
	if err != nil {
		return nil, explain(l.path, err)
	}
	for i := range out {
		if !filled[i] {
			out[i] = v.record(ids[i/per], from+uint32(i%per), row{})
		}
	}
	return out, nil
}

// view is what a read needs besides the rows; the caller holds l.mu.
type view struct {
	t                 model.Timing
	now               int64
	watched, unsynced spans
	listed            listedSpans
	malicious         map[string]bool
	slab              []model.ATX // where record puts its ATXs, a few hundred an allocation
}

// atx places a in the slab: a fleet's thousands of ATXs are a few objects
// for the GC, not one each.
func (v *view) atx(a model.ATX) *model.ATX {
	if len(v.slab) == cap(v.slab) {
		v.slab = make([]model.ATX, 0, 256)
	}
	v.slab = append(v.slab, a)
	return &v.slab[len(v.slab)-1]
}

func (l *Ledger) view() view {
	return view{
		t:   l.opts.Timing,
		now: l.now().UnixNano(),
		// A restart shorter than the grace is bridged: the node replays its
		// last events when postdeck subscribes again.
		watched:   intervals(l.cache.watched, l.opts.Grace),
		unsynced:  intervals(l.cache.unsynced, 0),
		listed:    l.cache.listed,
		malicious: l.cache.malicious,
	}
}

// epochEnd is when epoch e ends, in Unix ns.
func (v view) epochEnd(e uint32) int64 {
	return v.t.Genesis.Add(time.Duration(e+1) * v.t.EpochDuration()).UnixNano()
}

func (v view) roundEnd(e uint32) int64 { return v.t.RoundEnd(uint64(e)).UnixNano() }

func (v view) listedAt(kind string, id []byte, e uint32) bool {
	return v.listed.of(kind, id).covers(int64(e), int64(e))
}

// record turns a row into a model.EpochRecord, with the windows each step
// falls in: registration in the previous cycle gap, the PoET and PoST proofs
// from this epoch's round end to the epoch's end.
func (v *view) record(id Identity, e uint32, r row) model.EpochRecord {
	rec := model.EpochRecord{
		Name: id.Name, ID: id.ID, Epoch: e,
		ATXListed:        v.listedAt("atx", id.ID, e),
		Rewards:          model.EpochRewards{Epoch: e + 1, Count: int(r.count), Sum: uint64(r.sum), Listed: v.listedAt("reward", id.ID, e+1)},
		Eligibilities:    model.Eligibilities{N: int(r.eligibilities.Int64), Layers: int(r.layers), Known: r.eligibilities.Valid},
		Malicious:        v.malicious[hex.EncodeToString(id.ID)],
		Open:             v.now < v.epochEnd(e),
		RewardsOpen:      v.now < v.epochEnd(e+1),
		EpochOutOfSync:   v.unsynced.overlaps(v.roundEnd(e), v.epochEnd(e)),
		RewardsOutOfSync: v.unsynced.overlaps(v.epochEnd(e), v.epochEnd(e+1)),
	}
	if r.atxID != nil {
		rec.ATX = v.atx(model.ATX{ID: r.atxID, SmesherID: id.ID, PublishEpoch: e, Weight: uint64(r.weight.Int64), NumUnits: uint32(r.units.Int64)})
	}
	// Proposals are only counted from events: known when postdeck watched
	// all of epoch e+1.
	rewardsWatched := v.watched.covers(v.epochEnd(e), v.epochEnd(e+1))
	rec.Proposals = model.Count{N: int(r.proposals), Known: rewardsWatched}
	proofWatched := v.watched.covers(v.roundEnd(e), v.epochEnd(e))
	regWatched := e > 0 && v.watched.covers(v.roundEnd(e-1), v.roundEnd(e-1)+int64(v.t.CycleGap))
	rec.Registration = step(r.registered, regWatched)
	rec.PoetProof = step(r.poetProof, proofWatched)
	if r.start.Valid || r.done.Valid {
		rec.PoetProof.Done = true // a PoST proof starts from a PoET proof
	}
	rec.Proof = model.ProofStep{
		Started: at(r.start), Completed: at(r.done), Failed: r.failed,
		Late:  r.done.Valid && r.done.Int64 >= v.epochEnd(e),
		K2Pow: time.Duration(r.k2pow.Int64), Disk: time.Duration(r.disk.Int64), Watched: proofWatched,
	}
	return rec
}

func step(t sql.NullInt64, watched bool) model.Step {
	return model.Step{Done: t.Valid, At: at(t), Watched: watched}
}

func at(t sql.NullInt64) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return time.Unix(0, t.Int64).UTC()
}

// Measured is each identity's last successful measured proof (hex id →
// measure), for the planner; identities never measured are absent.
func (l *Ledger) Measured() map[string]Measured {
	if l == nil {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make(map[string]Measured, len(l.cache.measured))
	for k, m := range l.cache.measured {
		out[k] = m
	}
	return out
}
