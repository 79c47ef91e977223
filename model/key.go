package model

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
)

// KeyHexLen is the length of an identity key file: hex of seed ‖ public key.
const KeyHexLen = 2 * ed25519.PrivateKeySize

// Key is a validated identity key.
type Key struct {
	Private ed25519.PrivateKey
	Public  ed25519.PublicKey
	// Warning is set when the file is usable by us but not by the node as it
	// is (a trailing newline makes go-spacemesh fail to start).
	Warning string
}

// LocalKeyName is the key file a node creates for itself in identities/ when
// it finds no keys; it makes the node a supervised single-identity node.
const LocalKeyName = "local.key"

// MergeJournalName is the journal an unfinished merge leaves in the target
// data folder: merge writes it, the poller warns while it is there.
const MergeJournalName = "postdeck-merge.journal"

// ParseKey validates the content of a `.key` file and says which rule failed.
func ParseKey(content []byte) (Key, error) {
	trimmed := bytes.TrimSpace(content)
	if len(trimmed) != KeyHexLen {
		return Key{}, fmt.Errorf("must be exactly %d hex characters, found %d", KeyHexLen, len(trimmed))
	}
	raw := make([]byte, ed25519.PrivateKeySize)
	if _, err := hex.Decode(raw, trimmed); err != nil {
		return Key{}, fmt.Errorf("not hex: %v", err)
	}
	seed, public := raw[:ed25519.SeedSize], raw[ed25519.SeedSize:]
	derived := ed25519.NewKeyFromSeed(seed)
	if !bytes.Equal(derived.Public().(ed25519.PublicKey), public) {
		return Key{}, fmt.Errorf("public half does not match the seed: the key is corrupt")
	}
	k := Key{Private: derived, Public: ed25519.PublicKey(public)}
	if len(trimmed) != len(content) {
		k.Warning = "has whitespace or a newline around the hex: the node will fail to start; rewrite the file with only the 128 hex characters"
	}
	return k, nil
}

// KeyFile is one file in the node's identities/ folder.
type KeyFile struct {
	Name   string
	Public []byte // nil when the file is invalid
	// Problem says why the file is unusable or risky, empty when fine.
	Problem string
}
