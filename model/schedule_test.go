package model

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func schedRow(name, disk string, node NodeState, svc ServiceState, running bool) Row {
	r := Row{Name: name + ".key", Service: name, Disk: disk, NodeState: node, ServiceState: svc,
		Proc: ProcInfo{State: ProcStopped, Startable: true}}
	if running {
		r.Proc.State = ProcRunning
	}
	return r
}

func actions(st SchedulerStatus) []string {
	var out []string
	for _, a := range st.Actions {
		out = append(out, a.Kind.String()+" "+a.Service)
	}
	return out
}

func TestScheduleOnePerDisk(t *testing.T) {
	rows := []Row{
		schedRow("a1", "diskA", NodeProving, ServiceNone, false),
		schedRow("a2", "diskA", NodeProving, ServiceNone, false),
		schedRow("b1", "diskB", NodeProving, ServiceNone, false),
		schedRow("c1", "diskC", NodeIdle, ServiceNone, false), // node does not need it
	}
	st := Schedule(rows, Limits{MaxPerDisk: 1}, nil, nil)
	if got, want := actions(st), []string{"start a1", "start b1"}; !slices.Equal(got, want) {
		t.Fatalf("actions %v, want %v", got, want)
	}
	if len(st.Waits) != 1 || st.Waits[0].Service != "a2" || !strings.Contains(st.Waits[0].Reason, "diskA is busy with a1") {
		t.Errorf("waits %+v, want a2 waiting for a1 on diskA", st.Waits)
	}
	// Two per disk lets a2 start too.
	if got := actions(Schedule(rows, Limits{MaxPerDisk: 2}, nil, nil)); !slices.Equal(got, []string{"start a1", "start a2", "start b1"}) {
		t.Errorf("with 2 per disk: %v", got)
	}
}

func TestScheduleCountsRunningProvers(t *testing.T) {
	rows := []Row{
		schedRow("a1", "diskA", NodeProving, ServiceProving, true), // already proving on diskA
		schedRow("a2", "diskA", NodeProving, ServiceNone, false),
		schedRow("b1", "diskB", NodeProving, ServiceNone, false),
		schedRow("c1", "diskC", NodeProving, ServiceNone, false),
	}
	st := Schedule(rows, Limits{MaxPerDisk: 1, MaxTotal: 2}, nil, nil)
	if got := actions(st); !slices.Equal(got, []string{"start b1"}) {
		t.Fatalf("actions %v, want only b1 (a2's disk busy, then max_proving 2 reached)", got)
	}
	if len(st.Waits) != 2 || !strings.Contains(st.Waits[1].Reason, "max_proving = 2") {
		t.Errorf("waits %+v", st.Waits)
	}
	if !st.Auto || len(st.Actions) != 1 || st.Waits[0].Service != "a2" {
		t.Errorf("status %+v, want auto on, start b1 and a2 waiting first", st)
	}
}

func TestScheduleStopsOnlyWhenProofFetched(t *testing.T) {
	rows := []Row{
		schedRow("done", "d1", NodeIdle, ServiceIdle, true),       // proof fetched: stop
		schedRow("await", "d2", NodeProving, ServiceDone, true),   // not fetched yet: keep
		schedRow("stuck", "d3", NodeIdle, ServiceDone, true),      // stuck DoneProving: failed; stopping frees it
		schedRow("pending", "d4", NodeIdle, ServiceIdle, true),    // user's pending stop handles it
		schedRow("remote", "d5", NodeIdle, ServiceIdle, false),    // not running
		schedRow("dark", "d6", NodeUnknown, ServiceIdle, true),    // node unknown: keep
		schedRow("proving", "d7", NodeProving, ServiceIdle, true), // about to prove: keep
	}
	rows[3].PendingStop = true
	if got := actions(Schedule(rows, Limits{MaxPerDisk: 1}, nil, nil)); !slices.Equal(got, []string{"stop done", "stop stuck"}) {
		t.Errorf("actions %v, want stop done and stop stuck", got)
	}
}

func TestScheduleLeavesUnmanagedAndDuplicates(t *testing.T) {
	ext := schedRow("ext", "d1", NodeProving, ServiceNone, false)
	ext.Proc.Startable = false
	dup := schedRow("dup", "d2", NodeProving, ServiceNone, false)
	dup.Health = []Health{HealthDuplicate}
	if got := Schedule([]Row{ext, dup}, Limits{}, nil, nil).Actions; len(got) != 0 {
		t.Errorf("actions %+v, want none: no launch settings / equivocation risk", got)
	}
}

func TestApplyScheduleTurnsWaitingServicesIntoWarnings(t *testing.T) {
	s := Join(Inputs{
		Node: nodeWith(
			PostState{ID: id(1), State: NodeProving, Name: "a.key"},
			PostState{ID: id(2), State: NodeProving, Name: "b.key"},
			PostState{ID: id(3), State: NodeProving, Name: "c.key"},
		),
		Services: []ServiceObs{
			{Name: "a", Meta: meta(1, 1), StatusErr: "refused", Proc: ProcInfo{State: ProcStopped, Startable: true}, Disk: "d"},
			{Name: "b", Meta: meta(2, 1), StatusErr: "refused", Proc: ProcInfo{State: ProcStopped, Startable: true}, Disk: "d"},
			{Name: "c", Meta: meta(3, 1), StatusErr: "refused", Proc: ProcInfo{State: ProcStopped}}, // not startable
		},
	})
	for _, r := range s.Rows {
		if r.ServiceState != ServiceStopped && r.Service != "c" {
			t.Fatalf("%s: state %v, want stopped (the supervisor says no process runs)", r.Service, r.ServiceState)
		}
		if !slices.Contains(r.Health, HealthServiceDown) {
			t.Fatalf("%s: health %v, want service-down before scheduling", r.Service, r.Health)
		}
	}
	s.ApplySchedule(Schedule(s.Rows, Limits{MaxPerDisk: 1}, nil, nil))
	want := map[string]Health{"a": HealthWaiting, "b": HealthWaiting, "c": HealthServiceDown}
	for _, r := range s.Rows {
		if !slices.Equal(r.Health, []Health{want[r.Service]}) {
			t.Errorf("%s: health %v, want %v", r.Service, r.Health, want[r.Service])
		}
	}
	if s.ExitCode() != ExitCritical {
		t.Error("c cannot be started by postdeck and the node wants its proof: still critical")
	}
}

func TestScheduleHeldServiceBooksNoSlot(t *testing.T) {
	// data01 cannot start (its start failed): data05 on the same disk must
	// not wait for it, or the whole disk goes unproven.
	rows := []Row{
		schedRow("data01", "disk1", NodeProving, ServiceStopped, false),
		schedRow("data05", "disk1", NodeProving, ServiceStopped, false),
	}
	st := Schedule(rows, Limits{MaxPerDisk: 1}, map[string]string{"data01": "start failed: bin missing"}, nil)
	if got := actions(st); !slices.Equal(got, []string{"start data05"}) {
		t.Fatalf("actions %v, want data05 started", got)
	}
	if len(st.Waits) != 1 || !st.Waits[0].Held || st.Waits[0].Service != "data01" {
		t.Errorf("waits %+v, want data01 held", st.Waits)
	}
}

func TestScheduleCountsServicesItCannotStart(t *testing.T) {
	// A service run by other means proves on disk1: automatic proving must
	// not start a second one there.
	ext := schedRow("ext", "disk1", NodeProving, ServiceProving, true)
	ext.Proc.Startable = false
	rows := []Row{ext, schedRow("mine", "disk1", NodeProving, ServiceStopped, false)}
	st := Schedule(rows, Limits{MaxPerDisk: 1}, nil, nil)
	if len(st.Actions) != 0 || len(st.Waits) != 1 || !strings.Contains(st.Waits[0].Reason, "busy with ext") {
		t.Errorf("status %+v, want mine waiting for ext", st)
	}
}

// Another host's rows are its own postdeck's to schedule and plan: the
// central one neither starts them nor counts them against its disks.
func TestAnotherHostsRowsAreNeitherScheduledNorPlanned(t *testing.T) {
	remote := schedRow("rig2:a1", "diskA", NodeProving, ServiceNone, false)
	remote.Host = "rig2"
	busy := schedRow("rig2:a0", "diskA", NodeProving, ServiceProving, true)
	busy.Host = "rig2"
	rows := []Row{remote, busy, schedRow("a2", "diskA", NodeProving, ServiceNone, false)}
	if got := actions(Schedule(rows, Limits{MaxPerDisk: 1}, nil, nil)); !slices.Equal(got, []string{"start a2"}) {
		t.Errorf("actions %v, want only the local a2 started (diskA here is not rig2's)", got)
	}
	pr := planRow("rig2:b", "d1", 2)
	pr.Host = "rig2"
	p := MakePlan([]Row{pr, planRow("c", "d1", 1)}, testGap, before, settings(30*time.Minute, Limits{MaxPerDisk: 1}), nil)
	wantTimes(t, p, "c 0:00-1:30")
}
