package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
)

// crashWait bounds every wait of the kill tests.
const crashWait = 60 * time.Second

// countingApp counts its executions per input {"n": N} and answers at once.
type countingApp struct {
	mu   sync.Mutex
	runs map[int]int
}

func (a *countingApp) handler(_ context.Context, req *faltest.Request) (any, error) {
	var in struct {
		N int `json:"n"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.runs[in.N]++
	a.mu.Unlock()
	return map[string]int{"n": in.N}, nil
}

// counts copies the executions per n, and their total.
func (a *countingApp) counts() (map[int]int, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, total := map[int]int{}, 0
	for k, v := range a.runs {
		m[k] = v
		total += v
	}
	return m, total
}

// slowSubmits is the fault of the kill test: a proxy that lets fal accept
// each submit, then holds the answer back (until falgo goes away, in hold
// mode; for a random few milliseconds otherwise), so that falgo is often
// killed after fal queued an input and before falgo learned its id.
type slowSubmits struct {
	hold     atomic.Bool
	accepted atomic.Int64 // submits fal accepted
	mu       sync.Mutex
	rng      *rand.Rand
}

func (s *slowSubmits) edit(resp *http.Response) error {
	r := resp.Request
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/queue/") || strings.Contains(r.URL.Path, "/requests/") {
		return nil
	}
	if resp.StatusCode == http.StatusOK {
		s.accepted.Add(1)
	}
	wait := time.Duration(crashWait)
	if !s.hold.Load() {
		s.mu.Lock()
		wait = time.Duration(s.rng.IntN(20)) * time.Millisecond
		s.mu.Unlock()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-clientContext(resp).Done():
	}
	return nil
}

// falgoProcess is falgo running as a child process (the test binary, in
// main mode).
type falgoProcess struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	code   int
}

func startFalgo(t *testing.T, args ...string) *falgoProcess {
	t.Helper()
	p := &falgoProcess{stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = append(os.Environ(), envRunMain+"=1")
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// exited reports whether the process has ended.
func (p *falgoProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// killWhen kills the process with SIGKILL as soon as cond holds (unless it
// ends first), and waits for it to end. It reports whether it killed it.
func (p *falgoProcess) killWhen(t *testing.T, what string, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(crashWait)
	for !cond() {
		if p.exited() {
			return false
		}
		if time.Now().After(deadline) {
			t.Fatalf("falgo did not reach %q within %v; stderr:\n%s", what, crashWait, p.stderr.String())
		}
		time.Sleep(time.Millisecond)
	}
	p.cmd.Process.Kill()
	p.wait(t)
	return true
}

// wait waits for the process to end and returns its exit code.
func (p *falgoProcess) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(crashWait):
		t.Fatalf("falgo did not end within %v; stderr:\n%s", crashWait, p.stderr.String())
		return 0
	}
}

// uncertainNow lists the input lines the journal leaves uncertain, without
// a result.
func uncertainNow(t *testing.T, journal, results string) []int {
	t.Helper()
	done := readResultsIfAny(t, results)
	st := map[int]lineState{}
	for _, e := range journalEvents(t, journal) {
		s := st[e.Line]
		s.apply(e)
		st[e.Line] = s
	}
	var out []int
	for line, s := range st {
		if _, ok := done[line]; !ok && s.uncertain() {
			out = append(out, line)
		}
	}
	return out
}

// readResultsIfAny is readResults, empty for a missing file.
func readResultsIfAny(t *testing.T, path string) map[int]resultRecord {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return readResults(t, path)
}

// readUncertain reads an uncertain report by input line, failing on
// duplicates; a missing report is empty.
func readUncertain(t *testing.T, path string) map[int]uncertainRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]uncertainRecord{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var u uncertainRecord
		if err := json.Unmarshal([]byte(l), &u); err != nil || u.Line <= 0 || u.Reason == "" {
			t.Fatalf("uncertain report line %q: %v", l, err)
		}
		if _, dup := out[u.Line]; dup {
			t.Fatalf("input line %d is reported uncertain twice:\n%s", u.Line, data)
		}
		out[u.Line] = u
	}
	return out
}

// toSubmitNow lists the input lines a rerun is sure to journal an intent
// for: without a result, without a request id, and not uncertain (an
// uncertain one may be found in fal's history and reattached).
func toSubmitNow(t *testing.T, inputs int, journal, results string) int {
	t.Helper()
	done := readResultsIfAny(t, results)
	st := map[int]lineState{}
	for _, e := range journalEvents(t, journal) {
		s := st[e.Line]
		s.apply(e)
		st[e.Line] = s
	}
	n := 0
	for line := 1; line <= inputs; line++ {
		if _, ok := done[line]; ok {
			continue
		}
		if s := st[line]; s.requestID == "" && !s.uncertain() {
			n++
		}
	}
	return n
}

// TestBatchNeverRunsAnInputTwiceWhenKilled is the acceptance of issues 12
// and 13: falgo batch against a server that answers submits late, after
// accepting them, killed with SIGKILL six times (first with 8 submits
// accepted and unanswered, then five times at moments drawn from a seeded
// RNG: after a number of submit intents reached the journal, or a number
// of journal and result lines), and rerun each time. No input may run
// twice (executions are counted by the app, on the server), and after the
// final rerun every input has exactly one result: the inputs a kill left
// uncertain are reconciled through faltest's request history, found there
// and reattached when fal had them, submitted again only when it did not.
func TestBatchNeverRunsAnInputTwiceWhenKilled(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX signals only")
	}
	const inputs = 60
	app := &countingApp{runs: map[int]int{}}
	srv := startFal(t, faltest.WithApp("test/count", app.handler))
	slow := &slowSubmits{rng: rand.New(rand.NewPCG(12, 1))}
	conns := &connTracker{}
	frontProxy{edit: slow.edit, conns: conns}.start(t, srv)

	dir := t.TempDir()
	in := filepath.Join(dir, "inputs.jsonl")
	out := filepath.Join(dir, "results.jsonl")
	journal, report := out+".journal", out+".uncertain"
	var lines []string
	for n := 1; n <= inputs; n++ {
		lines = append(lines, fmt.Sprintf(`{"n":%d}`, n))
	}
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No wait before the second look at the history: the test knows when
	// every request of a killed falgo has arrived (idle, below).
	args := []string{"batch", "test/count", in, "-o", out, "-c", "8", "--reconcile-wait", "0s"}

	// noneTwice checks the executions so far.
	noneTwice := func(when string) {
		t.Helper()
		runs, _ := app.counts()
		for n, c := range runs {
			if c > 1 {
				t.Fatalf("%s: input n=%d ran %d times", when, n, c)
			}
		}
	}
	// settle waits until every submit fal accepted has run.
	settle := func() {
		t.Helper()
		deadline := time.Now().Add(crashWait)
		for {
			_, total := app.counts()
			if int64(total) == slow.accepted.Load() {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d accepted submits, but %d executions after %v", slow.accepted.Load(), total, crashWait)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// idle waits until the killed falgo's connections to the proxy are all
	// closed and the proxy serves no request: each request it sent has
	// reached faltest (and is in its history), or never will. A real
	// fal needs --reconcile-wait for this.
	idle := func(when string) {
		t.Helper()
		deadline := time.Now().Add(crashWait)
		for !conns.idle() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the proxy still has connections or requests after %v", when, crashWait)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// Kill 1: eight submits accepted by fal, none answered.
	slow.hold.Store(true)
	p := startFalgo(t, args...)
	if !p.killWhen(t, "8 submits accepted and journalled", func() bool {
		return slow.accepted.Load() == 8 && countEvents(t, journal, evSubmitting) == 8
	}) {
		t.Fatalf("falgo ended before it was killed: exit %d, stderr:\n%s", p.code, p.stderr.String())
	}
	if n := countEvents(t, journal, evAccepted); n != 0 {
		t.Fatalf("the journal holds %d accepted requests, but every answer was held back", n)
	}
	heldBack := map[int]bool{}
	for _, e := range journalEvents(t, journal) {
		heldBack[e.Line] = true
	}
	slow.hold.Store(false)
	idle("after kill 1")

	// Kills 2 to 6, at moments drawn from the seeded RNG among those the
	// run is sure to reach: each input still to submit journals an intent,
	// and then at least one more line.
	rng := rand.New(rand.NewPCG(2026, 12))
	for round := 2; round <= 6; round++ {
		left := toSubmitNow(t, inputs, journal, out)
		if left < 1 {
			t.Fatalf("before kill %d no input is left to submit: make the batch larger", round)
		}
		before := countEvents(t, journal, evSubmitting)
		written := lineCount(journal) + lineCount(out)
		var what string
		var cond func() bool
		if round%2 == 0 {
			k := 1 + rng.IntN(min(left, 12))
			what = fmt.Sprintf("%d more submit intents", k)
			cond = func() bool { return countEvents(t, journal, evSubmitting) >= before+k }
		} else {
			k := 1 + rng.IntN(min(2*left, 40))
			what = fmt.Sprintf("%d more journal and result lines", k)
			cond = func() bool { return lineCount(journal)+lineCount(out) >= written+k }
		}
		p := startFalgo(t, args...)
		if !p.killWhen(t, what, cond) {
			t.Fatalf("kill %d: falgo finished (exit %d) before %s; stderr:\n%s", round, p.code, what, p.stderr.String())
		}
		idle(fmt.Sprintf("after kill %d", round))
		noneTwice(fmt.Sprintf("after kill %d (at %s)", round, what))
	}
	uncertainBefore := uncertainNow(t, journal, out)

	// The final rerun, without --resubmit-uncertain: every input has
	// exactly one result and ran exactly once; the eight held back at the
	// first kill were found in the history and reattached.
	p = startFalgo(t, args...)
	code := p.wait(t)
	settle()
	noneTwice("after the last run")
	if code != exitOK {
		t.Fatalf("the last run: exit %d, want %d; stderr:\n%s", code, exitOK, p.stderr.String())
	}
	results := readResults(t, out)
	runs, total := app.counts()
	for n := 1; n <= inputs; n++ {
		if _, ok := results[n]; !ok {
			t.Errorf("input line %d has no result", n)
		}
		if runs[n] != 1 {
			t.Errorf("input line %d ran %d times, want 1", n, runs[n])
		}
	}
	if got := srv.Executions("test/count"); got != inputs || total != inputs {
		t.Errorf("the server ran test/count %d times (the app counted %d), want %d", got, total, inputs)
	}
	for line := range heldBack {
		if runs[line] != 1 {
			t.Errorf("input line %d was accepted with its answer held back: ran %d times", line, runs[line])
		}
	}
	if len(uncertainBefore) > 0 && !strings.Contains(p.stderr.String(), "found and reattached") {
		t.Errorf("%d inputs were uncertain before the last run, which does not say it looked them up:\n%s", len(uncertainBefore), p.stderr.String())
	}
	t.Logf("%d results; %d uncertain before the last run (%d held back at the first kill)", len(results), len(uncertainBefore), len(heldBack))
	for _, f := range []string{journal, report} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s should be gone once every input has a result (%v)", f, err)
		}
	}
}
