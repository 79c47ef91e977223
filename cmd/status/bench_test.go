package status

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"postdeck/cmd/cmdtest"
	"postdeck/model"
)

// The whole-process benchmarks below compare `postdeck status --json` with
// the least work a client can do for the same facts (bench/leastwork: two raw
// gRPC calls and 1000 GETs, 32 at a time) and with the way the setup guide
// gets them (grpcurl for the node's two lists and one curl per
// post-service). bench/status-vs-floor.sh and bench/guide-vs-postdeck.sh run
// them in one invocation each, so a ratio comes from one run:
//
//	go test -run '^$' -bench 'StatusJSON1000|LeastWork1000' -benchtime 10x ./cmd/status
//	go test -run '^$' -bench 'StatusJSON1000|GuideWay1000' -benchtime 3x ./cmd/status

const benchIDs = 1000

// runChild runs name with args to completion within a minute and returns its
// stdout and its peak resident set in KiB. Exit codes in ok pass; any other
// failure stops the benchmark. env is added to the environment.
func runChild(b *testing.B, env []string, ok []int, name string, args ...string) ([]byte, int64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		ee, isExit := err.(*exec.ExitError)
		if !isExit || !slices.Contains(ok, ee.ExitCode()) {
			b.Fatalf("%s %v: %v\n%s", name, args, err, errb.String())
		}
	}
	var rss int64
	if ru, isRu := cmd.ProcessState.SysUsage().(*syscall.Rusage); isRu {
		rss = ru.Maxrss // KiB on Linux
	}
	return out.Bytes(), rss
}

// BenchmarkStatusJSON1000 is `postdeck status --json` against a 1000-identity
// simulator, as a whole child process: start-up, config, key files and
// metadata, three gRPC calls, 1000 operator calls, the join and the JSON.
func BenchmarkStatusJSON1000(b *testing.B) {
	_, cfg := cmdtest.StartSim(b, benchIDs)
	// Its own state folder (the supervisor's), as the tests do.
	env := []string{"XDG_CONFIG_HOME=" + b.TempDir(), "XDG_STATE_HOME=" + b.TempDir()}
	var peak int64
	for b.Loop() {
		// 2 is "an identity is critical", still a complete snapshot.
		out, rss := runChild(b, env, []int{0, 2}, cmdtest.Binary, "status", "--json", "--config", cfg)
		peak = max(peak, rss)
		b.StopTimer()
		var doc model.StatusDoc
		if err := json.Unmarshal(out, &doc); err != nil {
			b.Fatalf("not JSON: %v", err)
		}
		if len(doc.Identities) != benchIDs || len(doc.Node.Errors) != 0 {
			b.Fatalf("%d identities, node errors %v; want %d and none", len(doc.Identities), doc.Node.Errors, benchIDs)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/1024, "maxRSS-MiB")
}

// BenchmarkLeastWork1000 is the floor for BenchmarkStatusJSON1000: a plain Go
// program (bench/leastwork, built here) that makes the two gRPC calls with raw
// bytes and GETs every /status, 32 at a time, as a whole child process too.
func BenchmarkLeastWork1000(b *testing.B) {
	s, _ := cmdtest.StartSim(b, benchIDs)
	l := s.Layout()
	dir := b.TempDir()
	bin := filepath.Join(dir, "leastwork")
	if out, err := exec.Command("go", "build", "-o", bin, "./bench/leastwork").CombinedOutput(); err != nil {
		b.Fatalf("build bench/leastwork: %v\n%s", err, out)
	}
	var ops strings.Builder
	for _, svc := range l.Services {
		ops.WriteString(svc.Operator + "\n")
	}
	list := filepath.Join(dir, "operators")
	if err := os.WriteFile(list, []byte(ops.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	want := fmt.Sprintf("%d/%d status 200", benchIDs, benchIDs)
	var peak int64
	for b.Loop() {
		out, rss := runChild(b, nil, []int{0}, bin, "-post", l.PostListener, "-private", l.PrivateListener, "-operators", list)
		peak = max(peak, rss)
		if !strings.Contains(string(out), want) {
			b.Fatalf("leastwork printed %q, want %q", out, want)
		}
	}
	b.ReportMetric(float64(peak)/1024, "maxRSS-MiB")
}

// grpcurlPath finds grpcurl in $POSTDECK_GRPCURL or PATH, "" when missing.
func grpcurlPath() string {
	if p := os.Getenv("POSTDECK_GRPCURL"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	p, _ := exec.LookPath("grpcurl")
	return p
}

// BenchmarkGuideWay1000 gets the same snapshot as BenchmarkStatusJSON1000 the
// way the guide does, one process after another as a shell script would:
// grpcurl for PostStates, grpcurl for SmesherIDs, then curl /status for each
// of the 1000 post-services. (It leaves out what the guide adds on top: the
// node's version and sync, and reading each postdata_metadata.json.)
func BenchmarkGuideWay1000(b *testing.B) {
	grpcurl := grpcurlPath()
	if grpcurl == "" {
		b.Skip("grpcurl not found in PATH or at $POSTDECK_GRPCURL; bench/guide-vs-postdeck.sh installs it")
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		b.Skip("curl not found in PATH; bench/guide-vs-postdeck.sh installs it")
	}
	s, _ := cmdtest.StartSim(b, benchIDs)
	l := s.Layout()
	var peak int64
	for b.Loop() {
		out, rss := runChild(b, nil, []int{0}, grpcurl, "-plaintext", l.PostListener, "spacemesh.v1.PostInfoService/PostStates")
		peak = max(peak, rss)
		if !bytes.Contains(out, []byte("states")) {
			b.Fatalf("PostStates answered %.200q", out)
		}
		out, rss = runChild(b, nil, []int{0}, grpcurl, "-plaintext", l.PrivateListener, "spacemesh.v1.SmesherService/SmesherIDs")
		peak = max(peak, rss)
		if !bytes.Contains(out, []byte("publicKeys")) {
			b.Fatalf("SmesherIDs answered %.200q", out)
		}
		for _, svc := range l.Services {
			out, _ := runChild(b, nil, []int{0}, curl, "-s", "http://"+svc.Operator+"/status")
			if len(out) == 0 {
				b.Fatalf("%s: empty /status", svc.Operator)
			}
		}
	}
	b.ReportMetric(float64(peak)/1024, "grpcurl-maxRSS-MiB")
	b.ReportMetric(float64(2+len(l.Services)), "procs/op")
}
