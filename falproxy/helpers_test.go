package falproxy_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/falgo/fal/falproxy"
)

// testKey is recognisable, so a leak into a body or a log line is easy to
// find.
const testKey = "pxkey-LEAKCHECK-3141:secret-LEAKCHECK-2718"

// recorded is one request an upstream received.
type recorded struct {
	Method string
	Path   string // escaped
	Query  string
	Header http.Header
	Body   []byte
}

// upstream is a loopback server standing in for fal's three hosts (under
// /run, /queue and /rest); it records every request and answers with
// handler (200 "{}" when nil).
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newUpstream(t *testing.T, handler http.HandlerFunc) *upstream {
	return startUpstream(t, handler, true)
}

// newRawUpstream is newUpstream for handlers that read the request body
// themselves (it is not recorded).
func newRawUpstream(t *testing.T, handler http.HandlerFunc) *upstream {
	return startUpstream(t, handler, false)
}

func startUpstream(t *testing.T, handler http.HandlerFunc, readBody bool) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readBody {
			u.record(r, nil)
			handler(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		u.record(r, body)
		if handler == nil {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "{}")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		handler(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) record(r *http.Request, body []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reqs = append(u.reqs, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body})
}

// requests returns what the upstream has received so far.
func (u *upstream) requests() []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]recorded(nil), u.reqs...)
}

// mapTo returns the options that send fal's three hosts to u.
func (u *upstream) mapTo() []falproxy.Option {
	return []falproxy.Option{
		falproxy.WithUpstream("fal.run", u.URL+"/run"),
		falproxy.WithUpstream("queue.fal.run", u.URL+"/queue"),
		falproxy.WithUpstream("rest.fal.ai", u.URL+"/rest"),
	}
}

// logBuffer collects log output; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logger returns a debug-level logger writing to b.
func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// proxy starts a loopback server running a Handler built from opts, in
// front of up (when not nil), with testKey, AllowUnauthenticated and logs
// in logs (when not nil). Later options win over these defaults.
func proxy(t *testing.T, up *upstream, logs *logBuffer, opts ...falproxy.Option) *httptest.Server {
	t.Helper()
	return startProxy(t, up, logs, falproxy.AllowUnauthenticated(), opts...)
}

// proxyWithAuth is proxy with an Authorize hook.
func proxyWithAuth(t *testing.T, up *upstream, logs *logBuffer, hook func(*http.Request) error, opts ...falproxy.Option) *httptest.Server {
	t.Helper()
	return startProxy(t, up, logs, falproxy.WithAuthorize(hook), opts...)
}

func startProxy(t *testing.T, up *upstream, logs *logBuffer, auth falproxy.Option, opts ...falproxy.Option) *httptest.Server {
	t.Helper()
	all := []falproxy.Option{falproxy.WithKey(testKey), auth}
	if up != nil {
		all = append(all, up.mapTo()...)
	}
	if logs == nil {
		logs = &logBuffer{}
	}
	all = append(all, falproxy.WithLogger(logs.logger()))
	all = append(all, opts...)
	h, err := falproxy.New(all...)
	if err != nil {
		t.Fatalf("falproxy.New: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// send makes one request to the proxy with the given target (none if
// empty) and returns the answer with its body read.
func send(t *testing.T, proxyURL, method, target string, body io.Reader, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, proxyURL, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vv := range header {
		req.Header[k] = vv
	}
	if target != "" {
		req.Header.Set("x-fal-target-url", target)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, target, err)
	}
	return resp, b
}

// proxyError is the JSON body of the proxy's own error answers.
type proxyError struct {
	Message   string `json:"message"`
	Detail    string `json:"detail"`
	ErrorType string `json:"error_type"`
}

// decodeError checks that an answer is one of the proxy's JSON errors with
// the given status and returns it.
func decodeError(t *testing.T, resp *http.Response, body []byte, status int) proxyError {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error answer has Content-Type %q, want application/json; body %s", ct, body)
	}
	var e proxyError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error answer is not JSON: %v: %s", err, body)
	}
	if e.Message == "" || e.Detail != e.Message || !strings.HasPrefix(e.ErrorType, "falproxy_") {
		t.Fatalf("error answer lacks message/detail/error_type: %s", body)
	}
	if got := resp.Header.Get("X-Fal-Error-Type"); got != e.ErrorType {
		t.Fatalf("X-Fal-Error-Type %q, body error_type %q", got, e.ErrorType)
	}
	return e
}

// clearFalEnv removes every FAL_* variable for the test and points
// FAL_HOME_DIR at an empty directory, so no real credential is found.
func clearFalEnv(t *testing.T) {
	t.Helper()
	names := []string{"FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "FAL_KEY_FILE", "FAL_HOME_DIR", "FAL_FORCE_AUTH_BY_USER", "FAL_AUTH_TOKEN_URL"}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "FAL_") || strings.HasPrefix(k, "COLAB_") {
			names = append(names, k)
		}
	}
	for _, k := range names {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("FAL_HOME_DIR", t.TempDir())
}
