package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
)

// batchApp is an app for batch tests. Its input is {"n": int, "block":
// bool, "fail": bool}: it counts how often it ran each n, waits at a gate
// when block is set, and rejects its input while failing is on and fail
// is set.
type batchApp struct {
	mu      sync.Mutex
	runs    map[int]int
	gate    chan struct{}
	blocked chan int // n of each blocked run, as it starts
	failing atomic.Bool
}

func newBatchApp() *batchApp {
	a := &batchApp{runs: map[int]int{}, gate: make(chan struct{}), blocked: make(chan int, 64)}
	a.failing.Store(true)
	return a
}

func (a *batchApp) handler(ctx context.Context, req *faltest.Request) (any, error) {
	var in struct {
		N     int  `json:"n"`
		Block bool `json:"block"`
		Fail  bool `json:"fail"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.runs[in.N]++
	a.mu.Unlock()
	if in.Fail && a.failing.Load() {
		return nil, faltest.ValidationError("prompt", "field required")
	}
	if in.Block {
		a.blocked <- in.N
		select {
		case <-a.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return map[string]int{"n": in.N, "double": 2 * in.N}, nil
}

// runCounts is a copy of the executions per n.
func (a *batchApp) runCounts() map[int]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := map[int]int{}
	for k, v := range a.runs {
		m[k] = v
	}
	return m
}

// batchInputs is the inputs file of the resume tests: eight inputs on nine
// lines (line 3 is blank); n=3 fails while failing is on; n=4..7 block.
const batchInputs = `{"n":1}
{"n":2}

{"n":3,"fail":true}
{"n":4,"block":true}
{"n":5,"block":true}
{"n":6,"block":true}
{"n":7,"block":true}
{"n":8}
`

// inputLineOf maps n to its line in batchInputs.
var inputLineOf = map[int]int{1: 1, 2: 2, 3: 4, 4: 5, 5: 6, 6: 7, 7: 8, 8: 9}

// readResults reads a results file: the records by input line, failing on
// duplicates.
func readResults(t *testing.T, path string) map[int]resultRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]resultRecord{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "" {
			continue
		}
		var r resultRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("results line %q: %v", l, err)
		}
		if _, dup := out[r.Line]; dup {
			t.Fatalf("two result lines for input line %d:\n%s", r.Line, data)
		}
		out[r.Line] = r
	}
	return out
}

// journalIDs reads the request ids a journal recorded, by input line.
func journalIDs(t *testing.T, path string) map[int]string {
	t.Helper()
	ids := map[int]string{}
	for _, e := range journalEvents(t, path) {
		if e.Event == evAccepted {
			ids[e.Line] = e.RequestID
		}
	}
	return ids
}

// journalEvents reads a journal's complete records, after its header.
func journalEvents(t *testing.T, path string) []journalRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	data = data[:strings.LastIndexByte(string(data), '\n')+1] // a line being written
	var out []journalRecord
	for i, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if i == 0 || l == "" {
			continue
		}
		var e journalRecord
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("journal line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

// countEvents counts a journal's records of one event.
func countEvents(t *testing.T, path, event string) int {
	t.Helper()
	n := 0
	for _, e := range journalEvents(t, path) {
		if e.Event == event {
			n++
		}
	}
	return n
}

// lineCount counts the lines of a file, 0 if it does not exist.
func lineCount(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(data), "\n")
}

// startBatch runs falgo batch in the background; cancel stops it.
func startBatch(t *testing.T, args ...string) (cancel func(), done <-chan cliResult) {
	ctx, stop := context.WithCancel(context.Background())
	ch := make(chan cliResult, 1)
	go func() { ch <- cliRun{ctx: ctx}.run(t, args...) }()
	return stop, ch
}

// await returns the result of a background command.
func await(t *testing.T, done <-chan cliResult) cliResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(waitLimit):
		t.Fatal("falgo batch did not stop")
		return cliResult{}
	}
}

// TestBatchResumesWithoutRerunning is acceptance 3: a batch stopped midway
// (its context cancelled, as Ctrl-C does) is run again; every input ends
// with exactly one result line and ran exactly once on the server, the
// jobs in flight were reattached rather than resubmitted, and the failure
// is recorded and then retried with --retry-failed.
func TestBatchResumesWithoutRerunning(t *testing.T) {
	app := newBatchApp()
	srv := startFal(t, faltest.WithApp("test/batch", app.handler))
	dir := t.TempDir()
	in := filepath.Join(dir, "inputs.jsonl")
	out := filepath.Join(dir, "results.jsonl")
	journal := out + ".journal"
	if err := os.WriteFile(in, []byte(batchInputs), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"batch", "test/batch", in, "-o", out, "-c", "3"}

	// First run: n=1,2,3 finish, n=4,5,6 take the three slots and block.
	cancel, done := startBatch(t, args...)
	for i := 0; i < 3; i++ {
		receive(t, "a blocked request to start", app.blocked)
	}
	waitFor(t, "three results and six accepted requests in the journal", func() bool {
		return lineCount(out) == 3 && countEvents(t, journal, evAccepted) == 6
	})
	cancel()
	r := await(t, done)
	if r.code != exitInterrupted || !strings.Contains(lastLine(r.stderr), "3 requests keep running on fal") {
		t.Fatalf("first run: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	first := readResults(t, out)
	if len(first) != 3 || first[1].Output == nil || first[2].Output == nil || first[4].Error == nil {
		t.Fatalf("after the interruption the results are %+v", first)
	}
	if f := first[4].Error; f.Status != 422 || len(f.Fields) != 1 || f.Fields[0].Field != "prompt" {
		t.Errorf("the failure record does not name the field: %+v", f)
	}
	inFlight := journalIDs(t, journal)

	// The jobs keep running on the server; let them finish, then rerun.
	close(app.gate)
	r = runCLI(t, args...)
	if r.code != exitError || !strings.Contains(r.stderr, "3 to reattach, 2 to submit") || !strings.Contains(lastLine(r.stderr), "1 of 8 inputs failed") {
		t.Fatalf("second run: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	second := readResults(t, out)
	if len(second) != 8 {
		t.Fatalf("want 8 result lines, got %d: %+v", len(second), second)
	}
	for n, line := range inputLineOf {
		rec, ok := second[line]
		if !ok {
			t.Errorf("no result for n=%d (line %d)", n, line)
			continue
		}
		if n == 3 {
			continue
		}
		var o struct{ N, Double int }
		if json.Unmarshal(rec.Output, &o) != nil || o.N != n || o.Double != 2*n {
			t.Errorf("line %d: output %s, want n=%d", line, rec.Output, n)
		}
	}
	for _, line := range []int{5, 6, 7} {
		if second[line].RequestID != inFlight[line] {
			t.Errorf("line %d finished as request %s, but %s was in flight: it was resubmitted instead of reattached", line, second[line].RequestID, inFlight[line])
		}
	}
	for n, count := range app.runCounts() {
		if count != 1 {
			t.Errorf("n=%d ran %d times, want once", n, count)
		}
	}
	if got := srv.Executions("test/batch"); got != 8 {
		t.Errorf("the server executed %d requests, want 8", got)
	}
	if _, err := os.Stat(journal); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the journal should be gone once every input has a result (err %v)", err)
	}

	// --retry-failed runs only the failed input again, and replaces its line.
	app.failing.Store(false)
	r = runCLI(t, append(args, "--retry-failed")...)
	if r.code != exitOK || !strings.Contains(r.stderr, "1 to submit (1 failed before, retried)") {
		t.Fatalf("--retry-failed: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	third := readResults(t, out)
	if len(third) != 8 || third[4].Error != nil || third[4].RequestID == second[4].RequestID {
		t.Fatalf("after --retry-failed: %+v", third[4])
	}
	counts := app.runCounts()
	for n, count := range counts {
		if want := map[bool]int{true: 2, false: 1}[n == 3]; count != want {
			t.Errorf("n=%d ran %d times, want %d", n, count, want)
		}
	}

	// Nothing left to do: nothing runs.
	r = runCLI(t, args...)
	if r.code != exitOK || !strings.Contains(r.stderr, "8 done before, 0 to reattach, 0 to submit") {
		t.Errorf("a finished batch: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if got := srv.Executions("test/batch"); got != 9 {
		t.Errorf("the server executed %d requests in all, want 9", got)
	}
}

// TestBatchSurvivesSIGINT stops a real falgo process with SIGINT midway,
// then finishes the batch: the interrupted process exits with 130 and no
// input runs twice.
func TestBatchSurvivesSIGINT(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX signals only")
	}
	app := newBatchApp()
	srv := startFal(t, faltest.WithApp("test/batch", app.handler))
	dir := t.TempDir()
	in := filepath.Join(dir, "inputs.jsonl")
	out := filepath.Join(dir, "results.jsonl")
	if err := os.WriteFile(in, []byte(batchInputs), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"batch", "test/batch", in, "-o", out, "-c", "2"}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	receive(t, "a blocked request to start", app.blocked)
	receive(t, "a second blocked request to start", app.blocked)
	waitFor(t, "the journal to record both blocked requests", func() bool { return countEvents(t, out+".journal", evAccepted) == 5 })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("after SIGINT: %v (want exit code %d); stderr:\n%s", err, exitInterrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "2 requests keep running on fal") {
		t.Errorf("stderr should say the jobs keep running:\n%s", stderr.String())
	}
	close(app.gate)
	r := runCLI(t, args...)
	if r.code != exitError || !strings.Contains(r.stderr, "2 to reattach, 3 to submit") {
		t.Fatalf("rerun: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if res := readResults(t, out); len(res) != 8 {
		t.Errorf("want 8 result lines, got %d", len(res))
	}
	if got, counts := srv.Executions("test/batch"), app.runCounts(); got != 8 || len(counts) != 8 {
		t.Errorf("executions %d, per input %v; want each of 8 inputs once", got, counts)
	}
}

func TestBatchRefusesAJournalThatDoesNotFit(t *testing.T) {
	app := newBatchApp()
	startFal(t, faltest.WithApp("test/batch", app.handler))
	dir := t.TempDir()
	in := filepath.Join(dir, "inputs.jsonl")
	out := filepath.Join(dir, "results.jsonl")
	if err := os.WriteFile(in, []byte("{\"n\":4,\"block\":true}\n{\"n\":8}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cancel, done := startBatch(t, "batch", "test/batch", in, "-o", out, "-c", "1")
	receive(t, "the blocked request to start", app.blocked)
	waitFor(t, "the journal entry", func() bool { return countEvents(t, out+".journal", evAccepted) == 1 })
	cancel()
	if r := await(t, done); r.code != exitInterrupted {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	defer close(app.gate)

	other := runCLI(t, "batch", "falgo/echo", in, "-o", out)
	if other.code != exitError || !strings.Contains(other.stderr, "belongs to a batch of test/batch") {
		t.Errorf("another app: exit %d, stderr %s", other.code, other.stderr)
	}
	if err := os.WriteFile(in, []byte("{\"n\":4,\"block\":false}\n{\"n\":8}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	edited := runCLI(t, "batch", "test/batch", in, "-o", out)
	if edited.code != exitError || !strings.Contains(edited.stderr, "input line 1 changed since request") {
		t.Errorf("an edited line: exit %d, stderr %s", edited.code, edited.stderr)
	}
	if n := app.runCounts()[8]; n != 0 {
		t.Errorf("a refused batch submitted %d requests", n)
	}
}

func TestBatchInputErrors(t *testing.T) {
	startFal(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.jsonl", "{\"a\":1}\n\n[1,2]\n")
	r := runCLI(t, "batch", "falgo/echo", bad)
	if r.code != exitUsage || !strings.Contains(r.stderr, bad+":3: not a JSON object") {
		t.Errorf("a bad line: exit %d, stderr %s", r.code, r.stderr)
	}
	empty := write("empty.jsonl", "\n  \n")
	if r := runCLI(t, "batch", "falgo/echo", empty); r.code != exitUsage || !strings.Contains(r.stderr, "holds no inputs") {
		t.Errorf("no inputs: exit %d, stderr %s", r.code, r.stderr)
	}
	good := write("good.jsonl", "{\"a\":1}\n")
	if r := runCLI(t, "batch", "falgo/echo", good, "-o", good); r.code != exitUsage || !strings.Contains(r.stderr, "is the inputs file") {
		t.Errorf("-o = inputs: exit %d, stderr %s", r.code, r.stderr)
	}
	if r := runCLI(t, "batch", "falgo/echo", filepath.Join(dir, "nope.jsonl")); r.code != exitUsage {
		t.Errorf("a missing inputs file: exit %d, stderr %s", r.code, r.stderr)
	}
	// The default results file sits beside the inputs.
	if r := runCLI(t, "batch", "falgo/echo", good); r.code != exitOK || lineCount(filepath.Join(dir, "good.results.jsonl")) != 1 {
		t.Errorf("default -o: exit %d, stderr %s", r.code, r.stderr)
	}
}

// TestBatchRepairsACutLine simulates a crash in the middle of writing a
// result: the cut line is dropped and the input runs again, ending with one
// line per input.
func TestBatchRepairsACutLine(t *testing.T) {
	startFal(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	if err := os.WriteFile(in, []byte("{\"x\":1}\n{\"x\":2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte(`{"line":1,"request_id":"r1","output":{"x":1}}`+"\n"+`{"line":2,"requ`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "batch", "falgo/echo", in, "-o", out)
	if r.code != exitOK || !strings.Contains(r.stderr, "1 done before, 0 to reattach, 1 to submit") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	res := readResults(t, out)
	if len(res) != 2 || string(res[2].Output) != `{"x":2}` || res[1].RequestID != "r1" {
		t.Errorf("results after the repair: %+v", res)
	}
	// A results file that is not ours is left alone.
	if err := os.WriteFile(out, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "batch", "falgo/echo", in, "-o", out); r.code != exitError || !strings.Contains(r.stderr, "is not a falgo batch result") {
		t.Errorf("a foreign results file: exit %d, stderr %s", r.code, r.stderr)
	}
}

func TestBatchRefusesASecondWriter(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no advisory locks")
	}
	startFal(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	if err := os.WriteFile(in, []byte("{\"x\":1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		t.Fatalf("locking %s: %v", out, err)
	}
	r := runCLI(t, "batch", "falgo/echo", in, "-o", out)
	if r.code != exitError || !strings.Contains(r.stderr, "another falgo batch is writing") {
		t.Errorf("exit %d, stderr %s", r.code, r.stderr)
	}
}

func TestBatchProgress(t *testing.T) {
	startFal(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	lines := []string{`{"x":1}`, `{"x":2}`, `{"_error":{"status":400,"detail":"bad x"}}`}
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plain := runCLI(t, "batch", "falgo/echo", in, "-o", filepath.Join(dir, "a.jsonl"))
	if plain.code != exitError || strings.ContainsAny(plain.stderr, "\r\x1b") {
		t.Errorf("on a pipe: exit %d, stderr %q; want plain lines", plain.code, plain.stderr)
	}
	if !strings.Contains(plain.stderr, "falgo: line 3 failed") || !strings.Contains(plain.stderr, "bad x") {
		t.Errorf("on a pipe each failure gets a line:\n%s", plain.stderr)
	}
	tty := cliRun{tty: true}.run(t, "batch", "falgo/echo", in, "-o", filepath.Join(dir, "b.jsonl"))
	if tty.code != exitError || !strings.Contains(tty.stderr, "\r") || !strings.Contains(tty.stderr, "2 done · 1 failed · 0 in flight") || !strings.Contains(tty.stderr, "(3/3") {
		t.Errorf("on a terminal: exit %d, want a bar with the counts: %q", tty.code, tty.stderr)
	}
}

// TestResultsAreSortedByLineAfterRetry checks the rewrite keeps every
// other line.
func TestResultsAreSortedByLineAfterRetry(t *testing.T) {
	startFal(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	if err := os.WriteFile(in, []byte("{\"x\":1}\n{\"_error\":{\"status\":400,\"detail\":\"no\"}}\n{\"x\":3}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "batch", "falgo/echo", in, "-o", out); r.code != exitError {
		t.Fatalf("exit %d", r.code)
	}
	if r := runCLI(t, "batch", "falgo/echo", in, "-o", out, "--retry-failed"); r.code != exitError {
		t.Fatalf("retry: exit %d", r.code)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r resultRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Line)
	}
	if len(got) != 3 || got[2] != 2 || !sort.IntsAreSorted(got[:2]) {
		t.Errorf("result lines in order %v; want the kept lines first, then the retried one", got)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("the rewritten results file has mode %v (%v), want 0644", st.Mode().Perm(), err)
	}
}
