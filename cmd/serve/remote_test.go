package serve

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"postdeck/backend/config"
	"postdeck/backend/proc"
	"postdeck/backend/remote"
	"postdeck/backend/testkit"
	"postdeck/cmd/cmdtest"
	"postdeck/cmd/simcmd"
	"postdeck/model"
	"postdeck/sim"
)

// remoteServe is a postdeck serve over one real post-service, with a full
// and a read-only key, and a known_hosts file that trusts its host key.
type remoteServe struct {
	srv        *served
	svc        sim.ServiceLayout
	sim        *sim.Sim
	full, ro   string
	knownHosts string
}

func startRemoteServe(t *testing.T) *remoteServe {
	t.Helper()
	r := &remoteServe{}
	var err error
	r.sim, err = sim.Start(context.Background(), sim.Options{IDs: 1, Manual: true, RealServices: true, Seed: testkit.Seed(t),
		Dir: t.TempDir(), ProofRequestInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.sim.Close() })
	cfg, err := simcmd.RealServicesConfig(r.sim.Layout(), cmdtest.Binary, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Proving.Auto = false
	cfg.Proving.StopGrace.Duration = 3 * time.Second
	cfg.Poll.Interval.Duration = 200 * time.Millisecond
	r.svc = r.sim.Layout().Services[0]
	keys := t.TempDir()
	var fullPub, roPub string
	r.full, fullPub = sshKey(t, keys, "full")
	r.ro, roPub = sshKey(t, keys, "readonly")
	authorized, readOnly := filepath.Join(keys, "authorized_keys"), filepath.Join(keys, "readonly_keys")
	os.WriteFile(authorized, []byte(fullPub+"\n"), 0o600)
	os.WriteFile(readOnly, []byte(roPub+"\n"), 0o600)
	r.srv = startServe(t, cfg, serveFlags{authorized: authorized, readOnly: readOnly, idleTimeout: time.Minute})
	t.Cleanup(func() {
		sup, err := proc.NewSupervisor(cfg, r.srv.stateDir)
		if err != nil {
			t.Error(err)
			return
		}
		sup.Stop(context.Background(), r.svc.Name)
	})
	raw, err := os.ReadFile(filepath.Join(r.srv.stateDir, "ssh_host_ed25519_key"))
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := ssh.ParsePrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	r.knownHosts = filepath.Join(keys, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(r.srv.addr.String())}, hostKey.PublicKey())
	os.WriteFile(r.knownHosts, []byte(line+"\n"), 0o600)
	return r
}

// watch is a central postdeck's watch of the serve as host rig2, with key.
func (r *remoteServe) watch(t *testing.T, key, knownHosts string) *remote.Host {
	t.Helper()
	h := remote.New(config.HostConfig{Name: "rig2", Address: r.srv.addr.String(), IdentityFile: key, KnownHosts: knownHosts}, remote.Options{Version: "test"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// row is the host's row of the service, false until it has one.
func (r *remoteServe) row(h *remote.Host) (model.Row, bool) {
	for _, p := range h.Parts() {
		for _, row := range p.Snap.Rows {
			if row.Service == "rig2:"+r.svc.Name {
				return row, true
			}
		}
	}
	return model.Row{}, false
}

func TestACentralPostdeckActsOnARemoteServeWithinItsRules(t *testing.T) {
	r := startRemoteServe(t)
	h := r.watch(t, r.full, r.knownHosts)
	cmdtest.WaitFor(t, "the remote row", func() bool { _, ok := r.row(h); return ok })
	ctx := context.Background()

	if _, err := h.Start(ctx, r.svc.Name); err != nil {
		t.Fatalf("start on the host: %v", err)
	}
	r.sim.SetNodeState(r.svc.NodeID, model.NodeProving)
	cmdtest.WaitFor(t, "the remote row to prove", func() bool {
		row, _ := r.row(h)
		return row.ServiceState == model.ServiceProving && row.Host == "rig2"
	})

	// The host's safe-stop rule refuses to throw the proof away.
	_, err := h.Stop(ctx, r.svc.Name, model.StopIfSafe)
	var refused *remote.RefusedError
	if !errors.As(err, &refused) || !refused.Unsafe {
		t.Fatalf("stop while proving: %v, want the host's unsafe refusal", err)
	}
	if !strings.Contains(refused.StopReason(), "proving") {
		t.Errorf("the refusal's reason %q does not say the service is proving", refused.StopReason())
	}

	// Its log is read over the same connection, from where the last read ended.
	src := h.LogSource(r.svc.Name)
	var got []byte
	cur := proc.LogCursor{}
	cmdtest.WaitFor(t, "the remote log", func() bool {
		c, err := proc.ReadLog(ctx, src, cur)
		if err != nil {
			t.Logf("log: %v", err)
			return false
		}
		got, cur = append(got, c.Data...), c.Next
		return len(got) > 0
	})

	o, err := h.Stop(ctx, r.svc.Name, model.StopWhenSafe)
	if err != nil || o.Result != model.StopQueued {
		t.Fatalf("stop when safe: %+v, %v; want it queued on the host", o, err)
	}
	cmdtest.WaitFor(t, "the pending stop on the row", func() bool { row, _ := r.row(h); return row.PendingStop })

	// A read-only key watches, and cannot act.
	ro := r.watch(t, r.ro, r.knownHosts)
	cmdtest.WaitFor(t, "the read-only watch", func() bool { _, ok := r.row(ro); return ok })
	if _, err := ro.Start(ctx, r.svc.Name); !errors.As(err, &refused) || !refused.ReadOnly {
		t.Fatalf("start with a read-only key: %v, want a read-only refusal", err)
	}

	// The host goes away: its rows stay, saying since when it is silent.
	r.srv.stop()
	cmdtest.WaitFor(t, "the host to count as down", func() bool {
		row, _ := r.row(h)
		return row.Has(model.HealthHostDown) && strings.Contains(row.Errors[len(row.Errors)-1].Message, "unreachable since")
	})
}

func TestAnUnknownHostKeyIsRefusedWithItsFingerprint(t *testing.T) {
	r := startRemoteServe(t)
	empty := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(empty, nil, 0o600)
	h := r.watch(t, r.full, empty)
	<-h.Heard()
	parts := h.Parts()
	if len(parts) != 1 || len(parts[0].Snap.Rows) != 0 || len(parts[0].Snap.Node.Errors) == 0 {
		t.Fatalf("parts of a refused host: %+v", parts)
	}
	msg := parts[0].Snap.Node.Errors[0].Message
	for _, want := range []string{"is not in " + empty, "SHA256:", "trust it by adding this line"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q lacks %q", msg, want)
		}
	}
}

// keys add refuses a key another host's node holds, as it refuses one of
// another local node.
func TestKeysAddRefusesAKeyAnotherHostHolds(t *testing.T) {
	r := startRemoteServe(t)
	post := filepath.Join(t.TempDir(), "moved")
	os.MkdirAll(post, 0o700)
	for src, dst := range map[string]string{filepath.Join(r.svc.Dir, model.MetadataFile): model.MetadataFile, r.svc.KeyFile: "identity.key"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(post, dst), b, 0o600)
	}
	data := t.TempDir()
	cfg := &config.Config{Node: config.NodeConfig{DataFolder: data},
		Hosts: []config.HostConfig{{Name: "rig2", Address: r.srv.addr.String(), IdentityFile: r.full, KnownHosts: r.knownHosts}}}
	path := filepath.Join(t.TempDir(), "local.toml")
	if err := config.WriteFile(path, config.Render(cfg), true); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := cmdtest.PostdeckEnv(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "keys", "add", post, "--yes", "--config", path)
	if code == 0 || !strings.Contains(errOut, "is already held by rig2") {
		t.Fatalf("keys add of rig2's key: exit %d, %q; want a refusal naming rig2", code, errOut)
	}
	if entries, _ := os.ReadDir(filepath.Join(data, "identities")); len(entries) != 0 {
		t.Errorf("the refused key was written: %v", entries)
	}
}
