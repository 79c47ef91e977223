package model

import (
	"strings"
	"testing"
)

func TestParseStatusShapes(t *testing.T) {
	cases := []struct {
		name, body string
		want       ServiceState
		start, end uint64
		pos        uint64
	}{
		{"idle", `"Idle"`, ServiceIdle, 0, 0, 0},
		{"idle with whitespace", " \"Idle\"\n", ServiceIdle, 0, 0, 0},
		{"done", `"DoneProving"`, ServiceDone, 0, 0, 0},
		{"proving", `{"Proving":{"nonces":{"start":0,"end":128},"position":123456}}`, ServiceProving, 0, 128, 123456},
		{"proving second pass", `{"Proving":{"position":0,"nonces":{"end":256,"start":128}}}`, ServiceProving, 128, 256, 0},
		{"empty", ``, ServiceUnknown, 0, 0, 0},
		{"html", `<html>502 Bad Gateway</html>`, ServiceUnknown, 0, 0, 0},
		{"other string", `"Sleeping"`, ServiceUnknown, 0, 0, 0},
		{"lower case", `"idle"`, ServiceUnknown, 0, 0, 0},
		{"proving missing position", `{"Proving":{"nonces":{"start":0,"end":128}}}`, ServiceUnknown, 0, 0, 0},
		{"proving extra key", `{"Proving":{"nonces":{"start":0,"end":128},"position":1,"x":2}}`, ServiceUnknown, 0, 0, 0},
		{"proving negative", `{"Proving":{"nonces":{"start":-1,"end":128},"position":1}}`, ServiceUnknown, 0, 0, 0},
		{"proving empty range", `{"Proving":{"nonces":{"start":128,"end":128},"position":1}}`, ServiceUnknown, 0, 0, 0},
		{"proving float", `{"Proving":{"nonces":{"start":0,"end":128},"position":1.5}}`, ServiceUnknown, 0, 0, 0},
		{"proving string", `{"Proving":"yes"}`, ServiceUnknown, 0, 0, 0},
		{"two states", `{"Proving":{"nonces":{"start":0,"end":128},"position":1},"Idle":null}`, ServiceUnknown, 0, 0, 0},
		{"array", `["Idle"]`, ServiceUnknown, 0, 0, 0},
		{"truncated", `{"Proving":{"nonces":{"start":0,"end":1`, ServiceUnknown, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := ParseStatus([]byte(c.body))
			if st.State != c.want {
				t.Fatalf("ParseStatus(%q) = %v, want %v", c.body, st.State, c.want)
			}
			if st.NonceStart != c.start || st.NonceEnd != c.end || st.Position != c.pos {
				t.Errorf("ParseStatus(%q) = nonces %d..%d pos %d, want %d..%d pos %d",
					c.body, st.NonceStart, st.NonceEnd, st.Position, c.start, c.end, c.pos)
			}
			if st.Raw != c.body {
				t.Errorf("raw body %q, want %q", st.Raw, c.body)
			}
		})
	}
}

func TestParseStatusCapsRawBody(t *testing.T) {
	body := strings.Repeat("x", 10*MaxRawStatus)
	st := ParseStatus([]byte(body))
	if st.State != ServiceUnknown {
		t.Fatalf("state %v, want unknown", st.State)
	}
	if len(st.Raw) > MaxRawStatus+len("…") {
		t.Errorf("raw body kept %d bytes, cap is %d", len(st.Raw), MaxRawStatus)
	}
}

// FuzzParseStatus: no body may crash the parser, a body it accepts as
// Proving has a non-empty nonce range, and the raw body is always capped.
func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{`"Idle"`, `"DoneProving"`, `{"Proving":{"nonces":{"start":0,"end":128},"position":5}}`, `{}`, `null`, `"`,
		// Near-misses of the compact form, which the strict parser decides.
		`{"Proving":{"nonces":{"start":01,"end":128},"position":5}}`, `{"Proving":{"nonces":{"start":0,"end":18446744073709551616},"position":5}}`,
		`{"Proving":{"nonces":{"start":0,"end":1e3},"position":5}}`, `{"Proving":{"nonces":{"start":5,"end":5},"position":5}}`,
		`{"Proving":{"nonces":{"start":0,"end":128},"position":5}} `, `{"Proving":{"nonces":{"start":0,"end":128},"position":5,"x":1}}`,
		`{"Proving":{"nonces":{"start":0,"end":128},"position":-5}}`, `"Idle" `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		st := ParseStatus(body)
		if st.State == ServiceProving && st.NonceEnd <= st.NonceStart {
			t.Fatalf("proving with empty nonce range from %q", body)
		}
		if st.State == ServiceNone || st.State == ServiceUnreachable {
			t.Fatalf("parser produced %v, which only the poller may set", st.State)
		}
		if len(st.Raw) > MaxRawStatus+len("…") {
			t.Fatalf("raw not capped: %d", len(st.Raw))
		}
		if strict := parseStatusStrict(body); st != strict {
			t.Fatalf("%q: read as %+v, the strict parser reads %+v", body, st, strict)
		}
	})
}
