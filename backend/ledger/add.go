package ledger

import (
	"database/sql"
	"encoding/hex"
	"time"

	"postdeck/model"
)

// AddATXs records what a List of the node's ATXs returned for q. The same
// ATX added twice is stored once. Like every Add, it keeps the slices it is
// given until written: do not change them afterwards.
func (l *Ledger) AddATXs(q HistoryQuery, atxs []model.ATX) {
	l.enqueue(op{
		apply: func(tx *sql.Tx) error {
			rows := make([][]any, 0, len(atxs))
			for _, a := range atxs {
				if len(a.SmesherID) > 0 { // one without an identity would fail the whole write
					rows = append(rows, []any{a.SmesherID, a.PublishEpoch, nonNil(a.ID), a.Weight, a.NumUnits})
				}
			}
			err := execRows(tx, "INSERT INTO record (smesher, epoch, atx_id, atx_weight, atx_units)",
				`ON CONFLICT DO UPDATE SET atx_id = excluded.atx_id, atx_weight = excluded.atx_weight, atx_units = excluded.atx_units`, rows, nil)
			if err != nil {
				return err
			}
			return addListed(tx, "atx", q)
		},
		committed: func(c *cache) { c.addListed("atx", q) },
	})
}

// AddRewards records what a List of the node's rewards returned for q,
// whose epochs are the reward epochs (the layers listed, divided by the
// layers per epoch). A reward counts for the ATX of the epoch before; the
// same layer's reward added twice counts once.
func (l *Ledger) AddRewards(q HistoryQuery, rewards []model.Reward) {
	if l == nil {
		return
	}
	lpe := l.opts.Timing.LayersPerEpoch
	l.enqueue(op{
		apply: func(tx *sql.Tx) error {
			sums, err := insertRewards(tx, rewards, lpe)
			if err != nil {
				return err
			}
			rows := make([][]any, 0, len(sums))
			for k, s := range sums {
				rows = append(rows, []any{[]byte(k.smesher), k.epoch, s.count, int64(s.sum)})
			}
			err = execRows(tx, "INSERT INTO record (smesher, epoch, rewards_count, rewards_sum)",
				`ON CONFLICT DO UPDATE SET rewards_count = rewards_count + excluded.rewards_count, rewards_sum = rewards_sum + excluded.rewards_sum`, rows, nil)
			if err != nil {
				return err
			}
			return addListed(tx, "reward", q)
		},
		committed: func(c *cache) { c.addListed("reward", q) },
	})
}

// recordKey names one record: an identity's publish epoch.
type recordKey struct {
	smesher string
	epoch   uint32
}

type rewardSum struct {
	count int
	sum   uint64
}

// insertRewards stores the rewards not yet stored and sums the new ones
// per identity and publish epoch. Rewards of epoch 0 have no ATX before
// them and are skipped.
func insertRewards(tx *sql.Tx, rewards []model.Reward, lpe uint32) (map[recordKey]rewardSum, error) {
	rows := make([][]any, 0, len(rewards))
	for _, r := range rewards {
		if r.Epoch(lpe) > 0 && len(r.Smesher) > 0 {
			rows = append(rows, []any{r.Smesher, r.Layer, int64(r.Total)})
		}
	}
	sums := map[recordKey]rewardSum{}
	// RETURNING lists only the rows inserted: a reward stored before is
	// not counted again.
	err := execRows(tx, "INSERT INTO reward (smesher, layer, total)", "ON CONFLICT DO NOTHING RETURNING smesher, layer, total", rows,
		func(sc scanner) error {
			var id []byte
			var layer uint32
			var total int64
			if err := sc.Scan(&id, &layer, &total); err != nil {
				return err
			}
			k := recordKey{string(id), layer/lpe - 1}
			s := sums[k]
			sums[k] = rewardSum{s.count + 1, s.sum + uint64(total)}
			return nil
		})
	return sums, err
}

// addListed stores that q's identities and epochs were listed.
func addListed(tx *sql.Tx, kind string, q HistoryQuery) error {
	rows := make([][]any, len(q.IDs))
	for i, id := range q.IDs {
		rows[i] = []any{kind, id, q.FromEpoch, q.ToEpoch}
	}
	return execRows(tx, "INSERT INTO listed (kind, smesher, from_epoch, to_epoch)",
		"ON CONFLICT DO UPDATE SET to_epoch = max(to_epoch, excluded.to_epoch)", rows, nil)
}

func (c *cache) addListed(kind string, q HistoryQuery) {
	for _, id := range q.IDs {
		c.listed.add(kind, id, span{int64(q.FromEpoch), int64(q.ToEpoch)})
	}
}

// AddMalfeasance records the node's malfeasance proofs: each marks every
// record of its identity malicious.
func (l *Ledger) AddMalfeasance(ms []model.Malfeasance) {
	l.enqueue(op{
		apply: func(tx *sql.Tx) error {
			for _, m := range ms {
				if err := addMalicious(tx, m); err != nil {
					return err
				}
			}
			return nil
		},
		committed: func(c *cache) {
			for _, m := range ms {
				c.malicious[hex.EncodeToString(m.SmesherID)] = true
			}
		},
	})
}

func addMalicious(tx *sql.Tx, m model.Malfeasance) error {
	_, err := tx.Exec("INSERT INTO malfeasance (smesher, kind, layer) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		m.SmesherID, m.Kind, m.Layer)
	return err
}

// AddProof records a proof's measured phases. A failed one marks the
// proof failed; a successful one becomes the identity's Measured.
func (l *Ledger) AddProof(p Proof) { l.enqueue(proofOp(p)) }

func proofOp(p Proof) op {
	return op{
		upsert: newUpsert(p.ID, p.Epoch, "k2pow_ns, disk_ns, read_bytes, post_failed",
			`k2pow_ns = excluded.k2pow_ns, disk_ns = excluded.disk_ns,
				read_bytes = excluded.read_bytes, post_failed = max(post_failed, excluded.post_failed)`,
			int64(p.K2Pow), int64(p.Disk), int64(p.Bytes), p.Failed),
		committed: func(c *cache) {
			k := hex.EncodeToString(p.ID)
			if p.Failed || p.Disk <= 0 || p.Bytes == 0 || c.measured[k].Epoch > p.Epoch {
				return
			}
			c.measured[k] = measuredOf(p.Epoch, p.K2Pow, p.Disk, p.Bytes)
		},
	}
}

// Observed records that postdeck was running from from to to. Call it
// with the same from as the run goes on: the span grows.
func (l *Ledger) Observed(from, to time.Time) { l.addSpan("watched", from, to) }

// OutOfSync records that the node said it was not synced from from to to.
func (l *Ledger) OutOfSync(from, to time.Time) { l.addSpan("unsynced", from, to) }

func (l *Ledger) addSpan(table string, from, to time.Time) {
	a, b := from.UnixNano(), to.UnixNano()
	l.enqueue(op{
		apart: true,
		apply: func(tx *sql.Tx) error {
			_, err := tx.Exec("INSERT INTO "+table+" (start, end) VALUES (?, ?) ON CONFLICT DO UPDATE SET end = max(end, excluded.end)", a, b)
			return err
		},
		committed: func(c *cache) {
			m := c.watched
			if table == "unsynced" {
				m = c.unsynced
			}
			m[a] = max(m[a], b)
		},
	})
}

// nonNil keeps an empty id from being stored as NULL ("no ATX").
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
