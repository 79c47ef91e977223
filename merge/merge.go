// Package merge merges one go-spacemesh node's identities into another's:
// the keys in identities/ and the identities' rows in local.sql (post or
// initial_post, challenge, poet_registration, nipost). It does what
// go-spacemesh's merge-nodes does and fixes where that falls short: every
// check runs before anything is written (the same key under two names, a
// running node, unfinished writes), the target is backed up first, the rows
// are copied in one transaction whose commit decides the outcome, keys are
// staged before and moved after that commit, a journal lets Recover finish or
// undo a merge that was interrupted, and the source is never opened for
// writing.
//
// Use NewPlan to see what a merge would do (it never writes), Execute to run it
// and Recover after a crash. The package has no UI.
package merge

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"postdeck/model"
)

// Options say what to merge.
type Options struct {
	From string // the old node's data folder (read only)
	To   string // the node data folder that receives the identities
	// NodeAddrs are node gRPC listeners (host:port) to probe: one that
	// answers means a node is running and the merge is refused.
	NodeAddrs []string
	// ProcRoot is where processes are listed, normally "/proc" (the
	// default when empty).
	ProcRoot string
	// Fleet is what every configured node holds (the caller asks them:
	// backend.AskFleet), for the equivocation guard; nil when the config
	// has one node or none, and nothing is compared. TargetNode is the
	// configured node whose data folder To is ("" when none is: every node
	// is another). PlaceAnyway are the overrides typed: identities' first
	// 8 hex characters.
	Fleet       *model.FleetKeys
	TargetNode  string
	PlaceAnyway []string
}

// Problem kinds: stable names for callers (the wizard offers the rename for
// KindLocalKey).
const (
	KindLocalKey     = "local-key"
	KindNameClash    = "name-clash"
	KindDuplicateKey = "duplicate-key"
	KindInvalidKey   = "invalid-key"
	KindRowClash     = "row-clash"
	KindInUse        = "in-use"
	KindWAL          = "unfinished-writes"
	KindBadDatabase  = "bad-database"
	KindVersion      = "schema-version"
	KindSchema       = "schema"
	KindReadOnly     = "read-only"
	KindUnfinished   = "unfinished-merge"
	KindSpace        = "disk-space"
	KindPaths        = "paths"
	// KindOnOtherNode: another node of the fleet holds a key the merge
	// would place (or a node could not be compared at all).
	KindOnOtherNode = "on-other-node"
)

// Problem is one reason the merge is refused, in words: why, and what to do.
type Problem struct {
	Kind    string
	Message string
}

func (p Problem) String() string { return p.Message }

// KeyCopy is a key file to copy from the source into the target.
type KeyCopy struct {
	Name   string // file name in identities/, e.g. "post3.key"
	Public []byte // ed25519 public key: the node ID
	// Rewritten is set when the source file is usable but not as the node
	// wants it (whitespace, upper-case hex): the copy is clean.
	Rewritten bool
	private   []byte // seed ‖ public key
}

// PublicHex is the full public key in hex.
func (k KeyCopy) PublicHex() string { return hex.EncodeToString(k.Public) }

// Short is the public key's first 6 bytes in hex, as postdeck shows node IDs.
func (k KeyCopy) Short() string {
	h := k.PublicHex()
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// TableCopy is one table's rows: how many the target has and how many the
// merge adds.
type TableCopy struct {
	Name   string
	Target int64 // rows in the target before the merge
	Copy   int64 // rows the merge copies from the source
}

// Plan is what a merge will do, found by reading both sides.
type Plan struct {
	Options
	// Version is the schema version (PRAGMA user_version) both sides share;
	// 0 when unknown.
	Version int
	// CreateDir, CreateIdentities and CreateDB say what is missing in the
	// target and will be created (folders 0700; the database with the
	// source's schema and user_version).
	CreateDir, CreateIdentities, CreateDB bool
	Keys                                  []KeyCopy
	Tables                                []TableCopy
	Problems                              []Problem
	// Notes are things worth knowing that do not stop the merge.
	Notes []string
	// Overrides are the keys another node holds that the merge places
	// anyway (Options.PlaceAnyway): the caller audits them before Execute.
	Overrides []model.KeyConflict

	schema  []string // CREATE statements of the source, for CreateDB
	walMode bool     // the source database is in WAL mode
}

// OK reports whether the plan can be executed.
func (p *Plan) OK() bool { return len(p.Problems) == 0 }

// Has reports whether the plan has a problem of kind.
func (p *Plan) Has(kind string) bool {
	for _, pr := range p.Problems {
		if pr.Kind == kind {
			return true
		}
	}
	return false
}

// Rows is the total number of rows the merge copies.
func (p *Plan) Rows() int64 {
	var n int64
	for _, t := range p.Tables {
		n += t.Copy
	}
	return n
}

func (p *Plan) problem(kind, format string, args ...any) {
	p.Problems = append(p.Problems, Problem{Kind: kind, Message: fmt.Sprintf(format, args...)})
}

func (p *Plan) note(format string, args ...any) {
	p.Notes = append(p.Notes, fmt.Sprintf(format, args...))
}

// String is the plan for a person: what will be copied, what is created,
// and every problem.
func (p *Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Merge plan: %s -> %s\n", p.From, p.To)
	if p.Version > 0 {
		fmt.Fprintf(&b, "  schema version %d (%s)\n", p.Version, Release(p.Version))
	}
	switch {
	case p.CreateDir:
		fmt.Fprintf(&b, "  target folder does not exist: it will be created with an empty database of the source's schema\n")
	case p.CreateDB:
		fmt.Fprintf(&b, "  target has no %s: it will be created with the source's schema\n", DBName)
	}
	if p.CreateIdentities && !p.CreateDir {
		fmt.Fprintf(&b, "  target has no identities/ folder: it will be created\n")
	}
	fmt.Fprintf(&b, "  keys to copy into %s: %d\n", "identities/", len(p.Keys))
	for _, k := range p.Keys {
		extra := ""
		if k.Rewritten {
			extra = "  (rewritten as the node wants it: lower-case hex, no newline)"
		}
		fmt.Fprintf(&b, "    %-28s %s…%s\n", k.Name, k.Short(), extra)
	}
	if len(p.Tables) > 0 {
		fmt.Fprintf(&b, "  rows to copy into %s:\n", DBName)
		for _, t := range p.Tables {
			fmt.Fprintf(&b, "    %-20s %6d  (target has %d)\n", t.Name, t.Copy, t.Target)
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	if len(p.Problems) > 0 {
		fmt.Fprintf(&b, "Refused: %d problem(s), nothing was changed:\n", len(p.Problems))
		for _, pr := range p.Problems {
			fmt.Fprintf(&b, "  - %s\n", pr.Message)
		}
	} else if what := p.backupOf(); len(what) > 0 {
		fmt.Fprintf(&b, "  before changing anything the target's %s %s backed up into %s/backup-<time>/\n", strings.Join(what, " and "), map[bool]string{true: "is", false: "are"}[len(what) == 1], p.To)
	} else {
		fmt.Fprintf(&b, "  the target has no %s and no identities/ yet: nothing to back up\n", DBName)
	}
	return b.String()
}

// backupOf lists what the target has, and the merge backs up first.
func (p *Plan) backupOf() []string {
	var what []string
	if !p.CreateDB {
		what = append(what, DBName)
	}
	if !p.CreateIdentities {
		what = append(what, "identities/")
	}
	return what
}

// RefusedError is Execute's error when the plan (or the re-check just before
// writing) found problems: nothing was changed.
type RefusedError struct{ Problems []Problem }

func (e *RefusedError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Message
	}
	return "merge refused, nothing was changed: " + strings.Join(msgs, "; ")
}

// ErrRefused matches a *RefusedError with errors.Is.
var ErrRefused = errors.New("merge refused")

func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// ErrUnverified matches Execute's error when the merge ran to its end but
// the check after it failed: the target changed, and the backup named in the
// message is the target as it was.
var ErrUnverified = errors.New("merge not verified")

type unverifiedError struct{ msg string }

func (e *unverifiedError) Error() string        { return e.msg }
func (e *unverifiedError) Is(target error) bool { return target == ErrUnverified }

// Release names the go-spacemesh releases that use a schema version.
func Release(v int) string {
	switch v {
	case 5:
		return "go-spacemesh v1.4.0"
	case 6:
		return "go-spacemesh v1.4.x before v1.4.6"
	case 7:
		return "go-spacemesh v1.4.6–v1.5.7"
	case 8:
		return "go-spacemesh v1.6"
	case 9:
		return "go-spacemesh v1.7"
	}
	if v < 5 {
		return "older than go-spacemesh v1.4.0"
	}
	return "newer than go-spacemesh v1.7"
}

// Supported schema versions.
const (
	MinVersion = 5
	MaxVersion = 9
)

// postTable is the table holding each identity's initial PoST.
func postTable(version int) string {
	if version >= 8 {
		return "post"
	}
	return "initial_post"
}

// Tables lists the tables a merge copies at a schema version, in copy order.
func Tables(version int) []string {
	return []string{postTable(version), "challenge", "poet_registration", "nipost"}
}
