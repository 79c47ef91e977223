package sim

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"postdeck/model"
)

// The node's three listeners, in the order of Sim.listeners.
const (
	lnPublic = iota
	lnPrivate
	lnPost
)

const (
	nodeVersion = "v1.7.6-sim"
	epochSize   = 4032
	// layerEvery is how fast the simulated top layer moves at Speed 1:
	// faster than mainnet's 5 minutes so a demo shows it advancing.
	layerEvery = 5 * time.Second
)

var mainnetGenesis = time.Date(2023, 7, 14, 8, 0, 0, 0, time.UTC)

// startNode builds the three listeners with the services a real node serves
// on each and opens them on random ports.
func (s *Sim) startNode() error {
	sc := s.schema
	s.listeners = []*listener{
		lnPublic: {descs: []*grpc.ServiceDesc{
			serviceDesc(sc.service("NodeService"), impl{unary: map[string]unaryFunc{
				"Status": s.status, "Version": s.version, "NodeInfo": s.nodeInfo,
			}}),
		}},
		lnPrivate: {descs: []*grpc.ServiceDesc{
			serviceDesc(sc.service("SmesherService"), impl{unary: map[string]unaryFunc{"SmesherIDs": s.smesherIDs}}),
			serviceDesc(sc.service("AdminService"), impl{stream: map[string]streamFunc{"EventsStream": s.eventsStream}}),
		}},
		lnPost: {descs: []*grpc.ServiceDesc{
			serviceDesc(sc.service("PostInfoService"), impl{unary: map[string]unaryFunc{"PostStates": s.postStates}}),
			// Register answers Unimplemented unless the services are real
			// processes (RealServices): the in-process ones never dial it.
			serviceDesc(sc.service("PostService"), s.postServiceImpl()),
		}},
	}
	if !s.opts.WithoutV2 {
		s.listeners[lnPublic].descs = append(s.listeners[lnPublic].descs, s.historyServices("spacemesh.v2alpha1")...)
		if s.opts.V2Beta1 {
			s.listeners[lnPublic].descs = append(s.listeners[lnPublic].descs, s.historyServices("spacemesh.v2beta1")...)
		}
	}
	// The first start: every key on disk is one createIdentities just made.
	s.nodeMu.Lock()
	defer s.nodeMu.Unlock()
	return s.startListeners()
}

// topLayer advances from the mainnet layer of the node's clock at Start,
// compressed like the cycle.
func (s *Sim) topLayer() uint32 {
	base := uint32(max(0, s.startAt.Sub(mainnetGenesis)) / (5 * time.Minute))
	return base + uint32(s.simNow()/layerEvery)
}

func (s *Sim) status(context.Context, *dynamicpb.Message) (proto.Message, error) {
	top := s.topLayer()
	resp := s.schema.msg("StatusResponse")
	st := sub(resp, "status")
	set(st, "connected_peers", uint64(20+top%7))
	set(st, "is_synced", true)
	set(sub(st, "synced_layer"), "number", top)
	set(sub(st, "top_layer"), "number", top)
	set(sub(st, "verified_layer"), "number", top-1)
	return resp, nil
}

func (s *Sim) version(context.Context, *dynamicpb.Message) (proto.Message, error) {
	resp := s.schema.msg("VersionResponse")
	set(sub(resp, "version_string"), "value", nodeVersion)
	return resp, nil
}

func (s *Sim) nodeInfo(context.Context, *dynamicpb.Message) (proto.Message, error) {
	resp := s.schema.msg("NodeInfoResponse")
	set(resp, "hrp", "sm")
	set(resp, "first_genesis", uint32(2*epochSize))
	set(resp, "effective_genesis", uint32(2*epochSize-1))
	set(resp, "epoch_size", uint32(epochSize))
	return resp, nil
}

func (s *Sim) smesherIDs(context.Context, *dynamicpb.Message) (proto.Message, error) {
	resp := s.schema.msg("SmesherIDsResponse")
	keys := list(resp, "public_keys")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.ids {
		if id.onNode {
			keys.Append(protoreflect.ValueOfBytes(id.pub))
		}
	}
	return resp, nil
}

// postStates lists the loaded identities in random order, as the node does
// (it builds the answer from a map).
func (s *Sim) postStates(context.Context, *dynamicpb.Message) (proto.Message, error) {
	resp := s.schema.msg("PostStatesResponse")
	states := list(resp, "states")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range rand.Perm(len(s.ids)) {
		id := s.ids[i]
		if !id.onNode {
			continue
		}
		ps := states.NewElement().Message()
		set(ps, "id", []byte(id.pub))
		set(ps, "state", protoreflect.EnumNumber(protoState(id.node)))
		set(ps, "name", id.keyFile())
		states.Append(protoreflect.ValueOfMessage(ps))
	}
	return resp, nil
}

// protoState maps a node state to PostState.State (UNUSED=0, IDLE=1, PROVING=2).
func protoState(st model.NodeState) int32 {
	switch st {
	case model.NodeIdle:
		return 1
	case model.NodeProving:
		return 2
	}
	return 0
}
