package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// inputSum is the input_sha256 of an inputs file line.
func inputSum(line string) string {
	s := sha256.Sum256([]byte(line))
	return hex.EncodeToString(s[:])
}

// writeLines writes lines (each followed by a newline) and then tail.
func writeLines(t *testing.T, path string, tail string, lines ...string) {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	b.WriteString(tail)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// wantRuns checks the executions per n of a counting app.
func wantRuns(t *testing.T, when string, app *countingApp, want map[int]int) {
	t.Helper()
	deadline := time.Now().Add(crashWait)
	for {
		got, _ := app.counts()
		same := true
		for n := range want {
			if got[n] != want[n] {
				same = false
			}
		}
		for n := range got {
			if got[n] != want[n] {
				same = false
			}
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: executions per input %v, want %v", when, got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBatchJournalTornLineAndDamage: an intent with no request id is
// uncertain: looked up in fal's request history, it stays uncertain (not
// submitted) while the history cannot be read; a journal line cut by a
// crash is dropped, not taken for damage; damage in the middle stops the
// batch before anything is submitted, naming the line; --salvage-journal
// goes on, making every input without a result or a request id uncertain,
// durably: the dated intent is then looked up in the history, not found
// and submitted, the input the damaged line may have been about (no date)
// stays uncertain; --resubmit-uncertain then runs it.
func TestBatchJournalTornLineAndDamage(t *testing.T) {
	app := &countingApp{runs: map[int]int{}}
	srv := startFal(t, faltest.WithApp("test/count", app.handler))
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	journal, report := out+".journal", out+".uncertain"
	inputs := []string{`{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`}
	writeLines(t, in, "", inputs...)

	// Input 2 was accepted as a real request; input 1 was being submitted
	// when falgo died an hour ago; input 3's intent was being written.
	sub := runCLI(t, "submit", "test/count", "-i", "n=2")
	id := strings.TrimSpace(sub.stdout)
	if sub.code != exitOK || id == "" {
		t.Fatalf("submit: exit %d, stderr %s", sub.code, sub.stderr)
	}
	at1 := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	header := `{"falgo_batch_journal":2,"app":"test/count"}`
	intent1 := fmt.Sprintf(`{"line":1,"event":"submitting","input_sha256":%q,"at":%q}`, inputSum(inputs[0]), at1)
	intent2 := fmt.Sprintf(`{"line":2,"event":"submitting","input_sha256":%q}`, inputSum(inputs[1]))
	accepted2 := fmt.Sprintf(`{"line":2,"event":"accepted","input_sha256":%q,"request_id":%q}`, inputSum(inputs[1]), id)
	writeLines(t, journal, `{"line":3,"event":"submi`, header, intent1, intent2, accepted2)

	// fal's Platform API fails: the history cannot settle input 1.
	if err := srv.SetFaults(1, faltest.FaultRule{Route: "platform", Kind: faltest.AppError500}); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "batch", "test/count", in, "-o", out)
	if r.code != exitUncertain || !strings.Contains(r.stderr, "1 to reattach, 2 to submit, 1 uncertain to look up in fal's request history") ||
		!strings.Contains(r.stderr, "1 input is uncertain") || !strings.Contains(r.stderr, "--resubmit-uncertain") ||
		!strings.Contains(r.stderr, "fal's request history could not be read") {
		t.Fatalf("exit %d (want %d), stderr:\n%s", r.code, exitUncertain, r.stderr)
	}
	res, unc := readResults(t, out), readUncertain(t, report)
	if len(res) != 3 || res[2].RequestID != id || res[1].Output != nil {
		t.Errorf("results %+v: want lines 2 (reattached to %s), 3 and 4", res, id)
	}
	if u, ok := unc[1]; len(unc) != 1 || !ok || u.InputSum != inputSum(inputs[0]) || u.SubmittedAt != at1 ||
		!strings.Contains(u.Reason, "may or may not have queued it") || !strings.Contains(u.Reason, "could not be read") {
		t.Errorf("uncertain report %+v: want line 1 with its hash, time and reasons", unc)
	}
	wantRuns(t, "after the first run", app, map[int]int{2: 1, 3: 1, 4: 1})
	// The torn line was cut off, not left for the next records to be
	// appended to: every line of the journal is a record.
	if data, _ := os.ReadFile(journal); !strings.HasSuffix(string(data), "\n") || strings.Contains(string(data), `"submi{`) {
		t.Errorf("the torn line is still in the journal:\n%s", data)
	}
	journalEvents(t, journal)
	if err := srv.SetFaults(1); err != nil {
		t.Fatal(err)
	}

	// Damage in the middle of the journal, and a new input 5 that has no
	// record: the damaged line may have been its intent.
	inputs = append(inputs, `{"n":5}`)
	writeLines(t, in, "", inputs...)
	data, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	jl := strings.SplitAfter(string(data), "\n")
	damaged := jl[0] + "\x00\x00garbage{\n" + strings.Join(jl[1:], "")
	if err := os.WriteFile(journal, []byte(damaged), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "batch", "test/count", in, "-o", out)
	if r.code != exitError || !strings.Contains(r.stderr, journal+" line 2") || !strings.Contains(r.stderr, "nothing was submitted") ||
		!strings.Contains(r.stderr, "--salvage-journal") || !strings.Contains(r.stderr, "the 2 inputs with neither") {
		t.Fatalf("damaged journal: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	checkSafe(t, "damaged journal", r, false, nil, []string{`\x00\x00garbage{`})
	wantRuns(t, "after the refusal", app, map[int]int{2: 1, 3: 1, 4: 1})

	r = runCLI(t, "batch", "test/count", in, "-o", out, "--salvage-journal")
	if r.code != exitUncertain || !strings.Contains(r.stderr, "salvaged") || !strings.Contains(r.stderr, "1 input is uncertain") ||
		!strings.Contains(r.stderr, "1 uncertain input is still not in fal's request history") {
		t.Fatalf("--salvage-journal: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if unc := readUncertain(t, report); len(unc) != 1 || unc[5].Line != 5 || !strings.Contains(unc[5].Reason, "damaged at line 2") ||
		!strings.Contains(unc[5].Reason, "does not know when it was submitted") {
		t.Errorf("after salvage, uncertain %+v; want line 5", unc)
	}
	if res := readResults(t, out); res[1].Output == nil {
		t.Errorf("line 1 should have been submitted again, not being in the history: %+v", res)
	}
	journalEvents(t, journal) // every line a record again
	// The salvage is durable: a plain rerun still submits nothing.
	if r := runCLI(t, "batch", "test/count", in, "-o", out); r.code != exitUncertain || !strings.Contains(r.stderr, "0 to submit, 1 uncertain to look up") {
		t.Errorf("rerun after salvage: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	wantRuns(t, "after the salvage", app, map[int]int{1: 1, 2: 1, 3: 1, 4: 1})

	r = runCLI(t, "batch", "test/count", in, "-o", out, "--resubmit-uncertain")
	if r.code != exitOK || !strings.Contains(r.stderr, "submitted again as --resubmit-uncertain asks") {
		t.Fatalf("--resubmit-uncertain: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if res := readResults(t, out); len(res) != 5 {
		t.Errorf("want 5 results, got %+v", res)
	}
	wantRuns(t, "at the end", app, map[int]int{1: 1, 2: 1, 3: 1, 4: 1, 5: 1})
	for _, f := range []string{journal, report} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s should be gone (%v)", f, err)
		}
	}
}

// TestBatchSubmitOutcomes: a submit whose connection is cut (fal may have
// queued it) leaves its input uncertain; a submit fal turned away (429)
// is submitted again by the rerun, and the uncertain input, looked up in
// fal's request history and not found there, too.
func TestBatchSubmitOutcomes(t *testing.T) {
	app := &countingApp{runs: map[int]int{}}
	startFal(t, faltest.WithApp("test/count", app.handler), faltest.WithFaults(1,
		faltest.FaultRule{Route: "submit", Kind: faltest.ConnReset, Count: 1},
		faltest.FaultRule{Route: "submit", Kind: faltest.TooManyRequests, RetryAfter: time.Hour, Count: 1},
	))
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	writeLines(t, in, "", `{"n":1}`, `{"n":2}`, `{"n":3}`)
	args := []string{"batch", "test/count", in, "-o", out, "-c", "1", "--reconcile-wait", "0s"}

	r := runCLI(t, args...)
	if r.code != exitUncertain || !strings.Contains(r.stderr, "line 1 is uncertain: the submit failed without telling") ||
		!strings.Contains(r.stderr, "1 other input could not be completed") {
		t.Fatalf("exit %d (want %d), stderr:\n%s", r.code, exitUncertain, r.stderr)
	}
	if unc := readUncertain(t, out+".uncertain"); len(unc) != 1 || !strings.Contains(unc[1].Reason, "without telling whether fal queued") {
		t.Errorf("uncertain %+v", unc)
	}
	r = runCLI(t, args...)
	if r.code != exitOK || !strings.Contains(r.stderr, "0 to reattach, 1 to submit, 1 uncertain to look up") ||
		!strings.Contains(r.stderr, "0 found and reattached, 1 not found") {
		t.Fatalf("rerun: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if res := readResults(t, out); len(res) != 3 || res[1].Output == nil || res[2].Output == nil || res[3].Output == nil {
		t.Errorf("results %+v: want lines 1, 2 and 3", res)
	}
	wantRuns(t, "at the end", app, map[int]int{1: 1, 2: 1, 3: 1})
}

// TestBatchUpgradesAVersion1Journal: a journal of the format before the
// intents (one line per accepted request) is read, and upgraded.
func TestBatchUpgradesAVersion1Journal(t *testing.T) {
	app := &countingApp{runs: map[int]int{}}
	startFal(t, faltest.WithApp("test/count", app.handler))
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	writeLines(t, in, "", `{"n":1}`, `{"n":2}`)
	sub := runCLI(t, "submit", "test/count", "-i", "n=1")
	id := strings.TrimSpace(sub.stdout)
	writeLines(t, out+".journal", "", `{"falgo_batch_journal":1,"app":"test/count"}`,
		fmt.Sprintf(`{"line":1,"request_id":%q,"input_sha256":%q}`, id, inputSum(`{"n":1}`)))
	r := runCLI(t, "batch", "test/count", in, "-o", out, "-c", "1", "--timeout", "0")
	if r.code != exitOK || !strings.Contains(r.stderr, "1 to reattach, 1 to submit") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if res := readResults(t, out); res[1].RequestID != id {
		t.Errorf("line 1 finished as %s, want the journalled %s", res[1].RequestID, id)
	}
	wantRuns(t, "at the end", app, map[int]int{1: 1, 2: 1})
}

func TestJudgeSubmit(t *testing.T) {
	tests := []struct {
		err  error
		want submitVerdict
	}{
		{&fal.HTTPError{StatusCode: 422}, refused},
		{&fal.HTTPError{StatusCode: 404}, refused},
		{&fal.HTTPError{StatusCode: 429}, notQueued},
		{&fal.HTTPError{StatusCode: 408}, notQueued},
		{&fal.HTTPError{StatusCode: 401}, notQueued},
		{&fal.HTTPError{StatusCode: 503}, notQueued},                                                               // the ingress refused it
		{&fal.HTTPError{StatusCode: 503, RequestID: "r", Header: http.Header{"X-Fal-Request-Id": {"r"}}}, unknown}, // fal itself
		{&fal.HTTPError{StatusCode: 502}, unknown},                                                                 // the ingress may have forwarded it
		{&fal.HTTPError{StatusCode: 500, RequestID: "r", Header: http.Header{"X-Fal-Request-Id": {"r"}}}, unknown},
		{fmt.Errorf("x: %w", &net.OpError{Op: "dial", Err: errors.New("refused")}), notQueued},
		{fmt.Errorf("x: %w", &net.OpError{Op: "read", Err: errors.New("reset")}), unknown},
		{&net.DNSError{Err: "no such host"}, notQueued},
		{fal.ErrMissingCredentials, notQueued},
		{errors.New("submit: the answer has no request id"), unknown},
		{fmt.Errorf("x: %w", http.ErrHandlerTimeout), unknown},
	}
	for _, tt := range tests {
		if got := judgeSubmit(tt.err); got != tt.want {
			t.Errorf("judgeSubmit(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
