package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// exportNames are the settings `falgo local` prints, all of which the
// clients need.
var exportNames = []string{"FAL_KEY", "FAL_RUN_HOST", "FAL_QUEUE_RUN_HOST", "FAL_REST_HOST", "FAL_CDN_HOST", "FAL_API_HOST"}

// server is the one `falgo local` process every workload talks to.
type server struct {
	cmd    *exec.Cmd
	vars   map[string]string
	stderr *tail
	exited chan struct{}
}

// env returns the server's settings as NAME=value entries.
func (s *server) env() []string {
	out := make([]string, 0, len(exportNames))
	for _, name := range exportNames {
		out = append(out, name+"="+s.vars[name])
	}
	return out
}

// serverEnv returns the server's settings for the harness's own requests.
func (s *server) serverEnv() serverEnv {
	return serverEnv{key: s.vars["FAL_KEY"], run: s.vars["FAL_RUN_HOST"], queue: s.vars["FAL_QUEUE_RUN_HOST"],
		rest: s.vars["FAL_REST_HOST"], cdn: s.vars["FAL_CDN_HOST"]}
}

// buildFalgo builds cmd/falgo into dir.
func buildFalgo(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "falgo")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/falgo")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/falgo: %w\n%s", err, out)
	}
	return bin, nil
}

// startServer starts `falgo local --addr 127.0.0.1:0` (argv is the falgo
// binary, behind taskset when pinned) and waits for its exports. tmp becomes its TMPDIR, where uploaded files are spooled.
func startServer(argv []string, tmp string) (*server, error) {
	cmd := exec.Command(argv[0], append(argv[1:], "local", "--addr", "127.0.0.1:0")...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, vars: map[string]string{}, stderr: &tail{max: 8 << 10}, exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting falgo local: %w", err)
	}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(60 * time.Second)
	for len(s.vars) < len(exportNames) {
		select {
		case line, ok := <-lines:
			if !ok {
				s.stop()
				return nil, fmt.Errorf("falgo local exited before printing its environment: %s", s.stderr)
			}
			name, value, err := parseExport(line)
			if err != nil {
				s.stop()
				return nil, err
			}
			s.vars[name] = value
		case <-timeout:
			s.stop()
			return nil, fmt.Errorf("falgo local printed no environment within 60 s: %s", s.stderr)
		}
	}
	go func() {
		for range lines { // falgo local prints nothing else; drain just in case
		}
	}()
	return s, nil
}

// parseExport reads one `export NAME=value` line; the value is a bare word
// or single-quoted with '\” for a quote.
func parseExport(line string) (string, string, error) {
	rest, ok := strings.CutPrefix(line, "export ")
	name, value, ok2 := strings.Cut(rest, "=")
	if !ok || !ok2 || name == "" {
		return "", "", fmt.Errorf("falgo local printed %q, not an export line", line)
	}
	if strings.HasPrefix(value, "'") {
		if len(value) < 2 || !strings.HasSuffix(value, "'") {
			return "", "", fmt.Errorf("falgo local printed a badly quoted value for %s", name)
		}
		value = strings.ReplaceAll(value[1:len(value)-1], `'\''`, "'")
	}
	return name, value, nil
}

// stop ends the server: SIGTERM, then SIGKILL if it has not exited
// within ten seconds.
func (s *server) stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// alive reports whether the server is still running.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// launcher starts measurement children.
type launcher struct {
	self   string   // this binary, for Go children
	jsDir  string   // bench/js, for node children
	env    []string // the server's settings
	server *server
	pin    pinning
}

// pinned is the command line of a client process: argv behind taskset
// when clients are pinned.
func (l *launcher) pinned(argv ...string) []string { return l.pin.client(argv...) }

// child runs one measurement in a child process, bounded by timeout, and
// returns its result. onEnqueued, if set, gets each request id the child
// announces.
func (l *launcher) child(ctx context.Context, p childParams, timeout time.Duration, onEnqueued func(string)) (*childResult, error) {
	arg, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var cmd *exec.Cmd
	if isJS(p.Variant) {
		argv := l.pinned("node", "bench.mjs", string(arg))
		cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = l.jsDir
	} else {
		argv := l.pinned(l.self, "child", string(arg))
		cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	}
	cmd.Env = append(os.Environ(), l.env...)
	cmd.WaitDelay = 5 * time.Second
	stderr := &tail{max: 8 << 10}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	var res *childResult
	var childErr string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var line childLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			childErr = fmt.Sprintf("unexpected output %.200q", sc.Bytes())
			continue
		}
		switch {
		case line.Enqueued != "":
			if onEnqueued != nil {
				onEnqueued(line.Enqueued)
			}
		case line.Done != nil:
			res = line.Done
		case line.Error != "":
			childErr = line.Error
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	werr := cmd.Wait()
	what := p.Workload + "/" + p.Variant
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, fmt.Errorf("%s did not finish within %v (stopped)", what, timeout)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: %w", what, ctx.Err())
	case childErr != "":
		return nil, fmt.Errorf("%s: %s", what, childErr)
	case werr != nil || res == nil:
		msg := stderr.String()
		if !l.server.alive() {
			msg += "\n(the falgo local server has exited: " + l.server.stderr.String() + ")"
		}
		return nil, fmt.Errorf("%s failed (%v): %s", what, werr, lastLines(msg, 15))
	}
	return res, nil
}

// lastLines keeps the last n lines of s.
func lastLines(s string, n int) string {
	lines := bytes.Split([]byte(s), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
