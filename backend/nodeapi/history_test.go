package nodeapi

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"postdeck/backend/testkit"
	"postdeck/model"
	"postdeck/sim"
)

func startHistorySim(t testing.TB, opts sim.Options) (*sim.Sim, *Client) {
	t.Helper()
	opts.Manual, opts.Now = true, testkit.Clock.Now
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s, err := sim.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, newNode(t, simNodeOptions(s.Layout()))
}

func nodeIDs(l sim.Layout) [][]byte {
	var ids [][]byte
	for _, svc := range l.Services {
		ids = append(ids, svc.NodeID)
	}
	return ids
}

func sameATXs(a, b []model.ATX) bool {
	return slices.EqualFunc(a, b, func(x, y model.ATX) bool {
		return bytes.Equal(x.ID, y.ID) && bytes.Equal(x.SmesherID, y.SmesherID) && x.PublishEpoch == y.PublishEpoch &&
			x.Weight == y.Weight && x.NumUnits == y.NumUnits
	})
}

func sameRewards(a, b []model.Reward) bool {
	return slices.EqualFunc(a, b, func(x, y model.Reward) bool {
		return x.Layer == y.Layer && x.Total == y.Total && x.LayerReward == y.LayerReward && x.Coinbase == y.Coinbase &&
			bytes.Equal(x.Smesher, y.Smesher)
	})
}

func TestATXsPageThroughTheWholeHistory(t *testing.T) {
	s, c := startHistorySim(t, sim.Options{IDs: 30, HistoryEpochs: 10, Seed: 4})
	want := s.HistoryATXs()
	got, err := c.ATXs(context.Background(), nodeIDs(s.Layout()), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) <= 2*PageSize || !sameATXs(got, want) {
		t.Fatalf("got %d ATXs, the node holds %d (more than two pages)", len(got), len(want))
	}
	pages := s.Calls("/spacemesh.v2alpha1.ActivationService/List")
	if pages != len(want)/PageSize+1 {
		t.Errorf("%d List calls for %d ATXs of %d a page", pages, len(want), PageSize)
	}
}

func TestHistoryFilters(t *testing.T) {
	s, c := startHistorySim(t, sim.Options{IDs: 8, HistoryEpochs: 50, Seed: 6})
	ce, ids := s.CurrentEpoch(), nodeIDs(s.Layout())
	pick := [][]byte{ids[2], ids[5]}
	var wantATXs []model.ATX
	for _, a := range s.HistoryATXs() {
		if (bytes.Equal(a.SmesherID, ids[2]) || bytes.Equal(a.SmesherID, ids[5])) && a.PublishEpoch >= ce-20 && a.PublishEpoch <= ce-5 {
			wantATXs = append(wantATXs, a)
		}
	}
	atxs, err := c.ATXs(context.Background(), pick, ce-20, ce-5)
	if err != nil || len(wantATXs) < 25 || !sameATXs(atxs, wantATXs) {
		t.Errorf("ATXs of two identities in 16 epochs: %d, %v; want %d", len(atxs), err, len(wantATXs))
	}

	// ids[6] is an ordinary identity: 4 and 5 are the simulator's cases
	// without an ATX (so without rewards) in the last past epoch.
	const layers = 4032
	from, to := (ce-49)*layers, (ce-1)*layers+17
	var wantRewards []model.Reward
	for _, r := range s.HistoryRewards() {
		if bytes.Equal(r.Smesher, ids[6]) && r.Layer >= from && r.Layer <= to {
			wantRewards = append(wantRewards, r)
		}
	}
	rewards, err := c.Rewards(context.Background(), ids[6], from, to)
	if err != nil || len(wantRewards) <= PageSize || !sameRewards(rewards, wantRewards) {
		t.Errorf("rewards of one identity in 49 epochs: %d, %v; want %d (more than a page)", len(rewards), err, len(wantRewards))
	}
	all, err := c.Rewards(context.Background(), ids[6], 0, 0)
	if err != nil || len(all) <= len(rewards) || all[len(all)-1].Layer > (ce+1)*layers {
		t.Errorf("all rewards: %d, %v", len(all), err)
	}

	stranger := bytes.Repeat([]byte{7}, 32) // an identity the node does not know
	if a, err := c.ATXs(context.Background(), [][]byte{stranger}, 0, 0); err != nil || len(a) != 0 {
		t.Errorf("ATXs of an unknown identity: %v, %v", a, err)
	}
	if r, err := c.Rewards(context.Background(), stranger, 0, 0); err != nil || len(r) != 0 {
		t.Errorf("rewards of an unknown identity: %v, %v", r, err)
	}
}

// The node refuses a page of 0 and one over 100: PageSize is the largest it takes.
func TestHistoryLimitRules(t *testing.T) {
	_, c := startHistorySim(t, sim.Options{IDs: 2})
	l, _ := c.listenerFor(rolePublic)
	for _, r := range []rpc{rpcATXsAlpha, rpcRewardsAlpha, rpcMalfeasanceAlpha} {
		for _, limit := range []uint64{0, PageSize + 1, PageSize} {
			_, err := l.callWith(context.Background(), r, func(req protoreflect.Message) error {
				return setFields(req, map[string]any{"limit": limit})
			})
			if wantOK := limit == PageSize; wantOK != (err == nil) || !wantOK && status.Code(err) != codes.InvalidArgument {
				t.Errorf("%s limit %d: %v", r.fullName(), limit, err)
			}
		}
	}
}

func TestNodeWithoutV2SaysWhichKeyEnablesIt(t *testing.T) {
	s, c := startHistorySim(t, sim.Options{IDs: 2, WithoutV2: true})
	ids := nodeIDs(s.Layout())
	_, errA := c.ATXs(context.Background(), ids, 0, 0)
	_, errR := c.Rewards(context.Background(), ids[0], 0, 0)
	_, errM := c.Malfeasance(context.Background(), ids)
	for key, err := range map[string]error{"activation_v2alpha1": errA, "reward_v2alpha1": errR, "malfeasance_v2alpha1": errM} {
		var unavailable *HistoryUnavailableError
		if !errors.As(err, &unavailable) || unavailable.ConfigKey != key {
			t.Errorf("%s: %v", key, err)
			continue
		}
		testkit.WantErr(t, err, s.Layout().PublicListener, `add "`+key+`" to "grpc-public-services" in the "api" section`)
	}
	if v := c.View(context.Background()); len(v.Errors) != 0 || !v.HasStatus {
		t.Errorf("the rest of the node, without v2: %+v", v.Errors)
	}
}

func TestMalfeasance(t *testing.T) {
	s, c := startHistorySim(t, sim.Options{IDs: 5, Malicious: true})
	ids := nodeIDs(s.Layout())
	got, err := c.Malfeasance(context.Background(), ids)
	bad := s.HistoryCases().Malicious
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].SmesherID, bad) || got[0].Kind != "double publish of an ATX" {
		t.Fatalf("malfeasance %+v, %v; want one for %x", got, err, bad)
	}
	if got, err := c.Malfeasance(context.Background(), [][]byte{ids[0]}); err != nil || len(got) != 0 {
		t.Errorf("an honest identity: %+v, %v", got, err)
	}
}

func TestHistoryHonoursTheContext(t *testing.T) {
	s, c := startHistorySim(t, sim.Options{IDs: 3})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := testkit.NoHang(t, "ATXs on a canceled context", func() error {
		_, err := c.ATXs(ctx, nodeIDs(s.Layout()), 0, 0)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("ATXs on a canceled context: %v", err)
	}
}

// An accepted proof reaches the client twice over: atx_published in the
// event stream, with its target epoch and id, and the ATX in List.
func TestAcceptedProofInEventsAndList(t *testing.T) {
	s, c := startHistorySim(t, sim.Options{IDs: 3})
	f := runFeed(t, c, EventFeedOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	id := s.Layout().Services[1].NodeID
	testkit.Eventually(t, 5*time.Second, "stream up", func() bool { return f.Stats().Connected })
	s.AcceptProof(id)
	var pub *model.Event
	testkit.Eventually(t, 5*time.Second, "atx_published", func() bool {
		for _, e := range f.Timeline(id) {
			if e.Kind == "atx_published" {
				pub = &e
			}
		}
		return pub != nil
	})
	ce := s.CurrentEpoch()
	atxs, err := c.ATXs(context.Background(), [][]byte{id}, ce, ce)
	if err != nil || len(atxs) != 1 || pub.Epoch != ce+1 || !bytes.Equal(pub.ATXID, atxs[0].ID) {
		t.Errorf("event %+v, ATXs of epoch %d %+v, %v", pub, ce, atxs, err)
	}
}

// The backfill: 1000 identities × 50 epochs of ATXs and rewards
// from the simulator, under 10 s in all. Rewards are asked per identity,
// four at a time, as a backfill would.
func BenchmarkHistoryBackfill1000x50(b *testing.B) {
	s, c := startHistorySim(b, sim.Options{IDs: 1000, HistoryEpochs: 50, Seed: 2})
	ids := nodeIDs(s.Layout())
	b.ResetTimer()
	for range b.N {
		atxs, err := c.ATXs(context.Background(), ids, 0, 0)
		if err != nil || len(atxs) < 45_000 {
			b.Fatalf("%d ATXs, %v", len(atxs), err)
		}
		next := make(chan []byte)
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				var first error
				for id := range next { // drained even after an error, so the sender never blocks
					if _, err := c.Rewards(context.Background(), id, 0, 0); err != nil && first == nil {
						first = err
					}
				}
				errs <- first
			}()
		}
		for _, id := range ids {
			next <- id
		}
		close(next)
		for range 4 {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
}

// A node with both versions is asked in v2beta1 only, and answers the same.
func TestHistoryPrefersV2Beta1(t *testing.T) {
	s, c := startHistorySim(t, sim.Options{IDs: 4, V2Beta1: true, Malicious: true})
	ids := nodeIDs(s.Layout())
	atxs, errA := c.ATXs(context.Background(), ids, 0, 0)
	rewards, errR := c.Rewards(context.Background(), ids[0], 0, 0)
	bad, errM := c.Malfeasance(context.Background(), ids)
	if errA != nil || errR != nil || errM != nil || !sameATXs(atxs, s.HistoryATXs()) || len(rewards) == 0 || len(bad) != 1 {
		t.Fatalf("ATXs %d %v, rewards %d %v, malfeasance %d %v", len(atxs), errA, len(rewards), errR, len(bad), errM)
	}
	for _, svc := range []string{"ActivationService", "RewardService", "MalfeasanceService"} {
		beta, alpha := s.Calls("/spacemesh.v2beta1."+svc+"/List"), s.Calls("/spacemesh.v2alpha1."+svc+"/List")
		if beta == 0 || alpha != 0 {
			t.Errorf("%s: %d v2beta1 calls, %d v2alpha1", svc, beta, alpha)
		}
	}
}
