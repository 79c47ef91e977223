package sim

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"postdeck/model"
)

// The events the epoch ledger records, on mainnet's calendar: an identity
// registers in a PoET round during the epoch before it publishes, proves in
// the cycle gap when the round ends, publishes its ATX, and in the target
// epoch learns its eligible layers and proposes in them. The history's last
// epoch is replayed that way at Start; the live cycle then adds each proof's
// ATX (the first of an epoch), the next registration, and the eligibilities
// and proposals as the top layer reaches them.

var mainnet = model.MainnetTiming()

// layerTime is when a layer starts on mainnet's calendar.
func layerTime(layer uint32) time.Time {
	return mainnet.Genesis.Add(time.Duration(layer) * mainnet.LayerDuration)
}

// nextRoundEnd is the end of the PoET round whose cycle gap has not closed
// at t: the one an identity registering at t proves for.
func nextRoundEnd(t time.Time) time.Time {
	return model.NextCycle(t, mainnet).RoundEnd
}

// seedHistoryEvents fills the node's event buffer with the last past
// epoch, in time order, as if the node had been running through it; the
// buffer keeps only the newest of them, as the node does. s.mu and
// s.hist.mu need not be held: it runs before any listener opens.
func (s *Sim) seedHistoryEvents() {
	top := s.topLayer()
	p := s.currentEpoch() - 1
	if s.opts.HistoryEpochs == 0 || p < firstEpoch {
		return
	}
	each := func(at time.Time, step time.Duration, f func(who int, id *ident, at time.Time)) {
		for who, id := range s.ids {
			if id.onNode {
				f(who, id, at.Add(time.Duration(who)*step))
			}
		}
	}
	// An identity that missed its ATX in p for no failed proof never
	// registered in the round: the first step that failed. The unpublished
	// one registered and proved; only its ATX is missing.
	c := s.hist.cases
	unpublished := func(who int) bool { return c.Unpublished != nil && bytes.Equal(s.ids[who].pub, c.Unpublished) }
	registered := func(who int) bool {
		return s.hasATX(who, p) || bytes.Equal(s.ids[who].pub, c.FailedProof) || unpublished(who)
	}
	s.seedRegistration(mainnet.RoundEnd(uint64(p-1)).Add(time.Hour), p, registered)
	each(mainnet.RoundEnd(uint64(p)), time.Minute, func(who int, id *ident, at time.Time) {
		if !registered(who) {
			return
		}
		failed := !s.hasATX(who, p) && !unpublished(who)
		s.events.emit(event{at: at, kind: evPostStart, smesher: id.pub, challenge: atxID(id.pub, p)})
		s.events.emit(event{at: at.Add(30 * time.Second), kind: evPostComplete, failure: failed, smesher: id.pub, challenge: atxID(id.pub, p)})
		if s.hasATX(who, p) {
			s.events.emit(event{at: at.Add(40 * time.Second), kind: evAtxPublished, smesher: id.pub, current: p, target: p + 1, atx: atxID(id.pub, p)})
		}
	})
	s.seedRegistration(mainnet.RoundEnd(uint64(p)).Add(13*time.Hour), p+1, func(int) bool { return true })
	s.emitEligibilities(p+1, func(int) time.Time { return layerTime((p + 1) * epochSize) })
	s.emitProposals((p+1)*epochSize, top, layerTime)
}

// seedRegistration: every identity waits for the registration window of
// the round for publish epoch e and registers in it.
func (s *Sim) seedRegistration(at time.Time, e uint32, registers func(who int) bool) {
	for who, id := range s.ids {
		if !id.onNode || !registers(who) {
			continue
		}
		t := at.Add(time.Duration(who) * time.Second)
		s.events.emit(event{at: t, kind: evRegistrationWindow, smesher: id.pub, current: e - 1, target: e, roundEnd: t.Add(time.Minute)})
		s.events.emit(event{at: t.Add(time.Minute), kind: evRegisteredInPoet, smesher: id.pub, target: e, roundEnd: mainnet.RoundEnd(uint64(e))})
	}
}

// hasATX reports whether identity who published an ATX in epoch e.
func (s *Sim) hasATX(who int, e uint32) bool {
	_, found := slices.BinarySearchFunc(s.hist.atxs, atxRec{id: atxID(s.ids[who].pub, e), epoch: e}, compareATX)
	return found
}

// emitEligibilities sends each identity with rewards in epoch e its
// eligible layers (its rewards' layers: every eligibility is paid).
func (s *Sim) emitEligibilities(e uint32, at func(who int) time.Time) {
	s.hist.mu.Lock()
	defer s.hist.mu.Unlock()
	for who, rewards := range s.hist.byWho {
		var layers []uint32
		for _, r := range rewards {
			if r.layer/epochSize == e {
				layers = append(layers, r.layer)
			}
		}
		if len(layers) > 0 {
			pub := s.hist.pubs[who]
			s.events.emit(event{at: at(who), kind: evEligibilities, smesher: pub, target: e, atx: atxID(pub, e-1), layers: layers})
		}
	}
}

// emitProposals sends a proposal for every reward in layers [from, to].
func (s *Sim) emitProposals(from, to uint32, at func(layer uint32) time.Time) {
	s.hist.mu.Lock()
	defer s.hist.mu.Unlock()
	rs := s.hist.rewards
	i, _ := slices.BinarySearchFunc(rs, from, func(r rewardRec, l uint32) int { return int(r.layer) - int(l) })
	for ; i < len(rs) && rs[i].layer <= to; i++ {
		s.events.emit(event{at: at(rs[i].layer), kind: evProposal, smesher: s.hist.pubs[rs[i].who], layer: rs[i].layer})
	}
}

// stepLayers emits what the layers reached since the last step bring: the
// eligibilities of an epoch that began, the proposals of eligible layers.
// s.mu must be held.
func (s *Sim) stepLayers(now time.Duration) {
	top := s.topLayer()
	if top <= s.lastLayer {
		return
	}
	from := s.lastLayer + 1
	s.lastLayer = top
	at := s.clockTime(now)
	for e := from / epochSize; e <= top/epochSize; e++ {
		if e*epochSize >= from {
			s.emitEligibilities(e, func(int) time.Time { return at })
		}
	}
	s.emitProposals(from, top, func(uint32) time.Time { return at })
}

// proofAccepted is the node taking an identity's proof at sim time t: it
// publishes the identity's ATX of the epoch (once) and registers for the
// next round. s.mu must be held.
func (s *Sim) proofAccepted(id *ident, t time.Duration) {
	s.emit(id, t, evPostComplete, false)
	at, e := s.clockTime(t), s.currentEpoch()
	if s.publishATX(slices.Index(s.ids, id), e) {
		s.events.emit(event{at: at, kind: evAtxPublished, smesher: id.pub, current: e, target: e + 1, atx: atxID(id.pub, e)})
	}
	s.events.emit(event{at: at, kind: evRegistrationWindow, smesher: id.pub, current: e, target: e + 1, roundEnd: at})
	s.events.emit(event{at: at, kind: evRegisteredInPoet, smesher: id.pub, target: e + 1, roundEnd: nextRoundEnd(at)})
}

// AcceptProof is the node taking identity id's proof now, as when a proof
// arrives: post_complete, the identity's ATX of the current epoch (the
// first time: atx_published, and its rewards in the next epoch), and its
// registration in the next PoET round. Manual tests drive the ledger's
// events with it.
func (s *Sim) AcceptProof(id []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.byID[string(id)]
	if it == nil {
		panic(fmt.Sprintf("sim: AcceptProof: unknown identity %x", id))
	}
	it.node = model.NodeIdle
	s.proofAccepted(it, s.simNow())
}
