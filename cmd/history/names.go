package history

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"postdeck/backend/ledger"
	"postdeck/model"
)

// joinIdentities names the ledger's identities by the snapshot's rows and
// adds the rows' identities the ledger has no record of yet (their epochs
// read "not observed"), ordered by name, then id.
func joinIdentities(rows []model.Row, stored [][]byte) []identity {
	byID := map[string]identity{}
	for _, id := range stored {
		byID[string(id)] = identity{Identity: ledger.Identity{ID: id}}
	}
	for i := range rows {
		r := &rows[i]
		if len(r.ID) == 0 {
			continue // a bad key or missing metadata: no identity to look up
		}
		id := byID[string(r.ID)]
		id.ID, id.Name = r.ID, r.Name
		if id.service == "" {
			id.service = r.Service
		}
		byID[string(r.ID)] = id
	}
	out := make([]identity, 0, len(byID))
	for _, id := range byID {
		out = append(out, id)
	}
	slices.SortFunc(out, func(a, b identity) int {
		return cmp.Or(cmp.Compare(unnamed(a), unnamed(b)), strings.Compare(a.Name, b.Name), strings.Compare(a.hexID(), b.hexID()))
	})
	return out
}

// unnamed sorts the identities without a name after the named ones.
func unnamed(id identity) int {
	if id.Name == "" {
		return 1
	}
	return 0
}

// pick keeps the identities the names call for: a key file name, a
// service name, or a hex id (a prefix of eight digits or more). No names
// keeps all.
func pick(ids []identity, names []string) ([]identity, error) {
	if len(names) == 0 {
		return ids, nil
	}
	var out []identity
	for _, n := range names {
		matched := false
		for _, id := range ids {
			if !id.calls(n) {
				continue
			}
			matched = true
			if !slices.ContainsFunc(out, id.same) {
				out = append(out, id)
			}
		}
		if !matched {
			return nil, fmt.Errorf("no identity, key file or service named %q: see `postdeck status` for the names", n)
		}
	}
	return out, nil
}

// calls reports whether name is one of the identity's names.
func (id identity) calls(name string) bool {
	if name == id.service || slices.Contains(strings.Split(id.Name, ", "), name) {
		return true
	}
	return len(name) >= 8 && strings.HasPrefix(id.hexID(), strings.ToLower(name))
}

func (id identity) same(o identity) bool { return string(id.ID) == string(o.ID) }
