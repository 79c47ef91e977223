package simcmd_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"postdeck/backend/config"
	"postdeck/backend/proc"
	"postdeck/cmd/simcmd"
	"postdeck/sim"
)

// layout is a simulator's layout as sim.Start reports one, without running it.
func layout(t *testing.T, n int) sim.Layout {
	root := t.TempDir()
	l := sim.Layout{DataFolder: filepath.Join(root, "node"), PostListener: "127.0.0.1:9094",
		PrivateListener: "127.0.0.1:9093", PublicListener: "127.0.0.1:9092"}
	for i := range n {
		name := "data0" + string(rune('1'+i))
		l.Services = append(l.Services, sim.ServiceLayout{Name: name, Dir: filepath.Join(root, "post", name), Operator: "127.0.0.1:5005" + string(rune('1'+i))})
	}
	return l
}

// The config for a simulator names its node and one service per identity,
// with the defaults every config gets.
func TestConfigFromLayout(t *testing.T) {
	l := layout(t, 2)
	cfg := simcmd.ConfigFromLayout(l)
	n := cfg.Node
	if n.PostListener != l.PostListener || n.PrivateListener != l.PrivateListener || n.PublicListener != l.PublicListener || n.DataFolder != l.DataFolder {
		t.Errorf("node %+v, want the layout's listeners and data folder", n)
	}
	if len(cfg.Services) != 2 {
		t.Fatalf("%d services, want 2", len(cfg.Services))
	}
	for i, svc := range cfg.Services {
		if want := l.Services[i]; svc.Name != want.Name || svc.Dir != want.Dir || svc.Operator != want.Operator {
			t.Errorf("service %d %+v, want %+v", i, svc, want)
		}
	}
	defaults := &config.Config{}
	config.ApplyDefaults(defaults)
	if cfg.Poll.Interval != defaults.Poll.Interval || cfg.Poll.Timeout != defaults.Poll.Timeout {
		t.Errorf("poll %+v, want the defaults %+v", cfg.Poll, defaults.Poll)
	}
}

// Real services: this binary under the name post-service, on four disks in
// turn, in light mode at the simulator's speed, automatic proving on, one
// prover per disk, and --watch-pid only when asked.
func TestRealServicesConfig(t *testing.T) {
	l := layout(t, 5)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := simcmd.RealServicesConfig(l, self, 2.5, 1234)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Proving.Auto || cfg.Proving.MaxPerDisk != 1 {
		t.Errorf("proving %+v, want auto with one prover per disk", cfg.Proving)
	}
	var disks []string
	for _, svc := range cfg.Services {
		if filepath.Base(svc.Bin) != proc.PostServiceName {
			t.Errorf("%s: bin %s, want one named %s", svc.Name, svc.Bin, proc.PostServiceName)
		}
		if target, err := os.Readlink(svc.Bin); err != nil || target != self {
			t.Errorf("%s: bin links to %q (%v), want %s", svc.Name, target, err, self)
		}
		if svc.RandomXMode != "light" || svc.Env["POSTDECK_SIM_SPEED"] != "2.5" || !slices.Equal(svc.ExtraArgs, []string{"--watch-pid", "1234"}) {
			t.Errorf("%s: mode %q env %v args %v", svc.Name, svc.RandomXMode, svc.Env, svc.ExtraArgs)
		}
		disks = append(disks, svc.Disk)
	}
	if want := []string{"disk1", "disk2", "disk3", "disk4", "disk1"}; !slices.Equal(disks, want) {
		t.Errorf("disks %v, want %v", disks, want)
	}
	// Again (the link is there already), without a pid to watch.
	cfg, err = simcmd.RealServicesConfig(l, self, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if args := cfg.Services[0].ExtraArgs; len(args) != 0 {
		t.Errorf("args %v without a pid to watch", args)
	}
}

func TestCheckSimFlags(t *testing.T) {
	if err := simcmd.CheckSimFlags(1, 0.5); err != nil {
		t.Errorf("1 identity at half speed: %v", err)
	}
	if err := simcmd.CheckSimFlags(0, 1); err == nil || !strings.Contains(err.Error(), "--ids 0") {
		t.Errorf("no identities: %v", err)
	}
	if err := simcmd.CheckSimFlags(3, 0); err == nil || !strings.Contains(err.Error(), "--speed 0") {
		t.Errorf("speed 0: %v", err)
	}
}

// The demo's config: the real services', with 5 h of k2pow per unmeasured
// proof and the first three services crowded on disk1, two a disk after.
func TestDemoConfig(t *testing.T) {
	cfg, err := simcmd.DemoConfig(layout(t, 8), "/bin/true", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Plan.K2Pow.Duration != simcmd.DemoK2Pow || !cfg.Proving.Auto || cfg.Proving.MaxPerDisk != 1 {
		t.Errorf("plan %+v, proving %+v", cfg.Plan, cfg.Proving)
	}
	var disks []string
	for _, svc := range cfg.Services {
		disks = append(disks, svc.Disk)
	}
	if want := []string{"disk1", "disk1", "disk1", "disk2", "disk2", "disk3", "disk3", "disk4"}; !slices.Equal(disks, want) {
		t.Errorf("disks %v, want %v", disks, want)
	}
}

// layoutOn is layout with the node's listeners and operators on ports from
// base, so that two layouts are two nodes.
func layoutOn(t *testing.T, n, base int) sim.Layout {
	l := layout(t, n)
	l.PublicListener, l.PrivateListener, l.PostListener = fmt.Sprintf("127.0.0.1:%d", base), fmt.Sprintf("127.0.0.1:%d", base+1), fmt.Sprintf("127.0.0.1:%d", base+2)
	for i := range l.Services {
		l.Services[i].Operator = fmt.Sprintf("127.0.0.1:%d", base+10+i)
	}
	return l
}

// Several layouts make one config of [[node]] blocks, in order, each
// service naming its node; it renders and loads back the same.
func TestConfigFromLayouts(t *testing.T) {
	ls := []sim.Layout{layoutOn(t, 2, 9100), layoutOn(t, 1, 9200)}
	ls[1].Services[0].Name = "data03"
	cfg := simcmd.ConfigFromLayouts([]string{"a", "b"}, ls)
	nodes := cfg.AllNodes()
	if len(nodes) != 2 || nodes[0].Name != "a" || nodes[1].Name != "b" {
		t.Fatalf("nodes %+v, want a and b", nodes)
	}
	for i, n := range nodes {
		if l := ls[i]; n.PublicListener != l.PublicListener || n.PrivateListener != l.PrivateListener || n.PostListener != l.PostListener || n.DataFolder != l.DataFolder {
			t.Errorf("node %s %+v, want layout %d's listeners and data folder", n.Name, n, i)
		}
	}
	var got []string
	for _, svc := range cfg.Services {
		got = append(got, svc.Node+"/"+svc.Name)
	}
	if want := []string{"a/data01", "a/data02", "b/data03"}; !slices.Equal(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
	path := filepath.Join(t.TempDir(), "postdeck.toml")
	if err := config.WriteFile(path, config.Render(cfg), false); err != nil {
		t.Fatal(err)
	}
	back, err := config.Load(path)
	if err != nil {
		t.Fatalf("load the rendered config: %v", err)
	}
	if len(back.AllNodes()) != 2 || len(back.ServicesOf("b")) != 1 {
		t.Errorf("loaded back %d nodes, %d services of b", len(back.AllNodes()), len(back.ServicesOf("b")))
	}
}

// A fleet of demo configs: each node's disks are its own, named after it;
// the rest is the first node's.
func TestFleetDemoConfig(t *testing.T) {
	ls := []sim.Layout{layoutOn(t, 4, 9100), layoutOn(t, 4, 9200)}
	cfg, err := simcmd.FleetConfig([]string{"node1", "node2"}, ls, func(l sim.Layout) (*config.Config, error) {
		return simcmd.DemoConfig(l, "/bin/true", 1, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	var disks []string
	for _, svc := range cfg.Services {
		disks = append(disks, svc.Disk)
	}
	want := []string{"node1-disk1", "node1-disk1", "node1-disk1", "node1-disk2", "node2-disk1", "node2-disk1", "node2-disk1", "node2-disk2"}
	if !slices.Equal(disks, want) {
		t.Errorf("disks %v, want %v", disks, want)
	}
	if cfg.Plan.K2Pow.Duration != simcmd.DemoK2Pow || !cfg.Proving.Auto {
		t.Errorf("plan %+v, proving %+v: want the demo's", cfg.Plan, cfg.Proving)
	}
	if _, err := simcmd.FleetConfig([]string{"node1"}, ls, func(l sim.Layout) (*config.Config, error) { return simcmd.ConfigFromLayout(l), nil }); err == nil {
		t.Error("one name for two layouts: no error")
	}
}
