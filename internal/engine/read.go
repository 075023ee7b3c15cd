package engine

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ErrTooLarge is matched (errors.Is) by every error that says an answer
// exceeded one of the limits.
var ErrTooLarge = errors.New("fal: an answer exceeded a limit")

// LimitError says what exceeded which limit, and how to raise it.
type LimitError struct {
	Op    string // what was being done
	What  string // what was too large, e.g. "the answer"
	Field string // the field of fal.Limits that bounds it, e.g. "Body"
	Limit int64  // the limit, in bytes (or entries)
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("fal: %s: %s is larger than %s, the %s limit (raise it with fal.WithLimits)", e.Op, e.What, size(e.Limit), e.Field)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *LimitError) Is(target error) bool { return target == ErrTooLarge }

// size renders a byte count for people.
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// errTooLarge means a body exceeded its limit.
var errTooLarge = errors.New("body too large")

// presize is the most a Content-Length may make readBody allocate ahead:
// the header is the server's word, not a measurement.
const presize = 1 << 20

// readBody reads a whole response body of at most limit bytes. Its buffer
// grows by doubling but never past limit+1 bytes, so a body over the limit
// costs at most that much memory, whatever the server claims or sends.
func readBody(res *http.Response, limit int64) ([]byte, error) {
	if res.ContentLength > limit {
		return nil, errTooLarge
	}
	n := int64(512)
	if res.ContentLength > 0 {
		n = min(res.ContentLength+1, presize)
	}
	buf := make([]byte, 0, min(n, limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, errTooLarge
			}
			grown := make([]byte, len(buf), min(int64(2*cap(buf)), limit+1))
			copy(grown, buf)
			buf = grown
		}
		m, err := res.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return nil, errTooLarge
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// gzipValue is the Accept-Encoding header value of a buffered exchange.
var gzipValue = []string{"gzip"}

// acceptGzip asks for a gzip-compressed answer, as net/http's transport
// would, unless the request names an encoding itself, is a HEAD, or hc's
// transport has compression turned off. The engine sets it rather than the
// transport because the transport builds a header map of its own for it
// on every HTTP/1.1 request; gunzip then undoes it.
func acceptGzip(hc *http.Client, hr *http.Request) bool {
	if t, ok := hc.Transport.(*http.Transport); (ok && t.DisableCompression) || hr.Method == http.MethodHead {
		return false
	}
	h := hr.Header
	if _, ok := h["Accept-Encoding"]; ok {
		return false
	}
	h["Accept-Encoding"] = gzipValue
	return true
}

// gunzip makes res read decompressed when the server gzipped it, as
// net/http's transport does when it asked itself: the encoding and length
// headers go, ContentLength is unknown and Uncompressed is set. The limits
// then bound the decompressed bytes.
func gunzip(res *http.Response) {
	if !strings.EqualFold(res.Header.Get("Content-Encoding"), "gzip") || res.Body == nil || res.Body == http.NoBody {
		return
	}
	res.Header.Del("Content-Encoding")
	res.Header.Del("Content-Length")
	res.ContentLength = -1
	res.Uncompressed = true
	res.Body = &gzipBody{src: res.Body}
}

// gzipBody decompresses src, opening the gzip stream on the first read.
type gzipBody struct {
	src io.ReadCloser
	zr  *gzip.Reader
	err error
}

func (g *gzipBody) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.zr == nil {
		zr, err := gzip.NewReader(g.src)
		if err == io.EOF {
			g.err = io.EOF // an empty body, as net/http reads it
			return 0, g.err
		}
		if err != nil {
			g.err = fmt.Errorf("decompressing the gzip answer: %w", err)
			return 0, g.err
		}
		g.zr = zr
	}
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		g.err = fmt.Errorf("decompressing the gzip answer: %w", err)
		return n, g.err
	}
	return n, err
}

func (g *gzipBody) Close() error { return g.src.Close() }
