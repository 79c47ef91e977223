package ui

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
)

// readmeKeys are the keys the README's "Dashboard keys" table names in its
// key column, as written there ("↑", "pgdn", "1-9").
func readmeKeys(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(raw), "### Dashboard keys\n")
	if !ok {
		t.Fatal("the README has no \"### Dashboard keys\" section")
	}
	tick := regexp.MustCompile("`([^`]+)`")
	rangeOf := regexp.MustCompile("`(\\w)`–`(\\w)`") // `1`–`9` is one key: 1-9
	var keys []string
	for _, line := range strings.Split(strings.TrimLeft(table, "\n"), "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "|"), " | ")
		first = rangeOf.ReplaceAllString(first, "`$1-$2`")
		for _, m := range tick.FindAllStringSubmatch(first, -1) {
			keys = append(keys, m[1])
		}
	}
	if len(keys) == 0 {
		t.Fatal("no keys in the README's key table")
	}
	return keys
}

// helpKeys are the keys the help screen names for its bindings, split
// where it writes several as one ("↑/k").
func helpKeys(km KeyMap) []string {
	var keys []string
	for _, group := range km.FullHelp() {
		for _, b := range group {
			if k := b.Help().Key; k == "/" {
				keys = append(keys, k)
			} else {
				keys = append(keys, strings.Split(k, "/")...)
			}
		}
	}
	return keys
}

// bound is every key the KeyMap binds, by its name in a key press.
func bound(km KeyMap) map[string]bool {
	out := map[string]bool{}
	v := reflect.ValueOf(km)
	for i := range v.NumField() {
		if !v.Type().Field(i).IsExported() {
			continue // off: the refusals
		}
		if b, ok := v.Field(i).Interface().(key.Binding); ok {
			for _, k := range b.Keys() {
				out[k] = true
			}
		}
	}
	return out
}

// pressNames are the key presses a key written in the README or the help
// stands for.
func pressNames(written string) []string {
	switch written {
	case "↑":
		return []string{"up"}
	case "↓":
		return []string{"down"}
	case "←":
		return []string{"left"}
	case "→":
		return []string{"right"}
	case "pgdn":
		return []string{"pgdown"}
	case "1-9":
		return []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}
	}
	return []string{written}
}

// The README's key table, the KeyMap and the help screen agree both ways:
// every key the help shows is in the README, every key the README names
// is bound and shown in the help, and the help screen shows each binding.
func TestREADMEAndHelpAgreeWithTheKeys(t *testing.T) {
	km := DefaultKeyMap()
	documented, helped, keys := readmeKeys(t), helpKeys(km), bound(km)
	for _, k := range helped {
		if !slices.Contains(documented, k) {
			t.Errorf("the help shows %q; the README's key table does not name it", k)
		}
	}
	for _, k := range documented {
		if !slices.Contains(helped, k) {
			t.Errorf("the README names %q; the help does not show it", k)
		}
		for _, p := range pressNames(k) {
			if !keys[p] {
				t.Errorf("the README names %q; no binding has %q", k, p)
			}
		}
	}
	s := demo()
	m, _, _ := newActionTest(t, 200, 200, &s)
	press(m, "?")
	v := screen(m)
	for _, group := range km.FullHelp() {
		for _, b := range group {
			// The help's columns pad each key to the column's widest.
			if h := b.Help(); !regexp.MustCompile(regexp.QuoteMeta(h.Key) + " +" + regexp.QuoteMeta(h.Desc)).MatchString(v) {
				t.Errorf("the help screen does not show %q %q:\n%s", h.Key, h.Desc, v)
			}
		}
	}
}
