package model

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
)

// CheckKeyName refuses a name the node would not read as a key, or that is
// not a plain file name, saying which rule it breaks (`keys add` and the
// local.key rename before a merge both ask).
func CheckKeyName(name string) error {
	switch {
	case strings.ContainsRune(name, '/') || strings.ContainsRune(name, filepath.Separator):
		return fmt.Errorf("key name %q: must be a plain file name, without a folder (such as data3.key)", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("key name %q: must not start with a dot (hidden files are easy to miss); use a name such as data3.key", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("key name %q: contains control characters; use letters, digits, - and _", name)
	case len(name) > 255:
		return fmt.Errorf("key name is %d bytes long: file names can be at most 255", len(name))
	case !strings.HasSuffix(name, ".key"):
		if strings.HasSuffix(strings.ToLower(name), ".key") {
			return fmt.Errorf("key name %q: the node reads only names ending in lower-case .key; use %q",
				name, name[:len(name)-4]+".key")
		}
		return fmt.Errorf("key name %q: the node reads only files ending in .key; use %q", name, name+".key")
	}
	return nil
}
