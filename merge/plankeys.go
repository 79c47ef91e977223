package merge

// The key rules of a plan: both identities/ folders read the way the node
// reads them, and every rule that spans the two sides.

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"postdeck/backend/identities"
	"postdeck/model"
)

// keyFile is a key file read from one side.
type keyFile struct {
	side, name string
	rawBytes   []byte
	key        model.Key
	err        error
}

// planKeys reads both identities folders and checks every key rule that
// spans them. It returns the source's keys, to be copied.
func planKeys(p *Plan) []KeyCopy {
	src, srcErr := readKeys(p.From, "source")
	if srcErr != nil {
		p.problem(KindPaths, "%v", srcErr)
	}
	var dst []keyFile
	if !p.CreateDir {
		var err error
		dst, err = readKeys(p.To, "target")
		if errors.Is(err, fs.ErrNotExist) {
			p.CreateIdentities = true
		} else if err != nil {
			p.problem(KindPaths, "%v", err)
		}
	}
	if srcErr == nil && len(src) == 0 {
		p.note("the source has no key files: only database rows are merged")
	}
	for _, side := range [][]keyFile{src, dst} {
		for _, k := range side {
			if k.name == model.LocalKeyName {
				p.problem(KindLocalKey, "%s has %s: merging of supervised smeshing nodes is not supported: rename %s to a descriptive name (like the PoST data folder's name, e.g. data1.key) and plan again",
					k.side, filepath.Join(sideDir(p, k.side), "identities", model.LocalKeyName), model.LocalKeyName)
			}
			if k.err != nil {
				p.problem(KindInvalidKey, "%s key file %s is invalid: %v: fix or remove it first (the node would not start with it either)",
					k.side, filepath.Join(sideDir(p, k.side), "identities", k.name), k.err)
			} else if k.key.Warning != "" && k.side == "target" {
				// The merge leaves the target's own keys alone, but the
				// node would not start with this one: the merged node
				// would not run at all.
				path := filepath.Join(sideDir(p, k.side), "identities", k.name)
				p.problem(KindInvalidKey, "target key file %s %s (for example: `tr -d '[:space:]' < %s > %s.tmp && chmod 600 %s.tmp && mv %s.tmp %s`), then plan again",
					path, k.key.Warning, path, path, path, path, path)
			}
		}
	}
	dstNames := map[string]bool{}
	for _, k := range dst {
		dstNames[k.name] = true
	}
	var clash []string
	for _, k := range src {
		if dstNames[k.name] {
			clash = append(clash, k.name)
		}
	}
	if len(clash) > 0 {
		p.problem(KindNameClash, "key file name(s) on both sides: %s: rename the source's file(s) (a key's file name is only a label) and plan again", strings.Join(clash, ", "))
	}
	// The same public key under any names, on either side: the node refuses
	// to start, or worse, one identity ends up running twice.
	type where struct{ side, name string }
	byPub := map[string][]where{}
	var order []string
	for _, side := range [][]keyFile{src, dst} {
		for _, k := range side {
			if k.err != nil {
				continue
			}
			h := hex.EncodeToString(k.key.Public)
			if byPub[h] == nil {
				order = append(order, h)
			}
			byPub[h] = append(byPub[h], where{k.side, k.name})
		}
	}
	for _, h := range order {
		ws := byPub[h]
		if len(ws) < 2 {
			continue
		}
		var names []string
		for _, w := range ws {
			names = append(names, w.side+" "+w.name)
		}
		p.problem(KindDuplicateKey, "one identity (public key %s…) is in %s: an identity must be in exactly one key file on one node (two copies get it banned for equivocation); remove the extra copy and plan again",
			h[:12], strings.Join(names, " and "))
	}
	var out []KeyCopy
	for _, k := range src {
		if k.err != nil {
			continue
		}
		out = append(out, KeyCopy{Name: k.name, Public: k.key.Public, private: k.key.Private,
			Rewritten: k.key.Warning != "" || !bytes.Equal(k.raw(), []byte(hex.EncodeToString(k.key.Private)))})
	}
	return out
}

func (k keyFile) raw() []byte { return k.rawBytes }

func sideDir(p *Plan, side string) string {
	if side == "source" {
		return p.From
	}
	return p.To
}

// readKeys reads <dir>/identities/ the way the node does (see
// identities.KeyFiles) and parses each key file.
func readKeys(dir, side string) ([]keyFile, error) {
	kd, entries, err := identities.KeyFiles(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if side == "source" {
			return nil, fmt.Errorf("source %s has no identities/ folder: is it a node data folder?", dir)
		}
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list %s: %v", kd, err)
	}
	var keys []keyFile
	for _, e := range entries {
		kf := keyFile{side: side, name: e.Name()}
		kf.rawBytes, kf.key, kf.err = identities.ReadKey(filepath.Join(kd, e.Name()))
		keys = append(keys, kf)
	}
	return keys, nil
}

// checkFleet is the equivocation guard: every key the merge would place
// into the target is compared with what the other nodes of the fleet hold
// (Options.Fleet, asked by the caller: merge makes no gRPC call). A key
// another node holds, or a node not compared at all, is a problem unless
// its override was typed; an overridden one goes to Overrides.
func checkFleet(p *Plan) {
	if p.Fleet == nil {
		return
	}
	notes := map[string]bool{}
	for _, k := range p.Keys {
		c := p.Fleet.Conflict(k.Public, p.TargetNode)
		for _, n := range c.Notes() {
			if !notes[n] {
				notes[n] = true
				p.note("%s", n)
			}
		}
		switch {
		case !c.Refused():
		case c.Overridden(p.PlaceAnyway):
			p.Overrides = append(p.Overrides, c)
			p.note("%s is placed anyway (--place-anyway %s): %s", k.Name, c.OverridePrefix(), c.Reason())
		default:
			p.problem(KindOnOtherNode, "%s: %s; remove the other copy first, or, only if it can never run there again, merge it anyway with `postdeck merge --from %s --to %s --place-anyway %s` (the identity's first 8 hex characters, typed; audited)",
				k.Name, c.Reason(), p.From, p.To, c.OverridePrefix())
		}
	}
}
