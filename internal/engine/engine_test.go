package engine

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falgo/fal/internal/retry"
)

func TestRedirectPolicy(t *testing.T) {
	t.Parallel()
	var foreignAuth, foreignReferer atomic.Value
	foreignAuth.Store("")
	foreignReferer.Store("")
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignHits.Add(1)
		foreignAuth.Store(r.Header.Get("Authorization"))
		foreignReferer.Store(r.Header.Get("Referer"))
		_, _ = io.WriteString(w, `{"foreign":true}`)
	}))
	defer foreign.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, foreign.URL+"/landing", http.StatusTemporaryRedirect)
		case "/home":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/final":
			_, _ = io.WriteString(w, `{"auth":"`+r.Header.Get("Authorization")+`"}`)
		}
	}))
	defer api.Close()
	c := newConfig(t, api)
	ctx := context.Background()

	// A POST is never redirected: its body would go elsewhere, or the POST
	// would turn into a GET whose answer is taken as the result.
	_, err := c.Do(ctx, &Request{Op: "run", Method: http.MethodPost, URL: api.URL + "/away?fal_webhook=https://me", Body: []byte(`{"secret":"input"}`), Class: retry.Once})
	if err == nil || !strings.Contains(err.Error(), "refusing to follow a redirect of a POST") {
		t.Fatalf("POST redirect: err = %v", err)
	}
	// A GET to the client's hosts is not redirected elsewhere either.
	_, err = c.Do(ctx, &Request{Op: "status", Method: http.MethodGet, URL: api.URL + "/away", Class: retry.Once})
	if err == nil || !strings.Contains(err.Error(), "not one of the client's hosts") {
		t.Fatalf("GET redirect to a foreign host: err = %v", err)
	}
	if n := foreignHits.Load(); n != 0 {
		t.Fatalf("the foreign host was reached %d times", n)
	}
	// Within the client's hosts redirects are followed, with credentials.
	resp, err := c.Do(ctx, &Request{Op: "status", Method: http.MethodGet, URL: api.URL + "/home", Class: retry.Idempotent})
	if err != nil || !strings.Contains(string(resp.Body), testSecret) {
		t.Fatalf("same-host redirect: %v %s", err, resp.Body)
	}
	// A download (not a client host) may be redirected anywhere, without
	// credentials or a Referer.
	other := newConfig(t, foreign)
	other.Hosts = c.Hosts
	other.HTTPClient = &http.Client{}
	if err := other.Prepare(); err != nil {
		t.Fatal(err)
	}
	dl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, foreign.URL+"/file", http.StatusFound)
	}))
	defer dl.Close()
	st, err := other.Open(ctx, &Request{Op: "download", Method: http.MethodGet, URL: dl.URL + "/x?token=abc", Auth: "Bearer cdn-token-123", Class: retry.Idempotent}, 0)
	if err != nil {
		t.Fatalf("download redirect: %v", err)
	}
	st.Close()
	if a := foreignAuth.Load().(string); a != "" {
		t.Errorf("redirect target got Authorization %q", a)
	}
	if r := foreignReferer.Load().(string); r != "" {
		t.Errorf("redirect target got Referer %q", r)
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/claims" {
			w.Header().Set("Content-Length", "67108864")
			w.WriteHeader(http.StatusOK)
			return
		}
		fl := w.(http.Flusher)
		for i := 0; i < 64; i++ {
			_, _ = w.Write(make([]byte, 1024))
			fl.Flush()
		}
	}))
	defer srv.Close()
	c := newConfig(t, srv)
	c.MaxBody = 16 << 10
	for _, path := range []string{"/claims", "/chunked"} {
		_, err := c.Do(context.Background(), &Request{Op: "run", Method: http.MethodGet, URL: srv.URL + path, Class: retry.Idempotent})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "larger than 16 KiB, the Body limit") {
			t.Errorf("%s: err = %v, want the body limit", path, err)
		}
	}
}

func TestServerTextIsScrubbed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := r.Header.Get("Authorization")
		w.Header().Set("X-Echo", a)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "you sent "+a+" and "+strings.TrimPrefix(a, "Key "+testKeyID+":"))
	}))
	defer srv.Close()
	c := newConfig(t, srv)
	_, err := c.Do(context.Background(), &Request{Op: "run", Method: http.MethodPost, URL: srv.URL + "/x", Body: []byte("{}"), Class: retry.Once})
	var he *httpError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v", err)
	}
	for _, s := range []string{testSecret, testKeyID} {
		if strings.Contains(string(he.f.Body), s) || strings.Contains(he.f.Header.Get("X-Echo"), s) {
			t.Errorf("%q survived in %q / %q", s, he.f.Body, he.f.Header.Get("X-Echo"))
		}
	}
}

func TestRetryAfterBeyondTheCapEndsRetries(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c := newConfig(t, srv)
	c.Retry.MaxRetryAfter = time.Second
	_, err := c.Do(context.Background(), &Request{Op: "status", Method: http.MethodGet, URL: srv.URL + "/s", Class: retry.Idempotent})
	var he *httpError
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "retry after 2m0s") || hits.Load() != 1 {
		t.Fatalf("err = %v after %d attempts; want one attempt and the asked wait in the error", err, hits.Load())
	}
}

func TestAuthHalvesAreSecrets(t *testing.T) {
	t.Parallel()
	a := NewAuth("Key", "abcd1234:efgh5678")
	if a.Header != "Key abcd1234:efgh5678" || len(a.Secrets) != 3 || a.Secrets[1] != "abcd1234" || a.Secrets[2] != "efgh5678" {
		t.Fatalf("NewAuth = %+v", a)
	}
	if got := ScrubString("x abcd1234 y efgh5678 z", a.Secrets); strings.Contains(got, "abcd") || strings.Contains(got, "efgh") {
		t.Fatalf("ScrubString = %q", got)
	}
	if got := ScrubString("a b", []string{"a"}); got != "a b" {
		t.Fatalf("a one-letter secret was scrubbed: %q", got)
	}
}
