package keys

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/nodeapi"
	"postdeck/cmd/cmdtest"
	"postdeck/model"
)

// keysPostDir makes a PoST data directory as postcli leaves it: metadata for
// a new identity and its identity.key (with the newline an editor adds).
func keysPostDir(t *testing.T, name string, seed byte) (dir, keyHex string, pub []byte) {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed + byte(i)
	}
	priv := ed25519.NewKeyFromSeed(s)
	pub = priv.Public().(ed25519.PublicKey)
	dir = filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	meta, _ := json.MarshalIndent(model.PostMetadata{NodeID: pub, CommitmentAtxID: make([]byte, 32), LabelsPerUnit: 1 << 20, NumUnits: 2, MaxFileSize: 1 << 32}, "", "\t")
	if err := os.WriteFile(filepath.Join(dir, model.MetadataFile), meta, 0o644); err != nil {
		t.Fatal(err)
	}
	keyHex = hex.EncodeToString(priv)
	if err := os.WriteFile(filepath.Join(dir, "identity.key"), []byte(keyHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, keyHex, pub
}

// keysRun runs the binary with stdin.
func keysRun(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return cmdtest.PostdeckIn(t, stdin, args...)
}

func keysList(t *testing.T, cfg string) map[string]map[string]any {
	t.Helper()
	out, errOut, code := cmdtest.Postdeck(t, "keys", "list", "--json", "--config", cfg)
	if code != 0 {
		t.Fatalf("keys list exit %d: %s", code, errOut)
	}
	var ls []map[string]any
	if err := json.Unmarshal([]byte(out), &ls); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	m := map[string]map[string]any{}
	for _, l := range ls {
		m[l["file"].(string)] = l
	}
	return m
}

func TestKeysAddListCheckAgainstSimulator(t *testing.T) {
	s, cfg := cmdtest.StartSim(t, 2)
	l := s.Layout()
	ids := filepath.Join(l.DataFolder, "identities")
	cfgBefore, _ := os.ReadFile(cfg)
	dir, keyHex, pub := keysPostDir(t, "data9", 40)

	// Before the add, the node reports every key file.
	out, errOut, code := cmdtest.Postdeck(t, "keys", "check", "--config", cfg)
	if code != 0 || !strings.Contains(out, "reports all 2 key(s)") {
		t.Fatalf("keys check before the add: exit %d\n%s\n%s", code, out, errOut)
	}

	// Answering no changes nothing.
	out, errOut, code = keysRun(t, "n\n", "keys", "add", dir, "--config", cfg)
	if code != 1 || !strings.Contains(out, "Add this key? [y/N]") || !strings.Contains(errOut, "not added") {
		t.Fatalf("answer n: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(ids, "data9.key")); err == nil {
		t.Fatal("key written although the answer was no")
	}

	out, errOut, code = cmdtest.Postdeck(t, "keys", "add", dir, "--yes", "--config", cfg)
	if code != 0 {
		t.Fatalf("keys add exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"added " + filepath.Join(ids, "data9.key"), "restart the node", "equivocation", "kept the original", "[[service]]", "keys check --wait"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(ids, "data9.key"))
	if err != nil || string(b) != keyHex {
		t.Fatalf("key file %q %v, want the hex without the newline", b, err)
	}
	if fi, _ := os.Stat(filepath.Join(ids, "data9.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if now, _ := os.ReadFile(cfg); !bytes.Equal(now, cfgBefore) {
		t.Error("--yes without --add-service changed the config")
	}

	m := keysList(t, cfg)
	k, ok := m["data9.key"]
	if !ok {
		t.Fatalf("data9.key not listed: %v", m)
	}
	if k["id"] != hex.EncodeToString(pub) || k["on_node"] != false {
		t.Errorf("data9.key %v, want its id and on_node false (the node has not loaded it)", k)
	}
	if !strings.Contains(toJSON(k["problems"]), "no configured service") {
		t.Errorf("data9.key problems %v", k["problems"])
	}
	for _, svc := range l.Services {
		k := m[filepath.Base(svc.KeyFile)]
		if k["on_node"] != true || k["service"] != svc.Name || k["dir"] != svc.Dir {
			t.Errorf("%s: %v, want on the node with service %s", svc.KeyFile, k, svc.Name)
		}
	}

	// The node does not report the new key: check says so and exits 1.
	out, errOut, code = cmdtest.Postdeck(t, "keys", "check", "--config", cfg)
	if code != 1 || !strings.Contains(out, "missing data9.key") || !strings.Contains(errOut, "restart") {
		t.Errorf("keys check: exit %d\n%s\n%s", code, out, errOut)
	}

	// --wait keeps checking and names what is missing until Ctrl-C.
	cmd := exec.Command(cmdtest.Binary, "keys", "check", "--wait", "--interval", "200ms", "--config", cfg)
	var wout, werr cmdtest.SyncBuf
	cmd.Stdout, cmd.Stderr = &wout, &werr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Let it check a few more times (it must not repeat itself), then Ctrl-C.
	cmdtest.WaitFor(t, "keys check --wait to report what it waits for", func() bool {
		return strings.Contains(wout.String(), "waiting for the node to report")
	})
	const asked = "/spacemesh.v1.SmesherService/SmesherIDs"
	checks := s.Calls(asked)
	cmdtest.WaitFor(t, "three more checks", func() bool { return s.Calls(asked) >= checks+3 })
	cmd.Process.Signal(os.Interrupt)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 ||
		!strings.Contains(wout.String(), "waiting for the node to report: data9.key") || !strings.Contains(werr.String(), "still missing: data9.key") {
		t.Errorf("keys check --wait: %v\n%s\n%s", err, wout.String(), werr.String())
	}
	if n := strings.Count(wout.String(), "missing data9.key"); n != 1 {
		t.Errorf("the same verdict printed %d times while waiting:\n%s", n, wout.String())
	}

	// Refusals exit 1 with the reason.
	_, errOut, code = cmdtest.Postdeck(t, "keys", "add", dir, "--yes", "--name", "again.key", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "already in") || !strings.Contains(errOut, "data9.key") {
		t.Errorf("same identity again: exit %d, %s", code, errOut)
	}
	bad, _, _ := keysPostDir(t, "data8", 50)
	_, other, _ := keysPostDir(t, "x", 60)
	os.WriteFile(filepath.Join(bad, "identity.key"), []byte(other), 0o600)
	_, errOut, code = cmdtest.Postdeck(t, "keys", "add", bad, "--yes", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "belongs to") {
		t.Errorf("mismatching metadata: exit %d, %s", code, errOut)
	}
	_, errOut, code = cmdtest.Postdeck(t, "keys", "add", bad, "--yes", "--name", "data8.KEY", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, `"data8.key"`) {
		t.Errorf("name with an upper-case .KEY: exit %d, %s", code, errOut)
	}

	// --add-service appends the matching service with a free operator port.
	dir7, _, _ := keysPostDir(t, "data7", 70)
	out, errOut, code = cmdtest.Postdeck(t, "keys", "add", dir7, "--yes", "--add-service", "--move", "--config", cfg)
	if code != 0 {
		t.Fatalf("keys add --add-service exit %d\n%s\n%s", code, out, errOut)
	}
	now, _ := os.ReadFile(cfg)
	if !bytes.HasPrefix(now, cfgBefore) {
		t.Error("config's earlier text not kept")
	}
	loaded, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	added := loaded.Services[len(loaded.Services)-1]
	if added.Name != "data7" || added.Dir != dir7 || added.Operator == "" {
		t.Errorf("added service %+v", added)
	}
	if _, err := os.Stat(filepath.Join(dir7, "identity.key")); err == nil {
		t.Error("--move left identity.key in place")
	}
	if baks, _ := filepath.Glob(filepath.Join(dir7, "identity.key.bak-*")); len(baks) != 1 {
		t.Errorf("backups %v, want one", baks)
	}
	if k := keysList(t, cfg)["data7.key"]; k["service"] != "data7" || k["on_node"] != false {
		t.Errorf("data7.key %v", k)
	}

	// A node that is down: on_node unknown (null), not an error.
	if err := s.StopNode(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = cmdtest.Postdeck(t, "keys", "list", "--json", "--config", cfg)
	if code != 0 || !strings.Contains(out, `"on_node": null`) || strings.Contains(out, `"on_node": true`) {
		t.Errorf("node down: exit %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = cmdtest.Postdeck(t, "keys", "list", "--config", cfg)
	if code != 0 || !strings.Contains(out, "unknown") || !strings.Contains(out, "data9.key") {
		t.Errorf("table with the node down: exit %d\n%s", code, out)
	}
}

func TestKeysWithoutConfig(t *testing.T) {
	data := filepath.Join(t.TempDir(), "node_data")
	os.MkdirAll(data, 0o700)
	dir, keyHex, _ := keysPostDir(t, "disk1", 80)
	out, errOut, code := cmdtest.Postdeck(t, "keys", "add", dir, "--yes", "--data-folder", data)
	if code != 0 || !strings.Contains(out, "no config file") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(data, "identities", "disk1.key")); string(b) != keyHex {
		t.Errorf("key %q", b)
	}
	_, errOut, code = cmdtest.Postdeck(t, "keys", "list")
	if code != 1 || !strings.Contains(errOut, "--data-folder") {
		t.Errorf("no config, no --data-folder: exit %d %s", code, errOut)
	}
	out, _, code = cmdtest.Postdeck(t, "keys", "list", "--data-folder", data)
	if code != 0 || !strings.Contains(out, "disk1.key") || !strings.Contains(out, "unknown") {
		t.Errorf("list: exit %d\n%s", code, out)
	}
	dir2, _, _ := keysPostDir(t, "disk2", 90)
	_, errOut, code = cmdtest.Postdeck(t, "keys", "add", dir2, "--yes", "--add-service", "--data-folder", data)
	if code != 1 || !strings.Contains(errOut, "--add-service") {
		t.Errorf("--add-service without a config: exit %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "identities", "disk2.key")); err == nil {
		t.Error("key written although --add-service could not be honoured")
	}
	_, errOut, code = cmdtest.Postdeck(t, "keys", "frob")
	if code != 1 || !strings.Contains(errOut, `unknown command "frob"`) {
		t.Errorf("unknown keys command: exit %d %s", code, errOut)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// `keys check --wait` stopped says one thing wherever the signal lands:
// before the node has answered, while asking it, or between two checks.
func TestKeysCheckWaitStopsWithOneMessage(t *testing.T) {
	s, path := cmdtest.StartSim(t, 1)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	node, err := nodeapi.NewClient(nodeapi.OptionsFor(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	files := []model.KeyFile{{Name: "zeta.key", Public: bytes.Repeat([]byte{1}, 32)}, {Name: "alpha.key", Public: bytes.Repeat([]byte{2}, 32)}}
	const want = "stopped; still missing: alpha.key, zeta.key"

	run := func(name string, cancelWhen func(ctx context.Context, out *cmdtest.SyncBuf) bool) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errOut cmdtest.SyncBuf
			done := make(chan int, 1)
			go func() { done <- checkLoop(ctx, node, files, true, 50*time.Millisecond, &out, &errOut) }()
			cmdtest.WaitFor(t, name, func() bool { return cancelWhen(ctx, &out) })
			cancel()
			if code := <-done; code != 1 || !strings.Contains(errOut.String(), want) || strings.Count(errOut.String(), "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want 1 and one line saying %q\nstdout:\n%s", code, errOut.String(), want, out.String())
			}
		})
	}
	run("while asking the node", func(context.Context, *cmdtest.SyncBuf) bool { return true })
	run("between two checks", func(_ context.Context, out *cmdtest.SyncBuf) bool {
		return strings.Contains(out.String(), "waiting for the node to report: zeta.key, alpha.key")
	})
	if err := s.StopNode(); err != nil {
		t.Fatal(err)
	}
	run("before the node has answered", func(_ context.Context, out *cmdtest.SyncBuf) bool {
		return strings.Contains(out.String(), "the node does not answer")
	})
}

// A global flag between keys and its command is taken, as before or after
// it (it was "unknown command \"--config\""): the three give one list.
func TestKeysGlobalFlagBeforeTheNestedCommand(t *testing.T) {
	_, cfg := cmdtest.StartSim(t, 2)
	want, errOut, code := cmdtest.Postdeck(t, "keys", "list", "--config", cfg)
	if code != 0 || !strings.Contains(want, "post01.key") {
		t.Fatalf("keys list --config: exit %d, %q %q", code, want, errOut)
	}
	for _, args := range [][]string{{"keys", "--config", cfg, "list"}, {"--config", cfg, "keys", "list"}} {
		out, errOut, code := cmdtest.Postdeck(t, args...)
		if code != 0 || out != want {
			t.Errorf("%v: exit %d, stderr %q, output\n%s\nwant\n%s", args, code, errOut, out, want)
		}
	}
	if _, errOut, code := cmdtest.Postdeck(t, "keys", "--config", cfg, "lsit"); code != 1 || !strings.Contains(errOut, `unknown command "lsit"`) {
		t.Errorf("a misspelt nested command: exit %d, %q", code, errOut)
	}
}
