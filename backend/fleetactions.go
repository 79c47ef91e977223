package backend

import (
	"context"
	"io"
	"strings"

	"postdeck/backend/proc"
	"postdeck/backend/remote"
	"postdeck/model"
)

// FleetActions is what the dashboard acts through when the config names
// other hosts: a service named host:service is that host's, asked over
// SSH (its own safe-stop rule and keys decide); any other is this
// machine's controller's.
type FleetActions struct {
	*Controller
	hosts map[string]*remote.Host
}

// NewFleetActions routes to ctl and to hosts by name.
func NewFleetActions(ctl *Controller, hosts []*remote.Host) *FleetActions {
	f := &FleetActions{Controller: ctl, hosts: map[string]*remote.Host{}}
	for _, h := range hosts {
		f.hosts[h.Name()] = h
	}
	return f
}

// hostOf is the host and its own service name of a host:service name.
func (f *FleetActions) hostOf(service string) (*remote.Host, string, bool) {
	host, name, ok := strings.Cut(service, ":")
	if !ok {
		return nil, "", false
	}
	h := f.hosts[host]
	return h, name, h != nil
}

func (f *FleetActions) Start(ctx context.Context, service string) (model.StartOutcome, error) {
	if h, name, ok := f.hostOf(service); ok {
		return h.Start(ctx, name)
	}
	return f.Controller.Start(ctx, service)
}

func (f *FleetActions) Stop(ctx context.Context, service string, mode model.StopMode) (model.StopOutcome, error) {
	if h, name, ok := f.hostOf(service); ok {
		return h.Stop(ctx, name, mode)
	}
	return f.Controller.Stop(ctx, service, mode)
}

func (f *FleetActions) Restart(ctx context.Context, service string) (model.StartOutcome, error) {
	if h, name, ok := f.hostOf(service); ok {
		return h.Restart(ctx, name)
	}
	return f.Controller.Restart(ctx, service)
}

func (f *FleetActions) LogSource(service string) (proc.LogSource, error) {
	if h, name, ok := f.hostOf(service); ok {
		return h.LogSource(name), nil
	}
	return f.Controller.LogSource(service)
}

// IsRemote says whether service is a host:service of a configured host.
func (f *FleetActions) IsRemote(service string) bool {
	_, _, ok := f.hostOf(service)
	return ok
}

// ForceRestart stops the service whatever its verdict says, then starts
// it: on its host, when it is one's.
func (f *FleetActions) ForceRestart(ctx context.Context, service string) (model.StartOutcome, error) {
	if h, name, ok := f.hostOf(service); ok {
		if _, err := h.Stop(ctx, name, model.StopForce); err != nil {
			return model.StartOutcome{}, err
		}
		return h.Start(ctx, name)
	}
	return f.Controller.ForceRestart(ctx, service)
}

// PrintLog prints the end of the service's log, following it when asked.
func (f *FleetActions) PrintLog(ctx context.Context, w io.Writer, service string, n int, follow bool) error {
	if h, name, ok := f.hostOf(service); ok {
		return h.PrintLog(ctx, w, name, n, follow)
	}
	return f.Controller.PrintLog(ctx, w, service, n, follow)
}
