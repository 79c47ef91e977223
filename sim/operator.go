package sim

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// garbageBody is what FaultGarbage answers: JSON, but none of post-rs's shapes.
const garbageBody = `{"status":"proving","progress":0.42}`

// service is one simulated post-service: its operator endpoint and faults.
type service struct {
	name, dir string
	addr      string // operator address, fixed for the sim's life
	id        *ident
	fault     Fault
	body      string         // exact /status body set by a test; "" = from the cycle
	ln        *trackListener // nil while down
	conns     map[*trackConn]struct{}
}

// startOperators opens one listener per service. One http.Server serves them
// all and tells services apart by the local address of each request, so 1000
// services cost one accept goroutine and one fd each, nothing more.
func (s *Sim) startOperators() error {
	s.http = &http.Server{
		Handler:           http.HandlerFunc(s.serveStatus),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       30 * time.Second, // pollers keep connections alive; reap stale ones
	}
	lns := map[*service]net.Listener{}
	for _, id := range s.ids {
		if id.svc == nil {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return err
		}
		id.svc.addr = ln.Addr().String()
		s.byPort[ln.Addr().(*net.TCPAddr).Port] = id.svc
		lns[id.svc] = ln
	}
	// Serve only once byPort is complete: handlers read it without a lock.
	s.mu.Lock()
	defer s.mu.Unlock()
	for svc, ln := range lns {
		s.serve(svc, ln)
	}
	return nil
}

// serve starts answering on ln; s.mu must be held.
func (s *Sim) serve(svc *service, ln net.Listener) {
	tl := &trackListener{Listener: ln, svc: svc, sim: s}
	svc.ln = tl
	svc.conns = map[*trackConn]struct{}{}
	go s.http.Serve(tl) //nolint:errcheck // returns when the listener closes
}

// relisten brings a downed service back on its port; s.mu must be held.
// The port was ours a moment ago, so a few quick retries are enough.
func (s *Sim) relisten(svc *service) {
	for try := 0; try < 10; try++ {
		ln, err := net.Listen("tcp", svc.addr)
		if err == nil {
			s.serve(svc, ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// down closes the listener and drops open connections, as a killed
// post-service does; s.mu must be held.
func (svc *service) down() {
	if svc.ln == nil {
		return
	}
	svc.ln.Listener.Close()
	svc.ln = nil
	for c := range svc.conns {
		c.Conn.Close()
	}
	svc.conns = nil
}

func (s *Sim) serveStatus(w http.ResponseWriter, r *http.Request) {
	svc := s.serviceFor(r)
	if svc == nil || r.URL.Path != "/status" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	fault, body := svc.fault, svc.body
	if body == "" {
		body = svc.id.statusBody(s.simNow())
	}
	s.mu.Unlock()
	switch fault {
	case FaultHang:
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			// Drop the connection without an answer, as a killed process would.
			panic(http.ErrAbortHandler)
		}
	case FaultGarbage:
		body = garbageBody
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, body)
}

// serviceFor finds the service from the port the request came in on.
func (s *Sim) serviceFor(r *http.Request) *service {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	if !ok {
		return nil
	}
	return s.byPort[addr.Port]
}

// trackListener records its service's connections so that FaultDown can
// drop them, not only refuse new ones.
type trackListener struct {
	net.Listener
	svc *service
	sim *Sim
}

func (l *trackListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc := &trackConn{Conn: c, svc: l.svc, sim: l.sim}
		l.sim.mu.Lock()
		live := l.svc.ln == l
		if live {
			l.svc.conns[tc] = struct{}{}
		}
		l.sim.mu.Unlock()
		if live {
			return tc, nil
		}
		c.Close() // accepted just as the service went down
	}
}

type trackConn struct {
	net.Conn
	svc  *service
	sim  *Sim
	once sync.Once
}

func (c *trackConn) Close() error {
	c.once.Do(func() {
		c.sim.mu.Lock()
		delete(c.svc.conns, c)
		c.sim.mu.Unlock()
	})
	return c.Conn.Close()
}
