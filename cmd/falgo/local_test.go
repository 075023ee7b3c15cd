package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// wantExportNames is the order in which faltest's Server.Env lists settings.
var wantExportNames = []string{"FAL_KEY", "FAL_RUN_HOST", "FAL_QUEUE_RUN_HOST", "FAL_REST_HOST", "FAL_CDN_HOST", "FAL_API_HOST"}

// waitLimit bounds every wait in these tests; it is generous because a busy
// CI machine can be slow, and it is only reached when something is broken.
const waitLimit = 30 * time.Second

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// localRun is a `falgo local` running in-process.
type localRun struct {
	lines  []string          // the export lines, in order
	env    map[string]string // the exported values, unquoted
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int // receives the exit code
}

// startLocal runs `falgo local args...` in a goroutine and returns once it has
// printed its export lines. The command is stopped when the test ends.
func startLocal(t *testing.T, args ...string) *localRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	l := &localRun{stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		code := run(ctx, append([]string{"local"}, args...), pw, l.stderr)
		pw.Close()
		l.done <- code
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-l.done:
		case <-time.After(waitLimit):
			t.Errorf("falgo local did not stop within %v of its context being cancelled", waitLimit)
		}
	})
	lines, err := readExportLines(pr, len(wantExportNames))
	// Drain anything else so a stray write can never block the command.
	go io.Copy(io.Discard, pr) //nolint:errcheck // draining only
	if err != nil {
		t.Fatalf("reading the export lines: %v; stderr: %s", err, l.stderr.String())
	}
	l.lines = lines
	l.env = parseExports(t, lines)
	return l
}

// readExportLines reads n lines from r, or fails after waitLimit.
func readExportLines(r io.Reader, n int) ([]string, error) {
	type result struct {
		lines []string
		err   error
	}
	ch := make(chan result, 1)
	go func() {
		sc := bufio.NewScanner(r)
		var lines []string
		for len(lines) < n && sc.Scan() {
			lines = append(lines, sc.Text())
		}
		err := sc.Err()
		if err == nil && len(lines) < n {
			err = io.ErrUnexpectedEOF
		}
		ch <- result{lines, err}
	}()
	select {
	case res := <-ch:
		return res.lines, res.err
	case <-time.After(waitLimit):
		return nil, context.DeadlineExceeded
	}
}

// parseExports checks the shape of each line and returns the values.
func parseExports(t *testing.T, lines []string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for i, line := range lines {
		rest, ok := strings.CutPrefix(line, "export ")
		name, value, ok2 := strings.Cut(rest, "=")
		if !ok || !ok2 {
			t.Fatalf("stdout line %d = %q, want export NAME=value", i+1, line)
		}
		if i < len(wantExportNames) && name != wantExportNames[i] {
			t.Errorf("stdout line %d exports %s, want %s", i+1, name, wantExportNames[i])
		}
		if strings.HasPrefix(value, "'") {
			value = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(value, "'"), "'"), `'\''`, "'")
		}
		env[name] = value
	}
	return env
}

// stop cancels the command and returns its exit code.
func (l *localRun) stop(t *testing.T) int {
	t.Helper()
	l.cancel()
	select {
	case code := <-l.done:
		l.done <- code // keep it for the cleanup
		return code
	case <-time.After(waitLimit):
		t.Fatalf("falgo local did not stop within %v of its context being cancelled", waitLimit)
		return -1
	}
}

// eventually polls cond until it holds or waitLimit passes.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// newHTTPClient returns a client that keeps no idle connections, so no
// transport goroutine outlives a test.
func newHTTPClient() *http.Client {
	return &http.Client{Timeout: waitLimit, Transport: &http.Transport{DisableKeepAlives: true}}
}

// postEcho sends input to the echo demo app under runHost.
func postEcho(t *testing.T, runHost, key, input string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, runHost+"/falgo/echo", strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Key "+key)
	}
	resp, err := newHTTPClient().Do(req)
	if err != nil {
		t.Fatalf("POST %s/falgo/echo: %v", runHost, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the echo response: %v", err)
	}
	return resp.StatusCode, string(body)
}

func TestLocalPrintsExportsAndServes(t *testing.T) {
	const key = "conformance-key-42"
	l := startLocal(t, "--addr", "127.0.0.1:0", "--key", key)

	if len(l.lines) != len(wantExportNames) {
		t.Fatalf("got %d export lines, want %d: %q", len(l.lines), len(wantExportNames), l.lines)
	}
	if l.env["FAL_KEY"] != key {
		t.Errorf("FAL_KEY = %q, want the --key value %q", l.env["FAL_KEY"], key)
	}
	runHost := l.env["FAL_RUN_HOST"]
	base, ok := strings.CutSuffix(runHost, "/run")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":0") {
		t.Fatalf("FAL_RUN_HOST = %q, want http://127.0.0.1:<chosen port>/run", runHost)
	}
	for name, suffix := range map[string]string{"FAL_QUEUE_RUN_HOST": "/queue", "FAL_REST_HOST": "/rest", "FAL_CDN_HOST": "/cdn"} {
		if got := l.env[name]; got != base+suffix {
			t.Errorf("%s = %q, want %q", name, got, base+suffix)
		}
	}
	// The announcement follows the exports; wait for it.
	if !eventually(func() bool { return strings.Contains(l.stderr.String(), "serving fal demo apps on "+base) }) {
		t.Errorf("stderr does not announce the server: %q", l.stderr.String())
	}

	status, body := postEcho(t, runHost, key, `{"text":"hello from falgo local"}`)
	if status != http.StatusOK || !strings.Contains(body, "hello from falgo local") {
		t.Errorf("echo with the printed key: status %d, body %s; want 200 echoing the input", status, body)
	}
	if status, body := postEcho(t, runHost, "not-"+key, `{"text":"x"}`); status != http.StatusUnauthorized {
		t.Errorf("echo with a wrong key: status %d, body %s; want 401", status, body)
	}

	if code := l.stop(t); code != exitOK {
		t.Errorf("exit code after cancellation = %d, want %d; stderr: %s", code, exitOK, l.stderr.String())
	}
	// The server is closed on the way out: nothing listens there any more.
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), waitLimit); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after falgo local stopped", base)
	}
}

func TestLocalDefaultKeyIsPrintedAndAccepted(t *testing.T) {
	l := startLocal(t, "--addr", "127.0.0.1:0")
	key := l.env["FAL_KEY"]
	if key == "" {
		t.Fatalf("FAL_KEY is empty; exports: %q", l.lines)
	}
	if status, body := postEcho(t, l.env["FAL_RUN_HOST"], key, `{"text":"default key"}`); status != http.StatusOK {
		t.Errorf("echo with the printed default key: status %d, body %s; want 200", status, body)
	}
}

func TestLocalTakenPortFailsWithOneLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"local", "--addr", addr}, &stdout, &stderr)
	if code != exitError {
		t.Errorf("exit code = %d, want %d", code, exitError)
	}
	out := stderr.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("stderr should be exactly one line, got %q", out)
	}
	if !strings.HasPrefix(out, "falgo local: ") || !strings.Contains(out, addr) || !strings.Contains(out, "--addr") {
		t.Errorf("stderr = %q, want a falgo local error naming %s and the --addr flag", out, addr)
	}
	if stdout.String() != "" {
		t.Errorf("stdout = %q, want nothing when the server cannot start", stdout.String())
	}
}

func TestLocalCommandLineErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the first stderr line
	}{
		{"unknown flag", []string{"--bogus"}, "unknown flag: --bogus"},
		{"stray argument", []string{"extra"}, `unknown command "extra"`},
		{"addr without port", []string{"--addr", "127.0.0.1"}, "not host:port"},
		{"addr with bad port", []string{"--addr", "127.0.0.1:http"}, "port must be a number"},
		{"empty key", []string{"--addr", "127.0.0.1:0", "--key", ""}, "--key must be non-empty"},
		{"key with space", []string{"--addr", "127.0.0.1:0", "--key", "a b"}, "--key must be non-empty"},
		{"non-ASCII key", []string{"--addr", "127.0.0.1:0", "--key", "ключ"}, "--key must be non-empty"},
		{"non-loopback addr", []string{"--addr", "0.0.0.0:0"}, "--allow-remote"},
		{"all interfaces", []string{"--addr", ":0"}, "not a loopback address"},
		{"remote without key", []string{"--addr", "192.0.2.1:0", "--allow-remote"}, "--allow-remote requires --key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			code := run(context.Background(), append([]string{"local"}, tt.args...), &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			first, rest, _ := strings.Cut(stderr.String(), "\n")
			if !strings.HasPrefix(first, "falgo local: ") || !strings.Contains(first, tt.want) {
				t.Errorf("first stderr line = %q, want a falgo local error containing %q", first, tt.want)
			}
			if rest != "see `falgo local --help`\n" {
				t.Errorf("a command-line error should be followed by one hint line, not the usage; got %q", rest)
			}
			if stdout.String() != "" {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

func TestLocalHelpDocumentsAddrAndExitCodes(t *testing.T) {
	var stdout, stderr syncBuffer
	if code := run(context.Background(), []string{"local", "--help"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit code = %d, want %d", code, exitOK)
	}
	for _, want := range []string{"--addr", defaultLocalAddr, "127.0.0.1:0", "--allow-remote", "Exit codes"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help does not mention %q", want)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.3.4.5": true, "::1": true, "localhost": true, "LocalHost": true,
		"": false, "0.0.0.0": false, "::": false, "192.0.2.1": false, "example.com": false, "localhost.example.com": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080/run": "http://127.0.0.1:8080/run",
		"faltest-key":               "faltest-key",
		"":                          "''",
		"a b":                       "'a b'",
		"it's":                      `'it'\''s'`,
		"$HOME":                     "'$HOME'",
		"~/x":                       "'~/x'",
		"a;rm -rf /":                "'a;rm -rf /'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestShellQuoteRoundTripsThroughSh(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	values := []string{"plain", "with space", "it's", `back\slash`, "$(echo injected)", "`tick`", "new\nline", "*"}
	for _, v := range values {
		out, err := exec.Command(sh, "-c", "export V="+shellQuote(v)+`; printf '%s' "$V"`).Output()
		if err != nil {
			t.Fatalf("sh with %q: %v", v, err)
		}
		if string(out) != v {
			t.Errorf("sh read %q back as %q", v, out)
		}
	}
}

func TestFormatExportsRejectsMalformedEntries(t *testing.T) {
	if _, err := formatExports([]string{"NOEQUALS"}); err == nil {
		t.Error("an entry without '=' was accepted")
	}
	if _, err := formatExports([]string{"BAD NAME=x"}); err == nil {
		t.Error("an entry with an invalid name was accepted")
	}
	got, err := formatExports([]string{"A=1", "B=two words"})
	if err != nil || got != "export A=1\nexport B='two words'\n" {
		t.Errorf("formatExports = %q, %v", got, err)
	}
}

// TestMainStopsOnSignal runs the real main in a child process and checks that
// SIGINT and SIGTERM stop it cleanly with exit code 0.
func TestMainStopsOnSignal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX signals only")
	}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "local", "--addr", "127.0.0.1:0")
			cmd.Env = append(os.Environ(), envRunMain+"=1")
			var stderr syncBuffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines, err := readExportLines(stdout, len(wantExportNames))
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("reading the export lines: %v; stderr: %s", err, stderr.String())
			}
			env := parseExports(t, lines)
			if status, body := postEcho(t, env["FAL_RUN_HOST"], env["FAL_KEY"], `{"text":"x"}`); status != http.StatusOK {
				t.Errorf("echo: status %d, body %s; want 200", status, body)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("after %v: %v (want exit code 0); stderr: %s", sig, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "falgo local: stopping") {
				t.Errorf("stderr does not report the stop: %q", stderr.String())
			}
		})
	}
}
