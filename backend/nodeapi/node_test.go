package nodeapi

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postdeck/backend/testkit"
	"postdeck/model"
	"postdeck/sim"
)

func simNodeOptions(l sim.Layout) Options {
	return Options{PostListener: l.PostListener, PrivateListener: l.PrivateListener, PublicListener: l.PublicListener}
}

func newNode(t testing.TB, opts Options) *Client {
	t.Helper()
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestNodeViewAgainstSim(t *testing.T) {
	s := testkit.StartSim(t, 5)
	l := s.Layout()
	s.SetNodeState(l.Services[1].NodeID, model.NodeProving)
	s.SetNodeState(l.Services[2].NodeID, model.NodeUnused)
	c := newNode(t, simNodeOptions(l))

	v := c.View(context.Background())
	if len(v.Errors) != 0 {
		t.Fatalf("errors: %+v", v.Errors)
	}
	if !v.HasStatus || v.Version != "v1.7.6-sim" || !v.Synced || v.TopLayer == 0 || v.Peers == 0 {
		t.Errorf("status: %+v", v)
	}
	if !v.HasPostStates || len(v.PostStates) != 5 || !v.HasSmesherIDs || len(v.SmesherIDs) != 5 {
		t.Fatalf("post states %d, smesher ids %d", len(v.PostStates), len(v.SmesherIDs))
	}
	want := []model.NodeState{model.NodeIdle, model.NodeProving, model.NodeUnused, model.NodeIdle, model.NodeIdle}
	for i, ps := range v.PostStates {
		if ps.Name != "post0"+string(rune('1'+i))+".key" || string(ps.ID) != string(l.Services[i].NodeID) || ps.State != want[i] {
			t.Errorf("state %d: %s %x %v, want sorted by name with state %v", i, ps.Name, ps.ID, ps.State, want[i])
		}
	}

	info, err := c.NodeInfo(context.Background())
	if err != nil || info.HRP != "sm" || info.EpochSize != 4032 || info.FirstGenesis == 0 {
		t.Errorf("NodeInfo = %+v, %v", info, err)
	}
}

func TestNodeDownAtStartRecovers(t *testing.T) {
	s := testkit.StartSim(t, 2)
	if err := s.StopNode(); err != nil {
		t.Fatal(err)
	}
	l := s.Layout()
	c := newNode(t, simNodeOptions(l)) // must not fail with the node down

	v := c.View(context.Background())
	if len(v.Errors) != 3 || v.HasStatus || v.HasPostStates || v.HasSmesherIDs {
		t.Fatalf("node down: %+v", v)
	}
	want := "post listener " + l.PostListener + ": connection refused — is the node running, and is api.grpc-post-listener set to this address?"
	if v.Errors[0].Source != "node/post" || v.Errors[0].Message != want {
		t.Errorf("error = %+v\nwant %s", v.Errors[0], want)
	}

	restartNode(t, s)
	if v := c.View(context.Background()); len(v.Errors) != 0 {
		t.Fatalf("the first view after the node started: %+v", v.Errors)
	}
}

func TestNodeRestartMidSession(t *testing.T) {
	s := testkit.StartSim(t, 3)
	c := newNode(t, simNodeOptions(s.Layout()))
	nextView := func(when string) {
		t.Helper()
		if v := c.View(context.Background()); len(v.Errors) != 0 || !v.HasPostStates || !v.HasSmesherIDs || !v.HasStatus {
			t.Fatalf("%s: %+v", when, v.Errors)
		}
	}
	nextView("first view")
	for range 3 {
		// Restart without a View in between: the old connections are dead.
		s.StopNode()
		restartNode(t, s)
		nextView("the view after a quick restart")

		// Down long enough to be seen, then back.
		s.StopNode()
		if v := c.View(context.Background()); len(v.Errors) != 3 {
			t.Fatalf("node down: %+v", v.Errors)
		}
		restartNode(t, s)
		nextView("the view after the node came back")
	}
}

// restartNode starts the stopped sim node on its old ports. Another socket on
// this machine may have taken one of them as its ephemeral port meanwhile;
// that is no fault of the client, so the test is skipped then.
func restartNode(t *testing.T, s *sim.Sim) {
	t.Helper()
	if err := s.StartNode(); err != nil {
		if strings.Contains(err.Error(), "address already in use") {
			t.Skipf("the sim could not re-listen on its port: %v", err)
		}
		t.Fatal(err)
	}
}

func TestNodeUnconfiguredListener(t *testing.T) {
	s := testkit.StartSim(t, 2)
	c := newNode(t, Options{PublicListener: s.Layout().PublicListener})
	v := c.View(context.Background())
	if !v.HasStatus || v.HasPostStates || v.HasSmesherIDs {
		t.Fatalf("has: status %v post %v ids %v", v.HasStatus, v.HasPostStates, v.HasSmesherIDs)
	}
	if len(v.Errors) != 2 || v.Errors[0].Source != "node/post" || v.Errors[1].Source != "node/private" {
		t.Fatalf("errors: %+v", v.Errors)
	}
	for _, e := range v.Errors {
		if !strings.Contains(e.Message, "not configured") {
			t.Errorf("%s: %s", e.Source, e.Message)
		}
	}
}

// silentListener accepts TCP connections and never says a word.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, conn) // held open, never read or written
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestNodeSilentListenerTimesOutAlone(t *testing.T) {
	s := testkit.StartSim(t, 2)
	opts := simNodeOptions(s.Layout())
	opts.PostListener = silentListener(t)
	opts.CallTimeout = 500 * time.Millisecond
	c := newNode(t, opts)

	// The listener never answers: View returning at all is the call timeout
	// applying (the error below says which).
	v := testkit.NoHang(t, "View with a silent post listener", func() model.NodeView { return c.View(context.Background()) })
	if v.HasPostStates || len(v.Errors) != 1 || v.Errors[0].Source != "node/post" ||
		!strings.Contains(v.Errors[0].Message, "no answer within 500ms") {
		t.Fatalf("post part: %+v", v.Errors)
	}
	if !v.HasStatus || !v.HasSmesherIDs || len(v.SmesherIDs) != 2 {
		t.Fatalf("the other listeners' results are missing: %+v", v)
	}
}

func TestNodeWrongListenerIsExplained(t *testing.T) {
	s := testkit.StartSim(t, 1)
	c := newNode(t, Options{PostListener: s.Layout().PublicListener})
	v := c.View(context.Background())
	if len(v.Errors) == 0 || !strings.Contains(v.Errors[0].Message, "does not serve spacemesh.v1.PostInfoService") {
		t.Fatalf("errors: %+v", v.Errors)
	}
}

// The dashboard must never dial PostService/Register: that would pose as a
// post-service. Only allow-listed methods can be called, none of them is on
// PostService, and no code in the package names it.
func TestNodeNeverCallsRegister(t *testing.T) {
	for r := range allowedRPCs {
		if strings.Contains(r.service, "PostService") || r.method == "Register" {
			t.Errorf("allow-list holds %s", r.fullName())
		}
	}
	l := newListener(rolePost, "127.0.0.1:1", nil, time.Second)
	if _, err := l.call(context.Background(), rpc{rolePost, "spacemesh.v1.PostService", "Register"}); err == nil {
		t.Error("call accepted a method outside the allow-list")
	}

	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0) // comments are not parsed
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING &&
				(strings.Contains(lit.Value, "PostService") || strings.Contains(lit.Value, "Register")) {
				t.Errorf("%s: string %s names PostService/Register", fset.Position(lit.Pos()), lit.Value)
			}
			return true
		})
	}
}

func TestNodeTLSOptionsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		tls  TLS
		want string
	}{
		{TLS{Cert: "client.pem"}, "tls_cert and tls_key go together"},
		{TLS{CACert: filepath.Join(t.TempDir(), "missing.pem")}, "CA certificate"},
	} {
		_, err := NewClient(Options{PublicListener: "127.0.0.1:9092", TLS: tc.tls})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.tls, err, tc.want)
		}
	}
	c, err := NewClient(Options{PublicListener: "127.0.0.1:9092", TLS: TLS{ServerName: "node.example"}})
	if err != nil {
		t.Fatalf("TLS with system roots: %v", err)
	}
	c.Close()
}
