package nodeapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/jhump/protoreflect/grpcreflect"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"postdeck/model"
)

// The node's history on its public listener: ActivationService,
// RewardService and MalfeasanceService List (v2beta1 where the node has
// it, else v2alpha1). Every List refuses a limit of 0 or over 100, so the
// client pages with limit 100 and offset until a short page; each page is
// one call with the client's timeout, the whole bounded by ctx.

// PageSize is the limit of every List page: the most the node allows.
const PageSize = 100

// historyKind is one of the three history services, in the versions to try.
type historyKind struct {
	name      string // for messages: "ATX", …
	versions  []rpc  // v2beta1 first
	configKey string // what enables it in the node's api.grpc-public-services
	items     string // the response's repeated field
}

var (
	histATXs        = &historyKind{"ATX", []rpc{rpcATXsBeta, rpcATXsAlpha}, "activation_v2alpha1", "activations"}
	histRewards     = &historyKind{"reward", []rpc{rpcRewardsBeta, rpcRewardsAlpha}, "reward_v2alpha1", "rewards"}
	histMalfeasance = &historyKind{"malfeasance", []rpc{rpcMalfeasanceBeta, rpcMalfeasanceAlpha}, "malfeasance_v2alpha1", "proofs"}
)

// HistoryUnavailableError is a node that serves none of a history
// service's versions: its public listener leaves the service out.
type HistoryUnavailableError struct {
	Addr      string // the public listener
	Service   string // the version postdeck asks for last, e.g. spacemesh.v2alpha1.ActivationService
	ConfigKey string // what to add to the node's api.grpc-public-services
}

func (e *HistoryUnavailableError) Error() string {
	return fmt.Sprintf("public listener %s: the node does not serve %s — add %q to \"grpc-public-services\" in the \"api\" section of the node's config (go-spacemesh 1.5+) and restart the node",
		e.Addr, e.Service, e.ConfigKey)
}

// ATXs lists the ATXs of the identities ids published in epochs startEpoch
// to endEpoch (inclusive; endEpoch 0: no end), ordered by epoch then id. No
// ids, no ATXs: postdeck never asks for the whole network's.
func (c *Client) ATXs(ctx context.Context, ids [][]byte, startEpoch, endEpoch uint32) ([]model.ATX, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []model.ATX
	err := c.pages(ctx, histATXs, func(req protoreflect.Message) error {
		return setFields(req, map[string]any{"smesher_id": ids, "start_epoch": startEpoch, "end_epoch": endEpoch})
	}, func(m protoreflect.Message) {
		out = append(out, model.ATX{
			ID:           fieldBytes(m, "id"),
			SmesherID:    fieldBytes(m, "smesher_id"),
			PublishEpoch: uint32(fieldUint(m, "publish_epoch")),
			Weight:       fieldUint(m, "weight"),
			NumUnits:     uint32(fieldUint(m, "num_units")),
		})
	})
	return out, err
}

// Rewards lists identity id's rewards in layers startLayer to endLayer
// (inclusive; endLayer 0: no end), ordered by layer.
func (c *Client) Rewards(ctx context.Context, id []byte, startLayer, endLayer uint32) ([]model.Reward, error) {
	if len(id) == 0 {
		return nil, errors.New("rewards: no identity given")
	}
	var out []model.Reward
	err := c.pages(ctx, histRewards, func(req protoreflect.Message) error {
		return setFields(req, map[string]any{"smesher": id, "start_layer": startLayer, "end_layer": endLayer})
	}, func(m protoreflect.Message) {
		out = append(out, model.Reward{
			Layer:       uint32(fieldUint(m, "layer")),
			Total:       fieldUint(m, "total"),
			LayerReward: fieldUint(m, "layer_reward"),
			Coinbase:    fieldString(m, "coinbase"),
			Smesher:     fieldBytes(m, "smesher"),
		})
	})
	return out, err
}

// Malfeasance lists the node's malfeasance proofs against the identities
// ids: each one banned for good. No ids, no proofs.
func (c *Client) Malfeasance(ctx context.Context, ids [][]byte) ([]model.Malfeasance, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []model.Malfeasance
	err := c.pages(ctx, histMalfeasance, func(req protoreflect.Message) error {
		return setFields(req, map[string]any{"smesher_id": ids})
	}, func(m protoreflect.Message) {
		out = append(out, model.Malfeasance{SmesherID: fieldBytes(m, "smesher"), Kind: malfeasanceKind(m)})
	})
	return out, err
}

// legacyMalfeasance names the proof types of the legacy domain (0).
var legacyMalfeasance = map[uint64]string{
	1: "double publish of an ATX",
	2: "several ballots in one layer",
	3: "hare equivocation",
	4: "ATX with an invalid PoST",
	5: "ATX referencing an invalid previous ATX",
}

func malfeasanceKind(m protoreflect.Message) string {
	domain, _ := fieldEnum(m, "domain")
	typ := fieldUint(m, "type")
	if name, ok := legacyMalfeasance[typ]; ok && domain == 0 {
		return name
	}
	return fmt.Sprintf("domain %d type %d", domain, typ)
}

// pages calls the kind's List page by page (limit PageSize, offset on)
// until a short page, handing each item to add.
func (c *Client) pages(ctx context.Context, k *historyKind, filter func(protoreflect.Message) error, add func(protoreflect.Message)) error {
	var previous proto.Message // the last page's first item
	for offset := uint64(0); ; offset += PageSize {
		resp, err := c.historyCall(ctx, k, func(req protoreflect.Message) error {
			if err := filter(req); err != nil {
				return err
			}
			return setFields(req, map[string]any{"offset": offset, "limit": uint64(PageSize)})
		})
		if err != nil {
			return err
		}
		items := fieldList(resp, k.items)
		if items == nil {
			return fmt.Errorf("%s List answered without %s: not the API postdeck knows", k.name, k.items)
		}
		if items.Len() > 0 {
			// A node that ignored offset would hand out page one forever.
			first := items.Get(0).Message().Interface()
			if previous != nil && proto.Equal(first, previous) {
				return fmt.Errorf("%s List answered offset %d with the page before: the node does not page, postdeck stops", k.name, offset)
			}
			previous = first
		}
		for i := range items.Len() {
			add(items.Get(i).Message())
		}
		if items.Len() < PageSize {
			return nil
		}
	}
}

// historyCall calls the first version of the kind the node serves.
func (c *Client) historyCall(ctx context.Context, k *historyKind, fill func(protoreflect.Message) error) (protoreflect.Message, error) {
	l, serr := c.listenerFor(rolePublic)
	if serr != nil {
		return nil, errors.New(serr.Message)
	}
	versions := k.versions
	if r, ok := c.served.Load(k); ok {
		// The version found before first: no reflection round trip per page
		// for a version the node lacks. Should it vanish, all are tried.
		versions = []rpc{r.(rpc)}
		for _, v := range k.versions {
			if v != r.(rpc) {
				versions = append(versions, v)
			}
		}
	}
	for _, r := range versions {
		resp, err := l.callWith(ctx, r, fill)
		if notServed(err) {
			c.served.CompareAndDelete(k, r)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s history: %s", k.name, l.explain(r, err))
		}
		c.served.Store(k, r)
		return resp, nil
	}
	last := k.versions[len(k.versions)-1]
	return nil, &HistoryUnavailableError{Addr: l.addr, Service: last.service, ConfigKey: k.configKey}
}

// notServed tells a service the node does not have (reflection does not
// know it, or the call is Unimplemented) from a failed call.
func notServed(err error) bool {
	return err != nil && (grpcreflect.IsElementNotFoundError(err) || status.Code(err) == codes.Unimplemented ||
		status.Code(err) == codes.NotFound)
}

// setFields sets request fields by name, converting to the field's kind; a
// field the node's schema lacks is an error naming it.
func setFields(m protoreflect.Message, values map[string]any) error {
	for name, v := range values {
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return fmt.Errorf("the node's %s has no field %s", m.Descriptor().FullName(), name)
		}
		switch x := v.(type) {
		case [][]byte:
			l := m.Mutable(fd).List()
			for _, b := range x {
				l.Append(protoreflect.ValueOfBytes(b))
			}
		case []byte:
			m.Set(fd, protoreflect.ValueOfBytes(x))
		case uint32:
			setUint(m, fd, uint64(x))
		case uint64:
			setUint(m, fd, x)
		}
	}
	return nil
}

func setUint(m protoreflect.Message, fd protoreflect.FieldDescriptor, v uint64) {
	if v == 0 {
		return // proto3's default: the field unset
	}
	switch fd.Kind() {
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		m.Set(fd, protoreflect.ValueOfUint32(uint32(v)))
	default:
		m.Set(fd, protoreflect.ValueOfUint64(v))
	}
}
