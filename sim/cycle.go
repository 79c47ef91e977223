package sim

import (
	"fmt"
	"math"
	"time"

	"postdeck/model"
)

// phase is where an identity's post-service is in one proof.
type phase int

const (
	phIdle      phase = iota // nothing asked
	phRequested              // node PROVING; the service has not picked the request up yet
	phK2pow                  // Proving, position 0
	phDisk                   // Proving, reading the pass
	phDone                   // DoneProving, the node has not fetched the proof
)

// nonceBatch is post-service's default --nonces: the range moves on by it per pass.
const nonceBatch = 128

// cycle is an identity's place in its proving cycle, in sim time.
type cycle struct {
	phase     phase
	phaseAt   time.Duration // when the phase began
	nextAt    time.Duration // when the next step is due
	pass      uint64        // current pass, from 0
	passes    uint64        // passes this proof needs
	challenge []byte
	frozen    bool // a demo case that never moves
}

// Durations at Speed 1; a full cycle takes about 30–90 s.
var (
	idleFor      = span{12 * time.Second, 40 * time.Second}
	pickupFor    = span{500 * time.Millisecond, 2 * time.Second} // the node asks every 2 s
	k2powFor     = span{3 * time.Second, 8 * time.Second}
	passFor      = span{10 * time.Second, 20 * time.Second}
	fetchFor     = span{1 * time.Second, 3 * time.Second}
	failPercent  = 4  // proofs that fail and are retried
	twoPassShare = 30 // percent of proofs that need a second pass
)

type span struct{ lo, hi time.Duration }

// draw picks a duration in the span; s.mu must be held.
func (s *Sim) draw(sp span) time.Duration {
	return sp.lo + time.Duration(s.rng.Int64N(int64(sp.hi-sp.lo)+1))
}

// tickEvery is how often the one cycle goroutine steps all identities: often
// enough that phases stay visible when time is compressed, never busy.
func tickEvery(speed float64) time.Duration {
	d := time.Duration(float64(250*time.Millisecond) / speed)
	return min(250*time.Millisecond, max(10*time.Millisecond, d))
}

func (s *Sim) runCycle() {
	defer s.ticker.Done()
	t := time.NewTicker(tickEvery(s.opts.Speed))
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.mu.Lock()
			s.step(s.simNow())
			s.mu.Unlock()
		}
	}
}

// stagger starts every identity at a random point before time 0, so the
// first step already shows a mix of states.
func (s *Sim) stagger() {
	for _, id := range s.ids {
		if id.frozen {
			continue
		}
		id.phaseAt = -time.Duration(s.rng.Int64N(int64(90 * time.Second)))
		id.nextAt = id.phaseAt + s.draw(idleFor)
	}
}

// step moves every identity whose next step is due, at the time it was due,
// so a coarse tick or the pre-start catch-up replays the same history.
func (s *Sim) step(now time.Duration) {
	for _, id := range s.ids {
		for n := 0; !id.frozen && id.nextAt <= now && n < 32; n++ {
			s.advance(id, id.nextAt)
		}
	}
	s.stepLayers(now)
}

// never is a step time that is never due.
const never = time.Duration(math.MaxInt64)

func (s *Sim) advance(id *ident, t time.Duration) {
	if s.opts.RealServices {
		s.advanceReal(id, t)
		return
	}
	next := phIdle
	var d time.Duration
	switch id.phase {
	case phIdle:
		id.node = model.NodeProving
		id.challenge = s.randomBytes(32)
		s.emit(id, t, evPostStart, false)
		next, d = phRequested, s.draw(pickupFor)
	case phRequested:
		id.pass, id.passes = 0, 1
		if s.rng.IntN(100) < twoPassShare {
			id.passes = 2
		}
		next, d = phK2pow, s.draw(k2powFor)
	case phK2pow:
		next, d = phDisk, s.draw(passFor)
	case phDisk:
		next, d = s.endPass(id, t)
	case phDone:
		id.node = model.NodeIdle
		s.proofAccepted(id, t)
		next, d = phIdle, s.draw(idleFor)
	}
	id.phase, id.phaseAt, id.nextAt = next, t, t+d
}

// advanceReal is the cycle when the services are real processes: only the
// node's half. An idle identity turns PROVING and stays so until its proof
// arrives over Register (proofReceived schedules the next round).
func (s *Sim) advanceReal(id *ident, t time.Duration) {
	if id.node != model.NodeProving {
		id.node = model.NodeProving
		id.challenge = s.randomBytes(32)
		s.emit(id, t, evPostStart, false)
		id.kick()
	}
	id.phase, id.phaseAt, id.nextAt = phRequested, t, never
}

// proofReceived: the node has the proof, the identity is IDLE until its next
// round; s.mu must be held.
func (s *Sim) proofReceived(id *ident) {
	now := s.simNow()
	id.node = model.NodeIdle
	s.proofAccepted(id, now)
	id.phase, id.phaseAt, id.nextAt = phIdle, now, now+s.draw(idleFor)
}

// endPass starts the next pass, finishes the proof, or fails it: the node
// reports the failure and asks again, and the service starts over.
func (s *Sim) endPass(id *ident, t time.Duration) (phase, time.Duration) {
	if id.pass+1 < id.passes {
		id.pass++
		return phK2pow, s.draw(k2powFor)
	}
	if s.rng.IntN(100) < failPercent {
		s.emit(id, t, evPostComplete, true)
		id.pass = 0
		return phK2pow, s.draw(k2powFor)
	}
	return phDone, s.draw(fetchFor)
}

// markDemoCases freezes the last three identities into the cases a demo
// should show (see Options.Demo).
func (s *Sim) markDemoCases() {
	n := len(s.ids)
	noService, stuck, notLoaded := s.ids[n-3], s.ids[n-2], s.ids[n-1]
	// The node wants a proof and nobody serves it.
	noService.frozen, noService.node, noService.phase = true, model.NodeProving, phRequested
	noService.challenge = s.randomBytes(32)
	// The proof failed; post-rs shows DoneProving until it is restarted.
	// Only a real service could show that: with RealServices it is an
	// ordinary identity.
	if !s.opts.RealServices {
		stuck.frozen, stuck.phase = true, phDone
	}
	// Key copied in after the node started: the node does not list it.
	notLoaded.frozen, notLoaded.onNode = true, false
}

// A step due before the sim started (the staggered first steps) is stamped
// with the start: the node was not running before it, and a back-dated proof
// could fall before its round's end.
func (s *Sim) emit(id *ident, t time.Duration, k eventKind, failure bool) {
	s.events.emit(event{
		at:        s.clockTime(max(t, 0)),
		kind:      k,
		failure:   failure,
		smesher:   id.pub,
		challenge: id.challenge,
	})
}

// statusBody is what the identity's post-service answers on /status at sim
// time now; s.mu must be held.
func (id *ident) statusBody(now time.Duration) string {
	switch id.phase {
	case phK2pow:
		return provingBody(id.pass, 0)
	case phDisk:
		return provingBody(id.pass, id.position(now))
	case phDone:
		return `"DoneProving"`
	}
	return `"Idle"`
}

// position is the bytes read so far in the current pass, at least 1 so the
// disk phase is never mistaken for k2pow.
func (id *ident) position(now time.Duration) uint64 {
	pass := id.meta.PassBytes()
	total := id.nextAt - id.phaseAt
	if total <= 0 || now >= id.nextAt {
		return pass
	}
	frac := float64(max(0, now-id.phaseAt)) / float64(total)
	return max(1, uint64(frac*float64(pass)))
}

func provingBody(pass, position uint64) string {
	start := pass * nonceBatch
	return fmt.Sprintf(`{"Proving":{"nonces":{"start":%d,"end":%d},"position":%d}}`, start, start+nonceBatch, position)
}
