package remote

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/model"
)

// sshd is a real SSH server on 127.0.0.1 that answers exec requests with
// answer: what another postdeck serve (another version, one that hangs)
// would send, where no such binary can run here.
type sshd struct {
	addr       string
	knownHosts string // a known_hosts file trusting its host key
	keyFile    string // a client key it accepts
	conns      atomic.Int32
}

func startSSHD(t *testing.T, accept bool, answer func(cmd string, ch ssh.Channel)) *sshd {
	t.Helper()
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostKey, _ := ssh.NewSignerFromKey(hostPriv)
	_, clientPriv, _ := ed25519.GenerateKey(rand.Reader)
	clientSigner, _ := ssh.NewSignerFromKey(clientPriv)
	dir := t.TempDir()
	s := &sshd{keyFile: filepath.Join(dir, "id_ed25519"), knownHosts: filepath.Join(dir, "known_hosts")}
	block, err := ssh.MarshalPrivateKey(clientPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(s.keyFile, pem.EncodeToMemory(block), 0o600)
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if accept && string(k.Marshal()) == string(clientSigner.PublicKey().Marshal()) {
			return nil, nil
		}
		return nil, os.ErrPermission
	}}
	cfg.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s.addr = ln.Addr().String()
	os.WriteFile(s.knownHosts, []byte(knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, hostKey.PublicKey())+"\n"), 0o600)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			go serveConn(c, cfg, answer)
		}
	}()
	return s
}

func serveConn(c net.Conn, cfg *ssh.ServerConfig, answer func(string, ssh.Channel)) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			for r := range reqs {
				if r.Type != "exec" {
					r.Reply(false, nil)
					continue
				}
				r.Reply(true, nil)
				var p struct{ Cmd string }
				ssh.Unmarshal(r.Payload, &p)
				go answer(p.Cmd, ch)
			}
		}()
	}
}

func (s *sshd) host() config.HostConfig {
	return config.HostConfig{Name: "rig9", Address: s.addr, IdentityFile: s.keyFile, KnownHosts: s.knownHosts}
}

func runHost(t *testing.T, h *Host) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// oneRow is a status document of one identity, as a postdeck serve sends it.
func oneRow(started time.Time) []byte {
	doc := model.StatusDoc{Node: model.NodeDoc{Up: true, Version: "v1.7.6", Synced: true},
		Identities: []model.IdentityDoc{{Name: "post01.key", ID: strings.Repeat("ab", 32), NodeState: "IDLE", Service: "data01",
			ServiceState: "idle", Process: &model.ProcessDoc{State: "running", Started: started.UTC().Format(time.RFC3339)}}}}
	b, _ := json.Marshal(doc)
	return append(b, '\n')
}

func hello(protocol int, now time.Time) []byte {
	b, _ := json.Marshal(model.MachineHello{Postdeck: "v9.9.9", Protocol: protocol, Now: now})
	return append(b, '\n')
}

func nodeErrors(h *Host) string {
	var out []string
	for _, p := range h.Parts() {
		for _, e := range p.Snap.Node.Errors {
			out = append(out, e.Message)
		}
	}
	return strings.Join(out, " | ")
}

func TestAHostOfAnotherProtocolIsSaidSoAndItsRowsKept(t *testing.T) {
	s := startSSHD(t, true, func(cmd string, ch ssh.Channel) {
		ch.Write(hello(model.MachineProtocol+1, time.Now()))
		ch.Write(oneRow(time.Now()))
	})
	h := New(s.host(), Options{Version: "v1.0.0"})
	runHost(t, h)
	testkit.WaitFor(t, "the host's row", func() bool { return len(h.Parts()) == 1 && len(h.Parts()[0].Snap.Rows) == 1 })
	if msg := nodeErrors(h); !strings.Contains(msg, "runs postdeck v9.9.9 (machine protocol 2), this is postdeck v1.0.0 (protocol 1)") {
		t.Errorf("node errors %q do not say the versions differ", msg)
	}
	if r := h.Parts()[0].Snap.Rows[0]; r.Service != "rig9:data01" || r.Host != "rig9" || r.ServiceState != model.ServiceIdle {
		t.Errorf("row %+v", r)
	}
}

func TestAHostThatHangsMidStreamIsDownAndRetried(t *testing.T) {
	s := startSSHD(t, true, func(cmd string, ch ssh.Channel) {
		ch.Write(hello(model.MachineProtocol, time.Now()))
		ch.Write(oneRow(time.Now()))
		// then nothing, the connection held open
	})
	h := New(s.host(), Options{Silent: 200 * time.Millisecond})
	runHost(t, h)
	testkit.WaitFor(t, "the hang noticed", func() bool {
		p := h.Parts()
		return len(p[0].Snap.Rows) == 1 && p[0].Snap.Rows[0].Has(model.HealthHostDown) && strings.Contains(nodeErrors(h), "sent nothing for 200ms: it hangs")
	})
	testkit.WaitFor(t, "a reconnect", func() bool { return s.conns.Load() >= 2 })
}

func TestARefusedLoginSaysWhatToDo(t *testing.T) {
	s := startSSHD(t, false, func(string, ssh.Channel) {})
	h := New(s.host(), Options{})
	runHost(t, h)
	<-h.Heard()
	if msg := nodeErrors(h); !strings.Contains(msg, "refused the login") || !strings.Contains(msg, "authorized_keys") {
		t.Errorf("refused login said %q", msg)
	}
}

func TestAHostsClockSkewMovesItsTimes(t *testing.T) {
	skew := 5 * time.Minute
	started := time.Now().Add(-time.Hour).Truncate(time.Second)
	s := startSSHD(t, true, func(cmd string, ch ssh.Channel) {
		ch.Write(hello(model.MachineProtocol, time.Now().Add(skew)))
		ch.Write(oneRow(started.Add(skew))) // its clock: 5 minutes ahead
		<-time.After(time.Minute)
	})
	h := New(s.host(), Options{})
	runHost(t, h)
	testkit.WaitFor(t, "the host's row", func() bool { return len(h.Parts()[0].Snap.Rows) == 1 })
	if msg := nodeErrors(h); !strings.Contains(msg, "its clock is 5m0s off") {
		t.Errorf("node errors %q do not name the skew", msg)
	}
	if got := h.Parts()[0].Snap.Rows[0].Proc.Started; got.Sub(started).Abs() > 10*time.Second {
		t.Errorf("started %v, want about %v on this machine's clock", got, started)
	}
}
