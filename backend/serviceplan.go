package backend

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"postdeck/backend/config"
	"postdeck/backend/identities"
	"postdeck/model"
)

// ServiceRequest asks for the [[service]] of one identity key.
type ServiceRequest struct {
	Key      string // the key file's name in identities/: the service is named after it
	Public   []byte // the key's identity
	Dir      string // the PoST data directory (absolute)
	Operator string // the operator address; "" picks a free port
	ProcRoot string // where running post-services are looked for; "/proc" when empty
}

// ServiceProposal is the [[service]] to add for a key, or the configured
// one that already proves its PoST data.
type ServiceProposal struct {
	Service config.ServiceConfig
	// Existing is set when a configured service already has Dir: there is
	// nothing to add (Note says so).
	Existing *config.ServiceConfig
	// Launch says where Service.Bin came from, or why it has none: the
	// output shows it and the config's comment keeps it.
	Launch string
	config string
}

// Note says why nothing is proposed: a service already has the folder.
func (p *ServiceProposal) Note() string {
	if p.Existing == nil {
		return ""
	}
	return fmt.Sprintf("%s already has service %q for %s", p.config, p.Existing.Name, p.Service.Dir)
}

// ServiceClashError refuses a service that clashes with a configured one
// (its name or operator is taken).
type ServiceClashError struct{ Err error }

func (e *ServiceClashError) Error() string { return e.Err.Error() }
func (e *ServiceClashError) Unwrap() error { return e.Err }

// ProposeService works out the [[service]] for a key beside the services of
// cfg (load it fresh: a service added since postdeck started counts). The
// one rule for `keys add`, the add-key form and the migration wizard: the
// PoST data must belong to the key (its metadata's NodeId is the key's
// public key), or its service would prove for another identity. Its bin
// and shared flags are proposed as proposeLaunch says.
func ProposeService(cfg *config.Config, r ServiceRequest) (*ServiceProposal, error) {
	meta, err := identities.ReadMetadata(r.Dir)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(r.Key, ".key")
	if !bytes.Equal(meta.NodeID, r.Public) {
		return nil, fmt.Errorf("the PoST data in %s belongs to identity %s…, not to %s (%s…): give the folder postcli initialized for this key",
			r.Dir, model.ShortID(meta.NodeID, 12), r.Key, model.ShortID(r.Public, 12))
	}
	p := &ServiceProposal{Service: config.ServiceConfig{Name: name, Dir: r.Dir, Operator: r.Operator}, config: cfg.Path}
	for i, s := range cfg.Services {
		if sd, err := filepath.Abs(s.Dir); err == nil && filepath.Clean(sd) == filepath.Clean(r.Dir) {
			p.Existing = &cfg.Services[i]
			return p, nil
		}
	}
	if p.Service.Operator == "" {
		if p.Service.Operator, err = config.PickOperator(cfg); err != nil {
			return nil, err
		}
	}
	if err := config.ServiceClash(cfg, p.Service); err != nil {
		return nil, &ServiceClashError{err}
	}
	p.Launch = proposeLaunch(cfg, &p.Service, r.ProcRoot)
	return p, nil
}
