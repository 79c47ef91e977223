package sim

import (
	"context"
	"slices"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// maxListLimit is the most items one v2alpha1 List returns; the node
// refuses a larger limit, and a zero one, rather than choose for the caller.
const maxListLimit = 100

// historyServices are the history services of one API version
// ("spacemesh.v2alpha1", "spacemesh.v2beta1") on the public listener.
func (s *Sim) historyServices(pkg string) []*grpc.ServiceDesc {
	var descs []*grpc.ServiceDesc
	for _, svc := range []struct {
		name string
		list func(pkg string, req *dynamicpb.Message) (proto.Message, error)
	}{{"ActivationService", s.activations}, {"RewardService", s.rewards}, {"MalfeasanceService", s.malfeasance}} {
		list := func(_ context.Context, req *dynamicpb.Message) (proto.Message, error) { return svc.list(pkg, req) }
		descs = append(descs, serviceDesc(s.schema.service(pkg+"."+svc.name), impl{unary: map[string]unaryFunc{"List": list}}))
	}
	return descs
}

// page reads offset and limit and checks the limit as the node does.
func page(req protoreflect.Message) (offset, limit int, err error) {
	l := req.Get(field(req, "limit")).Uint()
	switch {
	case l == 0:
		return 0, 0, status.Error(codes.InvalidArgument, "limit must be set to <= 100")
	case l > maxListLimit:
		return 0, 0, status.Error(codes.InvalidArgument, "limit is capped at 100")
	}
	o := req.Get(field(req, "offset")).Uint()
	return int(min(o, 1<<31)), int(l), nil
}

// bytesSet is a repeated bytes field as a set; nil when the field is empty
// (no filter).
func bytesSet(req protoreflect.Message, name string) map[string]bool {
	l := req.Get(field(req, name)).List()
	if l.Len() == 0 {
		return nil
	}
	set := make(map[string]bool, l.Len())
	for i := range l.Len() {
		set[string(l.Get(i).Bytes())] = true
	}
	return set
}

// atxFilter is one ActivationService.List filter and the indexes of the
// ATXs it matched, kept so that paging through it costs one page a call.
type atxFilter struct {
	valid   bool
	key     string
	gen     int
	matches []int
}

func (s *Sim) activations(pkg string, req *dynamicpb.Message) (proto.Message, error) {
	offset, limit, err := page(req)
	if err != nil {
		return nil, err
	}
	h := &s.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	matches := s.matchATXs(req)
	resp := s.schema.msg(pkg + ".ActivationList")
	out := list(resp, "activations")
	for _, i := range window(matches, offset, limit) {
		a := h.atxs[i]
		m := out.NewElement().Message()
		set(m, "id", a.id)
		set(m, "smesher_id", h.pubs[a.who])
		set(m, "publish_epoch", a.epoch)
		set(m, "coinbase", simCoinbase)
		set(m, "weight", a.weight)
		set(m, "height", uint64(a.epoch)*100)
		set(m, "num_units", a.units)
		out.Append(protoreflect.ValueOfMessage(m))
	}
	if resp.Descriptor().Fields().ByName("total") != nil { // v2alpha1 only
		set(resp, "total", uint32(len(matches)))
	}
	return resp, nil
}

// matchATXs is the indexes of the ATXs the request's filters match, in
// order; s.hist.mu must be held.
func (s *Sim) matchATXs(req protoreflect.Message) []int {
	h := &s.hist
	key, err := proto.MarshalOptions{Deterministic: true}.Marshal(filterOnly(req))
	if err == nil && h.cache.valid && string(key) == h.cache.key && h.cache.gen == h.gen {
		return h.cache.matches
	}
	start := uint32(req.Get(field(req, "start_epoch")).Uint())
	end := uint32(req.Get(field(req, "end_epoch")).Uint())
	ids, smeshers := bytesSet(req, "id"), bytesSet(req, "smesher_id")
	coinbase := req.Get(field(req, "coinbase")).String()
	first, _ := slices.BinarySearchFunc(h.atxs, start, func(a atxRec, e uint32) int { return int(a.epoch) - int(e) })
	var matches []int
	for i := first; i < len(h.atxs); i++ {
		a := h.atxs[i]
		if end != 0 && a.epoch > end {
			break
		}
		if (ids == nil || ids[string(a.id)]) && (smeshers == nil || smeshers[string(h.pubs[a.who])]) &&
			(coinbase == "" || coinbase == simCoinbase) {
			matches = append(matches, i)
		}
	}
	h.cache = atxFilter{valid: err == nil, key: string(key), gen: h.gen, matches: matches}
	return matches
}

// filterOnly is the request without its paging fields.
func filterOnly(req protoreflect.Message) proto.Message {
	c := proto.Clone(req.Interface()).ProtoReflect()
	c.Clear(field(c, "offset"))
	c.Clear(field(c, "limit"))
	return c.Interface()
}

// window is the page [offset, offset+limit) of items.
func window[T any](items []T, offset, limit int) []T {
	if offset >= len(items) {
		return nil
	}
	return items[offset:min(len(items), offset+limit)]
}

func (s *Sim) rewards(pkg string, req *dynamicpb.Message) (proto.Message, error) {
	offset, limit, err := page(req)
	if err != nil {
		return nil, err
	}
	top := s.topLayer()
	start := uint32(req.Get(field(req, "start_layer")).Uint())
	end := uint32(req.Get(field(req, "end_layer")).Uint())
	if end == 0 || end > top {
		end = top // layers to come have paid nothing yet
	}
	h := &s.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	rewards := h.rewards
	if req.Has(field(req, "smesher")) {
		rewards = nil
		if who, ok := h.index[string(req.Get(field(req, "smesher")).Bytes())]; ok {
			rewards = h.byWho[who]
		}
	}
	if c := field(req, "coinbase"); req.Has(c) && req.Get(c).String() != simCoinbase {
		rewards = nil
	}
	lo, _ := slices.BinarySearchFunc(rewards, start, func(r rewardRec, l uint32) int { return int(r.layer) - int(l) })
	hi, _ := slices.BinarySearchFunc(rewards, end+1, func(r rewardRec, l uint32) int { return int(r.layer) - int(l) })
	rewards = rewards[lo:max(lo, hi)]
	desc := req.Get(field(req, "sort_order")).Enum() == 1
	resp := s.schema.msg(pkg + ".RewardList")
	out := list(resp, "rewards")
	for i := offset; i < min(len(rewards), offset+limit); i++ {
		r := rewards[i]
		if desc {
			r = rewards[len(rewards)-1-i]
		}
		m := out.NewElement().Message()
		set(m, "layer", r.layer)
		set(m, "total", r.total)
		set(m, "layer_reward", uint64(layerReward))
		set(m, "coinbase", simCoinbase)
		set(m, "smesher", h.pubs[r.who])
		out.Append(protoreflect.ValueOfMessage(m))
	}
	return resp, nil
}

func (s *Sim) malfeasance(pkg string, req *dynamicpb.Message) (proto.Message, error) {
	offset, limit, err := page(req)
	if err != nil {
		return nil, err
	}
	smeshers := bytesSet(req, "smesher_id")
	h := &s.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	var matches []int
	for _, who := range h.malicious {
		if smeshers == nil || smeshers[string(h.pubs[who])] {
			matches = append(matches, who)
		}
	}
	resp := s.schema.msg(pkg + ".MalfeasanceList")
	out := list(resp, "proofs")
	for _, who := range window(matches, offset, limit) {
		m := out.NewElement().Message()
		set(m, "smesher", h.pubs[who])
		set(m, "type", uint32(1)) // double publish of an ATX
		props := m.Mutable(field(m, "properties")).Map()
		props.Set(protoreflect.ValueOfString("epoch").MapKey(), protoreflect.ValueOfString(strconv.Itoa(int(h.cases.FailedEpoch))))
		out.Append(protoreflect.ValueOfMessage(m))
	}
	return resp, nil
}
