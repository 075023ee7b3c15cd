package platform_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/platform"
)

const (
	testKeyID  = "testkeyid"
	testSecret = "testsecret123"
	testKey    = testKeyID + ":" + testSecret
)

// hit is one request the fake API received.
type hit struct {
	Method  string
	Path    string // decoded
	RawPath string // as sent (escaped)
	Query   url.Values
	Header  http.Header
	Body    []byte
}

// fakeAPI is a loopback Platform API whose answers a test chooses; it
// records every request.
type fakeAPI struct {
	*httptest.Server
	mu     sync.Mutex
	hits   []hit
	answer func(w http.ResponseWriter, h hit, n int) // n counts requests from 1
}

func newAPI(t *testing.T, answer func(w http.ResponseWriter, h hit, n int)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{answer: answer}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := hit{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
		f.mu.Lock()
		f.hits = append(f.hits, h)
		n := len(f.hits)
		f.mu.Unlock()
		f.answer(w, h, n)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) Hits() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.hits)
}

// jsonAnswer answers status with body.
func jsonAnswer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// fixed answers every request with the same status and body.
func fixed(status int, body string) func(http.ResponseWriter, hit, int) {
	return func(w http.ResponseWriter, _ hit, _ int) { jsonAnswer(w, status, body) }
}

// trap is a server for the client's other hosts (run, queue, REST, CDN):
// the Platform API client must never reach them.
func trap(t *testing.T) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.String()+" auth="+r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(func() {
		srv.Close()
		mu.Lock()
		defer mu.Unlock()
		if len(got) > 0 {
			t.Errorf("a host other than the API host was reached: %q", got)
		}
	})
	return srv
}

// fastRetries keeps the retry schedule short; no test depends on it.
var fastRetries = fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond})

// newClient is a platform client on api with the test key; every other
// host of the client is a trap.
func newClient(t *testing.T, api *fakeAPI, opts ...fal.Option) *platform.Client {
	t.Helper()
	other := trap(t)
	all := append([]fal.Option{
		fal.WithKey(testKey), fal.WithAPIHost(api.URL),
		fal.WithRunHost(other.URL + "/run"), fal.WithQueueHost(other.URL + "/queue"),
		fal.WithRestHost(other.URL + "/rest"), fal.WithCDNHost(other.URL + "/cdn"),
		fastRetries,
	}, opts...)
	fc, err := fal.NewClient(all...)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := platform.New(fc)
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("not JSON: %s", a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// collect runs an iterator to the end.
func collect[T any](seq func(func(T, error) bool)) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// apiHost overrides the API host of newClient.
func apiHost(u string) fal.Option { return fal.WithAPIHost(u) }
