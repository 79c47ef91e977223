package backend

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/fsguard"
	"postdeck/backend/identities"
	"postdeck/backend/nodeapi"
	"postdeck/backend/remote"
	"postdeck/model"
)

// fleetKeyFolderTimeout bounds the read of one node's identities/ folder:
// longer than a poll's file timeout, as an operator waits for this once and
// a slow disk must not count as a node that could not be compared.
const fleetKeyFolderTimeout = 10 * time.Second

// fleetGuard keeps a hung key folder to one stuck goroutine however often
// the fleet is asked (the wizard asks again on every Plan again).
var fleetGuard = fsguard.New()

// AskFleet asks every node of cfg, all at once, which identities it holds:
// the public keys it lists (SmesherIDs and PostStates, each call with the
// config's node timeout) and those of the key files in its data folder's
// identities/ (read the node's way, within fleetKeyFolderTimeout through
// fsguard). A node or folder that does not answer becomes a NodeGap, never
// an error, and holds up no other node. For one-node configs it asks that
// node alike; the callers only guard fleets.
func AskFleet(ctx context.Context, cfg *config.Config) *model.FleetKeys {
	nodes := cfg.AllNodes()
	type answer struct {
		listed []model.KeyHolder
		ids    [][]byte
		gap    model.NodeGap
	}
	answers := make([]answer, len(nodes))
	var wg sync.WaitGroup
	for i := range nodes {
		n := &nodes[i]
		a := &answers[i]
		a.gap = model.NodeGap{Node: n.Name, NoFolder: n.DataFolder == ""}
		var listIDs, fileIDs [][]byte
		var fileHows []string
		var lwg sync.WaitGroup
		lwg.Go(func() { listIDs, a.gap.Listing = askListed(ctx, cfg, n) })
		lwg.Go(func() { fileIDs, fileHows, a.gap.KeyFiles = readFleetKeyFiles(n.DataFolder) })
		wg.Go(func() {
			lwg.Wait()
			for _, id := range listIDs {
				a.ids = append(a.ids, id)
				a.listed = append(a.listed, model.KeyHolder{Node: n.Name, How: model.HowListed})
			}
			for j, id := range fileIDs {
				a.ids = append(a.ids, id)
				a.listed = append(a.listed, model.KeyHolder{Node: n.Name, How: fileHows[j]})
			}
		})
	}
	hosts := make([]*model.FleetKeys, len(cfg.Hosts))
	for i, hc := range cfg.Hosts {
		wg.Go(func() { hosts[i] = askHost(ctx, hc) })
	}
	wg.Wait()
	f := &model.FleetKeys{}
	for i, a := range answers {
		f.Nodes = append(f.Nodes, nodes[i].Name)
		for j, id := range a.ids {
			f.Hold(id, a.listed[j].Node, a.listed[j].How)
		}
		if a.gap.Listing != "" || a.gap.KeyFiles != "" {
			f.Gaps = append(f.Gaps, a.gap)
		}
	}
	for _, h := range hosts {
		f.Nodes = append(f.Nodes, h.Nodes...)
		for id, hs := range h.Holders {
			for _, k := range hs {
				f.Hold([]byte(id), k.Node, k.How)
			}
		}
		f.Gaps = append(f.Gaps, h.Gaps...)
	}
	return f
}

// hostAskTimeout bounds one [[host]]'s answer to the guard: a login and
// one status.
const hostAskTimeout = 15 * time.Second

// askHost is what another host's nodes hold, from its postdeck serve's
// status (each identity it marks held, named host/node); a host that does
// not answer is a gap of which nothing was compared.
func askHost(ctx context.Context, hc config.HostConfig) *model.FleetKeys {
	ctx, cancel := context.WithTimeout(ctx, hostAskTimeout)
	defer cancel()
	f := &model.FleetKeys{Nodes: []string{hc.Name}}
	doc, err := remote.AskStatus(ctx, hc)
	if err != nil {
		f.Gaps = []model.NodeGap{{Node: "host " + hc.Name, Listing: err.Error(), NoFolder: true}}
		return f
	}
	for _, id := range doc.Identities {
		pub, err := hex.DecodeString(id.ID)
		if err != nil || !id.Held {
			continue
		}
		f.Hold(pub, model.NodeLabel(hc.Name, id.Node), "held on host "+hc.Name+" (listed by its node or a key file there)")
	}
	return f
}

// askListed is every public key node n reports, in SmesherIDs or
// PostStates; why is "" when at least one of the two answered.
func askListed(ctx context.Context, cfg *config.Config, n *config.NodeConfig) ([][]byte, string) {
	client, err := nodeapi.NewClient(nodeapi.OptionsForNode(cfg, n))
	if err != nil {
		return nil, err.Error()
	}
	defer client.Close()
	v := client.View(ctx)
	if !v.HasSmesherIDs && !v.HasPostStates {
		// The post listener's error comes first (View's order): it
		// says why PostStates failed, which is enough to act on.
		if len(v.Errors) > 0 {
			return nil, v.Errors[0].Message
		}
		return nil, "no answer"
	}
	ids := append([][]byte(nil), v.SmesherIDs...)
	for _, ps := range v.PostStates {
		ids = append(ids, ps.ID)
	}
	return ids, ""
}

// readFleetKeyFiles is the public key of every usable key file in
// dataFolder/identities/ with "key file identities/NAME"; a missing
// identities/ holds none. A file that is not a key cannot be compared and
// is left out: the node would refuse to start with it anyway.
func readFleetKeyFiles(dataFolder string) (ids [][]byte, hows []string, why string) {
	if dataFolder == "" {
		return nil, nil, ""
	}
	type read struct {
		ids  [][]byte
		hows []string
	}
	r, err := fsguard.Guarded(fleetGuard, "fleetkeys:"+dataFolder, "identities folder in "+dataFolder, fleetKeyFolderTimeout, func() (read, error) {
		var r read
		dir, entries, err := identities.KeyFiles(dataFolder)
		if errors.Is(err, fs.ErrNotExist) {
			return r, nil
		}
		if err != nil {
			return r, fmt.Errorf("cannot list %s: %v", dir, err)
		}
		for _, e := range entries {
			_, k, err := identities.ReadKey(filepath.Join(dir, e.Name()))
			if err != nil {
				continue
			}
			r.ids = append(r.ids, []byte(k.Public))
			r.hows = append(r.hows, "key file identities/"+e.Name())
		}
		return r, nil
	})
	if err != nil {
		return nil, nil, err.Error()
	}
	return r.ids, r.hows, ""
}

// NodeOfFolder is the name of the configured node whose data_folder is
// folder (the same folder, however written), "" when none is.
func NodeOfFolder(cfg *config.Config, folder string) string {
	want, err := filepath.Abs(folder)
	if err != nil {
		return ""
	}
	wantFI, wantErr := os.Stat(want)
	for _, n := range cfg.AllNodes() {
		if n.DataFolder == "" {
			continue
		}
		have, err := filepath.Abs(n.DataFolder)
		if err != nil {
			continue
		}
		if have == want {
			return n.Name
		}
		if fi, err := os.Stat(have); err == nil && wantErr == nil && os.SameFile(fi, wantFI) {
			return n.Name
		}
	}
	return ""
}
