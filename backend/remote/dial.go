package remote

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"postdeck/backend/config"
)

// dialTimeout bounds the TCP connect and the SSH handshake to a host.
const dialTimeout = 10 * time.Second

// UnknownHostError is a host whose key known_hosts does not hold: it is
// refused, with the fingerprint to compare and the line that trusts it.
type UnknownHostError struct {
	Host, Address, KnownHosts string
	Fingerprint               string // SHA256:… as ssh-keygen -lf prints it
	Line                      string // the known_hosts line that would trust it
}

func (e *UnknownHostError) Error() string {
	return fmt.Sprintf("host %s (%s) is not in %s; its key is %s. If that is the fingerprint its `postdeck serve` printed when it started, trust it by adding this line to %s: %s",
		e.Host, e.Address, e.KnownHosts, e.Fingerprint, e.KnownHosts, e.Line)
}

// ChangedHostKeyError is a host whose key is not the one known_hosts
// holds for it: refused, as OpenSSH refuses it.
type ChangedHostKeyError struct {
	Host, Address, KnownHosts, Fingerprint string
}

func (e *ChangedHostKeyError) Error() string {
	return fmt.Sprintf("host %s (%s) offers key %s, which is not the key %s holds for it: someone may be in the middle, or the host was reinstalled. Check with its operator; if its key did change, remove the old line from %s",
		e.Host, e.Address, e.Fingerprint, e.KnownHosts, e.KnownHosts)
}

// clientConfig is how to log in to h: its user, the agent and key files,
// and known_hosts checked as OpenSSH does. algos narrows the host key
// algorithms to those known_hosts holds for the host (see dial).
func clientConfig(h config.HostConfig, algos []string) (*ssh.ClientConfig, func(), error) {
	knownPath := expandHome(h.KnownHosts)
	if knownPath == "" {
		knownPath = expandHome("~/.ssh/known_hosts")
	}
	check, err := knownhosts.New(knownPath)
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: cannot read known_hosts %s: %v (create it, or set known_hosts in its [[host]])", h.Name, knownPath, err)
	}
	auth, closeAgent, err := authMethods(h)
	if err != nil {
		return nil, nil, err
	}
	name := h.User
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	cc := &ssh.ClientConfig{
		User:              name,
		Auth:              auth,
		Timeout:           dialTimeout,
		HostKeyAlgorithms: algos,
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			err := check(hostname, remote, key)
			var ke *knownhosts.KeyError
			switch {
			case err == nil:
				return nil
			case errors.As(err, &ke) && len(ke.Want) == 0:
				return &UnknownHostError{Host: h.Name, Address: h.Address, KnownHosts: knownPath,
					Fingerprint: ssh.FingerprintSHA256(key), Line: knownhosts.Line([]string{knownhosts.Normalize(h.Address)}, key)}
			case errors.As(err, &ke):
				return &wantOtherKey{ke: ke, changed: &ChangedHostKeyError{Host: h.Name, Address: h.Address, KnownHosts: knownPath, Fingerprint: ssh.FingerprintSHA256(key)}}
			}
			return err
		},
	}
	return cc, closeAgent, nil
}

// wantOtherKey is known_hosts holding other keys for the host: either it
// offered a key of another type (try again asking for those), or its key
// changed.
type wantOtherKey struct {
	ke      *knownhosts.KeyError
	changed *ChangedHostKeyError
}

func (w *wantOtherKey) Error() string { return w.changed.Error() }

// dial connects to h. known_hosts may hold the host's key of one type
// while the host offers another first: then the handshake is tried again
// asking only for the types known_hosts holds, as OpenSSH does.
func dial(h config.HostConfig) (*ssh.Client, error) {
	client, err := dialWith(h, nil)
	var w *wantOtherKey
	if !errors.As(err, &w) {
		return client, err
	}
	var algos []string
	for _, k := range w.ke.Want {
		algos = append(algos, k.Key.Type())
	}
	client, err = dialWith(h, algos)
	if errors.As(err, &w) {
		return nil, w.changed // the same type, another key: it changed
	}
	return client, err
}

func dialWith(h config.HostConfig, algos []string) (*ssh.Client, error) {
	cc, closeAgent, err := clientConfig(h, algos)
	if err != nil {
		return nil, err
	}
	defer closeAgent()
	client, err := ssh.Dial("tcp", h.Address, cc)
	if err != nil {
		// The host key refusals are ours: return them without ssh's wrapping.
		var uh *UnknownHostError
		if errors.As(err, &uh) {
			return nil, uh
		}
		var w *wantOtherKey
		if errors.As(err, &w) {
			return nil, w
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("host %s (%s) refused the login as %q: add this machine's public key to its authorized_keys for postdeck serve (or set user and identity_file in its [[host]])", h.Name, h.Address, cc.User)
		}
		return nil, fmt.Errorf("host %s (%s): %v", h.Name, h.Address, err)
	}
	return client, nil
}

// authMethods are the agent's keys (SSH_AUTH_SOCK) and the key file of
// the host, or the usual ones in ~/.ssh that exist. A key file with a
// passphrase is left to the agent.
func authMethods(h config.HostConfig) ([]ssh.AuthMethod, func(), error) {
	var signers []ssh.Signer
	closeAgent := func() {}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if conn, err := net.DialTimeout("unix", sock, 2*time.Second); err == nil {
			closeAgent = func() { conn.Close() }
			if ss, err := agent.NewClient(conn).Signers(); err == nil {
				signers = append(signers, ss...)
			}
		}
	}
	files := []string{h.IdentityFile}
	if h.IdentityFile == "" {
		files = []string{"~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"}
	}
	var problems []string
	for _, f := range files {
		path := expandHome(f)
		data, err := os.ReadFile(path)
		if err != nil {
			if h.IdentityFile != "" {
				problems = append(problems, fmt.Sprintf("cannot read identity_file %s: %v", path, err))
			}
			continue
		}
		s, err := ssh.ParsePrivateKey(data)
		var pp *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &pp):
			problems = append(problems, fmt.Sprintf("%s has a passphrase: add it to your ssh-agent (ssh-add %s)", path, path))
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s is not a private key: %v", path, err))
		default:
			signers = append(signers, s)
		}
	}
	if len(signers) == 0 {
		closeAgent()
		msg := "no SSH key to log in with: start ssh-agent with your key, or set identity_file in its [[host]]"
		if len(problems) > 0 {
			msg += " (" + strings.Join(problems, "; ") + ")"
		}
		return nil, nil, fmt.Errorf("host %s: %s", h.Name, msg)
	}
	return []ssh.AuthMethod{ssh.PublicKeys(signers...)}, closeAgent, nil
}

// expandHome turns a leading ~/ into the home folder.
func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}
