package ui

import (
	"slices"
	"strings"
	"testing"

	"postdeck/model"
)

// withEpochs is the demo snapshot with ledger records set by hand, as the
// keeper's hook would fill Row.Epochs: post0 earned in epoch 40, post1
// was never registered at a PoET, post2 was not observed, post5 earned
// fewer rewards than promised; epoch 41 is still running for all.
func withEpochs() model.Snapshot {
	s := demo()
	atx := func(name string, e uint32) *model.ATX {
		return &model.ATX{ID: []byte{byte(e), 1, 2}, SmesherID: idOf(name), PublishEpoch: e, Weight: 1200 + uint64(e), NumUnits: 4}
	}
	watched := model.Step{Watched: true}
	for i := range s.Rows {
		r := &s.Rows[i]
		base := func(e uint32) model.EpochRecord {
			return model.EpochRecord{Name: r.Name, ID: r.ID, Epoch: e, ATXListed: true,
				Rewards: model.EpochRewards{Epoch: e + 1, Listed: true}}
		}
		earned := base(39)
		earned.ATX = atx(r.Name, 39)
		earned.Rewards.Count, earned.Rewards.Sum = 4, 8_000_000_000
		earned.Proof.K2Pow, earned.Proof.Disk = 1800e9, 3725e9
		last := base(40)
		switch r.Name {
		case "post0.key":
			last.ATX = atx(r.Name, 40)
			last.Rewards.Count, last.Rewards.Sum = 5, 12_400_000_000
		case "post1.key":
			last.Registration, last.PoetProof, last.Proof.Watched = watched, watched, true
		case "post2.key":
			last.ATXListed = false
		case "post5.key":
			last.ATX = atx(r.Name, 40)
			last.Rewards.Count, last.Rewards.Sum = 3, 7_000_000_000
			last.Eligibilities = model.Eligibilities{N: 4, Layers: 4, Known: true}
		default:
			continue // post3, post4: no ledger record
		}
		open := base(41)
		open.Open, open.RewardsOpen, open.ATXListed, open.Rewards.Listed = true, true, false, false
		r.Epochs = []model.EpochRecord{earned, last, open}
	}
	return s
}

func TestLastEpochColumnAtEverySize(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
		s := withEpochs()
		m := newTest(t, size[0], size[1], &s)
		v := screen(m)
		mustContain(t, v, "LAST EPOCH", "HEALTH")
		mustContain(t, lineWith(v, "post0.key"), "✓ 12.4 SMH")
		mustContain(t, lineWith(v, "post2.key"), "?")
		mustContain(t, lineWith(v, "post1.key"), "✗ no PoET")
		mustContain(t, lineWith(v, "post5.key"), "✓ 7 SMH")
		if size[0] >= 120 {
			mustContain(t, lineWith(v, "post1.key"), "✗ no PoET registration")
		}
		for l := range strings.SplitSeq(v, "\n") {
			if w := cellWidth(l); w > size[0] {
				t.Errorf("%dx%d: a line is %d wide: %q", size[0], size[1], w, l)
			}
		}
	}
}

func TestLastEpochColumnStaysAwayWithoutLedger(t *testing.T) {
	s := demo()
	m := newTest(t, 200, 30, &s)
	mustNotContain(t, screen(m), "LAST EPOCH")
}

func TestLastEpochSortsMissingATXFirst(t *testing.T) {
	s := withEpochs()
	m := newTest(t, 200, 30, &s)
	press(m, "8")
	v := screen(m)
	// The missing ATX, then not observed, then by rewards.
	if p := order(v, "post1.key", "post2.key", "post5.key", "post0.key"); !slices.IsSorted(p) || !strings.Contains(v, "LAST EPOCH▲") {
		t.Errorf("not sorted ✗, ?, then by rewards: %v\n%s", p, v)
	}
}

func TestDetailShowsEpochTimelineAndWhy(t *testing.T) {
	s := withEpochs()
	m := newTest(t, 120, 60, &s)
	press(m, "/", "post1", "enter", "enter")
	v := screen(m)
	mustContain(t, v, "Last epoch", "epoch 40: ✗ no PoET registration",
		"Epochs (3, newest first)",
		"epoch 41  ATX … epoch still running",
		"epoch 40  ATX ✗  ·  rewards in epoch 41: 0, 0 SMH  —  no PoET registration",
		"epoch 39  ATX ✓ weight 1239, 4 units  ·  proof k2pow 30m0s, read 1h2m5s  ·  rewards in epoch 40: 4, 8 SMH")
	// The why-line sits near the top, above the health flags.
	if strings.Index(v, "Last epoch") > strings.Index(v, "Health (") {
		t.Errorf("the last epoch's why-line is below the health section:\n%s", v)
	}

	press(m, "esc", "esc", "/", "post2", "enter", "enter")
	mustContain(t, screen(m), "epoch 40: ? — postdeck was not running")

	press(m, "esc", "esc", "/", "post5", "enter", "enter")
	mustContain(t, screen(m), "epoch 40: ✓ 7 SMH · 3 of 4 rewards")
}

func TestHelpExplainsLastEpoch(t *testing.T) {
	s := withEpochs()
	m := newTest(t, 200, 60, &s)
	press(m, "?")
	mustContain(t, screen(m), "8 LAST EPOCH", "9 HEALTH", "LAST EPOCH is the newest complete publish epoch", "postdeck history prints it")
}

func TestFilterFindsTheWhyLine(t *testing.T) {
	s := withEpochs()
	m := newTest(t, 200, 30, &s)
	press(m, "/", "no poet", "enter")
	v := screen(m)
	mustContain(t, v, "post1.key")
	mustNotContain(t, v, "post0.key", "post2.key")
}
