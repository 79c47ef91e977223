package simcmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

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

// SelfBinary is this executable's path, for running it as post-service.
func SelfBinary() string {
	self, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return self
}
