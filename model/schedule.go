package model

import (
	"fmt"
	"sort"
	"strings"
)

// Limits bound automatic proving: proving reads the whole PoST data once per
// pass, so two services on one disk slow each other down, and each fast-mode
// service needs about 2 GiB of RAM.
type Limits struct {
	MaxPerDisk int // 0 = no limit
	MaxTotal   int // 0 = no limit
}

// ActionKind is what the scheduler wants done to a service.
type ActionKind int

const (
	ActionStart ActionKind = iota
	ActionStop
)

func (k ActionKind) String() string { return [...]string{"start", "stop"}[k] }

// Action is one decision of the scheduler, with its reason in words.
type Action struct {
	Kind    ActionKind
	Service string
	Reason  string
}

// Wait is a service the node wants a proof from that the scheduler holds back.
type Wait struct {
	Service string
	Reason  string
	// Held: it is held back (a failed start, a stop by hand), not waiting for
	// a slot; the node still gets no proof, so its row stays critical.
	Held bool
}

// SchedulerStatus is what the header says of automatic proving (ui's
// autoSegments): whether it is on, what it last did and why services wait.
type SchedulerStatus struct {
	Auto    bool
	Actions []Action
	Waits   []Wait
}

// Schedule decides, from one snapshot, which services automatic proving
// starts and stops, as Spacemesh's orchestration demo does: start a stopped
// service when the node is PROVING for its identity, within the per-disk and
// overall limits; stop a running one once the node shows IDLE again and the
// stop is safe (the proof was fetched). Every proving service counts against
// its disk, however it was started, but only services postdeck can start are
// acted on. holds keeps services away from automatic proving (a failed start,
// a stop by hand), with the reason; a held service books no slot. Services
// wanting a start are visited in the plan's order (PlanRule), those the plan
// lacks (or all, when plan is nil) after it in name order. A service with
// remote k2pow books its disk but not max_proving (see plan.go).
func Schedule(rows []Row, lim Limits, holds map[string]string, plan *Plan) SchedulerStatus {
	st := SchedulerStatus{Auto: true}
	perDisk := map[string][]string{}
	total := 0
	var candidates []*Row
	for i := range rows {
		r := &rows[i]
		if r.Service == "" || r.Host != "" { // another host's postdeck schedules its own
			continue
		}
		// Busy: proving, or holding a proof the node has yet to fetch. A
		// DoneProving service on an IDLE node is stuck, not busy.
		busy := r.Running() && (r.NodeState == NodeProving || r.ServiceState == ServiceProving)
		switch {
		case busy:
			perDisk[r.Disk] = append(perDisk[r.Disk], r.Service)
			if !r.RemoteK2Pow {
				total++
			}
		case !r.Proc.Startable:
		case r.Running() && r.NodeState == NodeIdle && !r.PendingStop && StopVerdict(r).Safe:
			st.Actions = append(st.Actions, Action{ActionStop, r.Service, "the node fetched its proof (IDLE)"})
		case !r.Running() && r.NodeState == NodeProving && !r.Has(HealthDuplicate):
			candidates = append(candidates, r)
		}
	}
	sortByPlan(candidates, plan)
	for _, r := range candidates {
		if why, held := holds[r.Service]; held {
			st.Waits = append(st.Waits, Wait{Service: r.Service, Reason: why, Held: true})
			continue
		}
		if why := blocked(r, perDisk, total, lim); why != "" {
			st.Waits = append(st.Waits, Wait{Service: r.Service, Reason: why})
			continue
		}
		st.Actions = append(st.Actions, Action{ActionStart, r.Service, "the node wants a proof from " + r.Label()})
		perDisk[r.Disk] = append(perDisk[r.Disk], r.Service)
		if !r.RemoteK2Pow {
			total++
		}
	}
	return st
}

// sortByPlan orders the candidates as the plan starts them; the ones it
// does not have come after, in name order.
func sortByPlan(rows []*Row, plan *Plan) {
	rank := map[string]int{}
	if plan != nil {
		for i, pp := range plan.Proofs {
			rank[pp.Service] = i + 1
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		ri, rj := rank[rows[i].Service], rank[rows[j].Service]
		if (ri == 0) != (rj == 0) {
			return ri != 0
		}
		if ri != rj {
			return ri < rj
		}
		return lessByName(rows[i], rows[j])
	})
}

// blocked says why r may not start now, or "" if it may.
func blocked(r *Row, perDisk map[string][]string, total int, lim Limits) string {
	disk := r.Disk
	if busy := perDisk[disk]; lim.MaxPerDisk > 0 && len(busy) >= lim.MaxPerDisk {
		return fmt.Sprintf("disk %s is busy with %s (max_proving_per_disk = %d)", disk, strings.Join(busy, ", "), lim.MaxPerDisk)
	}
	if !r.RemoteK2Pow && lim.MaxTotal > 0 && total >= lim.MaxTotal {
		return fmt.Sprintf("%d services are proving (max_proving = %d)", total, lim.MaxTotal)
	}
	return ""
}

// ApplySchedule records what automatic proving decided on the snapshot. A
// service it is starting, or holds back for a free slot, is not down: its
// service-down-while-proving flag becomes the waiting-for-slot warning.
func (s *Snapshot) ApplySchedule(st SchedulerStatus) {
	s.Scheduler = st
	handled := map[string]bool{}
	notes := map[string]string{}
	for _, w := range st.Waits {
		handled[w.Service] = !w.Held
		notes[w.Service] = "waiting: " + w.Reason
	}
	for _, a := range st.Actions {
		if a.Kind == ActionStart {
			handled[a.Service] = true
		}
		notes[a.Service] = a.Kind.String() + ": " + a.Reason
	}
	for i := range s.Rows {
		r := &s.Rows[i]
		r.Auto = notes[r.Service]
		if !handled[r.Service] {
			continue
		}
		for j, h := range r.Health {
			if h == HealthServiceDown {
				r.Health[j] = HealthWaiting
			}
		}
	}
}
