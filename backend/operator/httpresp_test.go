package operator

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

// netHTTP reads raw as the operator client did before readResponse: with
// net/http's ReadResponse, the body capped at max, a little drained.
func netHTTP(raw string, max int) (response, error) {
	br := bufio.NewReaderSize(strings.NewReader(raw), 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	// Not what a post-service could send, so not ours to match: other
	// versions (net/http takes HTTP/0.0 or 1.2), codes under 100, 1xx alone.
	if resp.ProtoMajor != 1 || resp.ProtoMinor > 1 || resp.StatusCode < 200 && resp.StatusCode != 101 {
		return response{}, errors.New("not an HTTP/1.x final answer")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(max)))
	if err != nil {
		return response{}, err
	}
	_, derr := io.CopyN(io.Discard, resp.Body, 4<<10)
	return response{code: resp.StatusCode, body: body, keep: !resp.Close && errors.Is(derr, io.EOF) && br.Buffered() == 0}, nil
}

func ours(raw string, max int) (response, error) {
	br := bufio.NewReaderSize(strings.NewReader(raw), 4096)
	r, err := readResponse(br, max)
	r.keep = r.keep && br.Buffered() == 0
	return r, err
}

// same reports how readResponse and net/http differ on raw, "" if not.
func same(raw string, max int) string {
	want, werr := netHTTP(raw, max)
	got, gerr := ours(raw, max)
	switch {
	case (werr == nil) != (gerr == nil):
		return "net/http err " + errString(werr) + ", ours " + errString(gerr)
	case werr != nil:
		return ""
	case got.code != want.code || !bytes.Equal(got.body, want.body) || got.keep != want.keep:
		return "net/http " + describe(want) + ", ours " + describe(got)
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func describe(r response) string {
	keep := "close"
	if r.keep {
		keep = "keep"
	}
	return http.StatusText(r.code) + " " + keep + " body " + string(r.body)
}

// readResponse agrees with net/http on the answers post-services and the
// things found on wrong ports give: code, body and whether the connection
// can be kept.
func TestReadResponseAgreesWithNetHTTP(t *testing.T) {
	const ok = `{"Proving":{"nonces":{"start":0,"end":128},"position":77}}`
	cases := map[string]string{
		"post-service":       "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 58\r\ndate: Sun, 06 Dec 2026 12:00:00 GMT\r\n\r\n" + ok,
		"idle":               "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n\"Idle\"",
		"close asked":        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 6\r\n\r\n\"Idle\"",
		"HTTP/1.0":           "HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\n\"Idle\"",
		"HTTP/1.0 kept":      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 6\r\n\r\n\"Idle\"",
		"no length":          "HTTP/1.1 200 OK\r\n\r\n\"Idle\"",
		"chunked":            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n\"Idle\"\r\n0\r\n\r\n",
		"chunked in two":     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n\"Id\r\n3\r\nle\"\r\n0\r\n\r\n",
		"chunked, trailer":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n\"Idle\"\r\n0\r\nX-Done: 1\r\n\r\n",
		"chunked, too long":  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + strings.Repeat("x", 64) + "\r\n0\r\n\r\n",
		"cut at max":         "HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n" + strings.Repeat("y", 64),
		"far past max":       "HTTP/1.1 200 OK\r\nContent-Length: 9000\r\n\r\n" + strings.Repeat("z", 9000),
		"500":                "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom",
		"204":                "HTTP/1.1 204 No Content\r\n\r\n",
		"LF only":            "HTTP/1.1 200 OK\nContent-Length: 2\n\n{}",
		"two lengths":        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x",
		"bad length":         "HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\n{}",
		"short body":         "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{}",
		"ssh banner":         "SSH-2.0-OpenSSH_9.2\r\n",
		"nothing":            "",
		"headers cut":        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
		"bad code":           "HTTP/1.1 2x0 OK\r\n\r\n",
		"no reason":          "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n{}",
		"two spaces":         "HTTP/1.0  200\n\n",
		"folded header":      "HTTP/1.1 200 OK\r\nContent-Length:\r\n 2\r\nX: a\r\n \r\n\r\n{}",
		"folded bad length":  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n 3\r\n\r\n{}x",
		"header without ':'": "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n{}",
		"more after body":    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n",
	}
	for name, raw := range cases {
		if d := same(raw, 32); d != "" {
			t.Errorf("%s: %s", name, d)
		}
	}
}

// An answer that arrives a byte at a time reads the same: a header line is
// kept while the next byte is waited for (the reader's buffer may move).
func TestReadResponseByteByByte(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length:\r\n\t6\r\nConnection: keep-alive\r\n\r\n\"Idle\""
	r, err := readResponse(bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(raw)), 64), 32)
	if err != nil || r.code != 200 || string(r.body) != `"Idle"` || !r.keep {
		t.Fatalf("got %s, %v", describe(r), err)
	}
}

// An informational 1xx answer is skipped for the one that follows, as
// net/http's client does (its ReadResponse alone returns the 1xx).
func TestReadResponseSkipsInformational(t *testing.T) {
	r, err := ours("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 32)
	if err != nil || r.code != 200 || string(r.body) != "{}" || !r.keep {
		t.Fatalf("got %s, %v", describe(r), err)
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n\"Idle\"")
	f.Add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n\"Idle\"\r\n0\r\n\r\n")
	f.Add("HTTP/1.0 500 Oops\r\nConnection: keep-alive\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		got, gerr := ours(raw, 32)
		if gerr == nil && len(got.body) > 32 {
			t.Fatalf("body of %d bytes past the cap", len(got.body))
		}
		// Where net/http reads a good answer, ours is the same answer.
		if want, werr := netHTTP(raw, 32); werr == nil && (gerr != nil || got.code != want.code || !bytes.Equal(got.body, want.body) || (got.keep && !want.keep)) {
			t.Fatalf("net/http %s, ours %s (%v)", describe(want), describe(got), gerr)
		}
	})
}

// BenchmarkReadResponse reads a post-service's answer with readResponse and,
// for the ratio, with net/http's ReadResponse as the client did before.
func BenchmarkReadResponse(b *testing.B) {
	raw := "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 58\r\ndate: Sun, 06 Dec 2026 12:00:00 GMT\r\n\r\n" +
		`{"Proving":{"nonces":{"start":0,"end":128},"position":77}}`
	sr := strings.NewReader(raw)
	br := bufio.NewReaderSize(sr, 4096)
	for _, c := range []struct {
		name string
		read func() error
	}{
		{"ours", func() error { _, err := readResponse(br, maxStatusBody); return err }},
		{"net-http", func() error {
			resp, err := http.ReadResponse(br, nil)
			if err == nil {
				_, err = io.ReadAll(io.LimitReader(resp.Body, maxStatusBody))
				resp.Body.Close()
			}
			return err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sr.Reset(raw)
				br.Reset(sr)
				if err := c.read(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
