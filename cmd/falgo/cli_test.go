package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
)

// cliResult is the outcome of one falgo command line.
type cliResult struct {
	code   int
	stdout string
	stderr string
}

// cliRun describes how to run a command line in tests.
type cliRun struct {
	ctx    context.Context
	stdin  io.Reader
	tty    bool // pretend stdout and stderr are terminals
	stderr *syncBuffer
}

// runCLI runs falgo in-process with args, stdout and stderr not terminals,
// and an empty stdin.
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	return cliRun{}.run(t, args...)
}

// run runs args as described by r.
func (r cliRun) run(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx := r.ctx
	if ctx == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
	}
	stdin := r.stdin
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout syncBuffer
	stderr := r.stderr
	if stderr == nil {
		stderr = &syncBuffer{}
	}
	con := &console{stdin: stdin, stdout: &stdout, stderr: stderr}
	if r.tty {
		con.stdoutTTY, con.stderrTTY, con.color, con.width = true, true, true, 100
	}
	code := execute(ctx, args, con)
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// isolateCredentials empties every credential source falgo could find on
// this machine (and the host settings), so a test sees only what it sets.
func isolateCredentials(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	for _, k := range []string{
		"FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "FAL_KEY_FILE", "FAL_FORCE_AUTH_BY_USER", "FAL_AUTH_TOKEN_URL",
		"FAL_RUN_HOST", "FAL_QUEUE_RUN_HOST", "FAL_REST_HOST", "FAL_CDN_HOST", "NO_COLOR",
		"COLAB_RELEASE_TAG", "COLAB_BACKEND_VERSION", "COLAB_JUPYTER_IP", "COLAB_KERNEL_MANAGER_PROXY_PORT", "COLAB_GPU", "VERTEX_PRODUCT",
	} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)  // some are detected by presence alone
	}
	t.Setenv("HOME", home)
	t.Setenv("FAL_HOME_DIR", home)
	// The schema and price cache, and a Platform API that nothing
	// answers (port 1 on loopback refuses at once): no test reaches
	// api.fal.ai, and none shares a cache with the user or another test.
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	t.Setenv("FAL_API_HOST", "http://127.0.0.1:1/api")
}

// startFal starts a faltest server (demo apps answering at once, plus
// opts) and points falgo at it through the environment, as a user of
// `falgo local` would.
func startFal(t *testing.T, opts ...faltest.Option) *faltest.Server {
	t.Helper()
	isolateCredentials(t)
	srv, err := faltest.Start(append([]faltest.Option{faltest.WithDemoDelay(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return srv
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// requestIDPattern finds request ids in falgo's messages.
var requestIDPattern = regexp.MustCompile(`request ([0-9a-f-]{36})`)

// requestIDIn returns the first request id mentioned in s.
func requestIDIn(t *testing.T, s string) string {
	t.Helper()
	m := requestIDPattern.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no request id in %q", s)
	}
	return m[1]
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fetch GETs url without keep-alive and returns the body.
func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := newHTTPClient().Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gate is an app for tests that blocks until released (or cancelled), and
// counts how often it ran and how often it was cancelled.
type gate struct {
	release  chan struct{}
	started  chan string // request ids, as handlers start
	canceled chan string
}

func newGate() *gate {
	return &gate{release: make(chan struct{}), started: make(chan string, 64), canceled: make(chan string, 64)}
}

// app is the gate's handler: it logs a line, waits, and echoes its input.
func (g *gate) app(ctx context.Context, req *faltest.Request) (any, error) {
	req.Log("INFO", "waiting at the gate")
	g.started <- req.RequestID
	select {
	case <-g.release:
		return req.Input, nil
	case <-ctx.Done():
		g.canceled <- req.RequestID
		return nil, ctx.Err()
	}
}

// receive waits for one value from ch.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}
