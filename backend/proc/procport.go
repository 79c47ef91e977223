package proc

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// operatorPortFree tries to listen on a service's operator address. Only
// "address in use" refuses the start; other errors (an address of another
// machine, say) are the post-service's to report. When the port is taken it
// names the post-service holding it, if one has that --operator-address.
func operatorPortFree(addr string, running []runningProc, describe func(runningProc) string) error {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		return nil
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return nil
	}
	_, port, _ := net.SplitHostPort(addr)
	for _, p := range running {
		if _, pp, err := net.SplitHostPort(p.operator); err == nil && pp == port {
			return fmt.Errorf("operator address %s is in use by %s: give this service another operator port", addr, describe(p))
		}
	}
	return fmt.Errorf("operator address %s is in use by another program (`ss -ltnp 'sport = :%s'` shows which): "+
		"stop it or give this service another operator port", addr, port)
}
