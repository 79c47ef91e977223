package common

// The equivocation guard's command-line parts, shared by `keys add` and
// `merge`: the override flag, the refusal's words, and the audit line an
// override leaves.

import (
	"encoding/hex"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"postdeck/backend/audit"
	"postdeck/backend/proc"
	"postdeck/model"
)

// PlaceAnywayFlag is the override of the equivocation guard: its value is
// the identity's first 8 hex characters, typed, so it is never given by
// habit or for a key it was not meant for.
const PlaceAnywayFlag = "place-anyway"

// GuardRefusal is the refusal of placing a key that c refuses, with how to
// place it anyway: the command line as given plus the typed override.
// wrong is a --place-anyway value given that is not this identity's.
func GuardRefusal(c model.KeyConflict, wrong []string) error {
	msg := c.Reason()
	if len(wrong) > 0 {
		msg += fmt.Sprintf("; --%s %s is not this identity's first 8 hex characters", PlaceAnywayFlag, strings.Join(wrong, ", "))
	}
	return fmt.Errorf("%s. Nothing was written. Only if you are sure it can never run on two nodes at once (the other copy deleted and its node restarted, or that node retired for good), place it anyway with --%s %s (the identity's first 8 hex characters, typed); the override is written to the audit log",
		msg, PlaceAnywayFlag, c.OverridePrefix())
}

// AuditPath is the audit log of this machine: audit.log in postdeck's
// state folder, the file `postdeck serve` writes too.
func AuditPath() string { return filepath.Join(proc.DefaultStateDir(), "audit.log") }

// AuditOverride writes an override of the guard for c (the key file name
// keyName) to the audit log, before the key is written: a log that cannot
// be written refuses the override.
func AuditOverride(action, keyName string, c model.KeyConflict) error {
	log, err := audit.New(AuditPath())
	if err != nil {
		return fmt.Errorf("not placing the key: the override cannot be audited: %v", err)
	}
	e := audit.Entry{Action: action, User: osUser(), Remote: "local", Identity: strings.TrimSpace(keyName + " " + hex.EncodeToString(c.ID)),
		Node: c.Target, Holders: c.Holdings(), Result: "ok: placed anyway, typed " + c.OverridePrefix()}
	if err := log.Write(e); err != nil {
		return fmt.Errorf("not placing the key: the override cannot be audited in %s: %v", log.Path(), err)
	}
	return nil
}

// osUser names who ran the command, for the audit line.
func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}
