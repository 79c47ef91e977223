package sshserve

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Access is what a key may do.
type Access int

const (
	// Denied: the key is in no file.
	Denied Access = iota
	// ReadOnly: a view-only dashboard.
	ReadOnly
	// Full: the dashboard with its actions.
	Full
)

func (a Access) String() string {
	switch a {
	case ReadOnly:
		return "read-only"
	case Full:
		return "full"
	}
	return "denied"
}

// keyFile is one authorized_keys-format file, re-read when it changes.
type keyFile struct {
	path string
	// stamp identifies the version read: a change of size, time or inode
	// makes the next lookup read the file again.
	stamp string
	keys  map[string]bool // gossh.PublicKey.Marshal() of each key
	data  []byte          // the text read, so unchanged text is not reported twice
}

// parseKeyFile reads an authorized_keys file line by line. A malformed line
// is reported (file:line: why) and skipped; the keys after it still count.
// Options such as from= or command= are not honoured: the dashboard is the
// only thing served.
func parseKeyFile(path string, data []byte) (keys map[string]bool, problems []string) {
	keys = map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pub, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: not a public key, line skipped (%v)", path, n, err))
			continue
		}
		if _, ok := pub.(*gossh.Certificate); ok {
			problems = append(problems, fmt.Sprintf("%s:%d: certificates are not accepted, line skipped", path, n))
			continue
		}
		keys[string(pub.Marshal())] = true
	}
	if err := sc.Err(); err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v (keys after this point ignored)", path, err))
	}
	return keys, problems
}

// Keyring answers which keys may log in, re-reading its files whenever they
// change (checked at each login attempt) or when Reload is called.
type Keyring struct {
	report func(string) // where malformed lines and unreadable files are told

	mu       sync.Mutex
	full     keyFile
	readOnly keyFile // path "" when there is none
}

// NewKeyring reads the files once. The authorized keys file must be
// readable at start; later read errors keep the keys read before.
func NewKeyring(authorized, readOnly string, report func(string)) (*Keyring, error) {
	if report == nil {
		report = func(string) {}
	}
	k := &Keyring{report: report, full: keyFile{path: authorized}, readOnly: keyFile{path: readOnly}}
	if _, err := os.Stat(authorized); err != nil {
		return nil, fmt.Errorf("--authorized-keys: %w", err)
	}
	if readOnly != "" {
		if _, err := os.Stat(readOnly); err != nil {
			return nil, fmt.Errorf("--readonly-keys: %w", err)
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refresh(&k.full, true)
	k.refresh(&k.readOnly, true)
	return k, nil
}

// Reload reads both files again, changed or not (SIGHUP).
func (k *Keyring) Reload() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refresh(&k.full, true)
	k.refresh(&k.readOnly, true)
}

// refresh re-reads f when its stamp changed (or always when force).
func (k *Keyring) refresh(f *keyFile, force bool) {
	if f.path == "" {
		return
	}
	st, err := os.Stat(f.path)
	if err != nil {
		if f.stamp != "gone" {
			k.report(fmt.Sprintf("%s: %v (no key in it can log in until it is back)", f.path, err))
		}
		f.stamp, f.keys = "gone", nil
		return
	}
	stamp := fmt.Sprintf("%d/%d/%v", st.Size(), st.ModTime().UnixNano(), inode(st))
	if !force && stamp == f.stamp {
		return
	}
	// A file written in place may be read half-way; a stamp taken before
	// the read makes the next lookup read it again if it changed meanwhile.
	data, err := os.ReadFile(f.path)
	if err != nil {
		k.report(fmt.Sprintf("%s: %v (keeping the keys read before)", f.path, err))
		return
	}
	keys, problems := parseKeyFile(f.path, data)
	if f.keys == nil || !bytes.Equal(data, f.data) {
		for _, p := range problems {
			k.report(p)
		}
	}
	f.stamp, f.keys, f.data = stamp, keys, data
	if time.Since(st.ModTime()) < time.Second {
		f.stamp = "" // modified within the clock's grain: check again next time
	}
}

// Lookup says what key may do. A key in the read-only file is read-only
// even when it is in the authorized keys file too.
func (k *Keyring) Lookup(key gossh.PublicKey) Access {
	if key == nil {
		return Denied
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refresh(&k.full, false)
	k.refresh(&k.readOnly, false)
	m := string(key.Marshal())
	switch {
	case k.readOnly.keys[m]:
		return ReadOnly
	case k.full.keys[m]:
		return Full
	}
	return Denied
}
