package operator

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httputil"
	"strconv"
)

// response is what the operator client needs of an HTTP/1.x answer to a GET.
type response struct {
	code   int
	status string // "500 Internal Server Error", for messages; "" for 200
	body   []byte // at most the max asked for
	keep   bool   // the connection may carry the next request
}

// maxHeaderBytes bounds the status line and headers of one answer.
const maxHeaderBytes = 64 << 10

// errHeaderTooLong is a header line longer than the read buffer, or a
// status line and headers past maxHeaderBytes.
var errHeaderTooLong = errors.New("HTTP header too long")

// readResponse reads one answer from br: the status line, the headers that
// frame the body (Content-Length, Transfer-Encoding, Connection) and up to
// max bytes of body. It is net/http's ReadResponse cut down to what a client
// of small JSON answers needs, with no header map, Response or body reader
// to allocate: at a thousand services polled every 2 s those were a tenth of
// the dashboard's CPU. A body longer than max is cut and its connection not
// kept; so is one whose end only the connection's close tells.
func readResponse(br *bufio.Reader, max int) (response, error) {
	var r response
	var h headerFacts
	for {
		line, err := readLine(br, maxHeaderBytes)
		if err != nil {
			return r, err
		}
		var http10 bool
		if r.code, r.status, http10, err = parseStatusLine(line); err != nil {
			return r, err
		}
		if h, err = readHeaders(br); err != nil {
			return r, err
		}
		r.keep = !h.close && (!http10 || h.keepAlive)
		if http10 { // HTTP/1.0 has no transfer codings: the header means nothing
			h.chunked, h.badEncoding = false, ""
		}
		if h.badEncoding != "" {
			return r, fmt.Errorf("unsupported Transfer-Encoding %q", h.badEncoding)
		}
		// 1xx answers come before the real one (101 switches protocols).
		if r.code >= 200 || r.code == 101 {
			break
		}
	}
	switch {
	case r.code == 204 || r.code == 304 || r.code < 200:
		return r, nil // no body, whatever the headers say
	case h.chunked:
		return readChunkedBody(br, r, max)
	case h.length >= 0:
		return readSizedBody(br, r, h.length, max)
	default: // the body ends when the connection does
		r.keep = false
		body, err := io.ReadAll(io.LimitReader(br, int64(max)))
		r.body = body
		return r, err
	}
}

// headerFacts are the headers that decide how the body is read.
type headerFacts struct {
	length           int64 // -1: none given
	chunked          bool
	badEncoding      string // a Transfer-Encoding this reader cannot read
	close, keepAlive bool
}

func readHeaders(br *bufio.Reader) (headerFacts, error) {
	h := headerFacts{length: -1}
	for total := 0; ; {
		line, err := readLine(br, maxHeaderBytes-total)
		if err != nil {
			return h, err
		}
		total += len(line) + 2
		if len(line) == 0 {
			return h, nil
		}
		// line lies in the reader's buffer: a Peek that has to read may move
		// it, and a folded line is built from it. Both are rare (an answer
		// comes in one piece; nobody folds), and only then is it copied.
		if br.Buffered() == 0 || folded(br) {
			line = append([]byte(nil), line...)
		}
		for folded(br) {
			next, err := readLine(br, maxHeaderBytes-total)
			if err != nil {
				return h, err
			}
			total += len(next) + 2
			line = append(append(line, ' '), bytes.TrimSpace(next)...)
		}
		if err := h.add(line); err != nil {
			return h, err
		}
	}
}

// folded tells whether the next line continues the header line just read
// (an obsolete line folding, which net/http joins with one space).
func folded(br *bufio.Reader) bool {
	b, err := br.Peek(1)
	return err == nil && (b[0] == ' ' || b[0] == '\t')
}

// add takes in one header line.
func (h *headerFacts) add(line []byte) error {
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return fmt.Errorf("malformed HTTP header line %q", line)
	}
	value = bytes.TrimSpace(value)
	switch {
	case bytes.EqualFold(name, []byte("Content-Length")):
		n, err := strconv.ParseInt(string(value), 10, 64)
		if err != nil || n < 0 || (h.length >= 0 && n != h.length) {
			return fmt.Errorf("bad Content-Length %q", value)
		}
		h.length = n
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		h.chunked = hasToken(value, "chunked")
		if !h.chunked && !bytes.EqualFold(value, []byte("identity")) {
			h.badEncoding = string(value)
		}
	case bytes.EqualFold(name, []byte("Connection")):
		h.close = h.close || hasToken(value, "close")
		h.keepAlive = h.keepAlive || hasToken(value, "keep-alive")
	}
	return nil
}

// parseStatusLine reads "HTTP/1.1 200 OK".
func parseStatusLine(line []byte) (code int, status string, http10 bool, err error) {
	proto, rest, ok := bytes.Cut(line, []byte(" "))
	rest = bytes.TrimLeft(rest, " ") // as net/http: "HTTP/1.0  200" is a 200
	if !ok || len(rest) < 3 || (len(rest) > 3 && rest[3] != ' ') {
		return 0, "", false, fmt.Errorf("malformed HTTP response %q", truncateBytes(line, 40))
	}
	switch string(proto) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		http10 = true
	default:
		return 0, "", false, fmt.Errorf("malformed HTTP version %q", truncateBytes(proto, 40))
	}
	code, err = strconv.Atoi(string(rest[:3]))
	if err != nil || code < 100 {
		return 0, "", false, fmt.Errorf("malformed HTTP status code %q", rest[:3])
	}
	if code != 200 { // only other answers are shown
		status = string(rest)
	}
	return code, status, http10, nil
}

// readSizedBody reads a Content-Length body. One longer than max is cut to
// max, and the connection is kept only if the rest is a little to drain.
func readSizedBody(br *bufio.Reader, r response, n int64, max int) (response, error) {
	r.body = make([]byte, min(n, int64(max)))
	if _, err := io.ReadFull(br, r.body); err != nil {
		return r, unexpectedEOF(err)
	}
	rest := n - int64(len(r.body))
	if rest > 4<<10 {
		r.keep = false
		return r, nil
	}
	if _, err := br.Discard(int(rest)); err != nil {
		r.keep = false // the part past max is cut short: not the body's fault
	}
	return r, nil
}

// readChunkedBody reads a chunked body and its trailer.
func readChunkedBody(br *bufio.Reader, r response, max int) (response, error) {
	cr := httputil.NewChunkedReader(br)
	body, err := io.ReadAll(io.LimitReader(cr, int64(max)))
	r.body = body
	if err != nil {
		return r, unexpectedEOF(err)
	}
	// Drain a little past max, so the connection can be reused; the end
	// of the chunks, then the trailer's lines up to a blank one.
	if n, err := io.CopyN(io.Discard, cr, 4<<10); n == 4<<10 || !errors.Is(err, io.EOF) {
		r.keep = false
		return r, nil
	}
	for {
		line, err := readLine(br, maxHeaderBytes)
		if err != nil {
			return r, err
		}
		if len(line) == 0 {
			return r, nil
		}
	}
}

// readLine reads one CRLF- (or LF-) terminated line of at most max bytes,
// without its end. The slice is br's own: valid until the next read.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > max {
		return nil, errHeaderTooLong
	}
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// hasToken reports whether a comma-separated header value holds token.
func hasToken(value []byte, token string) bool {
	for part := range bytes.SplitSeq(value, []byte(",")) {
		if bytes.EqualFold(bytes.TrimSpace(part), []byte(token)) {
			return true
		}
	}
	return false
}

// unexpectedEOF is an EOF in the middle of an answer.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func truncateBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
