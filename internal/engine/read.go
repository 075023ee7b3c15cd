package engine

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

// errTooLarge means a body exceeded its limit.
var errTooLarge = errors.New("body too large")

// presize is the most a Content-Length may make readBody allocate ahead:
// the header is the server's word, not a measurement.
const presize = 1 << 20

// readBody reads a whole response body of at most limit bytes.
func readBody(res *http.Response, limit int64) ([]byte, error) {
	if res.ContentLength > limit {
		return nil, errTooLarge
	}
	var buf bytes.Buffer
	if n := res.ContentLength; n > 0 {
		buf.Grow(int(min(n, presize)))
	}
	if _, err := buf.ReadFrom(io.LimitReader(res.Body, limit+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}
