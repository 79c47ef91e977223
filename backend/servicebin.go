package backend

import (
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"postdeck/backend/config"
	"postdeck/backend/proc"
)

// launchKey is one key of a [[service]] that says how to run its
// post-service and may be the same for every service of a node (unlike dir,
// operator, disk or a systemd unit, which are each service's own).
type launchKey struct {
	name string
	get  func(*config.ServiceConfig) any
	copy func(to, from *config.ServiceConfig)
}

var launchKeys = []launchKey{
	{"bin", func(s *config.ServiceConfig) any { return s.Bin }, func(t, f *config.ServiceConfig) { t.Bin = f.Bin }},
	{"threads", func(s *config.ServiceConfig) any { return s.Threads }, func(t, f *config.ServiceConfig) { t.Threads = f.Threads }},
	{"nonces", func(s *config.ServiceConfig) any { return s.Nonces }, func(t, f *config.ServiceConfig) { t.Nonces = f.Nonces }},
	{"randomx_mode", func(s *config.ServiceConfig) any { return s.RandomXMode }, func(t, f *config.ServiceConfig) { t.RandomXMode = f.RandomXMode }},
	{"address", func(s *config.ServiceConfig) any { return s.Address }, func(t, f *config.ServiceConfig) { t.Address = f.Address }},
	{"extra_args", func(s *config.ServiceConfig) any { return s.ExtraArgs }, func(t, f *config.ServiceConfig) { t.ExtraArgs = f.ExtraArgs }},
	{"env", func(s *config.ServiceConfig) any { return s.Env }, func(t, f *config.ServiceConfig) { t.Env = f.Env }},
	{"remote_k2pow", func(s *config.ServiceConfig) any { return s.RemoteK2Pow }, func(t, f *config.ServiceConfig) { t.RemoteK2Pow = f.RemoteK2Pow }},
	{"remote_k2pow_parallelism", func(s *config.ServiceConfig) any { return s.RemoteK2PowParallelism },
		func(t, f *config.ServiceConfig) { t.RemoteK2PowParallelism = f.RemoteK2PowParallelism }},
	{"remote_k2pow_backoff", func(s *config.ServiceConfig) any { return s.RemoteK2PowBackoff },
		func(t, f *config.ServiceConfig) { t.RemoteK2PowBackoff = f.RemoteK2PowBackoff }},
}

// shareLaunch copies into s the launch keys every one of from has alike
// (bin among them: from all have one) and names those set.
func shareLaunch(s *config.ServiceConfig, from []config.ServiceConfig) []string {
	var set []string
	for _, k := range launchKeys {
		v := k.get(&from[0])
		same := true
		for i := range from[1:] {
			same = same && reflect.DeepEqual(v, k.get(&from[i+1]))
		}
		if same && !reflect.ValueOf(v).IsZero() {
			k.copy(s, &from[0])
			set = append(set, k.name)
		}
	}
	return set
}

// proposeLaunch sets the new service's bin, so postdeck can start and stop
// it as well as watch it: the bin of the node's other services when they
// agree (with the other launch keys they share, such as the node's
// address), else that of the post-services running for the node (with the
// flags of their command lines, as init takes them), else post-service on
// PATH. It returns where the bin came from, or why none was set; either is
// one line for the output and the config's comment.
func proposeLaunch(cfg *config.Config, s *config.ServiceConfig, procRoot string) string {
	fromCfg, why := configuredLaunch(cfg)
	if len(fromCfg) > 0 {
		keys := shareLaunch(s, servicesOf(fromCfg))
		return fmt.Sprintf("%s copied from [[service]] %s%s", strings.Join(keys, ", "), quoteNames(fromCfg), plural(len(fromCfg), "", " (the same in each)"))
	}
	running, whyNot := runningLaunch(cfg, procRoot)
	if len(running) > 0 {
		keys := shareLaunch(s, servicesOf(running))
		return fmt.Sprintf("%s from the command line of the post-service running as %s%s", strings.Join(keys, ", "), quoteNames(running), plural(len(running), "", " (the same in each)"))
	}
	if bin, err := exec.LookPath(proc.PostServiceName); err == nil {
		if abs, err := filepath.Abs(bin); err == nil {
			bin = abs
		}
		s.Bin = bin
		return fmt.Sprintf("bin %s: %s on PATH (%s; %s)", bin, proc.PostServiceName, why, whyNot)
	}
	return fmt.Sprintf("bin not set, so postdeck only watches this service: %s; %s; and no %s is on PATH. Set bin to the post-service executable to let postdeck start and stop it",
		why, whyNot, proc.PostServiceName)
}

// namedLaunch is a service (or a process, as one) that a bin may come from.
type namedLaunch struct {
	name string
	svc  config.ServiceConfig
}

func servicesOf(l []namedLaunch) []config.ServiceConfig {
	s := make([]config.ServiceConfig, len(l))
	for i := range l {
		s[i] = l[i].svc
	}
	return s
}

// quoteNames names up to three; a config of many services gets a count,
// so the comment stays one readable line.
func quoteNames(l []namedLaunch) string {
	if len(l) > 3 {
		return fmt.Sprintf("%s, %s and %d more", l[0].name, l[1].name, len(l)-2)
	}
	n := make([]string, len(l))
	for i := range l {
		n[i] = l[i].name
	}
	return strings.Join(n, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// configuredLaunch is the first node's services with a bin (an appended
// [[service]] belongs to the first node), when their bins agree; else why
// there is none to copy.
func configuredLaunch(cfg *config.Config) ([]namedLaunch, string) {
	var with []namedLaunch
	bins := map[string]bool{}
	for _, s := range cfg.Services {
		if s.Bin != "" && (s.Node == "" || s.Node == cfg.Node.Name) {
			with = append(with, namedLaunch{fmt.Sprintf("%q", s.Name), s})
			bins[s.Bin] = true
		}
	}
	switch {
	case len(with) == 0:
		return nil, "no configured [[service]] has a bin"
	case len(bins) > 1:
		return nil, fmt.Sprintf("the configured services' bins differ (%s)", strings.Join(slices.Sorted(maps.Keys(bins)), ", "))
	}
	return with, ""
}

// runningLaunch is the post-services running for the first node (those
// dialling its post listener, any when it has none), as init would write
// them, when their bins agree; else why there are none to copy.
func runningLaunch(cfg *config.Config, procRoot string) ([]namedLaunch, string) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	procs, err := proc.ScanPostServices(procRoot)
	if err != nil {
		return nil, err.Error()
	}
	listener := cfg.Node.PostListener
	var found []namedLaunch
	bins := map[string]bool{}
	for _, p := range procs {
		if addr := hostPortOfURL(p.Address); listener != "" && (addr == "" || config.DialAddress(addr) != listener) {
			continue
		}
		bin, _ := binOfProcess(p)
		if bin == "" {
			continue
		}
		s := config.ServiceConfig{Bin: bin}
		s.ExtraArgs, _ = mapServiceArgs(&s, p.Args)
		found = append(found, namedLaunch{fmt.Sprintf("pid %d", p.PID), s})
		bins[bin] = true
	}
	where := "dialling the node's post listener " + listener
	if listener == "" {
		where = "at all"
	}
	switch {
	case len(found) == 0:
		return nil, "no post-service whose executable can be read runs " + where
	case len(bins) > 1:
		return nil, fmt.Sprintf("the post-services running %s run different bins (%s)", where, strings.Join(slices.Sorted(maps.Keys(bins)), ", "))
	}
	return found, ""
}
