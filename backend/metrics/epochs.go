package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"postdeck/model"
)

// The ledger's and the planner's series. Per identity there is no epoch
// label: the ATX series are of the last complete publish epoch (the one
// whose rewards epoch is running, named by postdeck_atx_publish_epoch), the
// rewards series of that epoch's rewards. Per epoch, totals per node only,
// over the few recent epochs the rows carry (sum by epoch for the fleet's).
var (
	descATX = prometheus.NewDesc("postdeck_identity_atx",
		"1 when the identity published its ATX in the last complete publish epoch (postdeck_atx_publish_epoch), 0 when the ledger knows it did not.",
		idLabels, nil)
	descATXWeight = prometheus.NewDesc("postdeck_identity_atx_weight",
		"The weight of that ATX.", idLabels, nil)
	descRewardsCount = prometheus.NewDesc("postdeck_identity_rewards",
		"Rewards (layers) that ATX earned so far in its reward epoch (postdeck_rewards_epoch).", idLabels, nil)
	descRewardsSum = prometheus.NewDesc("postdeck_identity_rewards_smidge",
		"The sum of those rewards, in smidge.", idLabels, nil)
	descATXEpoch = prometheus.NewDesc("postdeck_atx_publish_epoch",
		"The publish epoch the postdeck_identity_atx series are about.", nil, nil)
	descRewardsEpoch = prometheus.NewDesc("postdeck_rewards_epoch",
		"The reward epoch the postdeck_identity_rewards series are about.", nil, nil)
	descFleetATX = prometheus.NewDesc("postdeck_fleet_atx",
		"A node's identities by their ATX of each recent publish epoch: published, missing (the ledger knows), unknown.",
		[]string{"epoch", "atx", "node", "host"}, nil)
	descFleetRewards = prometheus.NewDesc("postdeck_fleet_rewards",
		"Rewards (layers) of a node's identities in each recent reward epoch.", []string{"epoch", "node", "host"}, nil)
	descFleetRewardsSum = prometheus.NewDesc("postdeck_fleet_rewards_smidge",
		"The sum of a node's identities' rewards in each recent reward epoch, in smidge.", []string{"epoch", "node", "host"}, nil)
)

var epochDescs = []*prometheus.Desc{descATX, descATXWeight, descRewardsCount, descRewardsSum,
	descATXEpoch, descRewardsEpoch, descFleetATX, descFleetRewards, descFleetRewardsSum}

// gaugeFunc sends one gauge with its label values.
type gaugeFunc func(d *prometheus.Desc, v float64, labels ...string)

// currentEpoch is the newest publish epoch still open in the rows' records
// (one past the newest when none is open); ok is false without records.
func currentEpoch(rows []model.Row) (uint32, bool) {
	var cur, newest uint32
	open, any := false, false
	for i := range rows {
		for _, rec := range rows[i].Epochs {
			any = true
			newest = max(newest, rec.Epoch)
			if rec.Open && (!open || rec.Epoch > cur) {
				cur, open = rec.Epoch, true
			}
		}
	}
	if !open {
		cur = newest + 1
	}
	return cur, any
}

// identityEpoch sends a row's ATX and rewards of the last complete epoch.
func identityEpoch(gauge gaugeFunc, r *model.Row, cur uint32, l []string) {
	rec, ok := r.LastEpoch(cur)
	if !ok || rec.Epoch != cur-1 {
		return
	}
	switch {
	case rec.ATX != nil:
		gauge(descATX, 1, l...)
		gauge(descATXWeight, float64(rec.ATX.Weight), l...)
	case rec.ATXListed:
		gauge(descATX, 0, l...)
	}
	if rec.Rewards.Listed || rec.Rewards.Count > 0 {
		gauge(descRewardsCount, float64(rec.Rewards.Count), l...)
		gauge(descRewardsSum, float64(rec.Rewards.Sum), l...)
	}
}

// fleetEpochs sends the per-epoch totals of each node over its rows'
// records.
func fleetEpochs(gauge gaugeFunc, rows []model.Row, cur uint32) {
	if cur > 0 {
		gauge(descATXEpoch, float64(cur-1))
		gauge(descRewardsEpoch, float64(cur))
	}
	type key struct {
		node  nodeKey
		epoch uint32
	}
	type atxCount struct{ published, missing, unknown int }
	atx := map[key]*atxCount{}
	type rewards struct {
		n   int
		sum uint64
	}
	rew := map[key]*rewards{}
	for i := range rows {
		node := rowNode(&rows[i])
		for _, rec := range rows[i].Epochs {
			k := key{node, rec.Epoch}
			c := atx[k]
			if c == nil {
				c = &atxCount{}
				atx[k] = c
			}
			switch {
			case rec.ATX != nil:
				c.published++
			case rec.ATXListed && !rec.Open:
				c.missing++
			default:
				c.unknown++
			}
			k.epoch++ // an ATX of e earns in e+1
			rw := rew[k]
			if rw == nil {
				rw = &rewards{}
				rew[k] = rw
			}
			rw.n += rec.Rewards.Count
			rw.sum += rec.Rewards.Sum
		}
	}
	for k, c := range atx {
		es := strconv.FormatUint(uint64(k.epoch), 10)
		gauge(descFleetATX, float64(c.published), es, "published", k.node[0], k.node[1])
		gauge(descFleetATX, float64(c.missing), es, "missing", k.node[0], k.node[1])
		gauge(descFleetATX, float64(c.unknown), es, "unknown", k.node[0], k.node[1])
	}
	for k, rw := range rew {
		es := strconv.FormatUint(uint64(k.epoch), 10)
		gauge(descFleetRewards, float64(rw.n), es, k.node[0], k.node[1])
		gauge(descFleetRewardsSum, float64(rw.sum), es, k.node[0], k.node[1])
	}
}
