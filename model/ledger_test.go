package model

import (
	"encoding/json"
	"testing"
	"time"
)

func TestWhyNamesTheFirstStepThatFailed(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seen := Step{Done: true, At: at, Watched: true}
	watched := Step{Watched: true}
	atx := &ATX{ID: []byte{1}, PublishEpoch: 5, Weight: 10, NumUnits: 4}
	done := ProofStep{Started: at, Completed: at.Add(time.Hour), Watched: true}
	// base is an epoch postdeck watched from start to end, with no ATX in
	// the node's history.
	base := func() EpochRecord {
		return EpochRecord{Epoch: 5, ATXListed: true, Registration: seen, PoetProof: seen, Proof: done}
	}
	rewarded := func(n, eligible int) EpochRecord {
		r := base()
		r.ATX = atx
		r.Rewards = EpochRewards{Epoch: 6, Count: n, Sum: uint64(n) * 100, Listed: true}
		r.Eligibilities = Eligibilities{N: 2 * eligible, Layers: eligible, Known: true} // two a layer
		return r
	}
	tests := []struct {
		name string
		edit func(*EpochRecord)
		want string
	}{
		{"nothing known", func(r *EpochRecord) { *r = EpochRecord{Epoch: 5, ATXListed: true} }, WhyNotObserved},
		{"ATX listed, steps not watched", func(r *EpochRecord) {
			r.Registration, r.PoetProof, r.Proof = Step{}, Step{}, ProofStep{}
		}, WhyNotObserved},
		{"watched, never registered", func(r *EpochRecord) {
			r.Registration, r.PoetProof, r.Proof = watched, watched, ProofStep{Watched: true}
		}, WhyNoRegistration},
		{"registered, PoET proof never came", func(r *EpochRecord) {
			r.PoetProof, r.Proof = watched, ProofStep{Watched: true}
		}, WhyPoetNotFetched},
		{"registration unknown, PoET proof missing", func(r *EpochRecord) {
			r.Registration, r.PoetProof, r.Proof = Step{}, watched, ProofStep{Watched: true}
		}, WhyNotObserved},
		{"PoET proof, PoST never started", func(r *EpochRecord) { r.Proof = ProofStep{Watched: true} }, WhyProofLate + ": it never started"},
		{"PoST failed", func(r *EpochRecord) { r.Proof.Failed = true }, WhyProofFailed},
		{"PoST failed while the epoch runs", func(r *EpochRecord) { r.Proof.Failed, r.Open = true, true }, WhyProofFailed},
		{"PoST completed late", func(r *EpochRecord) { r.Proof.Late = true }, WhyProofLate},
		{"PoST started, never done", func(r *EpochRecord) { r.Proof.Completed = time.Time{} }, WhyProofLate + ": not done by the end of epoch 5"},
		{"PoST started, end not watched", func(r *EpochRecord) {
			r.Proof.Completed, r.Proof.Watched = time.Time{}, false
		}, WhyNotObserved},
		{"proof done, no ATX", func(*EpochRecord) {}, WhyATXNotPublished},
		{"proof done, node out of sync", func(r *EpochRecord) { r.EpochOutOfSync = true }, WhyOutOfSync},
		{"proof done, history not read", func(r *EpochRecord) { r.ATXListed = false }, WhyNotObserved},
		{"epoch still open", func(r *EpochRecord) { r.Open = true }, ""},
		{"ATX and all rewards", func(r *EpochRecord) { *r = rewarded(3, 3) }, ""},
		{"ATX, rewards epoch open", func(r *EpochRecord) { *r = rewarded(1, 3); r.RewardsOpen = true }, ""},
		{"ATX, eligibilities unknown", func(r *EpochRecord) { *r = rewarded(0, 0); r.Eligibilities = Eligibilities{} }, ""},
		{"ATX, no eligibility", func(r *EpochRecord) { *r = rewarded(0, 0) }, WhyNoEligibility},
		{"ATX, fewer rewards out of sync", func(r *EpochRecord) {
			*r = rewarded(1, 3)
			r.RewardsOutOfSync = true
		}, WhyOutOfSync + ": 1 of 3 rewards"},
		{"ATX, proposals missed", func(r *EpochRecord) {
			*r = rewarded(1, 3)
			r.Proposals = Count{N: 1, Known: true}
		}, "1 of 3 proposals published"},
		{"ATX, fewer rewards", func(r *EpochRecord) { *r = rewarded(2, 3) }, "2 of 3 rewards"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.edit(&r)
			if got := Why(r); got != tc.want {
				t.Errorf("Why = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHistoryJSONIsTheContract(t *testing.T) {
	recs := []EpochRecord{
		{Name: "post0.key", ID: []byte{0xab, 0x01}, Epoch: 7, ATXListed: true,
			ATX:     &ATX{ID: []byte{0xcd}, PublishEpoch: 7, Weight: 1234, NumUnits: 4},
			Rewards: EpochRewards{Epoch: 8, Count: 2, Sum: 5000, Listed: true}},
		{Name: "post1.key", ID: []byte{0x02}, Epoch: 7, ATXListed: true, Malicious: true},
	}
	out := make([]HistoryRecord, len(recs))
	for i, r := range recs {
		out[i] = r.History()
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"name":"post0.key","id":"ab01","publish_epoch":7,"atx":{"id":"cd","weight":1234,"num_units":4},"rewards":{"epoch":8,"count":2,"sum":5000},"malicious":false,"why":""},` +
		`{"name":"post1.key","id":"02","publish_epoch":7,"atx":null,"rewards":{"epoch":8,"count":0,"sum":0},"malicious":true,"why":"not observed"}]`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}
