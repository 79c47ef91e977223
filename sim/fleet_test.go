package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"postdeck/model"
)

// A node of a fleet numbers its keys and services on from FirstIndex, with
// the digits of IndexWidth, so two nodes' services never share a name.
func TestFirstIndexAndWidth(t *testing.T) {
	s := startSim(t, Options{IDs: 3, Manual: true, FirstIndex: 13, IndexWidth: 3})
	var names, keys []string
	for _, svc := range s.Layout().Services {
		names = append(names, svc.Name)
		keys = append(keys, filepath.Base(svc.KeyFile))
	}
	if want := []string{"data013", "data014", "data015"}; !slices.Equal(names, want) {
		t.Errorf("services %v, want %v", names, want)
	}
	if want := []string{"post013.key", "post014.key", "post015.key"}; !slices.Equal(keys, want) {
		t.Errorf("key files %v, want %v", keys, want)
	}
	// Without a width, the last number decides it.
	s = startSim(t, Options{IDs: 2, Manual: true, FirstIndex: 99})
	if got := s.Layout().Services[1].Name; got != "data100" {
		t.Errorf("the second of two from 99 is %s, want data100", got)
	}
}

// A key file of another node, given as ExtraKeyFiles, is on this node's
// disk and loaded: SmesherIDs and PostStates (IDLE, under its file name)
// report it on both nodes, while the layout's services stay this node's.
func TestExtraKeyFilesShareAnIdentity(t *testing.T) {
	a := startSim(t, Options{IDs: 2, Manual: true, Seed: 1})
	shared := a.Layout().Services[0]
	b := startSim(t, Options{IDs: 2, Manual: true, Seed: 2, FirstIndex: 3, ExtraKeyFiles: []string{shared.KeyFile}})

	copied, err := os.ReadFile(filepath.Join(b.Layout().DataFolder, "identities", "post01.key"))
	if err != nil {
		t.Fatalf("the copy in the second node's identities: %v", err)
	}
	if k, err := model.ParseKey(copied); err != nil || !bytes.Equal(k.Public, shared.NodeID) {
		t.Fatalf("the copy is not the shared key (%v)", err)
	}
	inA, inB := smesherIDs(t, a), smesherIDs(t, b)
	var both [][]byte
	for _, id := range inB {
		if slices.ContainsFunc(inA, func(x []byte) bool { return bytes.Equal(x, id) }) {
			both = append(both, id)
		}
	}
	// Exactly the one given: other seeds make other keys.
	if len(both) != 1 || !bytes.Equal(both[0], shared.NodeID) {
		t.Fatalf("identities on both nodes %x, want only %x", both, shared.NodeID)
	}
	if len(inB) != 3 {
		t.Errorf("the second node reports %d identities, want its 2 and the shared one", len(inB))
	}
	states := postStates(t, b) // in random order, as a node's
	i := slices.IndexFunc(states, func(ps model.PostState) bool { return bytes.Equal(ps.ID, shared.NodeID) })
	if i < 0 {
		t.Fatal("the shared identity is not in the second node's PostStates")
	}
	if ps := states[i]; ps.State != model.NodeIdle || ps.Name != "post01.key" {
		t.Errorf("its PostState %+v, want IDLE named post01.key", ps)
	}
	if n := len(b.Layout().Services); n != 2 {
		t.Errorf("%d services in the second node's layout, want its own 2 (nothing serves the shared key there)", n)
	}
	// A restart loads nothing new: the copy was loaded at Start.
	if err := b.StopNode(); err != nil {
		t.Fatal(err)
	}
	if loaded, err := b.RestartNode(); err != nil || len(loaded) != 0 {
		t.Errorf("restart loaded %v (%v), want nothing", loaded, err)
	}
}

// What cannot be a shared key fails Start, saying which file.
func TestExtraKeyFilesRefused(t *testing.T) {
	a := startSim(t, Options{IDs: 1, Manual: true, Seed: 1})
	own := a.Layout().Services[0].KeyFile
	garbage := filepath.Join(t.TempDir(), "bad.key")
	writeKey(t, garbage, "00")
	notKey := filepath.Join(t.TempDir(), "post01.txt")
	writeKey(t, notKey, "00")
	renamed := filepath.Join(t.TempDir(), "other.key")
	b, err := os.ReadFile(own)
	if err != nil {
		t.Fatal(err)
	}
	writeKey(t, renamed, string(b))
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"invalid", Options{IDs: 1, FirstIndex: 2, ExtraKeyFiles: []string{garbage}}, garbage},
		{"not *.key", Options{IDs: 1, FirstIndex: 2, ExtraKeyFiles: []string{notKey}}, "not a *.key file"},
		// Its own post01.key is there: a copy must not replace it.
		{"name taken", Options{IDs: 1, Seed: 2, ExtraKeyFiles: []string{own}}, "exists"},
		// Seed 1 again: other.key is this node's own post01 under another name.
		{"its own key", Options{IDs: 1, Seed: 1, FirstIndex: 2, ExtraKeyFiles: []string{renamed}}, "its own keys already"},
	} {
		c.opts.Manual, c.opts.Dir = true, t.TempDir()
		s, err := Start(t.Context(), c.opts)
		if err == nil {
			s.Close()
			t.Errorf("%s: started", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.want)
		}
	}
}
