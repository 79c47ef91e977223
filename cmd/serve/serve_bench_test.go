package serve

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"postdeck/backend/config"
	"postdeck/cmd/cmdtest"
	"postdeck/cmd/simcmd"
	"postdeck/sim"
)

// BenchmarkServe1000x20 is the speed point for `postdeck serve`:
// 1000 identities (the simulator running its cycle, in this process) and 20
// SSH sessions on one server (the built binary, a child process, so its CPU
// is its own). It reports
//
//   - cpu-cores: the server's user+system CPU over 10 s with all 20 sessions
//     open and reading (from /proc/PID/stat), in cores; the target is < 1;
//
//   - peak-rss-MiB: the server's VmHWM at the end;
//
//   - key-p50-ms, key-max-ms: from writing a key in one session to the
//     answer's text arriving at the client, the help opened and closed
//     again each iteration while the other 19 sessions keep reading.
//
//     go test -run '^$' -bench Serve1000x20 -benchtime 20x ./cmd/serve
func BenchmarkServe1000x20(b *testing.B) {
	const ids, sessions = 1000, 20
	s, err := sim.Start(context.Background(), sim.Options{IDs: ids, Seed: 7, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	cfgPath := filepath.Join(b.TempDir(), "postdeck.toml")
	if err := config.WriteFile(cfgPath, config.Render(simcmd.ConfigFromLayout(s.Layout())), false); err != nil {
		b.Fatal(err)
	}
	signer, line := clientKey(b)
	auth := filepath.Join(b.TempDir(), "authorized_keys")
	os.WriteFile(auth, []byte(line+"\n"), 0o600)

	cmd := exec.Command(cmdtest.Binary, "serve", "--config", cfgPath, "--listen", "127.0.0.1:0", "--authorized-keys", auth)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+b.TempDir())
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
				addr <- strings.Fields(rest)[0]
			}
		}
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(30 * time.Second):
		b.Fatal("serve did not say where it listens")
	}

	var ds []*sshDash
	for range sessions {
		d, err := dialDash(a, signer, 120, 40)
		if err != nil {
			b.Fatal(err)
		}
		d.read()
		ds = append(ds, d)
		b.Cleanup(d.close)
	}
	for _, d := range ds {
		if err := d.until(fmt.Sprint(ids, " identities"), 30*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(3 * time.Second) // a few poll cycles with everyone watching

	t0, c0 := time.Now(), cpuTicks(b, cmd.Process.Pid)
	time.Sleep(10 * time.Second)
	t1, c1 := time.Now(), cpuTicks(b, cmd.Process.Pid)
	cores := float64(c1-c0) / 100 / t1.Sub(t0).Seconds() // USER_HZ is 100 on Linux

	d := ds[0]
	var lat []time.Duration
	press := func(key, want string) {
		d.mu.Lock()
		d.out.Reset()
		d.mu.Unlock()
		start := time.Now()
		io.WriteString(d.stdin, key)
		if err := d.until(want, 5*time.Second); err != nil {
			d.mu.Lock()
			b.Fatalf("%v; got %q", err, ansi.Strip(d.out.String()))
		}
		lat = append(lat, time.Since(start))
	}
	b.ResetTimer()
	for b.Loop() {
		press("?", "again reverses")
		press("?", "NAME▲")
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(cores, "cpu-cores")
	b.ReportMetric(float64(hwm(b, cmd.Process.Pid))/1024, "peak-rss-MiB")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "key-p50-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "key-max-ms")
}

// cpuTicks is a process's user+system CPU time in clock ticks.
func cpuTicks(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) start at ") ".
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime
}

// hwm is a process's peak resident set in KiB (VmHWM).
func hwm(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}
