package nodeapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/reflect/protoreflect"

	"postdeck/backend/config"
	"postdeck/model"
)

// DefaultCallTimeout bounds each node gRPC call when none is configured.
const DefaultCallTimeout = 3 * time.Second

// TLS is TLS for a node reached over the network. All empty means plaintext.
type TLS struct {
	CACert     string // PEM file of the CA that signed the node's certificate; empty = system roots
	Cert, Key  string // client certificate and key (mutual TLS), both or neither
	ServerName string // overrides the name checked in the node's certificate
}

func (t TLS) enabled() bool { return t != TLS{} }

// Options says where the node's listeners are. An empty listener makes
// what it serves unavailable; it is not an error.
type Options struct {
	PostListener    string
	PrivateListener string
	PublicListener  string
	CallTimeout     time.Duration // per call; 0 = DefaultCallTimeout
	TLS             TLS
}

// OptionsFor builds Options from the config file.
func OptionsFor(cfg *config.Config) Options { return OptionsForNode(cfg, &cfg.Node) }

// OptionsForNode are the client options for node n of cfg.
func OptionsForNode(cfg *config.Config, n *config.NodeConfig) Options {
	return Options{
		PostListener: n.PostListener, PrivateListener: n.PrivateListener, PublicListener: n.PublicListener,
		CallTimeout: cfg.Poll.NodeTimeout.Duration,
		TLS:         TLS{CACert: n.TLSCACert, Cert: n.TLSCert, Key: n.TLSKey, ServerName: n.TLSServerName},
	}
}

// Client talks to one go-spacemesh node over its three gRPC listeners,
// learning every message from server reflection. It is safe for concurrent use.
type Client struct {
	listeners [3]*listener // by role; nil when not configured
	// served is the version of each history service the node answered on
	// (*historyKind → rpc), see history.go.
	served sync.Map
}

// NewClient prepares one connection per configured listener. It does not
// dial: a node that is down now is found (and recovered from) by the calls.
func NewClient(opts Options) (*Client, error) {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	creds, err := nodeCredentials(opts.TLS)
	if err != nil {
		return nil, err
	}
	c := &Client{}
	addrs := [3]string{rolePost: opts.PostListener, rolePrivate: opts.PrivateListener, rolePublic: opts.PublicListener}
	for r, addr := range addrs {
		if addr == "" {
			continue
		}
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds), grpc.WithConnectParams(connectParams))
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("%s %q: %v — check %s", roleInfo[r].label, addr, err, roleInfo[r].key)
		}
		c.listeners[r] = newListener(role(r), addr, conn, opts.CallTimeout)
	}
	return c, nil
}

// connectParams keeps reconnection to a restarted node quick: gRPC's default
// backoff grows to two minutes, longer than anyone watches a dashboard.
var connectParams = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 250 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
	MinConnectTimeout: 5 * time.Second,
}

func nodeCredentials(t TLS) (credentials.TransportCredentials, error) {
	if !t.enabled() {
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
	if t.CACert != "" {
		pem, err := os.ReadFile(t.CACert)
		if err != nil {
			return nil, fmt.Errorf("node TLS CA certificate: %v", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("node TLS CA certificate %s: no PEM certificate in it", t.CACert)
		}
	}
	if (t.Cert == "") != (t.Key == "") {
		return nil, errors.New("node TLS: tls_cert and tls_key go together: set both or neither")
	}
	if t.Cert != "" {
		pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("node TLS client certificate: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return credentials.NewTLS(cfg), nil
}

// Close releases the connections.
func (c *Client) Close() {
	for _, l := range c.listeners {
		if l != nil {
			_ = l.conn.Close()
		}
	}
}

// listenerFor returns the listener serving r, or a SourceError saying it is
// not configured.
func (c *Client) listenerFor(r role) (*listener, *model.SourceError) {
	if l := c.listeners[r]; l != nil {
		return l, nil
	}
	info := roleInfo[r]
	return nil, &model.SourceError{Source: info.source, Message: fmt.Sprintf(
		"%s not configured — set it in postdeck's [node] section or point to the node's config (%s)", info.label, info.key)}
}

// View asks every listener at once, each call with its own timeout, so a hung
// listener costs its own part of the view and never delays the others.
func (c *Client) View(ctx context.Context) model.NodeView {
	var post, priv, pub model.NodeView
	var wg sync.WaitGroup
	wg.Go(func() { post = c.postStates(ctx) })
	wg.Go(func() { priv = c.smesherIDs(ctx) })
	wg.Go(func() { pub = c.status(ctx) })
	wg.Wait()

	v := pub
	v.PostStates, v.HasPostStates = post.PostStates, post.HasPostStates
	v.SmesherIDs, v.HasSmesherIDs = priv.SmesherIDs, priv.HasSmesherIDs
	v.Errors = append(append(append([]model.SourceError(nil), post.Errors...), priv.Errors...), pub.Errors...)
	return v
}

// callOn runs one allow-listed call, turning any failure into a SourceError.
func (c *Client) callOn(ctx context.Context, r rpc) (resp protoreflect.Message, serr *model.SourceError) {
	l, serr := c.listenerFor(r.role)
	if serr != nil {
		return nil, serr
	}
	resp, err := l.call(ctx, r)
	if err != nil {
		return nil, &model.SourceError{Source: roleInfo[r.role].source, Message: l.explain(r, err)}
	}
	return resp, nil
}

func (c *Client) postStates(ctx context.Context) (v model.NodeView) {
	resp, serr := c.callOn(ctx, rpcPostStates)
	if serr != nil {
		v.Errors = append(v.Errors, *serr)
		return v
	}
	v.PostStates, v.HasPostStates = readPostStates(resp), true
	return v
}

// readPostStates reads PostStatesResponse.states sorted by name (the node
// builds them from a map, in random order), then by id.
func readPostStates(resp protoreflect.Message) []model.PostState {
	list := fieldList(resp, "states")
	if list == nil {
		return nil
	}
	out := make([]model.PostState, 0, list.Len())
	for i := range list.Len() {
		m := list.Get(i).Message()
		st := model.NodeUnknown
		if n, ok := fieldEnum(m, "state"); ok {
			st = model.NodeStateFromProto(n)
		}
		out = append(out, model.PostState{ID: fieldBytes(m, "id"), State: st, Name: fieldString(m, "name")})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return bytes.Compare(out[i].ID, out[j].ID) < 0
	})
	return out
}

func (c *Client) smesherIDs(ctx context.Context) (v model.NodeView) {
	resp, serr := c.callOn(ctx, rpcSmesherIDs)
	if serr != nil {
		v.Errors = append(v.Errors, *serr)
		return v
	}
	v.HasSmesherIDs = true
	if list := fieldList(resp, "public_keys"); list != nil {
		v.SmesherIDs = make([][]byte, 0, list.Len())
		for i := range list.Len() {
			v.SmesherIDs = append(v.SmesherIDs, list.Get(i).Bytes())
		}
	}
	return v
}

// status asks Status, then Version on the same listener: if Status failed the
// listener is down and Version would only repeat the error.
func (c *Client) status(ctx context.Context) (v model.NodeView) {
	resp, serr := c.callOn(ctx, rpcStatus)
	if serr != nil {
		v.Errors = append(v.Errors, *serr)
		return v
	}
	v.HasStatus = true
	v.Peers = fieldUint(resp, "status", "connected_peers")
	v.Synced = fieldBool(resp, "status", "is_synced")
	v.TopLayer = uint32(fieldUint(resp, "status", "top_layer", "number"))
	resp, serr = c.callOn(ctx, rpcVersion)
	if serr != nil {
		v.Errors = append(v.Errors, *serr)
		return v
	}
	v.Version = fieldString(resp, "version_string", "value")
	return v
}

// Version asks the public listener the node's version (NodeService.Version),
// within the call timeout; for `postdeck version --node`, which needs nothing
// else of the node.
func (c *Client) Version(ctx context.Context) (string, error) {
	resp, serr := c.callOn(ctx, rpcVersion)
	if serr != nil {
		return "", errors.New(serr.Message)
	}
	return fieldString(resp, "version_string", "value"), nil
}

// NodeInfo is the network the node is on (NodeService.NodeInfo).
type NodeInfo struct {
	HRP              string
	FirstGenesis     uint32
	EffectiveGenesis uint32
	EpochSize        uint32
}

// NodeInfo asks the public listener which network the node is on.
func (c *Client) NodeInfo(ctx context.Context) (NodeInfo, error) {
	resp, serr := c.callOn(ctx, rpcNodeInfo)
	if serr != nil {
		return NodeInfo{}, errors.New(serr.Message)
	}
	return NodeInfo{
		HRP:              fieldString(resp, "hrp"),
		FirstGenesis:     uint32(fieldUint(resp, "first_genesis")),
		EffectiveGenesis: uint32(fieldUint(resp, "effective_genesis")),
		EpochSize:        uint32(fieldUint(resp, "epoch_size")),
	}, nil
}

// Events (AdminService.EventsStream on the private listener) are a later
// addition: a long-lived server stream read by its own goroutine, reconnecting
// with backoff after "buffer is full" or a node restart, added to allowedRPCs
// with a streaming variant of listener.call.
