package model

import (
	"container/heap"
	"fmt"
	"strings"
	"time"
)

// simulate gives each planned proof its start and finish, as the scheduler
// would run them from from: whenever a slot frees, it visits the waiting
// proofs in their order and starts each whose disk has a free slot, while
// max_proving allows. Proofs already proving start at from whatever the
// limits. ps is in plan order; proofs with a Reason are not run.
func simulate(ps []PlannedProof, from time.Time, lim Limits) {
	disks := map[string]int{}
	var queues [][]int // per disk, the waiting proofs in plan order
	var running finishHeap
	busy := []int{}
	total := 0
	diskOf := func(name string) int {
		d, ok := disks[name]
		if !ok {
			d = len(queues)
			disks[name] = d
			queues = append(queues, nil)
			busy = append(busy, 0)
		}
		return d
	}
	begin := func(i, d int, at time.Time) {
		ps[i].Start, ps[i].Finish = at, at.Add(ps[i].length())
		busy[d]++
		if !ps[i].Remote {
			total++
		}
		heap.Push(&running, slot{finish: ps[i].Finish, disk: d, remote: ps[i].Remote})
	}
	for i := range ps {
		if ps[i].Reason != "" {
			continue
		}
		d := diskOf(ps[i].Disk)
		if ps[i].Running {
			begin(i, d, from)
		} else {
			queues[d] = append(queues[d], i)
		}
	}
	heads := make([]int, len(queues))
	now := from
	for {
		// Start what may start now, lowest in the order first.
		for {
			best, bestDisk := -1, -1
			for d, q := range queues {
				if heads[d] == len(q) || (lim.MaxPerDisk > 0 && busy[d] >= lim.MaxPerDisk) {
					continue
				}
				i := q[heads[d]]
				if !ps[i].Remote && lim.MaxTotal > 0 && total >= lim.MaxTotal {
					continue
				}
				if best < 0 || i < best {
					best, bestDisk = i, d
				}
			}
			if best < 0 {
				break
			}
			heads[bestDisk]++
			begin(best, bestDisk, now)
		}
		if running.Len() == 0 {
			return
		}
		// Free every slot that frees at the next finish.
		now = running[0].finish
		for running.Len() > 0 && running[0].finish.Equal(now) {
			s := heap.Pop(&running).(slot)
			busy[s.disk]--
			if !s.remote {
				total--
			}
		}
	}
}

// slot is a proof holding its disk (and, unless remote, the cap) until finish.
type slot struct {
	finish time.Time
	disk   int
	remote bool
}

type finishHeap []slot

func (h finishHeap) Len() int           { return len(h) }
func (h finishHeap) Less(i, j int) bool { return h[i].finish.Before(h[j].finish) }
func (h finishHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *finishHeap) Push(x any)        { *h = append(*h, x.(slot)) }
func (h *finishHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}

// loads is how much each disk, and max_proving, has to prove in the plan.
type loads struct {
	disk    map[string]diskLoad
	capN    int
	capLoad time.Duration
}

type diskLoad struct {
	n           int
	read, k2pow time.Duration
}

func loadsOf(ps []PlannedProof) loads {
	l := loads{disk: map[string]diskLoad{}}
	for i := range ps {
		o := &ps[i]
		if o.Start.IsZero() {
			continue // not planned
		}
		d := l.disk[o.Disk]
		d.n++
		d.read += o.Read
		d.k2pow += o.K2Pow
		l.disk[o.Disk] = d
		if !o.Remote {
			l.capN++
			l.capLoad += o.length()
		}
	}
	return l
}

// reasoner words why proofs miss the gap. A disk's reason, and the cap's,
// is the same for every proof they hold up: each is worded once.
type reasoner struct {
	p     *Plan
	lim   Limits
	l     loads
	gap   string // "in a 12h gap", "in the 5h left of the gap"
	disks map[string]string
	cap   string
}

func newReasoner(p *Plan, lim Limits) *reasoner {
	r := &reasoner{p: p, lim: lim, l: loadsOf(p.Proofs), disks: map[string]string{}}
	r.gap = "in a " + Span(r.window()) + " gap"
	if p.From.After(p.GapStart) {
		r.gap = "in the " + Span(r.window()) + " left of the gap"
	}
	return r
}

func (r *reasoner) window() time.Duration { return r.p.GapEnd.Sub(r.p.From) }

// miss names the first thing that makes pp miss the gap: the proof alone is
// longer than the gap, its disk has more to prove than the gap holds,
// max_proving leaves too few slots, or else it waits its turn.
func (r *reasoner) miss(pp *PlannedProof) string {
	if pp.length() > r.window() {
		return fmt.Sprintf("alone it takes %s (%s) %s", Span(pp.length()), phases(pp), r.gap)
	}
	if why := r.disk(pp.Disk); why != "" {
		return why
	}
	if !pp.Remote {
		if why := r.overall(); why != "" {
			return why
		}
	}
	return fmt.Sprintf("it waits its turn until %s into the gap and then takes %s, %s after the gap closes",
		Span(pp.Start.Sub(r.p.GapStart)), Span(pp.length()), Span(pp.Finish.Sub(r.p.GapEnd)))
}

// disk is why a disk's proofs do not all fit, or "" when its slots could
// hold them.
func (r *reasoner) disk(name string) string {
	if why, ok := r.disks[name]; ok {
		return why
	}
	why := ""
	d := r.l.disk[name]
	if r.lim.MaxPerDisk > 0 && (d.read+d.k2pow)/time.Duration(r.lim.MaxPerDisk) > r.window() {
		why = fmt.Sprintf("disk %s: %d proofs, %s %s (max_proving_per_disk = %d)", diskName(name), d.n, work(d.read, d.k2pow), r.gap, r.lim.MaxPerDisk)
	}
	r.disks[name] = why
	return why
}

// work is "31h of reading and 1h30m of k2pow", leaving out a part that
// rounds to nothing.
func work(read, k2pow time.Duration) string {
	var parts []string
	if Span(read) != "0m" {
		parts = append(parts, Span(read)+" of reading")
	}
	if Span(k2pow) != "0m" {
		parts = append(parts, Span(k2pow)+" of k2pow")
	}
	if len(parts) == 0 {
		return Span(read+k2pow) + " of proving"
	}
	return strings.Join(parts, " and ")
}

// overall is why max_proving's slots cannot hold every proof, or "".
func (r *reasoner) overall() string {
	if r.cap == "" && r.lim.MaxTotal > 0 && r.l.capLoad/time.Duration(r.lim.MaxTotal) > r.window() {
		r.cap = fmt.Sprintf("max_proving = %d: %d proofs, %s of proving %s", r.lim.MaxTotal, r.l.capN, Span(r.l.capLoad), r.gap)
	}
	return r.cap
}

// phases is "k2pow 30m, reading 1.0 TiB at 100 MiB/s: 2h55m".
func phases(pp *PlannedProof) string {
	read := fmt.Sprintf("reading %s at %s/s: %s", HumanBytes(pp.Bytes), HumanBytes(uint64(pp.Rate)), Span(pp.Read))
	if pp.K2Pow == 0 {
		return read
	}
	k := "k2pow " + Span(pp.K2Pow)
	if pp.Remote {
		k = "remote " + k
	}
	return k + ", " + read
}

func diskName(d string) string {
	if d == "" {
		return "(unknown)"
	}
	return d
}

// Span is a length to the nearest minute: "31h", "1h30m", "45m", "0m".
func Span(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%02dm", h, m)
}
