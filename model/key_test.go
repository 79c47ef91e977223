package model

import (
	"crypto/ed25519"
	"encoding/hex"
	"strings"
	"testing"
)

func testKeyHex(seed byte) string {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed + byte(i)
	}
	return hex.EncodeToString(ed25519.NewKeyFromSeed(s))
}

func TestParseKey(t *testing.T) {
	good := testKeyHex(1)
	other := testKeyHex(2)
	cases := []struct {
		name, content string
		wantErr       string
		wantWarning   bool
	}{
		{"valid", good, "", false},
		{"upper case", strings.ToUpper(good), "", false},
		{"trailing newline", good + "\n", "", true},
		{"crlf", good + "\r\n", "", true},
		{"127 chars", good[:127], "exactly 128 hex characters, found 127", false},
		{"empty", "", "found 0", false},
		{"non hex", "zz" + good[2:], "not hex", false},
		{"mismatched halves", good[:64] + other[64:], "does not match the seed", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := ParseKey([]byte(c.content))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(k.Public); got != strings.ToLower(good[64:]) {
				t.Errorf("public %s, want %s", got, good[64:])
			}
			if (k.Warning != "") != c.wantWarning {
				t.Errorf("warning %q, want warning=%v", k.Warning, c.wantWarning)
			}
		})
	}
}

func TestParseMetadata(t *testing.T) {
	id := strings.Repeat("A", 43) + "=" // 32 zero bytes in base64
	ok := `{"NodeId":"` + id + `","CommitmentAtxId":"` + id + `","LabelsPerUnit":4294967296,"NumUnits":4,"MaxFileSize":4294967296}`
	m, err := ParseMetadata([]byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.PassBytes(), uint64(4)*4294967296*16; got != want {
		t.Errorf("PassBytes %d, want %d (256 GiB)", got, want)
	}
	bad := map[string]string{
		"corrupt":         `{"NodeId":`,
		"short node id":   `{"NodeId":"AAAA","LabelsPerUnit":1,"NumUnits":1}`,
		"no units":        `{"NodeId":"` + id + `","LabelsPerUnit":1}`,
		"no labels":       `{"NodeId":"` + id + `","NumUnits":1}`,
		"not base64 id":   `{"NodeId":"!!","LabelsPerUnit":1,"NumUnits":1}`,
		"negative units":  `{"NodeId":"` + id + `","LabelsPerUnit":1,"NumUnits":-1}`,
		"missing node id": `{"LabelsPerUnit":1,"NumUnits":1}`,
	}
	for name, b := range bad {
		if _, err := ParseMetadata([]byte(b)); err == nil {
			t.Errorf("%s: accepted %s", name, b)
		}
	}
}
