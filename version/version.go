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

// Build is what the binary records of its own build.
type Build struct {
	// Version is Set, else the module version of a tagged `go install`,
	// else "dev" (a build from a checkout records "(devel)").
	Version string
	// Module is the main module's path and the version the build info
	// records for it ("(devel)" for a build from a checkout).
	Module, ModuleVersion string
	// Revision is the VCS revision (full), empty when none was recorded:
	// built with -buildvcs=false, or not from a VCS checkout.
	Revision string
	// Time is the revision's commit time as recorded (RFC 3339), Modified
	// says the checkout had uncommitted changes.
	Time     string
	Modified bool
	// Go is the toolchain that built it, Platform its GOOS/GOARCH.
	Go, Platform string
}

// Read is this binary's Build.
func Read() Build {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	return fromInfo(Set, info)
}

// fromInfo reads a build info (nil when the binary has none), set being
// the version given at build time: apart, so tests need no VCS stamping.
func fromInfo(set string, info *debug.BuildInfo) Build {
	b := Build{Version: set}
	if info != nil {
		b.Module, b.ModuleVersion, b.Go = info.Main.Path, info.Main.Version, info.GoVersion
		if b.Version == "" && b.ModuleVersion != "" && b.ModuleVersion != "(devel)" {
			b.Version = b.ModuleVersion
		}
		var goos, goarch string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
		if goos != "" && goarch != "" {
			b.Platform = goos + "/" + goarch
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

// ShortRevision is the revision's first 12 characters with "+dirty" for
// uncommitted changes; empty when none was recorded.
func (b Build) ShortRevision() string {
	if b.Revision == "" {
		return ""
	}
	r := b.Revision[:min(12, len(b.Revision))]
	if b.Modified {
		r += "+dirty"
	}
	return r
}

// String is the one-line version: Version, followed by the short VCS
// revision when the build recorded one that Version does not already name
// (a pseudo-version does).
func (b Build) String() string {
	rev := b.ShortRevision()
	if rev == "" || strings.Contains(b.Version, b.Revision[:min(12, len(b.Revision))]) {
		return b.Version
	}
	return b.Version + " (" + rev + ")"
}

// String is this postdeck's version in one line (see Build.String): the
// machine channel's hello and `postdeck version`'s first line.
func String() string { return Read().String() }
