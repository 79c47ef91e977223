// Package version says which postdeck this is: the version set at build
// time, else the module's version and VCS revision from the build info.
package version

import (
	"runtime/debug"
	"strings"
)

// Set is the version given at build time with
// -ldflags "-X postdeck/version.Set=v1.2.3"; empty for an ordinary build.
var Set string

// String is this postdeck's version: Set, else the module version the
// build info records (a tagged `go install`), else "dev", followed by the
// VCS revision (12 characters, "+dirty" for uncommitted changes) when the
// build recorded one.
func String() string {
	info, ok := debug.ReadBuildInfo()
	v := Set
	if v == "" && ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	if v == "" {
		v = "dev"
	}
	if !ok {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value[:min(12, len(s.Value))]
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" || strings.Contains(v, rev) {
		return v
	}
	return v + " (" + rev + dirty + ")"
}
