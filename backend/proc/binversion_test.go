package proc

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/model"
)

func TestBinVersion(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	if v, err := BinVersion(context.Background(), w.bin, ""); err != nil || v != "0.0.0-fake" {
		t.Errorf("the fake post-service: %q %v, want 0.0.0-fake", v, err)
	}

	// A script is never run: it might start a prover whatever its flags.
	ran := filepath.Join(w.root, "ran")
	script := filepath.Join(w.root, "bin", "wrapper.sh")
	testkit.WriteFile(t, script, "#!/bin/sh\ntouch "+ran+"\nexec post-service \"$@\"\n")
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := BinVersion(context.Background(), script, "")
	testkit.WantErr(t, err, "not a compiled executable (a script?)")
	if _, err := os.Stat(ran); err == nil {
		t.Error("the script was run")
	}

	_, err = BinVersion(context.Background(), filepath.Join(w.root, "gone", "post-service"), "")
	testkit.WantErr(t, err, "does not exist")
	_, err = BinVersion(context.Background(), "no-such-post-service-here", "")
	testkit.WantErr(t, err, "not found in PATH")

	// One that never answers is given up on, and killed.
	hanging := filepath.Join(w.root, "bin", "hanging-post-service")
	exe, _ := os.Executable()
	if err := os.Symlink(exe, hanging); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = testkit.NoHang(t, "BinVersion of a hanging binary", func() error {
		_, err := BinVersion(ctx, hanging, "")
		return err
	})
	testkit.WantErr(t, err, "did not answer --version in time")
}

// The detail view's facts: before a start, the bin and the argv postdeck
// would run; while running, the process's own executable and command line;
// each with the version the binary answers.
func TestSupervisorBinFacts(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	w.service("data1", 1, nil)
	s := w.sup()
	argv, _ := s.Args("data1")
	var p model.ProcInfo
	testkit.WaitFor(t, "the configured bin's version", func() bool { p = s.Procs()["data1"]; return p.BinVersion != "" || p.BinNote != "" })
	if p.Bin != w.bin || strings.Join(p.Args, " ") != strings.Join(argv, " ") || p.BinVersion != "0.0.0-fake" || p.BinNote != "" {
		t.Errorf("stopped: bin %q args %q version %q note %q, want %s %q 0.0.0-fake", p.Bin, p.Args, p.BinVersion, p.BinNote, w.bin, argv)
	}

	if err := s.Start(context.Background(), "data1"); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	testkit.WaitFor(t, "the running process's version", func() bool { p = s.Procs()["data1"]; return p.Bin == exe && p.BinVersion != "" })
	if p.BinVersion != "0.0.0-fake" || strings.Join(p.Args, " ") != strings.Join(argv, " ") {
		t.Errorf("running: bin %q args %q version %q note %q", p.Bin, p.Args, p.BinVersion, p.BinNote)
	}
}

// A binary upgraded in place while its process runs: the process still
// runs the old file, whose version is the one shown, and the facts say the
// file on disk is not it any more.
func TestSupervisorBinReplacedWhileRunning(t *testing.T) {
	t.Parallel()
	w := newSupWorld(t)
	exe, _ := os.Executable()
	copyBin := filepath.Join(w.root, "copy", PostServiceName)
	copyFile(t, exe, copyBin)
	w.service("data1", 1, func(c *config.ServiceConfig) { c.Bin = copyBin })
	s := w.sup()
	s.versions.recheck = 0 // look again at every call
	if err := s.Start(context.Background(), "data1"); err != nil {
		t.Fatal(err)
	}
	var p model.ProcInfo
	testkit.WaitFor(t, "the running copy's version", func() bool { p = s.Procs()["data1"]; return p.PID > 0 && p.BinVersion != "" })
	if p.Bin != copyBin || p.BinNote != "" {
		t.Errorf("running: bin %q note %q, want %s", p.Bin, p.BinNote, copyBin)
	}
	if err := os.Remove(copyBin); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the removal to show", func() bool { p = s.Procs()["data1"]; return p.BinNote != "" })
	if p.Bin != copyBin || p.BinVersion != "0.0.0-fake" || !strings.Contains(p.BinNote, "replaced or removed since the process started") {
		t.Errorf("after the binary was removed: bin %q version %q note %q", p.Bin, p.BinVersion, p.BinNote)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
