package faltest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
	"go.uber.org/goleak"
)

// waitLimit bounds every wait in these tests. It is a hang guard, not a
// correctness bound: every wait ends on the event itself (a channel, the
// server's own state), so a passing run never comes near it, and a busy
// machine cannot make it expire; when it does, something hung.
const waitLimit = 60 * time.Second

// newServer starts a Server closed at the end of the test.
func newServer(t *testing.T, opts ...faltest.Option) *faltest.Server {
	t.Helper()
	srv := faltest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// reply is a finished HTTP exchange.
type reply struct {
	code   int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// noKey, passed as a header pair, sends the request without Authorization.
const noKey = "-no-key-"

// testClient has its own transport so tests can drop idle connections.
var testClient = &http.Client{Timeout: waitLimit, Transport: http.DefaultTransport.(*http.Transport).Clone()}

// call sends one request with the server's key (unless noKey is among the
// header pairs) and reads the whole answer.
func call(t *testing.T, srv *faltest.Server, method, path, body string, headerPairs ...string) reply {
	t.Helper()
	resp, err := send(srv, method, path, body, headerPairs...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return reply{code: resp.StatusCode, header: resp.Header, body: b}
}

func send(srv *faltest.Server, method, path, body string, headerPairs ...string) (*http.Response, error) {
	return sendCtx(context.Background(), srv, method, path, body, headerPairs...)
}

func sendCtx(ctx context.Context, srv *faltest.Server, method, path, body string, headerPairs ...string) (*http.Response, error) {
	url := path
	if !strings.HasPrefix(path, "http") {
		url = srv.URL + path
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	auth := true
	for i := 0; i+1 < len(headerPairs); i += 2 {
		req.Header.Set(headerPairs[i], headerPairs[i+1])
	}
	for _, h := range headerPairs {
		if h == noKey {
			auth = false
		}
	}
	if auth && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Key "+srv.Key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return testClient.Do(req)
}

// submit queues input for app and returns the submit answer.
func submit(t *testing.T, srv *faltest.Server, app, input string, headerPairs ...string) map[string]any {
	t.Helper()
	r := call(t, srv, "POST", "/queue/"+app, input, headerPairs...)
	if r.code != 200 {
		t.Fatalf("submit %s: status %d: %s", app, r.code, r.body)
	}
	return r.json(t)
}

// status fetches a request's status through its status_url.
func status(t *testing.T, srv *faltest.Server, sub map[string]any, query string) (int, map[string]any) {
	t.Helper()
	r := call(t, srv, "GET", sub["status_url"].(string)+query, "")
	if r.code != 200 && r.code != 202 {
		t.Fatalf("status: %d %s", r.code, r.body)
	}
	return r.code, r.json(t)
}

// waitStatus polls until cond holds for the status, failing after waitLimit.
func waitStatus(t *testing.T, srv *faltest.Server, sub map[string]any, query string, what string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		_, st := status(t, srv, sub, query)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("hang: no %s after %v; last status %v", what, waitLimit, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isCompleted(st map[string]any) bool { return st["status"] == "COMPLETED" }

// gate is an app whose requests block until released, reporting when they
// start and when their context ends.
type gate struct {
	started chan string   // request ids, as handlers start
	release chan struct{} // one value lets one handler finish
	ctxDone chan error    // ctx.Err() of handlers whose context ended
}

func newGate() *gate {
	return &gate{started: make(chan string, 100), release: make(chan struct{}, 100), ctxDone: make(chan error, 100)}
}

func (g *gate) handler(ctx context.Context, req *faltest.Request) (any, error) {
	// Log before reporting the start, so a test that saw the start also
	// finds the log line.
	req.Log("INFO", "started "+req.RequestID)
	g.started <- req.RequestID
	select {
	case <-g.release:
		return map[string]string{"id": req.RequestID}, nil
	case <-ctx.Done():
		g.ctxDone <- ctx.Err()
		return nil, ctx.Err()
	}
}

// recv waits for a value from c, failing after waitLimit.
func recv[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("hang: no %s after %v", what, waitLimit)
		panic("unreachable")
	}
}

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	name string
	data string
}

// readSSE parses events (and counts comment lines) from r until EOF or
// until stop returns true.
func readSSE(r io.Reader, onEvent func(sseEvent) bool, onComment func(string) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var ev sseEvent
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(data) > 0 || ev.name != "" {
				ev.data = strings.Join(data, "\n")
				if onEvent(ev) {
					return nil
				}
			}
			ev, data = sseEvent{}, nil
		case strings.HasPrefix(line, ":"):
			if onComment != nil && onComment(strings.TrimSpace(line[1:])) {
				return nil
			}
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		case strings.HasPrefix(line, "event:"):
			ev.name = strings.TrimSpace(line[len("event:"):])
		}
	}
	return sc.Err()
}

// waitFor polls cond until it holds, failing after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("hang: still waiting for %s after %v", what, waitLimit)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// verifyNoLeaks fails t if goroutines that opts do not ignore are still
// running (defer it with goleak.IgnoreCurrent() at the start of a test).
func verifyNoLeaks(t *testing.T, opts ...goleak.Option) {
	t.Helper()
	if err := waitNoLeaks(opts...); err != nil {
		t.Errorf("goroutines still running %v after the test (a leak):\n%v", waitLimit, err)
	}
}

// waitNoLeaks waits until no goroutine that opts do not ignore is running.
// A goroutine can outlive what ended it by a moment (a connection's reader
// notices the close later), and on a busy machine that moment can exceed
// the half second goleak.Find retries for; so it looks again until the
// goroutines are gone, and only after waitLimit reports the leak.
func waitNoLeaks(opts ...goleak.Option) error {
	deadline := time.Now().Add(waitLimit)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
