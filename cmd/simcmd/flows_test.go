package simcmd_test

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"postdeck/cmd/cmdtest"
)

// In `sim --real-services --demo` the node has not loaded post12.key.
// `status`, `keys list` and `keys check` all say so, and the advice they
// give, restarting the node, works: after SIGUSR1 and SIGUSR2 every key is
// loaded, and all three say that too.
func TestSimDemoUnloadedKeyAgreesAndRestartLoadsIt(t *testing.T) {
	cfg, cmd, stdout := runSim(t, "--real-services", "--demo")
	line := func(out, file string) string {
		return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(file) + `\s.*$`).FindString(out)
	}
	status := func() string {
		out, errOut, code := cmdtest.Postdeck(t, "status", "--config", cfg.Path)
		if out == "" {
			t.Fatalf("status: exit %d\n%s", code, errOut)
		}
		return out
	}
	list := func() string {
		out, errOut, code := cmdtest.Postdeck(t, "keys", "list", "--config", cfg.Path)
		if code != 0 {
			t.Fatalf("keys list: exit %d\n%s%s", code, out, errOut)
		}
		return out
	}

	if l := line(status(), "post12.key"); !strings.Contains(l, "key-not-loaded") {
		t.Errorf("status's post12 row %q, want key-not-loaded", l)
	}
	if l := line(list(), "post12.key"); !regexp.MustCompile(`\sno\s+the node has not loaded it: restart the node`).MatchString(l) {
		t.Errorf("keys list's post12 line %q, want on node no and the restart advice", l)
	}
	out, _, code := cmdtest.Postdeck(t, "keys", "check", "--config", cfg.Path)
	if code != 1 || !strings.Contains(line(out, "missing post12.key:"), "restart the node") || strings.Count(out, "missing ") != 1 {
		t.Errorf("keys check before the restart: exit %d\n%s", code, out)
	}

	// The advice: restart the node.
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the node stopped", func() bool { return strings.Contains(stdout.String(), "SIGUSR1: node stopped") })
	if err := cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the node started", func() bool { return strings.Contains(stdout.String(), "SIGUSR2: node started") })
	if !strings.Contains(stdout.String(), "loaded 1 new key(s): post12.key") {
		t.Errorf("the restart did not load post12.key:\n%s", stdout)
	}

	out, errOut, code := cmdtest.Postdeck(t, "keys", "check", "--config", cfg.Path)
	if code != 0 || !strings.Contains(out, "the node reports all 12 key(s)") {
		t.Errorf("keys check after the restart: exit %d\n%s%s", code, out, errOut)
	}
	if l := line(list(), "post12.key"); !regexp.MustCompile(`\syes\s+-$`).MatchString(l) {
		t.Errorf("keys list's post12 line after the restart %q, want on node yes and no problem", l)
	}
	if l := line(status(), "post12.key"); strings.Contains(l, "not-loaded") || strings.Contains(l, "absent") {
		t.Errorf("status's post12 row after the restart %q", l)
	}
}

// The sim's summary names the PoST folder with a key to add and the old
// node to merge, with the commands to try; the commands it prints work:
// the key is added, and the merge's dry run passes once the node is
// stopped (kill -USR1, as the summary says).
func TestSimSummaryFlowCommands(t *testing.T) {
	_, cmd, stdout := runSim(t, "--ids", "2")
	try := func(what string) []string {
		m := regexp.MustCompile(`(?m)^\s+try: postdeck (` + what + ` .*)$`).FindStringSubmatch(stdout.String())
		if m == nil {
			t.Fatalf("the summary has no `postdeck %s` to try:\n%s", what, stdout)
		}
		return strings.Fields(m[1])
	}
	add, merge := try("keys add"), try("merge")

	out, errOut, code := cmdtest.Postdeck(t, append(add, "--yes")...)
	if code != 0 || !strings.Contains(out, "added ") {
		t.Errorf("%v: exit %d\n%s%s", add, code, out, errOut)
	}
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the node stopped", func() bool { return strings.Contains(stdout.String(), "SIGUSR1: node stopped") })
	out, errOut, code = cmdtest.Postdeck(t, merge...)
	if code != 0 || !strings.Contains(out, "Dry run: nothing was changed.") {
		t.Errorf("%v: exit %d\n%s%s", merge, code, out, errOut)
	}
}
