package fal_test

// Helpers shared by the tests of package fal_test: scripted servers, a
// faltest server with a client, a recording http.RoundTripper, the child
// server process of the benchmarks, and checks of error messages.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// testKey is a recognisable key: no output may contain it.
const testKey = "falgo-TESTKEY-7f3a9c2e:s3cr3t-9d8e7f"

// bg is a context that bounds a test generously: waits that should end at
// once end by themselves, and a bug ends with an error instead of a hang.
func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fast keeps back-off waits short so retry tests stay quick.
var fast = fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})

// mp makes multipart cheap to exercise: 5 MiB parts above 6 MiB.
var mp = fal.WithMultipartUpload(6<<20, 5<<20, 3)

// recorded is one request a scripted server saw.
type recorded struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// scripted is a loopback server that answers with a script of handlers, one
// per request (the last one repeats), and records what it received.
type scripted struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []recorded
	steps []http.HandlerFunc
}

func newScripted(t *testing.T, steps ...http.HandlerFunc) *scripted {
	t.Helper()
	s := &scripted{steps: steps}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		s.mu.Unlock()
		s.steps[min(n, len(s.steps)-1)](w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

// client returns a fal client whose every host is a path prefix of s.
func (s *scripted) client(t *testing.T, opts ...fal.Option) *fal.Client {
	t.Helper()
	base := []fal.Option{
		fal.WithKey(testKey),
		fal.WithRunHost(s.URL + "/run"),
		fal.WithQueueHost(s.URL + "/queue"),
		fal.WithRestHost(s.URL + "/rest"),
		fal.WithCDNHost(s.URL + "/cdn"),
	}
	c, err := fal.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func jsonReply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func htmlReply(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>")
	}
}

// newLocal starts a faltest server and a client with a transport of its
// own; both are closed at cleanup. (TestMain checks that no goroutine
// outlives the tests.)
func newLocal(t *testing.T, srvOpts []faltest.Option, clientOpts ...fal.Option) (*faltest.Server, *fal.Client, *http.Transport) {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	srv := faltest.NewServer(srvOpts...)
	c := srv.Client(append([]fal.Option{fal.WithHTTPClient(&http.Client{Transport: tr})}, clientOpts...)...)
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return srv, c, tr
}

// awaitOrDone waits for ch, or for ctx to end (then it reports false).
func awaitOrDone(ctx context.Context, ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// pattern is deterministic content of n bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// fetch GETs url with a plain client and returns the body and its type.
func fetch(t *testing.T, url string) ([]byte, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	return b, res.Header.Get("Content-Type")
}

// seen is one request a recordingTransport carried.
type seen struct {
	Method, URL, Authorization string
}

// recordingTransport is an http.RoundTripper that records every request it
// carries, then sends it with base (http.DefaultTransport if nil). Requests
// to a host in fake are answered by its handler instead, without any
// network: a stand-in for hosts on the internet.
type recordingTransport struct {
	base http.RoundTripper
	fake map[string]http.HandlerFunc

	mu   sync.Mutex
	reqs []seen
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.reqs = append(rt.reqs, seen{r.Method, r.URL.String(), r.Header.Get("Authorization")})
	rt.mu.Unlock()
	if h, ok := rt.fake[r.URL.Host]; ok {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		rec := httptest.NewRecorder()
		h(rec, r)
		res := rec.Result()
		res.Request = r
		return res, nil
	}
	base := rt.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

func (rt *recordingTransport) requests() []seen {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]seen(nil), rt.reqs...)
}

// checkErrorText fails unless err reads as one line starting with exactly
// one "fal: " prefix, the form of every error of package fal.
func checkErrorText(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "fal: ") || strings.Count(msg, "fal: ") != 1 || strings.ContainsAny(msg, "\r\n") {
		t.Errorf("%s: want one line with one leading \"fal: \", got %q", what, msg)
	}
}

// childServerEnv starts a faltest server in a child process (this test
// binary, see TestMain) and returns its FAL_* settings, so that a
// benchmark's allocations and CPU samples are the client's alone.
func childServerEnv(b *testing.B) map[string]string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FALGO_TEST_SERVER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	env := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "READY" {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if env["FAL_RUN_HOST"] == "" {
		b.Fatal("the server process printed no FAL_RUN_HOST")
	}
	return env
}

// childClient is a falgo client for a server process's env.
func childClient(b *testing.B, env map[string]string, opts ...fal.Option) *fal.Client {
	b.Helper()
	c, err := fal.NewClient(append([]fal.Option{fal.WithKey(env["FAL_KEY"]), fal.WithRunHost(env["FAL_RUN_HOST"]),
		fal.WithQueueHost(env["FAL_QUEUE_RUN_HOST"]), fal.WithRestHost(env["FAL_REST_HOST"]), fal.WithCDNHost(env["FAL_CDN_HOST"])}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// asHTTPError returns err's *fal.HTTPError, or fails the test.
func asHTTPError(t *testing.T, err error) *fal.HTTPError {
	t.Helper()
	var he *fal.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v (%T), want a *fal.HTTPError", err, err)
	}
	return he
}

// syncBuffer is a log destination that may be written by a client's
// background work (the cancel after a timed-out Subscribe) while the test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}
