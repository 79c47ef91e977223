package ledger

import (
	"context"
	"database/sql"
	"encoding/hex"
	"sort"
	"time"
)

// cache is what Records and Measured need besides the record rows, kept in
// memory (it is small: a span per run of postdeck, per List, per banned
// identity) and changed only after the writer committed it, so it never
// says more than the file holds.
type cache struct {
	listed    listedSpans
	watched   map[int64]int64 // start → end, Unix ns
	unsynced  map[int64]int64
	malicious map[string]bool // hex id
	measured  map[string]Measured
	once      map[onceKey]struct{} // steps set once and committed in this run (see upsert.once)
}

// onceKey is one record's step column.
type onceKey struct {
	rec recordKey
	col string
}

// maxOnce bounds the steps remembered: past it they are forgotten, and
// the next repeat of each is written again (it changes nothing).
const maxOnce = 1 << 16

func (c *cache) addOnce(k onceKey) {
	if len(c.once) >= maxOnce {
		clear(c.once)
	}
	c.once[k] = struct{}{}
}

func newCache() cache {
	return cache{listed: listedSpans{}, watched: map[int64]int64{}, unsynced: map[int64]int64{},
		malicious: map[string]bool{}, measured: map[string]Measured{}, once: map[onceKey]struct{}{}}
}

// listedSpans are the epochs a List covered, by kind ("atx", "reward") and
// raw identity: looked up twice per record read, so with no key to build.
type listedSpans map[string]map[string]spans

func (m listedSpans) of(kind string, id []byte) spans { return m[kind][string(id)] }

func (m listedSpans) add(kind string, id []byte, a span) {
	byID := m[kind]
	if byID == nil {
		byID = map[string]spans{}
		m[kind] = byID
	}
	byID[string(id)] = byID[string(id)].add(a)
}

// span is a closed range [from, to].
type span struct{ from, to int64 }

// spans are sorted by from and never overlap.
type spans []span

// merge sorts the ranges and joins those less than bridge apart.
func merge(in []span, bridge int64) spans {
	sort.Slice(in, func(i, j int) bool { return in[i].from < in[j].from })
	var out spans
	for _, s := range in {
		if n := len(out); n > 0 && s.from <= out[n-1].to+bridge {
			out[n-1].to = max(out[n-1].to, s.to)
			continue
		}
		out = append(out, s)
	}
	return out
}

func (s spans) add(a span) spans { return merge(append(s, a), 1) }

func (s spans) covers(from, to int64) bool {
	for _, x := range s {
		if x.from <= from && x.to >= to {
			return true
		}
	}
	return false
}

func (s spans) overlaps(from, to int64) bool {
	for _, x := range s {
		if x.from <= to && x.to >= from {
			return true
		}
	}
	return false
}

// intervals turns a start → end map into merged spans.
func intervals(m map[int64]int64, bridge time.Duration) spans {
	in := make([]span, 0, len(m))
	for a, b := range m {
		in = append(in, span{a, b})
	}
	return merge(in, int64(bridge))
}

// loadCache reads the small tables at open.
func (l *Ledger) loadCache(ctx context.Context) error {
	c := newCache()
	err := each(ctx, l, "SELECT kind, smesher, from_epoch, to_epoch FROM listed", func(sc scanner) error {
		var kind string
		var id []byte
		var a, b int64
		if err := sc.Scan(&kind, &id, &a, &b); err != nil {
			return err
		}
		c.listed.add(kind, id, span{a, b})
		return nil
	})
	for _, t := range []struct {
		table string
		m     map[int64]int64
	}{{"watched", c.watched}, {"unsynced", c.unsynced}} {
		if err == nil {
			err = each(ctx, l, "SELECT start, end FROM "+t.table, func(sc scanner) error {
				var a, b int64
				err := sc.Scan(&a, &b)
				t.m[a] = b
				return err
			})
		}
	}
	if err == nil {
		err = each(ctx, l, "SELECT smesher FROM malfeasance", func(sc scanner) error {
			var id []byte
			err := sc.Scan(&id)
			c.malicious[hex.EncodeToString(id)] = true
			return err
		})
	}
	if err == nil {
		err = l.loadMeasured(ctx, c.measured)
	}
	l.cache = c
	return err
}

// loadMeasured keeps each identity's last successful measured proof.
func (l *Ledger) loadMeasured(ctx context.Context, m map[string]Measured) error {
	return each(ctx, l, `SELECT smesher, epoch, k2pow_ns, disk_ns, read_bytes FROM record
		WHERE disk_ns > 0 AND read_bytes > 0 AND post_failed = 0 ORDER BY smesher, epoch`, func(sc scanner) error {
		var id []byte
		var epoch uint32
		var k2, disk, bytes int64
		if err := sc.Scan(&id, &epoch, &k2, &disk, &bytes); err != nil {
			return err
		}
		m[hex.EncodeToString(id)] = measuredOf(epoch, time.Duration(k2), time.Duration(disk), uint64(bytes))
		return nil
	})
}

func measuredOf(epoch uint32, k2pow, disk time.Duration, bytes uint64) Measured {
	return Measured{Epoch: epoch, K2Pow: k2pow, ReadRate: float64(bytes) / disk.Seconds()}
}

type scanner interface{ Scan(dest ...any) error }

// each runs a query and calls fn for every row.
func each(ctx context.Context, l *Ledger, query string, fn func(scanner) error, args ...any) error {
	return scanAll(l.db.QueryContext(ctx, query, args...))(fn)
}

// scanAll takes a query's outcome and calls fn for every row, closing the
// rows.
func scanAll(rows *sql.Rows, err error) func(fn func(scanner) error) error {
	return func(fn func(scanner) error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
}
