package model

// What the node's history services (spacemesh.v2alpha1 Activation, Reward
// and Malfeasance List, on the public listener) say about an identity. The
// epoch ledger keeps them per identity and epoch.

// ATX is an activation transaction: the identity's proof, published in
// PublishEpoch, that earns it rewards in the epoch after.
type ATX struct {
	ID           []byte
	SmesherID    []byte
	PublishEpoch uint32
	Weight       uint64
	NumUnits     uint32
}

// RewardEpoch is the epoch an ATX's rewards fall in.
func (a ATX) RewardEpoch() uint32 { return a.PublishEpoch + 1 }

// Reward is one layer's reward to an identity, in smidge.
type Reward struct {
	Layer       uint32
	Total       uint64 // layer reward plus fees
	LayerReward uint64
	Coinbase    string
	Smesher     []byte
}

// Epoch is the epoch the reward's layer is in.
func (r Reward) Epoch(layersPerEpoch uint32) uint32 {
	if layersPerEpoch == 0 {
		return 0
	}
	return r.Layer / layersPerEpoch
}

// Malfeasance is a proof the node holds that an identity misbehaved (such
// as publishing two ATXs in one epoch): the identity is banned for good.
type Malfeasance struct {
	SmesherID []byte
	Kind      string // the proof's domain or type as the node names it
	Layer     uint32 // where the node recorded it; 0 when unknown
}
