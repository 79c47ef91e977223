package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2/unstable"
)

// The config's schema: tables, keys, what a key's value must look like. It
// drives the type checks, the unknown-key suggestions and must match the
// toml tags of Config (a test checks).
type valueKind int

const (
	kindString valueKind = iota
	kindDuration
	kindInt
	kindBool
	kindStringList  // ["a", "b"]
	kindStringTable // { KEY = "value" }
	kindTime        // an RFC 3339 time in quotes
)

type schemaKey struct {
	key    string
	kind   valueKind
	expect string // what a valid value looks like, for errors
}

type schemaTbl struct {
	name  string
	array bool
	keys  []schemaKey
}

const (
	expectAddr = `host:port in quotes, such as "127.0.0.1:9094"`
	expectPath = "a path in quotes"
	expectDur  = `a duration in quotes, such as "2s" or "500ms"`
	expectText = "text in quotes"
)

var configSchema = []schemaTbl{
	{name: "node", keys: []schemaKey{
		{"name", kindString, expectText},
		{"post_listener", kindString, expectAddr},
		{"private_listener", kindString, expectAddr},
		{"public_listener", kindString, expectAddr},
		{"data_folder", kindString, expectPath},
		{"config", kindString, expectPath},
		{"tls_ca_cert", kindString, expectPath},
		{"tls_cert", kindString, expectPath},
		{"tls_key", kindString, expectPath},
		{"tls_server_name", kindString, expectText},
	}},
	{name: "poll", keys: []schemaKey{
		{"interval", kindDuration, expectDur},
		{"timeout", kindDuration, expectDur},
		{"workers", kindInt, "a whole number without quotes, such as 32"},
		{"node_timeout", kindDuration, expectDur},
	}},
	{name: "ui", keys: []schemaKey{
		{"theme", kindString, `"dark" or "light"`},
	}},
	{name: "proving", keys: []schemaKey{
		{"auto", kindBool, "true or false"},
		{"max_proving_per_disk", kindInt, "a whole number without quotes, such as 1 (0 = no limit)"},
		{"max_proving", kindInt, "a whole number without quotes, such as 4 (0 = no limit)"},
		{"stop_grace", kindDuration, expectDur},
	}},
	{name: "timing", keys: []schemaKey{
		{"genesis", kindTime, `an RFC 3339 time in quotes, such as "2023-07-14T08:00:00Z"`},
		{"layer_duration", kindDuration, `a duration in quotes, such as "5m"`},
		{"layers_per_epoch", kindInt, "a whole number without quotes, such as 4032"},
		{"poet_phase_shift", kindDuration, `a duration in quotes, such as "240h"`},
		{"poet_cycle_gap", kindDuration, `a duration in quotes, such as "12h"`},
	}},
	{name: "plan", keys: []schemaKey{
		{"read_mib_s", kindInt, "a whole number of MiB/s without quotes, such as 100"},
		{"k2pow", kindDuration, `a duration in quotes, such as "30m"`},
	}},
	{name: "alerts", keys: []schemaKey{
		{"command", kindString, `a shell command in quotes, such as "cat >> ~/postdeck-alerts.json"`},
		{"webhook", kindString, `an http(s) URL in quotes, such as "https://hooks.example.com/postdeck"`},
		{"debounce", kindDuration, `a duration in quotes, such as "5m"`},
		{"timeout", kindDuration, `a duration in quotes, such as "10s"`},
		{"rewards_stopped", kindDuration, `a duration in quotes, such as "24h"`},
	}},
	{name: "host", array: true, keys: []schemaKey{
		{"name", kindString, expectText},
		{"address", kindString, `host:port of its postdeck serve in quotes, such as "10.0.0.2:2222"`},
		{"user", kindString, expectText},
		{"identity_file", kindString, expectPath},
		{"known_hosts", kindString, expectPath},
	}},
	{name: "service", array: true, keys: []schemaKey{
		{"name", kindString, expectText},
		{"dir", kindString, expectPath},
		{"operator", kindString, `host:port in quotes, such as "127.0.0.1:50051"`},
		{"node", kindString, `the name of a [[node]] in quotes, such as "node1"`},
		{"bin", kindString, expectPath},
		{"threads", kindInt, "a whole number without quotes, such as 1 (0 = all cores)"},
		{"nonces", kindInt, "a whole number without quotes, such as 128"},
		{"randomx_mode", kindString, `"fast" or "light"`},
		{"address", kindString, `a URL in quotes, such as "http://127.0.0.1:9094"`},
		{"extra_args", kindStringList, `a list of texts, such as ["--max-retries", "10"]`},
		{"env", kindStringTable, `a table of texts, such as { RUST_LOG = "info" }`},
		{"disk", kindString, expectText},
		{"systemd_unit", kindString, `a unit name in quotes, such as "post-data1.service"`},
		{"remote_k2pow", kindString, `the k2pow-service's URL in quotes, such as "http://10.0.0.5:3000"`},
		{"remote_k2pow_parallelism", kindInt, "a whole number without quotes, such as 5"},
		{"remote_k2pow_backoff", kindDuration, `whole seconds in quotes, such as "5s"`},
	}},
}

func schemaTable(name string) *schemaTbl {
	for i := range configSchema {
		if configSchema[i].name == name {
			return &configSchema[i]
		}
	}
	return nil
}

func (t *schemaTbl) key(name string) *schemaKey {
	for i := range t.keys {
		if t.keys[i].key == name {
			return &t.keys[i]
		}
	}
	return nil
}

// check says what is wrong with a value of this key, or "".
func (sk *schemaKey) check(k docKey) string {
	want := unstable.String
	switch sk.kind {
	case kindInt:
		want = unstable.Integer
	case kindBool:
		want = unstable.Bool
	case kindStringList:
		want = unstable.Array
	case kindStringTable:
		want = unstable.InlineTable
	}
	if k.kind != want {
		return fmt.Sprintf("%s: expected %s, found %s", sk.key, sk.expect, kindName(k.kind))
	}
	if k.nonString != unstable.Invalid {
		return fmt.Sprintf("%s: expected %s, found %s in it", sk.key, sk.expect, kindName(k.nonString))
	}
	if sk.kind == kindDuration {
		if _, err := time.ParseDuration(k.value); err != nil {
			return fmt.Sprintf("%s %q: expected %s", sk.key, k.value, sk.expect)
		}
	}
	if sk.kind == kindTime {
		if _, err := time.Parse(time.RFC3339, k.value); err != nil {
			return fmt.Sprintf("%s %q: expected %s", sk.key, k.value, sk.expect)
		}
	}
	return ""
}

func kindName(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "text"
	case unstable.Integer:
		return "a number"
	case unstable.Float:
		return "a decimal number"
	case unstable.Bool:
		return "true/false"
	case unstable.Array:
		return "a list"
	case unstable.InlineTable:
		return "a table"
	}
	return "a date or time"
}

// suggestKey proposes the key the user probably meant: the same name in
// another table, or a close spelling in this one.
func suggestKey(table, name string) string {
	if rest, ok := strings.CutPrefix(name, "alert_"); ok && schemaTable("alerts").key(rest) != nil {
		return fmt.Sprintf(" (write it as %s in [alerts])", rest)
	}
	if t := schemaTable(table); t != nil {
		var names []string
		for _, k := range t.keys {
			names = append(names, k.key)
		}
		if best := closest(name, names); best != "" {
			return fmt.Sprintf(" (did you mean %q?)", best)
		}
	}
	for _, t := range configSchema {
		if t.name != table && t.key(name) != nil {
			if t.array {
				return fmt.Sprintf(" (it belongs in a [[%s]] section)", t.name)
			}
			return fmt.Sprintf(" (it belongs in [%s])", t.name)
		}
	}
	return ""
}

func suggestTable(name string) string {
	var names []string
	for _, t := range configSchema {
		names = append(names, t.name)
	}
	best := closest(name, names)
	if best == "" {
		return " (the tables are [node] or [[node]], [poll], [ui], [proving], [timing], [plan], [alerts], [[service]] and [[host]])"
	}
	if schemaTable(best).array {
		return fmt.Sprintf(" (did you mean [[%s]]?)", best)
	}
	return fmt.Sprintf(" (did you mean [%s]?)", best)
}

// closest is the candidate within a small edit distance of s, or "".
func closest(s string, candidates []string) string {
	s = strings.ToLower(s)
	best, bestD := "", min(len(s)/3+1, 3)+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
