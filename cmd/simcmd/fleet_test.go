package simcmd_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/identities"
	"postdeck/backend/nodeapi"
	"postdeck/cmd/cmdtest"
	"postdeck/cmd/simcmd"
	"postdeck/model"
)

// runSim runs `postdeck sim` with args and --dir as a child until the end
// of the test, and returns its config, loaded, once it is written.
func runSim(t *testing.T, args ...string) (*config.Config, *exec.Cmd, *cmdtest.SyncBuf) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(cmdtest.Binary, append([]string{"sim", "--dir", dir}, args...)...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir())
	stdout, stderr := &cmdtest.SyncBuf{}, &cmdtest.SyncBuf{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("sim exited with %v after Ctrl-C\n%s", err, stderr)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("sim still running 10 s after Ctrl-C")
		}
	})
	path := filepath.Join(dir, "postdeck.toml")
	waitUntil(t, 30*time.Second, "the config written", func() bool {
		return strings.Contains(stdout.String(), "config written to "+path)
	})
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("load the config: %v\n%s", err, stdout)
	}
	return cfg, cmd, stdout
}

// view asks a node once on all three of its listeners.
func view(t *testing.T, n config.NodeConfig) model.NodeView {
	t.Helper()
	c, err := nodeapi.NewClient(nodeapi.Options{PostListener: n.PostListener, PrivateListener: n.PrivateListener, PublicListener: n.PublicListener})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.View(ctx)
}

// answers says whether every listener of the node answered.
func answers(v model.NodeView) bool {
	return len(v.Errors) == 0 && v.HasStatus && v.HasPostStates && v.HasSmesherIDs
}

// keysIn is the public keys of the key files in a node data folder, read
// the node's way.
func keysIn(t *testing.T, dataFolder string) [][]byte {
	t.Helper()
	files, err := identities.ReadKeyDir(dataFolder)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		if f.Public == nil {
			t.Fatalf("%s: %s", f.Name, f.Problem)
		}
		out = append(out, f.Public)
	}
	return out
}

func containsKey(keys [][]byte, k []byte) bool {
	return slices.ContainsFunc(keys, func(x []byte) bool { return bytes.Equal(x, k) })
}

// Three nodes in one config: each answers on its own listeners, service
// names are unique across the config, and each service's PoST data is of
// a key in its own node's identities folder. USR1 and USR2 stop and start
// every node.
func TestSimThreeNodes(t *testing.T) {
	cfg, cmd, stdout := runSim(t, "--nodes", "3", "--ids", "2")
	nodes := cfg.AllNodes()
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	if want := []string{"node1", "node2", "node3"}; !slices.Equal(names, want) {
		t.Fatalf("nodes %v, want %v", names, want)
	}
	for _, n := range nodes {
		if v := view(t, n); !answers(v) {
			t.Errorf("%s does not answer on all its listeners: %+v", n.Name, v.Errors)
		}
		if !strings.Contains(stdout.String(), n.PublicListener) {
			t.Errorf("the summary does not name %s's listener %s:\n%s", n.Name, n.PublicListener, stdout)
		}
	}

	seen := map[string]bool{}
	perNode := map[string]int{}
	for _, svc := range cfg.Services {
		if seen[svc.Name] {
			t.Errorf("service name %s twice", svc.Name)
		}
		seen[svc.Name] = true
		n := cfg.NodeNamed(svc.Node)
		if svc.Node == "" || n == nil {
			t.Errorf("%s names node %q", svc.Name, svc.Node)
			continue
		}
		perNode[svc.Node]++
		b, err := os.ReadFile(filepath.Join(svc.Dir, "postdata_metadata.json"))
		if err != nil {
			t.Fatal(err)
		}
		meta, err := model.ParseMetadata(b)
		if err != nil {
			t.Fatalf("%s: %v", svc.Name, err)
		}
		if !containsKey(keysIn(t, n.DataFolder), meta.NodeID) {
			t.Errorf("%s's NodeId %x is not a key of %s", svc.Name, meta.NodeID, svc.Node)
		}
	}
	if want := map[string]int{"node1": 2, "node2": 2, "node3": 2}; fmt.Sprint(perNode) != fmt.Sprint(want) {
		t.Errorf("services per node %v, want %v", perNode, want)
	}
	// No key on two nodes unless asked for.
	all := map[string]string{}
	for _, n := range nodes {
		for _, k := range keysIn(t, n.DataFolder) {
			if other, dup := all[string(k)]; dup {
				t.Errorf("key %x on %s and %s", k, other, n.Name)
			}
			all[string(k)] = n.Name
		}
	}

	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "every node stopped", func() bool {
		return strings.Count(stdout.String(), ": node stopped;") == 3
	})
	for _, n := range nodes {
		if answers(view(t, n)) {
			t.Errorf("%s still answers after SIGUSR1", n.Name)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "every node started", func() bool {
		return strings.Count(stdout.String(), ": node started;") == 3
	})
	for _, n := range nodes {
		if v := view(t, n); !answers(v) {
			t.Errorf("%s does not answer after SIGUSR2: %+v", n.Name, v.Errors)
		}
	}
}

// --shared-key: node2's node reports one of node1's identities too, IDLE
// (no post-service of node2 proves for it), and only that one.
func TestSimSharedKey(t *testing.T) {
	cfg, _, stdout := runSim(t, "--nodes", "2", "--ids", "2", "--shared-key")
	if !strings.Contains(stdout.String(), "node2 also loads node1's post01.key") {
		t.Errorf("the summary does not tell of the shared key:\n%s", stdout)
	}
	v1, v2 := view(t, cfg.Node), view(t, cfg.MoreNodes[0])
	var both [][]byte
	for _, id := range v2.SmesherIDs {
		if containsKey(v1.SmesherIDs, id) {
			both = append(both, id)
		}
	}
	if len(both) != 1 {
		t.Fatalf("identities on both nodes %x, want one", both)
	}
	i := slices.IndexFunc(v2.PostStates, func(ps model.PostState) bool { return bytes.Equal(ps.ID, both[0]) })
	if i < 0 || v2.PostStates[i].State != model.NodeIdle {
		t.Errorf("node2's PostStates %+v, want the shared identity IDLE", v2.PostStates)
	}
	for _, svc := range cfg.ServicesOf("node2") {
		b, err := os.ReadFile(filepath.Join(svc.Dir, "postdata_metadata.json"))
		if err != nil {
			t.Fatal(err)
		}
		if meta, err := model.ParseMetadata(b); err != nil || bytes.Equal(meta.NodeID, both[0]) {
			t.Errorf("node2's %s proves for the shared identity (%v)", svc.Name, err)
		}
	}
}

// One node is the simulator as it was: a lone [node] without a name.
func TestSimOneNodeUnnamed(t *testing.T) {
	cfg, _, _ := runSim(t, "--ids", "2")
	b, err := os.ReadFile(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.Contains(text, "\n[node]\n") || strings.Contains(text, "[[node]]") || strings.Contains(text, "name = \"node1\"") {
		t.Errorf("config for one node:\n%s", text)
	}
	if cfg.Fleet() || cfg.Services[0].Name != "data01" || cfg.Services[0].Node != "" {
		t.Errorf("fleet %v, first service %+v", cfg.Fleet(), cfg.Services[0])
	}
}

func TestSimNodesRefused(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--nodes", "0"}, "--nodes 0: the simulator needs at least 1 node"},
		{[]string{"--nodes", "-2"}, "--nodes -2: the simulator needs at least 1 node"},
		{[]string{"--shared-key"}, "--shared-key needs --nodes 2 or more"},
	} {
		_, stderr, code := cmdtest.Call(t, simcmd.Run, c.args...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", c.args, code, stderr, c.want)
		}
	}
}
