package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// Build infos are made up here: these machines build with
// GOFLAGS=-buildvcs=false, so the test binary's own records no revision.
func info(mainVersion string, settings ...string) *debug.BuildInfo {
	bi := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "postdeck", Version: mainVersion}}
	for i := 0; i+1 < len(settings); i += 2 {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
	}
	return bi
}

func TestVersionFromBuildInfo(t *testing.T) {
	const rev = "925ed2a1b2c3d4e5f60718293a4b5c6d7e8f9012"
	for _, tc := range []struct {
		name, set string
		info      *debug.BuildInfo
		want      string
	}{
		{"a checkout built without VCS stamping", "", info("(devel)"), "dev"},
		{"a checkout with its revision", "", info("(devel)", "vcs.revision", rev, "vcs.modified", "false"), "dev (925ed2a1b2c3)"},
		{"uncommitted changes", "", info("(devel)", "vcs.revision", rev, "vcs.modified", "true"), "dev (925ed2a1b2c3+dirty)"},
		{"a tagged go install", "", info("v1.4.0"), "v1.4.0"},
		{"a pseudo-version names its revision once", "", info("v0.0.0-20260101000000-925ed2a1b2c3", "vcs.revision", rev),
			"v0.0.0-20260101000000-925ed2a1b2c3"},
		{"the build-time version wins", "v2.0.0", info("v1.4.0", "vcs.revision", rev), "v2.0.0 (925ed2a1b2c3)"},
		{"no build info", "", nil, "dev"},
	} {
		if got := fromInfo(tc.set, tc.info).String(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	b := fromInfo("", info("(devel)", "vcs.revision", rev, "vcs.time", "2026-01-02T03:04:05Z", "GOOS", "linux", "GOARCH", "arm64"))
	if b.Revision != rev || b.Time != "2026-01-02T03:04:05Z" || b.Platform != "linux/arm64" || b.Go != "go1.99.1" ||
		b.Module != "postdeck" || b.ModuleVersion != "(devel)" {
		t.Errorf("details: %+v", b)
	}
}

// The test binary's own build info is read, whatever it records.
func TestReadThisBinary(t *testing.T) {
	b := Read()
	if b.Go != runtime.Version() || b.Version == "" {
		t.Errorf("this binary: %+v, want go %s", b, runtime.Version())
	}
}
