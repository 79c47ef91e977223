package model

import "testing"

func TestSMH(t *testing.T) {
	for smidge, want := range map[uint64]string{
		0:                 "0 SMH",
		12_400_000_000:    "12.4 SMH",
		12_000_000_000:    "12 SMH",
		1_234_567_000_000: "1235 SMH",
		3_456_000_000:     "3.46 SMH",
		5_000_000:         "0.005 SMH",
	} {
		if got := SMH(smidge); got != want {
			t.Errorf("SMH(%d) = %q, want %q", smidge, got, want)
		}
	}
}

func TestEpochCell(t *testing.T) {
	atx := &ATX{ID: []byte{1}, Weight: 10, NumUnits: 4}
	listed := EpochRewards{Epoch: 8, Listed: true, Count: 2, Sum: 2_500_000_000}
	for _, c := range []struct {
		rec  EpochRecord
		want string
	}{
		{EpochRecord{Epoch: 7, ATX: atx, ATXListed: true, Rewards: listed}, "✓ 2.5 SMH"},
		{EpochRecord{Epoch: 7, ATX: atx, ATXListed: true, Rewards: listed,
			Eligibilities: Eligibilities{N: 3, Layers: 3, Known: true}}, "✓ 2.5 SMH · 2 of 3 rewards"},
		{EpochRecord{Epoch: 7}, "?"},
		{EpochRecord{Epoch: 7, Proof: ProofStep{Failed: true}}, "✗ " + WhyProofFailed},
	} {
		if got := EpochCell(c.rec); got != c.want {
			t.Errorf("EpochCell = %q, want %q", got, c.want)
		}
	}
}
