package nodeapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/reflection"
)

// tlsServer runs a real gRPC server over TLS on 127.0.0.1 with server
// reflection (but no Spacemesh services), and writes its CA certificate.
func tlsServer(t *testing.T) (addr, caFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "node.test"},
		DNSNames: []string{"node.test"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	srv := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	reflection.Register(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String(), caFile
}

// TestNodeOverTLS: with the node's CA the handshake succeeds and the client
// gets as far as reflection (this server serves no Spacemesh services); with
// plaintext or a CA that did not sign the node's certificate it says to
// check the TLS settings.
func TestNodeOverTLS(t *testing.T) {
	addr, ca := tlsServer(t)
	_, otherCA := tlsServer(t)
	cases := []struct {
		name string
		tls  TLS
		want string
	}{
		{"right CA", TLS{CACert: ca}, "does not serve spacemesh.v1.PostInfoService"},
		{"right CA, server name", TLS{CACert: ca, ServerName: "node.test"}, "does not serve spacemesh.v1.PostInfoService"},
		{"wrong CA", TLS{CACert: otherCA}, "check the node TLS settings"},
		{"wrong server name", TLS{CACert: ca, ServerName: "other.test"}, "check the node TLS settings"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			node := newNode(t, Options{PostListener: addr, CallTimeout: time.Second, TLS: c.tls})
			v := node.postStates(t.Context())
			if len(v.Errors) != 1 || !strings.Contains(v.Errors[0].Message, c.want) {
				t.Fatalf("errors %+v, want one containing %q", v.Errors, c.want)
			}
		})
	}
}
