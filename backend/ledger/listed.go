package ledger

import "math"

// The kinds of the node's history a List covers, for FirstUnlisted.
const (
	ListedATXs    = "atx"    // publish epochs
	ListedRewards = "reward" // reward epochs
)

// FirstUnlisted is the first epoch at or after from that no List of the
// node's history of kind (ListedATXs, ListedRewards) has covered for id:
// where a backfill resumes after a restart. A nil ledger returns from.
func (l *Ledger) FirstUnlisted(kind string, id []byte, from uint32) uint32 {
	if l == nil {
		return from
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	e := int64(from)
	// The spans are sorted and adjacent ones are joined (see spans.add).
	for _, s := range l.cache.listed.of(kind, id) {
		if s.from <= e && s.to >= e {
			e = s.to + 1
		}
	}
	return uint32(min(e, math.MaxUint32))
}
