package backend

import (
	"context"
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
