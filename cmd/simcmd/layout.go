package simcmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"postdeck/backend/config"
	"postdeck/sim"
)

// RealServicesConfig points a config at a simulator whose post-services are
// real processes: the postdeck binary self under the name post-service,
// which makes it behave as one. With watchPID set, the services exit with
// that process (the demo's services must not outlive the demo). Automatic
// proving is on, with the services spread over four simulated disks.
func RealServicesConfig(l sim.Layout, self string, speed float64, watchPID int) (*config.Config, error) {
	bin := filepath.Join(filepath.Dir(l.DataFolder), "bin", "post-service")
	if err := os.MkdirAll(filepath.Dir(bin), 0o700); err != nil {
		return nil, err
	}
	if err := os.Symlink(self, bin); err != nil && !os.IsExist(err) {
		return nil, err
	}
	cfg := ConfigFromLayout(l)
	cfg.Proving.Auto = true
	cfg.Proving.MaxPerDisk = 1
	for i := range cfg.Services {
		svc := &cfg.Services[i]
		svc.Bin = bin
		svc.Disk = fmt.Sprintf("disk%d", i%4+1)
		svc.RandomXMode = "light"
		svc.Env = map[string]string{"POSTDECK_SIM_SPEED": strconv.FormatFloat(speed, 'f', -1, 64)}
		if watchPID > 0 {
			svc.ExtraArgs = []string{"--watch-pid", strconv.Itoa(watchPID)}
		}
	}
	return cfg, nil
}

// The demo's deadline plan: PoST data in the simulator is a few MiB, so
// only k2pow decides; DemoK2Pow (the [plan] default before a proof is
// measured) makes each proof 5 h, so two fit a 12 h gap on a disk and a
// third misses. DemoCrowded services share the first disk; the others go
// two to a disk.
const (
	DemoK2Pow   = 5 * time.Hour
	DemoCrowded = 3
)

// DemoConfig is RealServicesConfig with the demo's plan: DemoK2Pow per
// proof and uneven disks (the first DemoCrowded services on disk1, then two
// a disk), so the plan of every gap misses one proof on disk1 until the
// ledger has measured that disk's proofs.
func DemoConfig(l sim.Layout, self string, speed float64, watchPID int) (*config.Config, error) {
	cfg, err := RealServicesConfig(l, self, speed, watchPID)
	if err != nil {
		return nil, err
	}
	cfg.Plan.K2Pow.Duration = DemoK2Pow
	for i := range cfg.Services {
		d := 1
		if i >= DemoCrowded {
			d = 2 + (i-DemoCrowded)/2
		}
		cfg.Services[i].Disk = fmt.Sprintf("disk%d", d)
	}
	return cfg, nil
}

// CheckSimFlags rejects simulator sizes and speeds that mean nothing.
func CheckSimFlags(ids int, speed float64) error {
	switch {
	case ids < 1:
		return fmt.Errorf("--ids %d: the simulator needs at least 1 identity", ids)
	case speed <= 0:
		return fmt.Errorf("--speed %g: must be above 0 (1 is the demo's pace, 10 is ten times faster)", speed)
	}
	return nil
}

// ConfigFromLayout points a config at a running simulator.
func ConfigFromLayout(l sim.Layout) *config.Config {
	cfg := &config.Config{Node: config.NodeConfig{
		PostListener:    l.PostListener,
		PrivateListener: l.PrivateListener,
		PublicListener:  l.PublicListener,
		DataFolder:      l.DataFolder,
	}}
	for _, svc := range l.Services {
		cfg.Services = append(cfg.Services, config.ServiceConfig{Name: svc.Name, Dir: svc.Dir, Operator: svc.Operator})
	}
	config.ApplyDefaults(cfg)
	return cfg
}

// ConfigFromLayouts points one config at several running simulators: a
// [[node]] per layout, named by names in the same order, and each service
// naming its node. It is FleetConfig of ConfigFromLayout; names and ls
// must pair one to one (it panics otherwise, a mistake of the caller).
func ConfigFromLayouts(names []string, ls []sim.Layout) *config.Config {
	cfg, err := FleetConfig(names, ls, func(l sim.Layout) (*config.Config, error) { return ConfigFromLayout(l), nil })
	if err != nil {
		panic(err) // only the pairing can fail: ConfigFromLayout does not
	}
	return cfg
}

// FleetConfig joins one config per layout, each made by one, into a
// config of several nodes named by names (in the order of ls; always
// [[node]] blocks, even for one). Everything but the nodes and services is
// the first node's. Disks are prefixed with their node's name: the
// simulated nodes stand for separate machines, and unprefixed, node1's
// disk1 and node2's disk1 would be one proving group (the demo's plan
// would miss far more than its one proof on a crowded disk).
func FleetConfig(names []string, ls []sim.Layout, one func(sim.Layout) (*config.Config, error)) (*config.Config, error) {
	if len(names) != len(ls) || len(ls) == 0 {
		return nil, fmt.Errorf("%d node names for %d layouts", len(names), len(ls))
	}
	var fleet *config.Config
	var services []config.ServiceConfig
	for i, l := range ls {
		cfg, err := one(l)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
		cfg.Node.Name = names[i]
		if fleet == nil {
			fleet = cfg
		} else {
			fleet.MoreNodes = append(fleet.MoreNodes, cfg.Node)
		}
		for _, svc := range cfg.Services {
			svc.Node = names[i]
			if svc.Disk != "" {
				svc.Disk = names[i] + "-" + svc.Disk
			}
			services = append(services, svc)
		}
	}
	fleet.Services = services
	return fleet, nil
}

// SelfBinary is this executable's path, for running it as post-service.
func SelfBinary() string {
	self, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return self
}
