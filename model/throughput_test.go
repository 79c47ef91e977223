package model

import (
	"testing"
	"time"
)

func TestThroughput(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const mb = 1 << 20
	pass := uint64(1000 * mb)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	prov := func(s int, start, pos uint64) ThroughputSample {
		return ThroughputSample{At: at(s), Proving: true, NonceStart: start, NonceEnd: start + 128, Position: pos, PassBytes: pass}
	}
	idle := func(s int) ThroughputSample { return ThroughputSample{At: at(s)} }
	tests := []struct {
		name    string
		samples []ThroughputSample
		rate    float64 // want, within 1%; 0 = unknown
		eta     time.Duration
		k2pow   time.Duration // last whole proof
		disk    time.Duration
	}{
		{name: "no samples"},
		{name: "constant rate", samples: []ThroughputSample{
			prov(0, 0, 10*mb), prov(2, 0, 30*mb), prov(4, 0, 50*mb), prov(6, 0, 70*mb),
		}, rate: 10 * mb, eta: 93 * time.Second},
		{name: "k2pow phase has no rate", samples: []ThroughputSample{
			prov(0, 0, 0), prov(2, 0, 0),
		}},
		{name: "first disk sample after k2pow has no rate yet", samples: []ThroughputSample{
			prov(0, 0, 0), prov(2, 0, 20*mb),
		}},
		{name: "pass change resets the rate", samples: []ThroughputSample{
			prov(0, 0, 10*mb), prov(2, 0, 30*mb), prov(4, 128, 5*mb),
		}},
		{name: "pass change then a new rate", samples: []ThroughputSample{
			prov(0, 0, 10*mb), prov(2, 0, 30*mb), prov(4, 128, 5*mb), prov(6, 128, 15*mb),
		}, rate: 5 * mb, eta: 197 * time.Second},
		{name: "restart (position back) resets", samples: []ThroughputSample{
			prov(0, 0, 10*mb), prov(2, 0, 30*mb), prov(4, 0, 2*mb),
		}},
		{name: "stall decays the rate", samples: []ThroughputSample{
			prov(0, 0, 10*mb), prov(2, 0, 30*mb), prov(4, 0, 30*mb), prov(6, 0, 30*mb),
		}, rate: 2.5 * mb, eta: 388 * time.Second},
		{name: "idle clears the rate and times the whole proof", samples: []ThroughputSample{
			prov(0, 0, 0), prov(10, 0, 0), prov(12, 0, 20*mb), prov(14, 0, 40*mb), idle(20),
		}, k2pow: 12 * time.Second, disk: 8 * time.Second},
		{name: "a proof first seen mid-disk is not timed", samples: []ThroughputSample{
			prov(0, 0, 10*mb), prov(2, 0, 30*mb), idle(4),
		}},
		{name: "k2pow of every pass counts", samples: []ThroughputSample{
			prov(0, 0, 0), prov(5, 0, 10*mb), prov(7, 128, 0), prov(10, 128, 10*mb), idle(12),
		}, k2pow: 8 * time.Second, disk: 4 * time.Second},
		{name: "a restart times the proof afresh", samples: []ThroughputSample{
			prov(0, 0, 0), prov(5, 0, 10*mb), prov(7, 0, 0), prov(9, 0, 10*mb), idle(10),
		}, k2pow: 2 * time.Second, disk: 1 * time.Second},
		{name: "last timing survives the next proof's start", samples: []ThroughputSample{
			prov(0, 0, 0), prov(3, 0, 10*mb), idle(4), prov(30, 0, 0),
		}, k2pow: 3 * time.Second, disk: 1 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var th Throughput
			for _, s := range tc.samples {
				th = th.Observe(s)
			}
			got := th.Timing()
			if tc.rate == 0 && got.Rate != 0 || tc.rate != 0 && (got.Rate < tc.rate*0.99 || got.Rate > tc.rate*1.01) {
				t.Errorf("rate %.0f, want %.0f", got.Rate, tc.rate)
			}
			if got.ETA != tc.eta {
				t.Errorf("ETA %v, want %v", got.ETA, tc.eta)
			}
			if got.LastK2Pow != tc.k2pow || got.LastDisk != tc.disk {
				t.Errorf("last proof k2pow %v disk %v, want %v %v", got.LastK2Pow, got.LastDisk, tc.k2pow, tc.disk)
			}
		})
	}
}

func TestThroughputObserveDoesNotMutate(t *testing.T) {
	var a Throughput
	b := a.Observe(ThroughputSample{At: time.Unix(1, 0), Proving: true, Position: 5, PassBytes: 10})
	if a.hasLast || !b.hasLast {
		t.Fatal("Observe changed its receiver")
	}
}
