package sim

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"postdeck/model"
)

// smesherIDs asks the private listener for SmesherIDs through reflection.
func smesherIDs(t testing.TB, s *Sim) [][]byte {
	t.Helper()
	resp, err := call(t, dial(t, s.Layout().PrivateListener), "spacemesh.v1.SmesherService", "SmesherIDs")
	if err != nil {
		t.Fatalf("SmesherIDs: %v", err)
	}
	var out [][]byte
	keys := resp.Get(field(resp, "public_keys")).List()
	for i := range keys.Len() {
		out = append(out, keys.Get(i).Bytes())
	}
	return out
}

// stopAndRestart stops the node and starts it again, which must load
// exactly the key files want.
func stopAndRestart(t *testing.T, s *Sim, want ...string) {
	t.Helper()
	if err := s.StopNode(); err != nil {
		t.Fatal(err)
	}
	loaded, err := s.RestartNode()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(loaded, want) {
		t.Errorf("loaded %v, want %v", loaded, want)
	}
}

func writeKey(t *testing.T, path string, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A key copied into identities/ is loaded when the node restarts, not before;
// files that are not valid *.key files are not.
func TestStartNodeLoadsNewKeys(t *testing.T) {
	s := startSim(t, Options{IDs: 2, Manual: true})
	ids := filepath.Join(s.Layout().DataFolder, "identities")
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	writeKey(t, filepath.Join(ids, "old1.key"), hex.EncodeToString(priv))
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	writeKey(t, filepath.Join(ids, "old2.key.bak"), hex.EncodeToString(other)) // not exactly .key
	writeKey(t, filepath.Join(ids, "bad.key"), "00")                           // invalid
	// The same identity as post01 under another name: already loaded.
	dup, err := os.ReadFile(filepath.Join(ids, "post01.key"))
	if err != nil {
		t.Fatal(err)
	}
	writeKey(t, filepath.Join(ids, "copy.key"), string(dup))

	if n := len(postStates(t, s)); n != 2 {
		t.Fatalf("before the restart PostStates has %d states, want 2", n)
	}
	before := map[string]model.PostState{}
	for _, ps := range postStates(t, s) {
		before[ps.Name] = ps
	}
	stopAndRestart(t, s, "old1.key")
	states := postStates(t, s)
	if len(states) != 3 {
		t.Fatalf("after the restart PostStates has %d states, want 3: %+v", len(states), states)
	}
	for _, ps := range states {
		if ps.Name == "old1.key" {
			if !bytes.Equal(ps.ID, pub) || ps.State != model.NodeIdle {
				t.Errorf("old1.key: %+v, want IDLE with id %x", ps, pub)
			}
			continue
		}
		if b, ok := before[ps.Name]; !ok || !bytes.Equal(b.ID, ps.ID) || b.State != ps.State {
			t.Errorf("%s changed: %+v → %+v", ps.Name, b, ps)
		}
	}
	if got := smesherIDs(t, s); len(got) != 3 || !slices.ContainsFunc(got, func(b []byte) bool { return bytes.Equal(b, pub) }) {
		t.Errorf("SmesherIDs %x, want 3 including %x", got, pub)
	}

	// Starting again, running or after another stop, adds nothing twice.
	if err := s.StartNode(); err != nil {
		t.Fatal(err)
	}
	s.StopNode()
	if loaded, err := s.RestartNode(); err != nil || len(loaded) != 0 {
		t.Errorf("second restart loaded %v, %v", loaded, err)
	}
	if n := len(postStates(t, s)); n != 3 {
		t.Errorf("after the second restart PostStates has %d states, want 3", n)
	}
}

// The demo's key that the node has not loaded is loaded when the node
// restarts, as `keys check` advises, and its post-service then proves like
// the others: the advice works on the simulated node as on a real one.
func TestRestartLoadsTheDemosUnloadedKey(t *testing.T) {
	s := startSim(t, Options{IDs: 4, Demo: true, Speed: 100})
	l := s.Layout()
	unloaded := l.Services[len(l.Services)-1] // post04: the demo's last case
	if filepath.Base(unloaded.KeyFile) != "post04.key" {
		t.Fatalf("the last service is %s's, want post04.key's", unloaded.KeyFile)
	}
	has := func(ids [][]byte) bool {
		return slices.ContainsFunc(ids, func(b []byte) bool { return bytes.Equal(b, unloaded.NodeID) })
	}
	if has(smesherIDs(t, s)) {
		t.Fatal("the node reports post04 before any restart")
	}
	stopAndRestart(t, s, "post04.key")
	if !has(smesherIDs(t, s)) {
		t.Error("SmesherIDs lacks post04 after the restart")
	}
	waitFor(t, 10*time.Second, "post04 PROVING and its service proving", func() bool {
		for _, ps := range postStates(t, s) {
			if bytes.Equal(ps.ID, unloaded.NodeID) && ps.State == model.NodeProving {
				st, err := getStatus(t, unloaded.Operator)
				return err == nil && st.State == model.ServiceProving
			}
		}
		return false
	})
}
