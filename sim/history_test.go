package sim

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"postdeck/model"
)

// list calls a v2alpha1 List on the public listener with a request fill sets.
func listCall(t *testing.T, s *Sim, cc *grpc.ClientConn, service string, fill func(req *dynamicpb.Message)) (*dynamicpb.Message, error) {
	t.Helper()
	sd := s.schema.service("spacemesh.v2alpha1." + service)
	md := sd.Methods().ByName("List")
	req, resp := dynamicpb.NewMessage(md.Input()), dynamicpb.NewMessage(md.Output())
	fill(req)
	err := cc.Invoke(ctxFor(t, 5*time.Second), "/spacemesh.v2alpha1."+service+"/List", req, resp)
	return resp, err
}

func TestHistoryListRefusesLimitsOutside1To100(t *testing.T) {
	s := startSim(t, Options{IDs: 3, Manual: true})
	cc := dial(t, s.Layout().PublicListener)
	for _, svc := range []string{"ActivationService", "RewardService", "MalfeasanceService"} {
		for _, limit := range []uint64{0, 101} {
			_, err := listCall(t, s, cc, svc, func(req *dynamicpb.Message) { set(req, "limit", limit) })
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("%s limit %d: %v, want InvalidArgument", svc, limit, err)
			}
		}
		if _, err := listCall(t, s, cc, svc, func(req *dynamicpb.Message) { set(req, "limit", uint64(100)) }); err != nil {
			t.Errorf("%s limit 100: %v", svc, err)
		}
	}
}

// readATXs pages through ActivationService.List with the given page size.
func readATXs(t *testing.T, s *Sim, cc *grpc.ClientConn, limit uint64, fill func(*dynamicpb.Message)) (ids [][]byte, epochs []uint32) {
	t.Helper()
	for offset := uint64(0); ; offset += limit {
		resp, err := listCall(t, s, cc, "ActivationService", func(req *dynamicpb.Message) {
			fill(req)
			set(req, "limit", limit)
			set(req, "offset", offset)
		})
		if err != nil {
			t.Fatal(err)
		}
		l := resp.Get(field(resp, "activations")).List()
		for i := range l.Len() {
			a := l.Get(i).Message()
			ids = append(ids, a.Get(field(a, "id")).Bytes())
			epochs = append(epochs, uint32(a.Get(field(a, "publish_epoch")).Uint()))
		}
		if uint64(l.Len()) < limit {
			return ids, epochs
		}
	}
}

func TestHistoryATXsPageInOrderAndFilter(t *testing.T) {
	s := startSim(t, Options{IDs: 6, Manual: true, HistoryEpochs: 10, Seed: 3})
	cc := dial(t, s.Layout().PublicListener)
	all := s.HistoryATXs()
	ids, epochs := readATXs(t, s, cc, 7, func(*dynamicpb.Message) {})
	if len(ids) != len(all) || len(all) < 50 {
		t.Fatalf("paged %d ATXs, the node holds %d", len(ids), len(all))
	}
	for i := range ids {
		if !bytes.Equal(ids[i], all[i].ID) || epochs[i] != all[i].PublishEpoch {
			t.Fatalf("ATX %d: epoch %d id %x, want %d %x", i, epochs[i], ids[i], all[i].PublishEpoch, all[i].ID)
		}
		if i > 0 && (epochs[i] < epochs[i-1] || epochs[i] == epochs[i-1] && bytes.Compare(ids[i-1], ids[i]) >= 0) {
			t.Fatalf("ATX %d is not after ATX %d by epoch then id", i, i-1)
		}
	}
	who := s.Layout().Services[4].NodeID
	ce := s.CurrentEpoch()
	_, epochs = readATXs(t, s, cc, 100, func(req *dynamicpb.Message) {
		list(req, "smesher_id").Append(protoreflect.ValueOfBytes(who))
		set(req, "start_epoch", ce-4)
		set(req, "end_epoch", ce-2)
	})
	var want []uint32
	for _, a := range all {
		if bytes.Equal(a.SmesherID, who) && a.PublishEpoch >= ce-4 && a.PublishEpoch <= ce-2 {
			want = append(want, a.PublishEpoch)
		}
	}
	if !slices.Equal(epochs, want) || len(want) == 0 {
		t.Errorf("filtered epochs %v, want %v", epochs, want)
	}
}

func TestHistoryShape(t *testing.T) {
	s := startSim(t, Options{IDs: 20, Manual: true, HistoryEpochs: 50, Seed: 9})
	ce, cases := s.CurrentEpoch(), s.HistoryCases()
	atxs, rewards := s.HistoryATXs(), s.HistoryRewards()
	type key struct {
		id    string
		epoch uint32
	}
	has := map[key]bool{}
	for _, a := range atxs {
		has[key{string(a.SmesherID), a.PublishEpoch}] = true
		if a.PublishEpoch >= ce || a.PublishEpoch < ce-50 {
			t.Fatalf("ATX in epoch %d, current %d", a.PublishEpoch, ce)
		}
	}
	if len(atxs) < 20*50*9/10 || len(atxs) == 20*50 {
		t.Errorf("%d ATXs of 20 identities in 50 epochs: want most, not all", len(atxs))
	}
	if has[key{string(cases.MissedATX), cases.MissedEpoch}] || cases.MissedEpoch != ce-2 {
		t.Errorf("missed case %x in %d has an ATX", cases.MissedATX, cases.MissedEpoch)
	}
	if has[key{string(cases.FailedProof), cases.FailedEpoch}] || cases.FailedEpoch != ce-1 {
		t.Errorf("failed case %x in %d has an ATX", cases.FailedProof, cases.FailedEpoch)
	}
	top := s.topLayer()
	for _, r := range rewards {
		if !has[key{string(r.Smesher), r.Epoch(epochSize) - 1}] {
			t.Fatalf("reward in layer %d without an ATX the epoch before", r.Layer)
		}
		if r.Layer > top || r.Total < r.LayerReward {
			t.Fatalf("reward %+v, top layer %d", r, top)
		}
	}
	again := startSim(t, Options{IDs: 20, Manual: true, HistoryEpochs: 50, Seed: 9})
	if !slices.EqualFunc(again.HistoryATXs(), atxs, func(a, b model.ATX) bool { return bytes.Equal(a.ID, b.ID) && a.Weight == b.Weight }) {
		t.Error("the same seed made another history")
	}
}

func TestNodeWithoutV2(t *testing.T) {
	s := startSim(t, Options{IDs: 2, Manual: true, WithoutV2: true})
	cc := dial(t, s.Layout().PublicListener)
	_, err := listCall(t, s, cc, "RewardService", func(req *dynamicpb.Message) { set(req, "limit", uint64(10)) })
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("RewardService.List on a node without v2: %v", err)
	}
	if _, err := call(t, cc, "spacemesh.v1.NodeService", "Status"); err != nil {
		t.Errorf("NodeService on a node without v2: %v", err)
	}
}

func TestHistoryEventsReplayTheLastEpoch(t *testing.T) {
	s := startSim(t, Options{IDs: 4, HistoryEpochs: 3, Seed: 5})
	replay, sub := s.events.subscribe()
	s.events.unsubscribe(sub)
	ce, cases := s.CurrentEpoch(), s.HistoryCases()
	first := s.Layout().Services[0].NodeID
	var atx0 []byte
	for _, a := range s.HistoryATXs() {
		if bytes.Equal(a.SmesherID, first) && a.PublishEpoch == ce-1 {
			atx0 = a.ID
		}
	}
	var failed, published, eligible, registered bool
	for _, e := range replay {
		s.eventMessage(e) // every field it sets is in the schema, or it panics
		switch {
		case e.kind == evPostComplete && e.failure:
			failed = failed || bytes.Equal(e.smesher, cases.FailedProof)
		case e.kind == evAtxPublished && bytes.Equal(e.smesher, first):
			published = published || e.current == ce-1 && e.target == ce && bytes.Equal(e.atx, atx0)
		case e.kind == evEligibilities && bytes.Equal(e.smesher, first):
			eligible = eligible || e.target == ce && len(e.layers) > 0
		case e.kind == evRegisteredInPoet && e.target == ce:
			registered = registered || e.roundEnd.Equal(mainnet.RoundEnd(uint64(ce)))
		}
		if e.at.After(s.opts.Now()) {
			t.Errorf("event %v at %v is in the node's future", e.kind, e.at)
		}
	}
	if !failed || !published || !eligible || !registered {
		t.Errorf("replay of %d events: failed proof %v, atx_published %v, eligibilities %v, registered %v",
			len(replay), failed, published, eligible, registered)
	}
}

func TestAcceptProofPublishesOneATXAnEpoch(t *testing.T) {
	s := startSim(t, Options{IDs: 2, Manual: true})
	id := s.Layout().Services[1].NodeID
	before := len(s.HistoryATXs())
	recv := eventsClient(t, s, ctxFor(t, 5*time.Second))
	s.AcceptProof(id)
	s.AcceptProof(id)
	var kinds []string
	for range 7 { // post_complete, atx_published, window, registered, then the same but the ATX
		ev, err := recv()
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, ev.kind)
	}
	want := []string{"post_complete", "atx_published", "waiting_for_poet_registration_window", "registered_in_poet",
		"post_complete", "waiting_for_poet_registration_window", "registered_in_poet"}
	if !slices.Equal(kinds, want) {
		t.Errorf("events %v\nwant %v", kinds, want)
	}
	if after := s.HistoryATXs(); len(after) != before+1 || after[len(after)-1].PublishEpoch != s.CurrentEpoch() {
		t.Errorf("ATXs %d → %d", before, len(after))
	}
}

func TestHistoryRewardsOrderAndFilters(t *testing.T) {
	s := startSim(t, Options{IDs: 4, Manual: true, HistoryEpochs: 20, Seed: 8})
	cc := dial(t, s.Layout().PublicListener)
	who := s.Layout().Services[3].NodeID
	layers := func(fill func(*dynamicpb.Message)) []uint32 {
		resp, err := listCall(t, s, cc, "RewardService", func(req *dynamicpb.Message) {
			set(req, "limit", uint64(100))
			fill(req)
		})
		if err != nil {
			t.Fatal(err)
		}
		var out []uint32
		l := resp.Get(field(resp, "rewards")).List()
		for i := range l.Len() {
			out = append(out, uint32(l.Get(i).Message().Get(field(l.Get(i).Message(), "layer")).Uint()))
		}
		return out
	}
	asc := layers(func(req *dynamicpb.Message) { set(req, "smesher", who) })
	desc := layers(func(req *dynamicpb.Message) {
		set(req, "smesher", who)
		set(req, "sort_order", protoreflect.EnumNumber(1))
	})
	if len(asc) < 20 || !slices.IsSorted(asc) || len(desc) != len(asc) || desc[0] != asc[len(asc)-1] {
		t.Errorf("ascending %v\ndescending %v", asc, desc)
	}
	if got := layers(func(req *dynamicpb.Message) { set(req, "coinbase", "sm1someoneelse") }); len(got) != 0 {
		t.Errorf("rewards of another coinbase: %v", got)
	}
	mid := asc[len(asc)/2]
	if got := layers(func(req *dynamicpb.Message) {
		set(req, "smesher", who)
		set(req, "start_layer", mid)
		set(req, "end_layer", mid)
	}); !slices.Equal(got, []uint32{mid}) {
		t.Errorf("layers %d to %d: %v", mid, mid, got)
	}
}

// As the top layer passes an epoch's start and its eligible layers, the
// node sends eligibilities, then a proposal for every reward.
func TestLayersBringEligibilitiesAndProposals(t *testing.T) {
	s := startSim(t, Options{IDs: 3, Manual: true})
	replay, sub := s.events.subscribe()
	defer s.events.unsubscribe(sub)
	if len(replay) != 0 {
		t.Fatalf("a manual sim replays %d events", len(replay))
	}
	ce := s.CurrentEpoch()
	s.mu.Lock()
	s.lastLayer = ce*epochSize - 1 // as if the epoch began since the last step
	s.stepLayers(s.simNow())
	s.mu.Unlock()
	var elig, proposals int
	for len(sub.ch) > 0 {
		switch e := <-sub.ch; e.kind {
		case evEligibilities:
			elig++
			if e.target != ce || len(e.layers) == 0 {
				t.Errorf("eligibilities %+v", e)
			}
		case evProposal:
			proposals++
		}
	}
	var paid, atxs int
	for _, a := range s.HistoryATXs() {
		if a.PublishEpoch == ce-1 {
			atxs++
		}
	}
	for _, r := range s.HistoryRewards() {
		if r.Epoch(epochSize) == ce {
			paid++
		}
	}
	if elig != atxs || atxs != 2 || proposals != paid {
		t.Errorf("%d eligibilities, %d proposals; want %d (one per ATX of the epoch before: not the failed proof's) and %d (the rewards paid so far this epoch)",
			elig, proposals, atxs, paid)
	}
}
