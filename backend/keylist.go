package backend

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/fsguard"
	"postdeck/backend/identities"
	"postdeck/model"
)

// OnNode says whether the node reports an identity: yes, no, or unknown
// (the node did not answer, or was not asked).
type OnNode int

const (
	OnNodeUnknown OnNode = iota
	OnNodeYes
	OnNodeNo
)

func (o OnNode) String() string {
	switch o {
	case OnNodeYes:
		return "yes"
	case OnNodeNo:
		return "no"
	}
	return "unknown"
}

// MarshalJSON writes true, false or null.
func (o OnNode) MarshalJSON() ([]byte, error) {
	switch o {
	case OnNodeYes:
		return []byte("true"), nil
	case OnNodeNo:
		return []byte("false"), nil
	}
	return []byte("null"), nil
}

// KeyListing is one key file in identities/, with what is known about it.
type KeyListing struct {
	File string `json:"file"`
	// ID is the public key in hex, "" when the file is not a valid key.
	ID string `json:"id"`
	// Dir is the PoST data directory of the configured service whose
	// metadata belongs to this identity; Service is that service's name.
	Dir     string `json:"dir"`
	Service string `json:"service"`
	OnNode  OnNode `json:"on_node"`
	// Problems, each a sentence; empty when the file is fine.
	Problems []string `json:"problems"`
}

// keyListMetaTimeout bounds reading one service's metadata for a listing: a
// dead disk must not hang `keys list`.
const keyListMetaTimeout = 3 * time.Second

// ListKeys lists <dataFolder>/identities/*.key as the node reads them, and
// for each: its identity, the configured service whose PoST data belongs to
// it (by the metadata's NodeId; cfg may be nil), whether the node reports it
// (node may be nil: unknown), and its problems: invalid, whitespace around
// the hex, the same identity in another file, local.key beside others, no
// matching service. A missing or unreadable identities folder gives nil; use
// ReadKeyListings for the reason.
func ListKeys(dataFolder string, cfg *config.Config, node *model.NodeView) []KeyListing {
	l, _ := ReadKeyListings(dataFolder, cfg, node)
	return l
}

// ReadKeyListings is ListKeys with the error of reading the folder.
func ReadKeyListings(dataFolder string, cfg *config.Config, node *model.NodeView) ([]KeyListing, error) {
	files, err := identities.ReadKeyDir(dataFolder)
	if err != nil {
		return nil, err
	}
	var services []config.ServiceConfig
	if cfg != nil {
		services = cfg.Services
	}
	byID := serviceIdentities(services)
	out := make([]KeyListing, 0, len(files))
	for i, f := range files {
		l := KeyListing{File: f.Name, Problems: []string{}}
		if rest, ok := strings.CutPrefix(f.Problem, identities.LocalBesideOthers+"; "); ok {
			l.Problems = append(l.Problems, identities.LocalBesideOthers, rest)
		} else if f.Problem != "" {
			l.Problems = append(l.Problems, f.Problem)
		}
		if f.Public == nil {
			out = append(out, l)
			continue
		}
		l.ID = hex.EncodeToString(f.Public)
		for j, g := range files {
			if j != i && g.Public != nil && bytes.Equal(g.Public, f.Public) {
				l.Problems = append(l.Problems, fmt.Sprintf("same identity as %s: the node refuses to start with one key in two files; remove one of them", g.Name))
			}
		}
		if cfg != nil {
			svcs := byID[string(f.Public)]
			switch len(svcs) {
			case 0:
				l.Problems = append(l.Problems, "no configured service has this identity's PoST data: add a [[service]] for its data directory")
			case 1:
				l.Service, l.Dir = svcs[0].Name, svcs[0].Dir
			default:
				l.Service, l.Dir = svcs[0].Name, svcs[0].Dir
				var names []string
				for _, s := range svcs {
					names = append(names, s.Name)
				}
				l.Problems = append(l.Problems, fmt.Sprintf("PoST data of this identity in %d services (%s): run only one", len(svcs), strings.Join(names, ", ")))
			}
		}
		l.OnNode = onNode(node, f.Public)
		if l.OnNode == OnNodeNo {
			// A problem, as the table's key-not-loaded flag is.
			l.Problems = append(l.Problems, "the node has not loaded it: "+NotLoadedAdvice)
		}
		out = append(out, l)
	}
	return out, nil
}

// serviceIdentities reads each service's metadata (in parallel, each read
// bounded) and groups the services by the identity their data belongs to.
// A service whose metadata cannot be read matches no key.
func serviceIdentities(services []config.ServiceConfig) map[string][]config.ServiceConfig {
	ids := make([][]byte, len(services))
	guard := fsguard.New()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, s := range services {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			m, err := fsguard.Guarded(guard, s.Dir, filepath.Join(s.Dir, model.MetadataFile), keyListMetaTimeout, func() (model.PostMetadata, error) {
				return identities.ReadMetadata(s.Dir)
			})
			if err == nil {
				ids[i] = m.NodeID
			}
		})
	}
	wg.Wait()
	by := map[string][]config.ServiceConfig{}
	for i, id := range ids {
		if id != nil {
			by[string(id)] = append(by[string(id)], services[i])
		}
	}
	for _, svcs := range by {
		sort.SliceStable(svcs, func(i, j int) bool { return svcs[i].Name < svcs[j].Name })
	}
	return by
}

// onNode is the node's model.Loaded verdict for the identity, the one the
// table's rows follow too.
func onNode(v *model.NodeView, public []byte) OnNode {
	if v == nil {
		return OnNodeUnknown
	}
	switch v.Loaded(public) {
	case model.LoadedYes:
		return OnNodeYes
	case model.LoadedNo:
		return OnNodeNo
	}
	return OnNodeUnknown
}

// NotLoadedAdvice is what to do about a key file the node has not loaded;
// `keys list` and `keys check` give the same.
const NotLoadedAdvice = "restart the node so it reads identities/ (keys are read only at start-up); " +
	"if it was restarted, check its log for key errors"

// ConfirmLoaded says whether the node, after its restart, has loaded the
// identity, by model.NodeView.Loaded (the rule of the table's rows and
// `keys list`), and in words what was seen and, when not loaded, what to do.
func ConfirmLoaded(view model.NodeView, public []byte) (bool, string) {
	id := identities.ShortHex(public)
	loaded := view.Loaded(public)
	if loaded == model.LoadedUnknown {
		msg := fmt.Sprintf("cannot confirm %s: the node did not answer SmesherIDs or PostStates", id)
		if len(view.Errors) > 0 {
			var errs []string
			for _, e := range view.Errors {
				errs = append(errs, e.Source+": "+e.Message)
			}
			msg += " (" + strings.Join(errs, "; ") + ")"
		}
		return false, msg + "; is the node up yet?"
	}
	var seen, missing []string
	for _, src := range []struct {
		name     string
		answered bool
		listed   bool
	}{
		{"SmesherIDs", view.HasSmesherIDs, view.InSmesherIDs(public)},
		{"PostStates", view.HasPostStates, view.InPostStates(public)},
	} {
		switch {
		case src.answered && src.listed:
			seen = append(seen, src.name)
		case src.answered:
			missing = append(missing, src.name)
		}
	}
	if loaded == model.LoadedNo {
		return false, fmt.Sprintf("the node does not report %s (not in %s): %s", id, strings.Join(missing, " nor "), NotLoadedAdvice)
	}
	msg := fmt.Sprintf("the node has loaded %s (reported by %s)", id, strings.Join(seen, " and "))
	switch {
	case len(missing) > 0:
		msg += fmt.Sprintf("; not in %s yet", strings.Join(missing, " and "))
	case !view.HasSmesherIDs || !view.HasPostStates:
		msg += "; the other listener did not answer"
	}
	return true, msg
}
