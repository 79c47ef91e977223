package model

import "bytes"

// Loaded is whether the node has loaded an identity's key.
type Loaded int

const (
	// LoadedUnknown: the node answered neither SmesherIDs nor PostStates.
	LoadedUnknown Loaded = iota
	LoadedYes
	LoadedNo
)

// LoadedFrom is the one rule for "the node has loaded this key", which the
// table's rows (Join), `keys list` and `keys check` all follow: loaded when
// any list the node answered names the identity, not loaded when it
// answered and none does, unknown when it answered neither. Both lists are
// made from the keys the node read at start-up, so one naming it is enough;
// asking for both made `keys check` call "missing" what `status` showed on
// the node whenever one listener was slow.
func (v *NodeView) LoadedFrom(inPostStates, inSmesherIDs bool) Loaded {
	switch {
	case !v.HasPostStates && !v.HasSmesherIDs:
		return LoadedUnknown
	case (v.HasPostStates && inPostStates) || (v.HasSmesherIDs && inSmesherIDs):
		return LoadedYes
	}
	return LoadedNo
}

// Loaded is LoadedFrom for one public key, looked up in the view's lists.
func (v *NodeView) Loaded(public []byte) Loaded {
	return v.LoadedFrom(v.InPostStates(public), v.InSmesherIDs(public))
}

// InSmesherIDs says whether SmesherIDs lists the public key.
func (v *NodeView) InSmesherIDs(public []byte) bool {
	for _, id := range v.SmesherIDs {
		if bytes.Equal(id, public) {
			return true
		}
	}
	return false
}

// InPostStates says whether PostStates lists the public key.
func (v *NodeView) InPostStates(public []byte) bool {
	for _, ps := range v.PostStates {
		if bytes.Equal(ps.ID, public) {
			return true
		}
	}
	return false
}
