package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// The batch commands of issue 13: --estimate, the schema check of every
// line, and the reconciliation of uncertain inputs through fal's request
// history.

// intent is a journal line saying that an input line was being submitted
// at the given time.
func intent(line int, input string, at time.Time) string {
	return fmt.Sprintf(`{"line":%d,"event":"submitting","input_sha256":%q,"at":%q}`, line, inputSum(input), at.UTC().Format(time.RFC3339Nano))
}

const journalHeader = `{"falgo_batch_journal":2,"app":"test/count"}`

// submitDirect queues input for app past falgo (as a falgo that died before
// it journalled the answer did) and returns the request id.
func submitDirect(t *testing.T, srv *faltest.Server, app, input string, opts ...fal.RequestOption) string {
	t.Helper()
	h, err := srv.Client().Submit(context.Background(), app, json.RawMessage(input), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Result(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h.RequestID
}

// TestBatchReattachesWhatTheHistoryHas: inputs whose submit a crash cut
// off are found in fal's request history, whatever the JSON's spelling
// (key order, spaces, 1.0 for 1), and reattached: no second execution.
// One found with a clock 5 minutes ahead of fal's is found too. Two lines
// with the same input share no request: the one the history does not
// account for is submitted.
func TestBatchReattachesWhatTheHistoryHas(t *testing.T) {
	app := &countingApp{runs: map[int]int{}}
	srv := startFal(t, faltest.WithApp("test/count", app.handler))
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	inputs := []string{`{"n":1, "tag": "été"}`, `{"n":2,"x":[1.0,2]}`, `{"n":3}`, `{"n":3}`, `{"n":4}`}
	writeLines(t, in, "", inputs...)
	// fal received inputs 1, 2 and one of the two 3s, spelt its own way.
	id1 := submitDirect(t, srv, "test/count", `{"tag":"\u00e9t\u00e9","n":1}`)
	id2 := submitDirect(t, srv, "test/count", `{"x":[1,2.0],"n":2}`)
	id3 := submitDirect(t, srv, "test/count", `{"n":3}`)
	// Input 5 ran before as request failed5, which failed; it was being
	// submitted again (--retry-failed) when falgo died. failed5 is known
	// to the journal: it is not this submission.
	failed5 := submitDirect(t, srv, "test/count", `{"n":4}`)
	now := time.Now()
	writeLines(t, out+".journal", "", journalHeader,
		intent(1, inputs[0], now.Add(-time.Minute)),
		intent(2, inputs[1], now.Add(5*time.Minute)), // this clock is ahead
		intent(3, inputs[2], now.Add(-time.Minute)),
		intent(4, inputs[3], now.Add(-time.Minute)),
		intent(5, inputs[4], now.Add(-2*time.Minute)),
		fmt.Sprintf(`{"line":5,"event":"accepted","input_sha256":%q,"request_id":%q}`, inputSum(inputs[4]), failed5),
		fmt.Sprintf(`{"line":5,"event":"done","request_id":%q,"outcome":"failed"}`, failed5),
		intent(5, inputs[4], now.Add(-time.Minute)))
	wantRuns(t, "before", app, map[int]int{1: 1, 2: 1, 3: 1, 4: 1})

	r := runCLI(t, "batch", "test/count", in, "-o", out, "--reconcile-wait", "0s")
	if r.code != exitOK || !strings.Contains(r.stderr, "5 uncertain to look up in fal's request history") ||
		!strings.Contains(r.stderr, "3 found and reattached, 2 not found") || !strings.Contains(r.stderr, "2 uncertain inputs are still not in fal's request history") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	res := readResults(t, out)
	if res[1].RequestID != id1 || res[2].RequestID != id2 {
		t.Errorf("lines 1 and 2 finished as %s and %s, want the requests fal had, %s and %s", res[1].RequestID, res[2].RequestID, id1, id2)
	}
	if (res[3].RequestID == id3) == (res[4].RequestID == id3) {
		t.Errorf("lines 3 and 4 (the same input) finished as %s and %s: exactly one should be %s", res[3].RequestID, res[4].RequestID, id3)
	}
	if res[5].RequestID == failed5 {
		t.Errorf("line 5 was reattached to %s, its earlier, failed request", failed5)
	}
	// Input 3 ran twice because it is two lines, input 4 (line 5) because
	// it was retried; nothing found in the history ran again.
	wantRuns(t, "after", app, map[int]int{1: 1, 2: 1, 3: 2, 4: 2})
}

// TestBatchLooksAgainBeforeSubmitting: a request the history did not list
// at the first look (still in the queue, say) is found at the second, and
// reattached rather than run again.
func TestBatchLooksAgainBeforeSubmitting(t *testing.T) {
	app := &countingApp{runs: map[int]int{}}
	srv := startFal(t, faltest.WithApp("test/count", app.handler))
	var looks atomic.Int32
	frontProxy{answer: func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/v1/models/requests/by-endpoint") && looks.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"items":[],"next_cursor":null,"has_more":false}`))
			return true
		}
		return false
	}}.start(t, srv)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	writeLines(t, in, "", `{"n":1}`)
	id := submitDirect(t, srv, "test/count", `{"n":1}`)
	writeLines(t, out+".journal", "", journalHeader, intent(1, `{"n":1}`, time.Now()))

	r := runCLI(t, "batch", "test/count", in, "-o", out, "--reconcile-wait", "0s")
	if r.code != exitOK || !strings.Contains(r.stderr, "0 found and reattached, 1 not found") || looks.Load() != 2 {
		t.Fatalf("exit %d, %d looks, stderr:\n%s", r.code, looks.Load(), r.stderr)
	}
	if res := readResults(t, out); res[1].RequestID != id {
		t.Errorf("line 1 finished as %s, want %s, found at the second look", res[1].RequestID, id)
	}
	wantRuns(t, "at the end", app, map[int]int{1: 1})
}

// TestBatchWaitsForTheBound: with the default wait, an input whose submit
// started a moment ago is not submitted again at once: falgo says when it
// looks again, and a Ctrl-C meanwhile leaves it uncertain.
func TestBatchWaitsForTheBound(t *testing.T) {
	app := &countingApp{runs: map[int]int{}}
	startFal(t, faltest.WithApp("test/count", app.handler))
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	writeLines(t, in, "", `{"n":1}`, `{"n":2}`)
	writeLines(t, out+".journal", "", journalHeader, intent(1, `{"n":1}`, time.Now()))
	stderr := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan cliResult, 1)
	go func() { done <- cliRun{ctx: ctx, stderr: stderr}.run(t, "batch", "test/count", in, "-o", out) }()
	waitFor(t, "the announcement of the second look", func() bool { return strings.Contains(stderr.String(), "looks for 1 input again at") })
	// Line 2 is not held up by line 1's wait.
	waitFor(t, "line 2's result", func() bool { return lineCount(out) == 1 })
	cancel()
	r := await(t, done)
	if r.code != exitInterrupted {
		t.Errorf("exit %d, want %d; stderr:\n%s", r.code, exitInterrupted, r.stderr)
	}
	if u := readUncertain(t, out+".uncertain"); !strings.Contains(u[1].Reason, "stopped before its second look") {
		t.Errorf("uncertain %+v", u)
	}
	wantRuns(t, "at the end", app, map[int]int{2: 1})
}

// TestBatchKeepsUncertainWhatTheHistoryCannotSettle: a request without
// its input in the window (payload storage off) could be the uncertain
// input; an intent 31 days old is past the history's payloads; both stay
// uncertain, with the reason, until --resubmit-uncertain.
func TestBatchKeepsUncertainWhatTheHistoryCannotSettle(t *testing.T) {
	app := &countingApp{runs: map[int]int{}}
	srv := startFal(t, faltest.WithApp("test/count", app.handler))
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	writeLines(t, in, "", `{"n":1}`, `{"n":2}`)
	submitDirect(t, srv, "test/count", `{"n":9}`, fal.WithoutPayloadStorage())
	writeLines(t, out+".journal", "", journalHeader, intent(1, `{"n":1}`, time.Now().Add(-time.Minute)), intent(2, `{"n":2}`, time.Now().Add(-31*24*time.Hour)))
	args := []string{"batch", "test/count", in, "-o", out, "--reconcile-wait", "0s"}
	r := runCLI(t, args...)
	if r.code != exitUncertain || !strings.Contains(r.stderr, "1 that the history cannot settle") || !strings.Contains(r.stderr, "without their input") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	u := readUncertain(t, out+".uncertain")
	if !strings.Contains(u[1].Reason, "X-Fal-Store-IO: 0") || !strings.Contains(u[2].Reason, "more than 30 days ago") {
		t.Errorf("uncertain %+v", u)
	}
	wantRuns(t, "uncertain", app, map[int]int{9: 1})
	r = runCLI(t, append(args, "--resubmit-uncertain")...)
	if r.code != exitOK {
		t.Fatalf("--resubmit-uncertain: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	wantRuns(t, "resubmitted", app, map[int]int{1: 1, 2: 1, 9: 1})
}

// TestBatchEstimateSubmitsNothing: --estimate prints the cost of every
// input line and exits 0, with no request to the model API and no file
// written: at the unit price for an app billed per request, at the
// historical price per call for one billed per megapixel.
func TestBatchEstimateSubmitsNothing(t *testing.T) {
	srv := startFal(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeLines(t, in, "", `{"prompt":"a"}`, ``, `{"prompt":"b","num_images":2}`, `{"prompt":"c"}`)
	submits := func() int { st := srv.Stats(); return st.Requests["submit"] + st.Requests["run"] }

	var v estimateView
	r := runCLI(t, "batch", faltest.DemoEcho, in, "--estimate")
	mustExit(t, "echo --estimate", r, exitOK)
	decodeOut(t, "echo --estimate", r, &v)
	if v.EstimateType != "unit_price" || v.Inputs != 3 || v.UnitQuantity != "3" || v.Unit != "requests" || !strings.Contains(v.Basis, "one requests per call") {
		t.Errorf("echo: %+v", v)
	}
	sameNumber(t, "echo's estimate", v.TotalCost, new(big.Rat).Mul(big.NewRat(3, 1), rat(t, echoPrice)))

	r = runCLI(t, "batch", faltest.DemoFastSDXL, in, "--estimate")
	mustExit(t, "fast-sdxl --estimate", r, exitOK)
	decodeOut(t, "fast-sdxl --estimate", r, &v)
	if v.EstimateType != "unit_price" || v.UnitQuantity != "4" || !strings.Contains(v.Basis, "num_images") {
		t.Errorf("fast-sdxl (per image, 1+2+1 images): %+v", v)
	}

	r = runCLI(t, "batch", faltest.DemoFluxSchnell, in, "--estimate")
	mustExit(t, "schnell --estimate", r, exitOK)
	decodeOut(t, "schnell --estimate", r, &v)
	if v.EstimateType != "historical_api_price" || v.CallQuantity != 3 || !strings.Contains(v.Basis, "megapixels") || !strings.Contains(r.stderr, "nothing was submitted") {
		t.Errorf("schnell: %+v, stderr %s", v, r.stderr)
	}
	// No run yet: faltest's historical price per call is one unit.
	sameNumber(t, "schnell's estimate", v.TotalCost, new(big.Rat).Mul(big.NewRat(3, 1), rat(t, schnellPrice)))

	tty := ttyCLI(t, "batch", faltest.DemoFluxSchnell, in, "--estimate")
	if row := tableRow(t, tty.stdout, faltest.DemoFluxSchnell); row[1] != "3" || row[2] != "3 calls" || row[3] != "historical_api_price" || row[4] != "$0.009" ||
		!strings.Contains(tty.stdout, "historical_api_price: ") {
		t.Errorf("the estimate table:\n%s", tty.stdout)
	}
	if n := submits(); n != 0 {
		t.Errorf("--estimate sent %d requests to the model API", n)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("--estimate wrote files: %v", entries)
	}
}

// TestBatchRefusesBadLines: one input line that fails the schema refuses
// the whole batch, naming the lines, before anything is submitted.
func TestBatchRefusesBadLines(t *testing.T) {
	srv := startFal(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeLines(t, in, "", `{"prompt":"a"}`, `{"promt":"b"}`, `{"prompt":"c","num_images":9}`, `{"prompt":"d"}`)
	r := runCLI(t, "batch", faltest.DemoFluxSchnell, in)
	if r.code != exitUsage || !strings.Contains(r.stderr, "2 input lines of 4 in "+in+" do not match the schema of fal-ai/flux/schnell, so nothing was submitted") ||
		!strings.Contains(r.stderr, `line 2 (prompt: missing required field "prompt" (string); promt: unknown field "promt"; did you mean "prompt"?)`) ||
		!strings.Contains(r.stderr, "line 3 (num_images: must be <= 4, got 9)") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if st := srv.Stats(); st.Requests["submit"] != 0 {
		t.Errorf("%d submits", st.Requests["submit"])
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a refused batch wrote files: %v", entries)
	}
	// --no-validate: every line is submitted, and the app refuses two.
	r = runCLI(t, "batch", faltest.DemoFluxSchnell, in, "--no-validate")
	res := readResults(t, filepath.Join(dir, "in.results.jsonl"))
	if r.code != exitError || len(res) != 4 || res[1].Output == nil || res[2].Error == nil || res[3].Error == nil || res[4].Output == nil {
		t.Errorf("--no-validate: exit %d, results %+v", r.code, res)
	}
}

func TestCanonicalJSON(t *testing.T) {
	same := [][]string{
		{`{"a":1,"b":"x"}`, `{ "b" : "x", "a" : 1 }`, `{"b":"\u0078","a":1.0}`, `{"a":1e0,"b":"x"}`},
		{`{"p":"<&>"}`, `{"p":"\u003c\u0026\u003e"}`},
		{`[0.1, -0, 100]`, `[0.10, 0, 1e2]`, `[1e-1, -0.0, 100.0]`},
		{`{"seed":123456789012345678901}`, `{ "seed" : 123456789012345678901 }`},
	}
	for _, group := range same {
		want, err := canonicalSum([]byte(group[0]))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range group[1:] {
			if got, err := canonicalSum([]byte(s)); err != nil || got != want {
				t.Errorf("%s and %s differ (%v)", group[0], s, err)
			}
		}
	}
	differ := [][2]string{
		{`{"a":1}`, `{"a":"1"}`},
		{`{"seed":123456789012345678901}`, `{"seed":123456789012345678902}`},
		{`{"a":[1,2]}`, `{"a":[2,1]}`},
		{`{"a":null}`, `{}`},
		{`{"a":0.1}`, `{"a":0.10000001}`},
	}
	for _, d := range differ {
		a, _ := canonicalSum([]byte(d[0]))
		b, _ := canonicalSum([]byte(d[1]))
		if a == b {
			t.Errorf("%s and %s hash the same", d[0], d[1])
		}
	}
	if c, _ := canonicalJSON([]byte(`{"b":[1.50,{"d":true,"c":null}],"a":"é"}`)); string(c) != `{"a":"é","b":[1.5,{"c":null,"d":true}]}` {
		t.Errorf("canonical form %s", c)
	}
	for _, bad := range []string{``, `{`, `{} {}`} {
		if _, err := canonicalJSON([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestMoneyIsExact(t *testing.T) {
	cases := []struct{ units, price, want string }{
		{"1.05", "0.003", "0.00315"},
		{"3", "0.1", "0.3"},
		{"0.1", "0.2", "0.02"},
		{"1000000", "0.000001", "1"},
		{"2.5", "0.025", "0.0625"},
	}
	for _, c := range cases {
		u, _ := decimal(c.units)
		p, _ := decimal(c.price)
		if got := formatDecimal(new(big.Rat).Mul(u, p)); got != c.want {
			t.Errorf("%s × %s = %s, want %s", c.units, c.price, got, c.want)
		}
	}
	var tot moneyTotals
	for i := 0; i < 10; i++ {
		tot.add("0.1", "USD")
	}
	tot.add("0.5", "EUR")
	if got := tot.String(); got != "0.5 EUR + $1" {
		t.Errorf("totals %q", got)
	}
	if _, s := unitsDecimal(1.05); s != "1.05" {
		t.Errorf("units 1.05 print as %s", s)
	}
	if got := formatDecimal(big.NewRat(1, 3)); got != "0.333333333333" {
		t.Errorf("1/3 = %s", got)
	}
}
