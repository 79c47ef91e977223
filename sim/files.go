package sim

import (
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"postdeck/model"
)

// maxFileSize is post's default MaxFileSize.
const maxFileSize = 4294967296

func (s *Sim) dataFolder() string { return filepath.Join(s.opts.Dir, "node_data") }

func (s *Sim) keyPath(id *ident) string {
	return filepath.Join(s.dataFolder(), "identities", id.keyFile())
}

// createIdentities makes the keys and metadata (deterministic from Seed),
// writes them to disk and registers the identities and their services.
func (s *Sim) createIdentities() error {
	if err := os.MkdirAll(filepath.Join(s.dataFolder(), "identities"), 0o700); err != nil {
		return err
	}
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(s.opts.Seed))
	src := rand.NewChaCha8(seed)
	width := s.opts.IndexWidth
	for i := 1; i <= s.opts.IDs; i++ {
		number := s.opts.FirstIndex + i - 1
		id := s.newIdent(src, fmt.Sprintf("post%0*d", width, number))
		if !s.demoWithoutService(i) {
			name := fmt.Sprintf("data%0*d", width, number)
			id.svc = &service{name: name, dir: filepath.Join(s.opts.Dir, "post", name), id: id}
			s.svcs[name] = id.svc
		}
		s.ids = append(s.ids, id)
		s.byID[string(id.pub)] = id
	}
	if s.opts.Demo && s.opts.IDs >= 4 {
		s.markDemoCases()
	}
	return s.writeAll()
}

// writeAll writes every identity's files. Sequentially: creating small
// files is bound by the file system, and parallel writers were slower.
func (s *Sim) writeAll() error {
	for _, id := range s.ids {
		if err := s.writeFiles(id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sim) demoWithoutService(i int) bool {
	return s.opts.Demo && s.opts.IDs >= 4 && i == s.opts.IDs-2
}

func (s *Sim) newIdent(src *rand.ChaCha8, name string) *ident {
	// NewKeyFromSeed rather than GenerateKey(src): crypto may ignore a
	// caller's reader, and the keys must be the same for the same Seed.
	var seed [ed25519.SeedSize]byte
	src.Read(seed[:])
	priv := ed25519.NewKeyFromSeed(seed[:])
	pub := priv.Public().(ed25519.PublicKey)
	atx := make([]byte, 32)
	src.Read(atx)
	return &ident{
		name:   name,
		priv:   priv,
		pub:    pub,
		onNode: true,
		node:   model.NodeIdle,
		wake:   make(chan struct{}, 1),
		meta: model.PostMetadata{
			NodeID:          pub,
			CommitmentAtxID: atx,
			LabelsPerUnit:   s.opts.LabelsPerUnit,
			NumUnits:        1 + uint32(src.Uint64()%8),
			MaxFileSize:     maxFileSize,
		},
	}
}

// writeFiles writes the key file into the node's identities/ and, for an
// identity with a service, its PoST dir with the metadata. No identity.key is
// left in the PoST dir: operators move it into identities/ (and at 1000
// identities every file costs start-up time).
func (s *Sim) writeFiles(id *ident) error {
	key := []byte(hex.EncodeToString(id.priv)) // lower-case, no newline
	if err := writePrivate(s.keyPath(id), key); err != nil {
		return err
	}
	if id.svc == nil {
		return nil
	}
	if err := os.MkdirAll(id.svc.dir, 0o700); err != nil {
		return err
	}
	return writeMetadata(id.svc.dir, id.meta)
}

// writePrivate writes a 0600 file, fixing the mode of one that existed.
func writePrivate(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}

// loadNewKeys reads DataFolder/identities/*.key as a node does when it
// starts and adds every valid key whose public key the sim does not know yet
// as an identity on the node: IDLE, named after its file, with no
// post-service, and left out of the proving cycle (nothing would serve its
// proofs). Files that are not exactly *.key or fail model.ParseKey are
// skipped. With restart, it is the node starting again, which loads every
// key file, so a known identity whose key the node had not loaded (the
// demo's unloaded key) is loaded too, and one with a post-service joins the
// proving cycle: restarting the node is what `keys check` tells the
// operator to do about it, and it must work here as it does on a node.
// Without restart (Start's loading of ExtraKeyFiles) known identities are
// left as they are. It returns the file names loaded, sorted.
func (s *Sim) loadNewKeys(restart bool) ([]string, error) {
	dir := filepath.Join(s.dataFolder(), "identities")
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read keys: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var loaded []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || filepath.Ext(name) != ".key" || name == ".key" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		k, err := model.ParseKey(b)
		if err != nil {
			continue
		}
		if known := s.byID[string(k.Public)]; known != nil {
			if restart && !known.onNode {
				s.loadKnown(known)
				loaded = append(loaded, name)
			}
			continue
		}
		id := &ident{
			name:   strings.TrimSuffix(name, ".key"),
			priv:   k.Private,
			pub:    k.Public,
			onNode: true,
			node:   model.NodeIdle,
			wake:   make(chan struct{}, 1),
			meta:   model.PostMetadata{NodeID: k.Public},
		}
		id.frozen, id.phase, id.nextAt = true, phIdle, never
		s.ids = append(s.ids, id)
		s.byID[string(id.pub)] = id
		loaded = append(loaded, name)
	}
	return loaded, nil
}

// loadKnown puts a known identity whose key the node had not loaded on the
// node, IDLE; one with a post-service proves from its next round on, as
// the others do, unless the sim is Manual. s.mu must be held.
func (s *Sim) loadKnown(id *ident) {
	id.onNode, id.node = true, model.NodeIdle
	id.phase, id.phaseAt, id.nextAt = phIdle, s.simNow(), never
	id.frozen = id.svc == nil || s.opts.Manual
	if !id.frozen {
		id.nextAt = id.phaseAt + s.draw(idleFor)
	}
}

// loadExtraKeys copies Options.ExtraKeyFiles into identities/ and loads
// them as the node's start-up would. Each must be a valid key and load: a
// key this node has already is a mistake of the caller, not a shared one.
func (s *Sim) loadExtraKeys() error {
	if len(s.opts.ExtraKeyFiles) == 0 {
		return nil
	}
	dir := filepath.Join(s.dataFolder(), "identities")
	for _, src := range s.opts.ExtraKeyFiles {
		if filepath.Ext(src) != ".key" {
			return fmt.Errorf("extra key %s: not a *.key file, which is all a node loads", src)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("extra key: %w", err)
		}
		if _, err := model.ParseKey(b); err != nil {
			return fmt.Errorf("extra key %s: %w", src, err)
		}
		// O_EXCL: never replace one of this node's own keys.
		dst := filepath.Join(dir, filepath.Base(src))
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("extra key %s: %w", src, err)
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("extra key %s: %w", src, err)
		}
	}
	loaded, err := s.loadNewKeys(false)
	if err != nil {
		return err
	}
	if len(loaded) != len(s.opts.ExtraKeyFiles) {
		return fmt.Errorf("extra keys %v: the node loaded only %v: the others are its own keys already", s.opts.ExtraKeyFiles, loaded)
	}
	return nil
}
