package sim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"postdeck/model"
)

// ServiceOptions configure one simulated post-service (RunService). The
// fields mirror post-rs's command line.
type ServiceOptions struct {
	Address         string // the node's post listener, http://host:port (https is not simulated)
	Dir             string // PoST data directory with postdata_metadata.json
	OperatorAddress string // host:port of GET /status; "" = no operator API, as post-rs
	Threads         int    // accepted like post-rs's --threads; does not change the pace
	Nonces          int    // nonces per pass, multiple of 16, at most 4096; default 128
	RandomXMode     string // "fast" (default) or "light"; light makes k2pow slower
	// Speed compresses proving time (1 = a few seconds of k2pow and up to
	// 30 s per pass; 10 = ten times faster). Default 1.
	Speed float64
	// ReconnectInterval is the wait before dialling again after a failed
	// connection or a lost stream, in real time; default 5 s.
	ReconnectInterval time.Duration
	// MaxRetries gives up after that many failed connection attempts in a
	// row; 0 retries forever.
	MaxRetries int
	Log        io.Writer // post-rs style log lines; default os.Stderr
}

// Pace of a simulated proof at Speed 1.
var (
	svcK2pow        = span{3 * time.Second, 8 * time.Second}
	svcReadRate     = 8 << 20 // bytes per second of a reading pass
	svcPassMin      = 2 * time.Second
	svcPassMax      = 30 * time.Second // so that mainnet-sized dirs still finish in a demo
	svcTwoPassShare = 30               // percent of challenges whose proof needs a second pass
)

// The post-service's proving state, as its operator API names it.
type svcState int

const (
	svcIdle svcState = iota
	svcProving
	svcDone
)

// proofJob is one proof being generated, fixed by the challenge.
type proofJob struct {
	challenge []byte
	passes    uint64
	k2pow     time.Duration // real time per pass
	read      time.Duration // real time per pass
	passBytes uint64
	nonces    uint64
	started   time.Time

	// guarded by postService.mu
	pass    uint64
	reading bool
	phaseAt time.Time
}

// postService is a running simulated post-service.
type postService struct {
	o        ServiceOptions
	target   string // host:port for gRPC
	metaPath string
	meta     model.PostMetadata
	sc       *schema
	logMu    sync.Mutex

	// run and wg outlive connections: proving goes on while the node is away.
	run context.Context
	wg  sync.WaitGroup

	mu    sync.Mutex
	state svcState
	job   *proofJob
}

// RunService runs a simulated post-service until ctx ends, when it returns
// nil and everything it was doing is lost, as when post-rs is killed. It
// returns an error at once for bad options, missing or corrupt metadata or
// an operator address it cannot listen on, and when MaxRetries connection
// attempts failed in a row.
func RunService(ctx context.Context, o ServiceOptions) error {
	p, err := newPostService(o)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.run = ctx
	defer p.wg.Wait() // after cancel: proofs in progress are dropped
	if p.o.OperatorAddress != "" {
		ln, err := net.Listen("tcp", p.o.OperatorAddress)
		if err != nil {
			return fmt.Errorf("operator API on %s: %w", p.o.OperatorAddress, err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(p.serveStatus), ReadHeaderTimeout: 5 * time.Second}
		p.logf("post_service::operator", "INFO ", "starting operator server on %s", ln.Addr())
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			srv.Serve(ln) //nolint:errcheck // returns when closed below
		}()
		context.AfterFunc(ctx, func() { srv.Close() })
	}
	return p.connectLoop(ctx)
}

func newPostService(o ServiceOptions) (*postService, error) {
	if o.Nonces == 0 {
		o.Nonces = 128
	}
	if o.Nonces < 0 || o.Nonces%16 != 0 || o.Nonces > 4096 {
		return nil, fmt.Errorf("invalid nonces %d: must be a multiple of 16, at most 4096", o.Nonces)
	}
	switch o.RandomXMode {
	case "":
		o.RandomXMode = "fast"
	case "fast", "light":
	default:
		return nil, fmt.Errorf("invalid randomx mode %q: fast or light", o.RandomXMode)
	}
	if o.Speed <= 0 {
		o.Speed = 1
	}
	if o.ReconnectInterval <= 0 {
		o.ReconnectInterval = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.Dir == "" {
		return nil, errors.New("no PoST data directory (--dir)")
	}
	target, err := grpcTarget(o.Address)
	if err != nil {
		return nil, err
	}
	sc, err := loadSchema()
	if err != nil {
		return nil, err
	}
	p := &postService{o: o, target: target, sc: sc, metaPath: filepath.Join(o.Dir, "postdata_metadata.json")}
	if p.meta, err = p.loadMeta(); err != nil {
		return nil, err
	}
	p.logf("post_service", "INFO ", "obtained metadata: NodeId %x, NumUnits %d, LabelsPerUnit %d (%s)",
		p.meta.NodeID, p.meta.NumUnits, p.meta.LabelsPerUnit, p.metaPath)
	return p, nil
}

// grpcTarget turns post-rs's --address URL into a gRPC dial target.
func grpcTarget(address string) (string, error) {
	if address == "" {
		return "", errors.New("no node address (--address http://host:port)")
	}
	u, err := url.Parse(address)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("invalid node address %q: want http://host:port", address)
	}
	switch u.Scheme {
	case "http":
	case "https":
		return "", fmt.Errorf("node address %q: TLS is not supported by the simulated post-service", address)
	default:
		return "", fmt.Errorf("invalid node address %q: want http://host:port", address)
	}
	return u.Host, nil
}

// loadMeta reads and checks postdata_metadata.json.
func (p *postService) loadMeta() (model.PostMetadata, error) {
	b, err := os.ReadFile(p.metaPath)
	if err != nil {
		return model.PostMetadata{}, fmt.Errorf("loading metadata (is POST initialized?): %w", err)
	}
	m, err := model.ParseMetadata(b)
	if err != nil {
		return model.PostMetadata{}, fmt.Errorf("loading metadata from %s: %w", p.metaPath, err)
	}
	return m, nil
}

// logf writes one line in env_logger's format, as post-rs logs.
func (p *postService) logf(target, level, format string, args ...any) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	fmt.Fprintf(p.o.Log, "[%s %s %s] %s\n", time.Now().UTC().Format("2006-01-02T15:04:05Z"), level, target, fmt.Sprintf(format, args...))
}

// connectLoop dials the node, serves the Register stream and dials again
// after ReconnectInterval whenever the connection fails or ends.
func (p *postService) connectLoop(ctx context.Context) error {
	failed := 0
	for {
		connected, err := p.session(ctx)
		if ctx.Err() != nil {
			p.logf("post_service", "INFO ", "shutting down post service")
			return nil
		}
		if connected {
			failed = 0
			p.logf("post_service::client", "INFO ", "disconnected: %v", err)
		} else {
			failed++
			p.logf("post_service::client", "INFO ", "could not connect to the node: %v", err)
			if p.o.MaxRetries > 0 && failed >= p.o.MaxRetries {
				return fmt.Errorf("could not connect to the node at %s after %d attempts: %w", p.o.Address, failed, err)
			}
		}
		t := time.NewTimer(p.o.ReconnectInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			p.logf("post_service", "INFO ", "shutting down post service")
			return nil
		case <-t.C:
		}
	}
}

var registerDesc = &grpc.StreamDesc{StreamName: "Register", ServerStreams: true, ClientStreams: true}

// session is one connection: it answers the node's requests until the
// stream ends. connected reports whether the stream was opened at all.
func (p *postService) session(ctx context.Context) (connected bool, err error) {
	cc, err := grpc.NewClient(p.target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return false, err
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := cc.NewStream(ctx, registerDesc, "/spacemesh.v1.PostService/Register")
	if err != nil {
		return false, err
	}
	for {
		req := p.sc.msg("NodeRequest")
		if err := cs.RecvMsg(req); err != nil {
			if err == io.EOF {
				return true, errors.New("stream closed by the node")
			}
			return true, err
		}
		var resp *dynamicpb.Message
		switch kind(req) {
		case "metadata":
			resp = p.metadataResponse()
		case "gen_proof":
			gp := req.Get(field(req, "gen_proof")).Message()
			resp = p.genProof(gp.Get(field(gp, "challenge")).Bytes())
		default:
			p.logf("post_service::client", "WARN ", "Got a request with no kind")
			resp = p.sc.msg("ServiceResponse")
			set(sub(resp, "gen_proof"), "status", protoEnum(genProofError))
		}
		if err := cs.SendMsg(resp); err != nil {
			return true, err
		}
	}
}

// metadataResponse answers MetadataRequest from the metadata file, read
// again as post-rs does; the copy read at start-up stands in if it broke since.
func (p *postService) metadataResponse() *dynamicpb.Message {
	m, err := p.loadMeta()
	if err != nil {
		p.logf("post_service::client", "WARN ", "%v; answering with the metadata read at start", err)
		m = p.meta
	}
	resp := p.sc.msg("ServiceResponse")
	fillMeta(sub(sub(resp, "metadata"), "meta"), m)
	return resp
}

func fillMeta(pm protoreflect.Message, m model.PostMetadata) {
	set(pm, "node_id", m.NodeID)
	set(pm, "commitment_atx_id", m.CommitmentAtxID)
	set(pm, "labels_per_unit", m.LabelsPerUnit)
	set(pm, "num_units", m.NumUnits)
	set(pm, "max_file_size", m.MaxFileSize)
	if m.Nonce != nil {
		set(pm, "nonce", *m.Nonce)
	}
}

// genProof is post-rs's answer to GenProofRequest: start proving when idle,
// "OK, no proof" while in progress, the proof when done (then Idle), ERROR
// for a challenge other than the one being proven.
func (p *postService) genProof(ch []byte) *dynamicpb.Message {
	resp := p.sc.msg("ServiceResponse")
	gp := sub(resp, "gen_proof")
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.job != nil && string(p.job.challenge) != string(ch) {
		p.logf("post_service::client", "ERROR", "failed to generate proof: proof generation is in progress for a different challenge (current: %s, requested: %s)",
			rustHex(p.job.challenge), rustHex(ch))
		set(gp, "status", protoEnum(genProofError))
		return resp
	}
	switch p.state {
	case svcIdle:
		if len(ch) != 32 {
			p.logf("post_service::client", "ERROR", "failed to generate proof: invalid challenge format")
			set(gp, "status", protoEnum(genProofError))
			return resp
		}
		p.logf("post_service::service", "INFO ", "starting proof generation for challenge %s", rustHex(ch))
		p.job = p.newJob(ch)
		p.state = svcProving
		p.wg.Add(1)
		go func(j *proofJob) {
			defer p.wg.Done()
			p.prove(p.run, j)
		}(p.job)
		p.logf("post_service::client", "INFO ", "proof generation in progress")
	case svcProving:
		p.logf("post_service::client", "INFO ", "proof generation in progress")
	case svcDone:
		j := p.job
		p.logf("post_service::service", "INFO ", "proof generation is finished")
		p.logf("post_service::client", "INFO ", "proof is valid")
		pr := sub(gp, "proof")
		h := sha256.Sum256(append([]byte("proof"), j.challenge...))
		set(pr, "nonce", uint32((j.passes-1)*j.nonces+uint64(h[0])%j.nonces))
		set(pr, "indices", h[:])
		set(pr, "pow", binary.LittleEndian.Uint64(h[8:]))
		md := sub(gp, "metadata")
		set(md, "challenge", j.challenge)
		fillMeta(sub(md, "meta"), p.meta)
		p.job, p.state = nil, svcIdle
	}
	set(gp, "status", protoEnum(genProofOK))
	return resp
}

// newJob fixes a proof's course from its challenge: the same challenge always
// takes the same passes and times.
func (p *postService) newJob(ch []byte) *proofJob {
	h := sha256.Sum256(ch)
	j := &proofJob{
		challenge: append([]byte(nil), ch...),
		passes:    1,
		passBytes: p.meta.PassBytes(),
		nonces:    uint64(p.o.Nonces),
		started:   time.Now(),
	}
	if int(h[0])%100 < svcTwoPassShare {
		j.passes = 2
	}
	k2pow := svcK2pow.lo + time.Duration(binary.LittleEndian.Uint64(h[1:9])%uint64(svcK2pow.hi-svcK2pow.lo))
	if p.o.RandomXMode == "light" {
		k2pow *= 3 // light mode "runs significantly slower"
	}
	read := time.Duration(float64(j.passBytes) / float64(svcReadRate) * float64(time.Second))
	read = min(svcPassMax, max(svcPassMin, read))
	j.k2pow = time.Duration(float64(k2pow) / p.o.Speed)
	j.read = time.Duration(float64(read) / p.o.Speed)
	return j
}

// prove walks the job through its passes in real time; each pass is a k2pow
// then a read of all the data with the next range of nonces.
func (p *postService) prove(ctx context.Context, j *proofJob) {
	for pass := range j.passes {
		p.mu.Lock()
		j.pass, j.reading, j.phaseAt = pass, false, time.Now()
		p.mu.Unlock()
		if !sleepCtx(ctx, j.k2pow) {
			return
		}
		p.logf("post::prove", "INFO ", "finished k2pow in %s", minSec(j.k2pow))
		p.mu.Lock()
		j.reading, j.phaseAt = true, time.Now()
		p.mu.Unlock()
		p.logf("post::prove", "INFO ", "started reading POST data")
		if !sleepCtx(ctx, j.read) {
			return
		}
		p.logf("post::prove", "INFO ", "finished reading POST data in %s", minSec(j.read))
	}
	p.logf("post::prove", "INFO ", "found proof for nonces %d..%d. It took %s",
		(j.passes-1)*j.nonces, j.passes*j.nonces, minSec(time.Since(j.started)))
	p.mu.Lock()
	if p.job == j {
		p.state = svcDone
	}
	p.mu.Unlock()
}

// statusBody is the operator API's answer, exactly post-rs's JSON.
func (p *postService) statusBody() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case svcDone:
		return `"DoneProving"`
	case svcProving:
		j := p.job
		var pos uint64
		if j.reading {
			frac := float64(time.Since(j.phaseAt)) / float64(j.read)
			pos = min(j.passBytes, max(1, uint64(frac*float64(j.passBytes))))
		}
		start := j.pass * j.nonces
		return fmt.Sprintf(`{"Proving":{"nonces":{"start":%d,"end":%d},"position":%d}}`, start, start+j.nonces, pos)
	}
	return `"Idle"`
}

func (p *postService) serveStatus(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/status" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, p.statusBody())
}

func protoEnum(n int32) protoreflect.EnumNumber { return protoreflect.EnumNumber(n) }

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// minSec formats a duration as post-rs does: "1m 5s".
func minSec(d time.Duration) string {
	s := int(d.Seconds())
	return fmt.Sprintf("%dm %ds", s/60, s%60)
}

// rustHex formats bytes as Rust's {:X?} does: [1A, 2B, …].
func rustHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%X", c)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
