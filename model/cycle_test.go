package model

import (
	"strings"
	"testing"
	"time"
)

func utc(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

// Mainnet by hand: an epoch is 4032 layers × 5 min = 20160 min = 14 days, so
// epoch N starts at genesis + 14·N days = 2023-07-14 08:00Z + 14·N days, its
// PoET round ends 240 h = 10 days later (08:00Z), and the cycle gap closes
// 12 h after that (20:00Z the same day).
//
// Days from genesis to 2026-01-01 00:00Z (counting from 2023-07-14):
// 2023-07-14 → 2024-07-14 = 366 days (2024-02-29 is in it),
// 2024-07-14 → 2025-07-14 = 365, 2025-07-14 → 2026-01-01 = 31 (Aug 14) + 31
// (Sep 14) + 30 (Oct 14) + 31 (Nov 14) + 30 (Dec 14) + 18 = 171: 902 days.
// 902 / 14 = 64 rest 6: epoch 64 starts 896 days after genesis, 6 days
// before 2026-01-01 08:00Z, at 2025-12-26 08:00Z. Its round ends 10 days
// later: 2026-01-05 08:00Z; its gap closes 2026-01-05 20:00Z. Epoch 65 starts
// 2026-01-09 08:00Z; its round ends 2026-01-19 08:00Z, gap closes 20:00Z.
//
// Epoch 77 starts 77·14 = 1078 days after genesis = 1078 − 902 = 176 days
// after 2026-01-01: Jan 31 + Feb 28 + Mar 31 + Apr 30 + May 31 = 151 days
// to June 1, + 25 = 2026-06-26 08:00Z. Its round ends 2026-07-06 08:00Z, the
// gap closes 2026-07-06 20:00Z.
func TestNextCycleMainnetByHand(t *testing.T) {
	mn := MainnetTiming()
	cases := []struct {
		name         string
		now          time.Time
		end, closes  time.Time
		inGap        bool
		wantEpochNow uint64
	}{
		{"new year 2026, before epoch 64's round end", utc(2026, 1, 1, 0, 0, 0),
			utc(2026, 1, 5, 8, 0, 0), utc(2026, 1, 5, 20, 0, 0), false, 64},
		{"a second before the gap opens", utc(2026, 1, 5, 7, 59, 59),
			utc(2026, 1, 5, 8, 0, 0), utc(2026, 1, 5, 20, 0, 0), false, 64},
		{"the gap opens", utc(2026, 1, 5, 8, 0, 0),
			utc(2026, 1, 5, 8, 0, 0), utc(2026, 1, 5, 20, 0, 0), true, 64},
		{"inside the gap", utc(2026, 1, 5, 14, 30, 0),
			utc(2026, 1, 5, 8, 0, 0), utc(2026, 1, 5, 20, 0, 0), true, 64},
		{"the gap has just closed: epoch 65's round next", utc(2026, 1, 5, 20, 0, 1),
			utc(2026, 1, 19, 8, 0, 0), utc(2026, 1, 19, 20, 0, 0), false, 64},
		{"epoch 65 began, before its round end", utc(2026, 1, 10, 0, 0, 0),
			utc(2026, 1, 19, 8, 0, 0), utc(2026, 1, 19, 20, 0, 0), false, 65},
		{"epoch 77 start", utc(2026, 6, 26, 8, 0, 0),
			utc(2026, 7, 6, 8, 0, 0), utc(2026, 7, 6, 20, 0, 0), false, 77},
		{"inside epoch 77's gap", utc(2026, 7, 6, 19, 59, 0),
			utc(2026, 7, 6, 8, 0, 0), utc(2026, 7, 6, 20, 0, 0), true, 77},
		// Between a round's gap closing and the next epoch's start (epoch
		// 77 ends 2026-07-10 08:00Z): the next round is epoch 78's,
		// 2026-07-10 + 10 days = 2026-07-20 08:00Z.
		{"after the gap, before the next epoch", utc(2026, 7, 8, 0, 0, 0),
			utc(2026, 7, 20, 8, 0, 0), utc(2026, 7, 20, 20, 0, 0), false, 77},
		{"before genesis: the first round", utc(2023, 1, 1, 0, 0, 0),
			utc(2023, 7, 24, 8, 0, 0), utc(2023, 7, 24, 20, 0, 0), false, 0},
	}
	for _, c := range cases {
		got := NextCycle(c.now, mn)
		if !got.Known || !got.RoundEnd.Equal(c.end) || !got.GapCloses.Equal(c.closes) || got.InGap != c.inGap {
			t.Errorf("%s (%s): got end %s closes %s inGap %v known %v; want %s %s %v", c.name, c.now,
				got.RoundEnd, got.GapCloses, got.InGap, got.Known, c.end, c.closes, c.inGap)
		}
		if e := mn.Epoch(c.now); e != c.wantEpochNow {
			t.Errorf("%s: epoch %d, want %d", c.name, e, c.wantEpochNow)
		}
		if got.Source != "mainnet defaults" {
			t.Errorf("%s: source %q", c.name, got.Source)
		}
	}
}

func TestNextCycleCommunityPoet(t *testing.T) {
	// A PoET with a 24 h phase shift and a 6 h gap: epoch 64 (2025-12-26
	// 08:00Z) + 24 h = 2025-12-27 08:00Z, gap to 14:00Z.
	tm := MainnetTiming()
	tm.PhaseShift, tm.CycleGap, tm.Source = 24*time.Hour, 6*time.Hour, "config"
	got := NextCycle(utc(2025, 12, 27, 9, 0, 0), tm)
	if !got.InGap || !got.RoundEnd.Equal(utc(2025, 12, 27, 8, 0, 0)) || !got.GapCloses.Equal(utc(2025, 12, 27, 14, 0, 0)) {
		t.Fatalf("got %+v", got)
	}
	// A phase shift longer than an epoch still finds the earliest open gap.
	tm.PhaseShift = 15 * 24 * time.Hour // epoch 64's round ends 2026-01-10 08:00Z
	got = NextCycle(utc(2026, 1, 10, 10, 0, 0), tm)
	if !got.InGap || !got.RoundEnd.Equal(utc(2026, 1, 10, 8, 0, 0)) {
		t.Fatalf("long shift: got %+v", got)
	}
	if got := NextCycle(time.Now(), Timing{}); got.Known {
		t.Fatalf("zero timing is known: %+v", got)
	}
}

func TestCheckCycleWithNode(t *testing.T) {
	mn := MainnetTiming()
	now := utc(2026, 1, 1, 0, 0, 0)
	if got := CheckCycle(now, mn, NodeTiming{EpochSize: 4032}); got.Mismatch != "" || got.Source != "mainnet defaults" {
		t.Fatalf("agreeing node: %+v", got)
	}
	got := CheckCycle(now, mn, NodeTiming{EpochSize: 10})
	if !strings.Contains(got.Mismatch, "10 layers per epoch") || !got.RoundEnd.Equal(utc(2026, 1, 5, 8, 0, 0)) {
		t.Fatalf("epoch size: %+v", got)
	}
	// The node's events say the round ends an hour later: preferred, named.
	got = CheckCycle(now, mn, NodeTiming{EpochSize: 4032, RoundEnd: utc(2026, 1, 5, 9, 0, 0)})
	if got.Source != "node events" || !got.RoundEnd.Equal(utc(2026, 1, 5, 9, 0, 0)) ||
		!got.GapCloses.Equal(utc(2026, 1, 5, 21, 0, 0)) || !strings.Contains(got.Mismatch, "2026-01-05T09:00:00Z") {
		t.Fatalf("events: %+v", got)
	}
	// The same time: no mismatch. A past round from an old event: ignored.
	if got := CheckCycle(now, mn, NodeTiming{RoundEnd: utc(2026, 1, 5, 8, 0, 0)}); got.Mismatch != "" || got.Source != "node events" {
		t.Fatalf("same: %+v", got)
	}
	if got := CheckCycle(now, mn, NodeTiming{RoundEnd: utc(2025, 12, 22, 8, 0, 0)}); got.Source != "mainnet defaults" {
		t.Fatalf("old event used: %+v", got)
	}
}

func TestPoetRoundEndFromEvents(t *testing.T) {
	s := &Snapshot{
		Events: []Event{
			{Time: utc(2026, 1, 1, 0, 0, 0), Kind: "registered_in_poet", Detail: "round_end=2026-01-05T08:00:00Z"},
			{Time: utc(2026, 1, 1, 1, 0, 0), Kind: "atx_published", Detail: "at 2026-02-01T00:00:00Z"},
		},
		Rows: []Row{{Events: []Event{
			{Time: utc(2026, 1, 2, 0, 0, 0), Kind: "waiting_for_poet_round_end", Detail: "round 64 ends 2026-01-05T08:00:30Z, publish epoch 65"},
		}}},
	}
	if got := PoetRoundEnd(s); !got.Equal(utc(2026, 1, 5, 8, 0, 30)) {
		t.Fatalf("got %s", got)
	}
	// The event's RoundEnd field wins over its text.
	s.Events = append(s.Events, Event{Time: utc(2026, 1, 3, 0, 0, 0), Kind: "registered_in_poet",
		Detail: "round_end 2026-01-05T08:00:00Z", RoundEnd: utc(2026, 1, 5, 8, 1, 0)})
	if got := PoetRoundEnd(s); !got.Equal(utc(2026, 1, 5, 8, 1, 0)) {
		t.Fatalf("RoundEnd field: got %s", got)
	}
	if got := PoetRoundEnd(&Snapshot{}); !got.IsZero() {
		t.Fatalf("empty: %s", got)
	}
}
