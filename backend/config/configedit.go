package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"postdeck/safefile"
)

// FirstOperatorPort is where PickOperator starts looking.
const FirstOperatorPort = 50051

// ServiceSnippet is a commented [[service]] block for a post-service, to be
// appended to a config file. It starts with a blank line and ends with a
// newline; an empty operator is written commented out. launch, when given,
// says where its bin came from or why it has none (a comment, kept for
// whoever reads the file later).
func ServiceSnippet(svc ServiceConfig, launch string) string {
	var w tomlWriter
	w.blank()
	w.comment("Added by `postdeck keys add`: the post-service for the PoST data in "+svc.Dir+".",
		"Run it with --dir set to dir and --operator-address set to operator (see post-service --help).")
	if launch != "" {
		w.comment(launch + ".")
	}
	renderService(&w, &svc)
	return w.String()
}

// ServiceClash says why svc cannot be added beside the services of cfg, or
// "" when it can. A service with the same dir and name is reported as
// already configured (ErrServiceExists).
func ServiceClash(cfg *Config, svc ServiceConfig) error {
	dir := filepath.Clean(svc.Dir)
	for i, s := range cfg.Services {
		if filepath.Clean(s.Dir) == dir {
			if s.Name == svc.Name {
				return fmt.Errorf("%w: [[service]] #%d %q already has dir %s", ErrServiceExists, i+1, s.Name, s.Dir)
			}
			return fmt.Errorf("[[service]] #%d %q already has dir %s: one PoST data directory can have only one post-service (two would run the identity twice)", i+1, s.Name, s.Dir)
		}
	}
	for i, s := range cfg.Services {
		if s.Name == svc.Name {
			return fmt.Errorf("[[service]] #%d already has the name %q (dir %s): choose another service name", i+1, s.Name, s.Dir)
		}
		if svc.Operator != "" && s.Operator != "" && DialAddress(s.Operator) == DialAddress(svc.Operator) {
			return fmt.Errorf("[[service]] #%d %q already uses operator %s: each post-service needs its own --operator-address (leave it out to get a free one)", i+1, s.Name, s.Operator)
		}
	}
	return nil
}

// ErrServiceExists marks a service that is in the config already.
var ErrServiceExists = errors.New("already configured")

// PickOperator returns a free operator address on 127.0.0.1: the first port
// from FirstOperatorPort up that no service in cfg uses and nothing on this
// machine listens on.
func PickOperator(cfg *Config) (string, error) {
	used := map[int]bool{}
	if cfg != nil {
		for _, s := range cfg.Services {
			if _, p, err := net.SplitHostPort(s.Operator); err == nil {
				if n, err := strconv.Atoi(p); err == nil {
					used[n] = true
				}
			}
		}
	}
	for port := FirstOperatorPort; port < FirstOperatorPort+1000; port++ {
		if used[port] || listening(port) {
			continue
		}
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
	}
	return "", fmt.Errorf("no free operator port from %d to %d: give one with --operator", FirstOperatorPort, FirstOperatorPort+999)
}

// listening reports whether something on this machine holds port (on
// loopback or on all interfaces): binding it is the test.
func listening(port int) bool {
	for _, addr := range []string{"127.0.0.1", "0.0.0.0"} {
		ln, err := net.Listen("tcp4", net.JoinHostPort(addr, strconv.Itoa(port)))
		if err != nil {
			return true
		}
		ln.Close()
	}
	return false
}

// AppendService adds svc to the config file as a commented [[service]]
// block at its end. The file's text is kept byte for byte (comments and
// formatting included); only text is appended. It refuses when the file does
// not load now, when svc clashes with a configured service, or when the
// result would not load; the file is replaced atomically, keeping its mode.
// An empty svc.Operator gets a free port (PickOperator). launch is
// ServiceSnippet's.
func AppendService(configPath string, svc ServiceConfig, launch string) error {
	if svc.Name == "" || svc.Dir == "" {
		return errors.New("a service needs a name and a dir")
	}
	if strings.ContainsAny(svc.Name+svc.Dir+svc.Bin+launch, "\n\r") {
		return errors.New("a service name, dir, bin or its note cannot contain line breaks")
	}
	path, err := filepath.EvalSymlinks(configPath) // replace the file, not a symlink to it
	if err != nil {
		return fmt.Errorf("cannot read config %s: %v", configPath, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("cannot read config %s: %v", configPath, err)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read config %s: %v", configPath, err)
	}
	cfg, err := Load(path)
	if err != nil {
		return fmt.Errorf("config %s does not load now, so it is left alone; fix it first:\n%v", configPath, err)
	}
	if svc.Operator == "" {
		if svc.Operator, err = PickOperator(cfg); err != nil {
			return err
		}
	} else if msg := AddrProblem(svc.Operator); msg != "" {
		return fmt.Errorf("operator %q: %s", svc.Operator, msg)
	}
	if err := ServiceClash(cfg, svc); err != nil {
		return fmt.Errorf("not adding the service to %s: %w", configPath, err)
	}
	text := append([]byte(nil), old...)
	if len(text) > 0 && text[len(text)-1] != '\n' {
		text = append(text, '\n')
	}
	text = append(text, ServiceSnippet(svc, launch)...)
	if err := checkAppended(path, text, len(cfg.Services), svc); err != nil {
		return err
	}
	// Someone may have edited the file meanwhile: do not throw that away.
	if now, err := os.ReadFile(path); err != nil || !bytes.Equal(now, old) {
		return fmt.Errorf("config %s changed while the service was being added; nothing written: try again", configPath)
	}
	if err := safefile.WriteAtomic(path, text, fi.Mode().Perm(), true); err != nil {
		return fmt.Errorf("config %s is unchanged: %v", configPath, err)
	}
	return nil
}

// checkAppended loads the new text from a temp file beside the config (so a
// relative [node] config still resolves) and checks the service came out as
// meant.
func checkAppended(path string, text []byte, before int, svc ServiceConfig) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".check-*")
	if err != nil {
		return fmt.Errorf("cannot check the new config: %v", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot check the new config: %v", err)
	}
	cfg, err := Load(tmp)
	if err != nil {
		return fmt.Errorf("config would not load with the service added, so it is left alone:\n%v", strings.ReplaceAll(err.Error(), tmp, path))
	}
	if len(cfg.Services) != before+1 {
		return fmt.Errorf("config would have %d services instead of %d with the service added, so it is left alone", len(cfg.Services), before+1)
	}
	got := cfg.Services[before]
	if got.Name != svc.Name || got.Dir != svc.Dir || got.Operator != DialAddress(svc.Operator) || got.Bin != svc.Bin {
		return fmt.Errorf("the added service would read back as %q %q %q %q, so the config is left alone", got.Name, got.Dir, got.Operator, got.Bin)
	}
	return nil
}

// Exists reports whether a config file is at path.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
