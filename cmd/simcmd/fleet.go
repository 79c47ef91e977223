package simcmd

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"postdeck/backend/config"
	"postdeck/sim"
)

// Fleet is the simulated nodes of `postdeck sim --nodes N` and of the demo:
// independent sims, each with its own folder, listeners and keys.
type Fleet struct {
	Names []string // node1, node2, …: the config's [[node]] names
	Sims  []*sim.Sim
	// Root is the folder of every node's files: DIR/node1, DIR/node2, …,
	// or with one node its own files, as before fleets. The config and the
	// demo's state go beside them.
	Root string
	// SharedKey is the key file of node1 that node2 holds and loads too
	// ("" when none).
	SharedKey  string
	removeRoot bool // Root is a temp folder of the fleet's own
}

// SeedHelp is the text of sim's and demo's --seed.
const SeedHelp = "derive keys, PoST metadata and the cycle from this `seed`, the same every run (tests); 0: fresh keys each run, so two simulators side by side never share an identity"

// FreshSeed is seed, or when it is 0 a new random one. A simulated world
// with a fixed seed has the same keys every run, and two of them side by
// side (two demos, a demo beside a sim) would then hold the same identities:
// the supervisor rightly refuses to prove one identity twice, and every
// second world came up with critical rows. So only a caller that asks for a
// seed (a test) gets a repeatable world.
func FreshSeed(seed int64) int64 {
	for seed == 0 {
		seed = rand.Int64() // math/rand/v2's global source is randomly seeded
	}
	return seed
}

// CheckFleetFlags rejects fleet sizes that mean nothing, and a shared key
// without a second node to share it.
func CheckFleetFlags(nodes int, sharedKey bool) error {
	switch {
	case nodes < 1:
		return fmt.Errorf("--nodes %d: the simulator needs at least 1 node", nodes)
	case sharedKey && nodes < 2:
		return fmt.Errorf("--shared-key needs --nodes 2 or more: node2 loads a copy of node1's key")
	}
	return nil
}

// StartFleet starts nodes sims from o (o.IDs at least 1, identities per
// node). One node is o as it is, so `--nodes 1` is the simulator of before.
// With more, node k lives in o.Dir/nodek (a temp folder when o.Dir is "",
// removed by Close), has Seed o.Seed+k-1 so that no two nodes share a key
// by chance, and numbers its keys and services on from the node before
// it. With sharedKey, node2 also holds and loads node1's first service's
// key file: one identity on two nodes.
func StartFleet(ctx context.Context, nodes int, o sim.Options, sharedKey bool) (*Fleet, error) {
	if err := CheckFleetFlags(nodes, sharedKey); err != nil {
		return nil, err
	}
	if nodes == 1 {
		s, err := sim.Start(ctx, o)
		if err != nil {
			return nil, err
		}
		return &Fleet{Names: []string{"node1"}, Sims: []*sim.Sim{s}, Root: filepath.Dir(s.Layout().DataFolder)}, nil
	}
	if o.IDs < 1 {
		return nil, fmt.Errorf("a fleet needs the identities per node: %d", o.IDs)
	}
	f := &Fleet{Root: o.Dir}
	if f.Root == "" {
		dir, err := os.MkdirTemp("", "postdeck-sim-")
		if err != nil {
			return nil, err
		}
		f.Root, f.removeRoot = dir, true
	}
	width := max(2, len(fmt.Sprint(nodes*o.IDs)))
	for k := 1; k <= nodes; k++ {
		ko := o
		ko.Dir = filepath.Join(f.Root, fmt.Sprintf("node%d", k))
		ko.Seed = o.Seed + int64(k-1)
		ko.FirstIndex, ko.IndexWidth = (k-1)*o.IDs+1, width
		// One set of flow folders is enough: keys add and merge go to
		// the first node unless told another.
		ko.FlowFolders = o.FlowFolders && k == 1
		if sharedKey && k == 2 {
			f.SharedKey = f.Sims[0].Layout().Services[0].KeyFile
			ko.ExtraKeyFiles = append(append([]string(nil), o.ExtraKeyFiles...), f.SharedKey)
		}
		s, err := sim.Start(ctx, ko)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("node%d: %w", k, err), f.Close())
		}
		f.Names = append(f.Names, fmt.Sprintf("node%d", k))
		f.Sims = append(f.Sims, s)
	}
	return f, nil
}

// Flows is the first node's flow folders (sim.Options.FlowFolders): the
// PoST folder with a key to add and the old node to merge, and the data
// folder they go to; "" when the fleet has none.
func (f *Fleet) Flows() (newPost, oldNode, dataFolder string) {
	l := f.Sims[0].Layout()
	return l.NewPostDir, l.OldNodeFolder, l.DataFolder
}

// Layouts is every node's layout, in the order of Names.
func (f *Fleet) Layouts() []sim.Layout {
	var ls []sim.Layout
	for _, s := range f.Sims {
		ls = append(ls, s.Layout())
	}
	return ls
}

// Config is the fleet's config, each node's part made by one (such as
// ConfigFromLayout, or RealServicesConfig with its other arguments). One
// node's config is one's as it is: a lone [node] without a name, as the
// simulator wrote before fleets.
func (f *Fleet) Config(one func(sim.Layout) (*config.Config, error)) (*config.Config, error) {
	if len(f.Sims) == 1 {
		return one(f.Sims[0].Layout())
	}
	return FleetConfig(f.Names, f.Layouts(), one)
}

// Close stops every node, then removes the fleet's temp folder if it made
// one.
func (f *Fleet) Close() error {
	var errs []error
	for i := len(f.Sims) - 1; i >= 0; i-- {
		errs = append(errs, f.Sims[i].Close())
	}
	if f.removeRoot {
		errs = append(errs, os.RemoveAll(f.Root))
	}
	return errors.Join(errs...)
}
