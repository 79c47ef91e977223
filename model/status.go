package model

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// MaxRawStatus caps how much of a /status body is kept for display.
const MaxRawStatus = 512

// OperatorStatus is one parsed answer of a post-service's GET /status.
type OperatorStatus struct {
	State ServiceState
	// NonceStart and NonceEnd are the half-open nonce range of the current pass (Proving only).
	NonceStart, NonceEnd uint64
	// Position is the bytes read in the current pass; 0 means the k2pow phase.
	Position uint64
	// Raw is the body as received, capped at MaxRawStatus bytes.
	Raw string
}

// ParseStatus accepts exactly the three bodies post-rs sends ("Idle",
// {"Proving":{...}}, "DoneProving"). Anything else is ServiceUnknown carrying
// the raw body, so a misbehaving endpoint is shown, never trusted.
func ParseStatus(body []byte) OperatorStatus {
	if st, ok := parseCompact(body); ok {
		return st
	}
	return parseStatusStrict(body)
}

// parseCompact reads the bodies exactly as post-rs writes them (serde_json,
// compact), without encoding/json: a thousand services polled every 2 s made
// that a tenth of the dashboard's CPU. Anything else, even the same JSON
// spaced differently, is left to parseStatusStrict; whatever parseCompact
// accepts, parseStatusStrict reads the same (FuzzParseStatus checks).
func parseCompact(body []byte) (OperatorStatus, bool) {
	switch string(body) {
	case `"Idle"`:
		return OperatorStatus{State: ServiceIdle, Raw: "\"Idle\""}, true
	case `"DoneProving"`:
		return OperatorStatus{State: ServiceDone, Raw: "\"DoneProving\""}, true
	}
	rest, ok := bytes.CutPrefix(body, []byte(`{"Proving":{"nonces":{"start":`))
	if !ok {
		return OperatorStatus{}, false
	}
	var p proving
	var okS, okE, okP bool
	p.start, rest, okS = cutNumber(rest, `,"end":`)
	p.end, rest, okE = cutNumber(rest, `},"position":`)
	p.position, rest, okP = cutNumber(rest, `}}`)
	if !okS || !okE || !okP || len(rest) != 0 || p.start >= p.end || len(body) > MaxRawStatus {
		return OperatorStatus{}, false
	}
	return OperatorStatus{State: ServiceProving, NonceStart: p.start, NonceEnd: p.end, Position: p.position, Raw: string(body)}, true
}

// cutNumber reads a JSON unsigned integer (no leading zero, no sign, no
// fraction) followed by sep.
func cutNumber(b []byte, sep string) (uint64, []byte, bool) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == 0 || (i > 1 && b[0] == '0') || !bytes.HasPrefix(b[i:], []byte(sep)) {
		return 0, nil, false
	}
	v, err := strconv.ParseUint(string(b[:i]), 10, 64)
	return v, b[i+len(sep):], err == nil
}

// parseStatusStrict is ParseStatus for any body, through encoding/json.
func parseStatusStrict(body []byte) OperatorStatus {
	st := OperatorStatus{State: ServiceUnknown, Raw: capRaw(body)}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return st
	}
	if trimmed[0] == '"' {
		var s string
		if json.Unmarshal(trimmed, &s) != nil {
			return st
		}
		switch s {
		case "Idle":
			st.State = ServiceIdle
		case "DoneProving":
			st.State = ServiceDone
		}
		return st
	}
	if p, ok := parseProving(trimmed); ok {
		st.State = ServiceProving
		st.NonceStart, st.NonceEnd, st.Position = p.start, p.end, p.position
	}
	return st
}

type proving struct{ start, end, position uint64 }

// parseProving reads {"Proving":{"nonces":{"start":S,"end":E},"position":P}}
// strictly: no other keys, all three numbers present, start < end.
func parseProving(b []byte) (proving, bool) {
	var outer map[string]json.RawMessage
	if !strictObject(b, &outer) || len(outer) != 1 {
		return proving{}, false
	}
	inner, ok := outer["Proving"]
	if !ok {
		return proving{}, false
	}
	var fields map[string]json.RawMessage
	if !strictObject(inner, &fields) || len(fields) != 2 {
		return proving{}, false
	}
	var nonces map[string]json.RawMessage
	if !strictObject(fields["nonces"], &nonces) || len(nonces) != 2 {
		return proving{}, false
	}
	var p proving
	var okS, okE, okP bool
	p.start, okS = parseUint(nonces["start"])
	p.end, okE = parseUint(nonces["end"])
	p.position, okP = parseUint(fields["position"])
	if !okS || !okE || !okP || p.start >= p.end {
		return proving{}, false
	}
	return p, true
}

func strictObject(b []byte, into *map[string]json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	return json.Unmarshal(b, into) == nil
}

func parseUint(raw json.RawMessage) (uint64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(bytes.TrimSpace(raw)), 10, 64)
	return v, err == nil
}

func capRaw(b []byte) string {
	if len(b) > MaxRawStatus {
		return string(b[:MaxRawStatus]) + "…"
	}
	return string(b)
}
