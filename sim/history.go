package sim

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"sync"

	"postdeck/model"
)

// DefaultHistoryEpochs is how many past epochs of ATXs and rewards a sim's
// node holds when Options.HistoryEpochs is 0.
const DefaultHistoryEpochs = 5

// The node's reward per eligible layer, in smidge, and the most fees a layer adds.
const (
	layerReward = 2_500_000_000
	maxFee      = 40_000_000
)

// simCoinbase is the node's smeshing-coinbase: every reward goes to it.
const simCoinbase = "sm1qqqqqqqpostdeckqsimqqqqqqqqqqqqqqqqqqqqqqq"

// atxRec is one ATX the node holds. who indexes Sim.ids.
type atxRec struct {
	id     []byte
	who    int
	epoch  uint32
	weight uint64
	units  uint32
}

// rewardRec is one layer's reward to an identity.
type rewardRec struct {
	layer uint32
	who   int
	total uint64
}

// history is what the node's v2alpha1 services answer from: ATXs ordered by
// epoch then id, rewards by layer then identity, malfeasance proofs. It has
// its own lock so a long List never holds up the proving cycle; s.mu, when
// both are held, is taken first.
type history struct {
	mu        sync.Mutex
	atxs      []atxRec
	rewards   []rewardRec   // including future layers of the current epoch: List hides them
	byWho     [][]rewardRec // the same per identity, for List by smesher
	gen       int           // counts changes to atxs, for the filter cache
	cache     atxFilter     // the last ActivationService.List filter and its matches
	malicious []int
	cases     HistoryCases
	rng       *rand.Rand // draws of live ATXs' weights and rewards
	// pubs and index are Sim.ids' public keys and their indexes, copied so
	// that List reads them under mu alone.
	pubs  [][]byte
	index map[string]int
}

// know records identities added to s.ids since the last call; s.mu (or
// sole use) and h.mu must be held.
func (s *Sim) know() {
	h := &s.hist
	if h.index == nil {
		h.index = map[string]int{}
	}
	for who := len(h.pubs); who < len(s.ids); who++ {
		h.pubs = append(h.pubs, s.ids[who].pub)
		h.index[string(s.ids[who].pub)] = who
		h.byWho = append(h.byWho, nil)
	}
}

// HistoryCases names the identities whose history is not the ordinary one
// (an ATX every epoch, its rewards in the next), so tests and demos know
// where to look. Empty fields: the case is not in this sim.
type HistoryCases struct {
	// MissedATX has no ATX in MissedEpoch (the next to last past epoch).
	MissedATX   []byte
	MissedEpoch uint32
	// FailedProof's proof failed (post_complete with failure) in
	// FailedEpoch, the last past epoch, so it has no ATX there.
	FailedProof []byte
	FailedEpoch uint32
	// Malicious has a malfeasance proof (Options.Malicious).
	Malicious []byte
	// In FailedEpoch too, with enough identities: Unregistered never
	// registered in the PoET round; Unpublished registered and proved in
	// time, but no ATX of it reached the node.
	Unregistered, Unpublished []byte
}

// The identities of the special cases, by index; with fewer identities
// than that, cases share the last one.
const (
	missedIndex    = 1
	failedIndex    = 2
	maliciousIndex = 3
	// With more identities than these, two more cases of FailedEpoch.
	unregisteredIndex = 4
	unpublishedIndex  = 5
	// missPercent: ordinary identities also miss an ATX now and then.
	missPercent = 4
)

// buildHistory generates the past epochs, deterministically from the seed
// and independent of the cycle's random draws: ATXs in the publish epochs
// before the current one (and the rewards they earn in the epoch after), for
// every identity the node has loaded. s.mu need not be held: it runs before
// any listener opens.
func (s *Sim) buildHistory() {
	h := &s.hist
	n := s.opts.HistoryEpochs
	current := s.currentEpoch()
	first := max(firstEpoch, int64(current)-int64(n))
	rng := rand.New(rand.NewPCG(uint64(s.opts.Seed), 0x415458))
	missed := min(missedIndex, len(s.ids)-1)
	failed := min(failedIndex, len(s.ids)-1)
	if n > 0 {
		h.cases = HistoryCases{FailedProof: s.ids[failed].pub, FailedEpoch: current - 1}
		if n > 1 {
			h.cases.MissedATX, h.cases.MissedEpoch = s.ids[missed].pub, current-2
		}
		if len(s.ids) > unpublishedIndex {
			h.cases.Unregistered, h.cases.Unpublished = s.ids[unregisteredIndex].pub, s.ids[unpublishedIndex].pub
		}
	}
	unusual := func(who int) bool { // no ATX in FailedEpoch
		return who == failed || h.cases.Unpublished != nil && (who == unregisteredIndex || who == unpublishedIndex)
	}
	for e := uint32(first); e < current; e++ {
		for who, id := range s.ids {
			skip := rng.IntN(100) < missPercent
			switch {
			case !id.onNode:
				continue
			case unusual(who) && e == h.cases.FailedEpoch, who == missed && e == h.cases.MissedEpoch && h.cases.MissedATX != nil:
				continue
			case skip && who != 0: // the first identity is always well
				continue
			}
			a, rewards := s.newATX(who, e, rng)
			h.atxs = append(h.atxs, a)
			h.rewards = append(h.rewards, rewards...)
		}
	}
	slices.SortFunc(h.atxs, compareATX)
	slices.SortFunc(h.rewards, compareReward)
	s.know()
	for _, r := range h.rewards {
		h.byWho[r.who] = append(h.byWho[r.who], r)
	}
	h.rng = rng
	if s.opts.Malicious && len(s.ids) > 0 {
		m := min(maliciousIndex, len(s.ids)-1)
		h.malicious = []int{m}
		h.cases.Malicious = s.ids[m].pub
	}
}

// firstEpoch is the first epoch with ATXs (the sim's effective genesis).
const firstEpoch = 2

// newATX is identity who's ATX of publish epoch e and the rewards it earns
// in e+1: one per eligible layer, a few per epoch, more for more units.
func (s *Sim) newATX(who int, e uint32, rng *rand.Rand) (atxRec, []rewardRec) {
	units := s.ids[who].meta.NumUnits
	a := atxRec{id: atxID(s.ids[who].pub, e), who: who, epoch: e, units: units,
		weight: uint64(units) * 1_000_000 * (1 + uint64(rng.IntN(4)))}
	eligible := 1 + int(units)/3 + rng.IntN(2)
	layers := map[uint32]bool{}
	var rewards []rewardRec
	for len(rewards) < eligible {
		l := (e+1)*epochSize + uint32(rng.IntN(epochSize))
		if !layers[l] {
			layers[l] = true
			rewards = append(rewards, rewardRec{layer: l, who: who, total: layerReward + uint64(rng.IntN(maxFee))})
		}
	}
	return a, rewards
}

// publishATX records a live ATX and its rewards unless the identity has
// one in that epoch already; false when it had. h.mu must not be held.
func (s *Sim) publishATX(who int, e uint32) bool {
	h := &s.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	i, found := slices.BinarySearchFunc(h.atxs, atxRec{id: atxID(s.ids[who].pub, e), epoch: e}, compareATX)
	if found {
		return false
	}
	a, rewards := s.newATX(who, e, h.rng)
	h.atxs = slices.Insert(h.atxs, i, a)
	h.gen++
	s.know() // a key the node loaded after Start
	for _, r := range rewards {
		j, _ := slices.BinarySearchFunc(h.rewards, r, compareReward)
		h.rewards = slices.Insert(h.rewards, j, r)
		mine := h.byWho[who]
		k, _ := slices.BinarySearchFunc(mine, r, compareReward)
		h.byWho[who] = slices.Insert(mine, k, r)
	}
	return true
}

// atxID is an ATX's id: a hash of identity and epoch, so the same ATX has
// the same id in the history, in List and in atx_published.
func atxID(pub []byte, epoch uint32) []byte {
	var e [4]byte
	binary.BigEndian.PutUint32(e[:], epoch)
	sum := sha256.Sum256(append(append([]byte("atx"), pub...), e[:]...))
	return sum[:]
}

func compareATX(a, b atxRec) int {
	return cmp.Or(cmp.Compare(a.epoch, b.epoch), bytes.Compare(a.id, b.id))
}

func compareReward(a, b rewardRec) int {
	return cmp.Or(cmp.Compare(a.layer, b.layer), cmp.Compare(a.who, b.who))
}

// currentEpoch is the epoch of the node's top layer.
func (s *Sim) currentEpoch() uint32 { return s.topLayer() / epochSize }

// HistoryCases tells which identities' history is special.
func (s *Sim) HistoryCases() HistoryCases {
	s.hist.mu.Lock()
	defer s.hist.mu.Unlock()
	return s.hist.cases
}

// CurrentEpoch is the epoch of the node's top layer now.
func (s *Sim) CurrentEpoch() uint32 { return s.currentEpoch() }

// HistoryATXs is every ATX the node holds, ordered by epoch then id, as
// ActivationService.List returns them.
func (s *Sim) HistoryATXs() []model.ATX {
	s.hist.mu.Lock()
	defer s.hist.mu.Unlock()
	out := make([]model.ATX, len(s.hist.atxs))
	for i, a := range s.hist.atxs {
		out[i] = s.modelATX(a)
	}
	return out
}

// HistoryRewards is every reward paid up to the top layer, ordered by layer,
// as RewardService.List returns them.
func (s *Sim) HistoryRewards() []model.Reward {
	top := s.topLayer()
	s.hist.mu.Lock()
	defer s.hist.mu.Unlock()
	var out []model.Reward
	for _, r := range s.hist.rewards {
		if r.layer > top {
			break
		}
		out = append(out, s.modelReward(r))
	}
	return out
}

func (s *Sim) modelATX(a atxRec) model.ATX {
	return model.ATX{ID: a.id, SmesherID: s.hist.pubs[a.who], PublishEpoch: a.epoch, Weight: a.weight, NumUnits: a.units}
}

func (s *Sim) modelReward(r rewardRec) model.Reward {
	return model.Reward{Layer: r.layer, Total: r.total, LayerReward: layerReward, Coinbase: simCoinbase, Smesher: s.hist.pubs[r.who]}
}
