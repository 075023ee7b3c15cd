package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/falgo/fal/internal/retry"
)

// gzipped compresses s.
func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGzipAnswers: a buffered exchange asks for gzip, as net/http would,
// and reads a gzipped answer decompressed — a 2xx body, an error body, and
// a body that decompresses past the limit (refused, not held); a request
// that names its own encoding is left alone.
func TestGzipAnswers(t *testing.T) {
	t.Parallel()
	ok := `{"images":[{"url":"https://v3.fal.media/files/a.png"}]}`
	bomb := gzipped(t, strings.Repeat("0", 1<<20))
	var sawAccept []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAccept = append(sawAccept, r.Header.Get("Accept-Encoding"))
		if r.Header.Get("Accept-Encoding") != "gzip" {
			_, _ = w.Write([]byte("plain"))
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write(gzipped(t, ok))
		case "/bad":
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write(gzipped(t, `{"detail":"prompt is required"}`))
		case "/bomb":
			_, _ = w.Write(bomb)
		case "/corrupt":
			_, _ = w.Write([]byte("not gzip at all"))
		case "/empty":
			// Content-Encoding on an empty, chunked body: read as empty.
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	c := newConfig(t, srv)
	c.MaxBody = 64 << 10
	ctx := context.Background()
	get := func(path string, h http.Header) (*Response, error) {
		return c.Do(ctx, &Request{Op: "result", Method: http.MethodGet, URL: srv.URL + path, Header: h, Class: retry.Once})
	}
	resp, err := get("/ok", nil)
	if err != nil || string(resp.Body) != ok {
		t.Fatalf("gzipped answer: %v, %q", err, resp.Body)
	}
	if resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("Content-Encoding %q kept on a decompressed answer", resp.Header.Get("Content-Encoding"))
	}
	var he *httpError
	if _, err := get("/bad", nil); !errors.As(err, &he) || string(he.f.Body) != `{"detail":"prompt is required"}` {
		t.Errorf("gzipped error answer: %v", err)
	}
	var le *LimitError
	if _, err := get("/bomb", nil); !errors.As(err, &le) {
		t.Errorf("an answer decompressing past the limit: err = %v, want a LimitError", err)
	}
	if _, err := get("/corrupt", nil); err == nil || !strings.Contains(err.Error(), "decompressing the gzip answer") {
		t.Errorf("a corrupt gzip answer: err = %v", err)
	}
	if resp, err := get("/empty", nil); err != nil {
		t.Errorf("an empty gzip-labelled answer: %v; want an empty body", err)
	} else if len(resp.Body) != 0 {
		t.Errorf("an empty gzip-labelled answer read as %q", resp.Body)
	}
	resp, err = get("/ok", http.Header{"Accept-Encoding": {"identity"}})
	if err != nil || string(resp.Body) != "plain" {
		t.Errorf("own Accept-Encoding: %v, %q", err, resp.Body)
	}
	if sawAccept[0] != "gzip" {
		t.Errorf("Accept-Encoding sent %q, want gzip", sawAccept[0])
	}
	// A transport with compression off is not asked for gzip.
	c.HTTPClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}
	if err := c.Prepare(); err != nil {
		t.Fatal(err)
	}
	resp, err = get("/ok", nil)
	if err != nil || string(resp.Body) != "plain" {
		t.Errorf("DisableCompression: %v, %q (Accept-Encoding %q)", err, resp.Body, sawAccept[len(sawAccept)-1])
	}
}
