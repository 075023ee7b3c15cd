package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	fal "github.com/falgo/fal"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// batchOptions holds the flags of `falgo batch`.
type batchOptions struct {
	output            string
	concurrency       int
	retryFailed       bool
	resubmitUncertain bool
	salvageJournal    bool
	noValidate        bool
	estimate          bool
	reconcileWait     time.Duration
	save              string // --save: the directory the outputs' files go to
}

// Batch limits.
const (
	defaultBatchConcurrency = 8
	maxBatchConcurrency     = 256
)

// newBatchCmd builds `falgo batch`.
func newBatchCmd(c *cli) *cobra.Command {
	var o batchOptions
	cmd := &cobra.Command{
		Use:   "batch APP INPUTS.jsonl [-o RESULTS.jsonl] [-c N]",
		Short: "Run an app on every line of a JSONL file, resumably",
		Long: `Run an app on every input of INPUTS.jsonl (one JSON object per line; blank
lines are skipped) through fal's queue, at most -c requests at a time, and
write one line per input to the results file (default: INPUTS.results.jsonl),
in the order they finish:

  {"line": 3, "request_id": "…", "output": {…}}
  {"line": 4, "request_id": "…", "error": {"message": "…", "type": "…", "status": 422, "fields": [{"field": "prompt", "message": "field required"}]}}

"line" is the input's line number in INPUTS.jsonl. Sort with jq -s 'sort_by(.line)'.

What is guaranteed, whatever stops falgo (Ctrl-C, --timeout, a crash,
kill -9, a power cut), when you run the same command again until it is done:
no input is executed twice by falgo, and every input ends with exactly one
result line, or is reported as uncertain.

How: a journal (RESULTS.jsonl.journal) records, synced to disk, that an input
is about to be submitted before the submit starts, then the request id fal
answers with, then the outcome. A rerun skips inputs with a result,
reattaches to requests with a request id (their jobs kept running on fal;
Ctrl-C never cancels them) and submits inputs never submitted.

An input whose submit was under way when falgo stopped, or whose submit
failed without saying whether fal queued it, is uncertain: fal may be
running it. A rerun looks it up in fal's request history (the app's requests
since the submit started, less 10 minutes for clock skew, with their inputs,
compared by a hash of their canonical JSON): found, falgo reattaches to that
request; not found, it looks again once the submit is --reconcile-wait old
(default 5m; a request still waiting in fal's queue may not be listed yet)
and only then submits the input again. When the history cannot settle it
(it cannot be read with this key, fal's Platform API is down, a request in
the window was made without payload storage so its input is unknown, or the
submit is over 30 days old), the input stays uncertain: it is not submitted
again, it is reported on stderr and listed in RESULTS.jsonl.uncertain
({"line", "input_sha256", "submitted_at", "reason"}), and the batch exits
with 5. --resubmit-uncertain submits those again, knowing that each may then
run twice (inputs found in the history are still reattached, and inputs not
found are submitted without the wait).

Inputs that failed stay failed until you rerun with --retry-failed, which
submits them again and replaces their result lines. The journal is deleted
once every input has a result. A journal damaged in the middle (not just a
last line cut by a crash, which is dropped) stops the batch before anything
is submitted, naming the line; --salvage-journal goes on without
resubmitting anything that could be in flight: every input with neither a
result nor a request id becomes uncertain.

Progress goes to stderr: a bar with done / failed / in flight on a terminal;
otherwise a line per failed input. At the end, what the run billed.

--save DIR downloads the files of each output as its result arrives, named
by the input's line and the file's index in the output: line3-0.png,
line3-1.png, ... (a name taken gets -2, -3, ...). DIR is checked before
anything is submitted.

With --local, the demo server lives inside this falgo process: requests an
earlier run left in flight died with that process, so a rerun submits those
inputs again (and says so) instead of reattaching to them.

A batch that stops before anything was submitted (no credentials, a bad
key) leaves no results file and no journal behind.

Every input line is checked against the app's schema before anything is
submitted: one bad line refuses the whole batch (exit 2), naming the lines
(see the input check below; --no-validate skips it).

--estimate prints what the batch would cost and exits (0) without
submitting anything or writing any file. It estimates every input line,
including those an earlier run finished, with fal's estimate endpoint: at
the unit price when the units are known from the inputs (an app billed per
request: one per input; per image: num_images of each input, else the
schema's default, else 1), otherwise at fal's historical average cost per
call of the app times the number of inputs (units such as megapixels,
seconds or tokens depend on what each request makes). It says which, and
why; fal bills what each request really uses, so the cost can differ.

Exit codes:
  0    every input succeeded
  1    some inputs failed (their errors are in the results file), or could
       not be completed (a rerun picks them up), or the batch cannot start
  2    the command line or the inputs file is wrong, or an input fails the
       app's schema
  3    no usable credentials, or fal rejected them
  4    --timeout ran out; a rerun goes on
  5    some inputs are uncertain (listed in RESULTS.jsonl.uncertain)
  130  interrupted by Ctrl-C or SIGTERM; a rerun goes on

` + checkHelp,
		Example: `  falgo batch fal-ai/flux/schnell prompts.jsonl -o images.jsonl -c 16
  falgo batch fal-ai/flux/schnell prompts.jsonl -o images.jsonl --retry-failed
  falgo batch fal-ai/flux/schnell prompts.jsonl --estimate
  jq -r 'select(.output) | .output.images[0].url' images.jsonl`,
		Args:              usageArgs(cobra.ExactArgs(2)),
		ValidArgsFunction: completeBatch,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.batch(cmd.Context(), args[0], args[1], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "results `FILE` (default: INPUTS.results.jsonl next to the inputs)")
	f.IntVarP(&o.concurrency, "concurrency", "c", defaultBatchConcurrency, "requests in flight at once")
	f.BoolVar(&o.retryFailed, "retry-failed", false, "submit the inputs that failed before again")
	f.BoolVar(&o.resubmitUncertain, "resubmit-uncertain", false, "submit the uncertain inputs again, though fal may already be running them (each may run twice)")
	f.BoolVar(&o.salvageJournal, "salvage-journal", false, "go on with a damaged journal: inputs with neither a result nor a request id become uncertain")
	f.BoolVar(&o.noValidate, "no-validate", false, "do not check the inputs against the app's schema before submitting")
	f.BoolVar(&o.estimate, "estimate", false, "print what the batch would cost, and exit without submitting anything")
	f.StringVar(&o.save, "save", "", "download each output's files into `DIR` as results arrive (line<N>-<i>.<ext>)")
	f.DurationVar(&o.reconcileWait, "reconcile-wait", defaultReconcileWait, "how old an uncertain input's submit must be before its absence from fal's request history means it never reached fal")
	return cmd
}

// completeBatch completes the APP argument, then files.
func completeBatch(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return demoApps, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveDefault
}

// defaultResultsPath is INPUTS.results.jsonl beside the inputs file.
func defaultResultsPath(inputs string) string {
	ext := filepath.Ext(inputs)
	if ext == ".jsonl" || ext == ".ndjson" || ext == ".json" {
		return strings.TrimSuffix(inputs, ext) + ".results.jsonl"
	}
	return inputs + ".results.jsonl"
}

// batchTask is one input to run: submitted fresh, or reattached to the
// request the journal recorded for it.
type batchTask struct {
	in        batchInput
	requestID string // non-empty: reattach
}

// batchRun is the state of one `falgo batch`.
type batchRun struct {
	c       *cli
	app     string
	out     string
	opts    batchOptions
	inputs  []batchInput
	results *jsonlFile
	journal *jsonlFile
	jpath   string

	upath string // the uncertain report

	// What the files said when the run started.
	recorded  map[int]resultRecord // the result of each line
	rawResult map[int][]byte       // the result line as written
	state     map[int]lineState    // what the journal says about each line

	mu         sync.Mutex
	total      int
	ok, failed int
	inFlight   int
	left       int   // requests still running on fal when the run stopped
	unfinished int   // inputs whose outcome could not be learned
	lastErr    error // why the last of those was given up on
	fatal      error // stops the run: nothing more is submitted
	uncertain  []uncertainRecord
	bar        *progressbar.ProgressBar

	// reconcile holds the uncertain inputs to look up in fal's request
	// history; knownIDs the request ids the journal and the results
	// already give to an input.
	reconcile []reconcileLine
	knownIDs  map[string]bool
	// billed sums the billable units of the results of this run.
	billed *big.Rat
	// fresh: this run created the results file and the journal;
	// accepted counts the requests fal confirmed in this run. A fresh run
	// that got none removes both files on the way out.
	fresh    bool
	accepted int
	saveErrs int // outputs whose files could not all be saved (--save)
}

// batch is `falgo batch`.
func (c *cli) batch(ctx context.Context, app, inputsPath string, o batchOptions) error {
	if err := checkApp(app); err != nil {
		return err
	}
	if o.concurrency < 1 || o.concurrency > maxBatchConcurrency {
		return usageErrorf("-c %d: the concurrency must be between 1 and %d", o.concurrency, maxBatchConcurrency)
	}
	if o.reconcileWait < 0 {
		return usageErrorf("--reconcile-wait must not be negative")
	}
	inputs, err := readBatchInputs(inputsPath)
	if err != nil {
		return err
	}
	out := o.output
	if out == "" {
		out = defaultResultsPath(inputsPath)
	}
	if sameFile(out, inputsPath) {
		return usageErrorf("-o %s is the inputs file; pick another results file", out)
	}
	if err := checkSaveDir(o.save); err != nil {
		return err
	}
	wctx, stop := c.waitContext(ctx)
	defer stop()

	// One client for the whole command (with --local, one server).
	var cl *fal.Client
	var s *platformSession
	release := func() {}
	defer func() { release() }()
	connect := func() error {
		if cl != nil {
			return nil
		}
		var err error
		if cl, s, release, err = c.connect(); err != nil {
			cl, release = nil, func() {}
		}
		return err
	}
	if !o.noValidate || o.estimate {
		if err := connect(); err != nil {
			return err
		}
		if !o.noValidate {
			if err := s.checkBatch(wctx, app, inputsPath, inputs); err != nil {
				return err
			}
		}
		if o.estimate {
			return c.batchEstimate(wctx, s, app, inputs)
		}
	}

	b := &batchRun{c: c, app: app, out: out, opts: o, inputs: inputs, jpath: out + ".journal", upath: out + ".uncertain", total: len(inputs), billed: new(big.Rat)}
	if err := b.checkFresh(); err != nil {
		return err
	}
	defer b.removeIfUnused()
	results, lines, err := openResults(out)
	if err != nil {
		return err
	}
	b.results = results
	defer func() { b.results.close() }()
	if err := b.loadResults(lines); err != nil {
		return err
	}
	journal, jlines, err := openJSONL(b.jpath)
	if err != nil {
		return err
	}
	b.journal = journal
	journalOpen := true
	defer func() {
		if journalOpen {
			b.journal.close()
		}
	}()
	if err := b.loadJournal(jlines); err != nil {
		return err
	}
	tasks, err := b.plan()
	if err != nil {
		return err
	}

	if len(tasks) > 0 || len(b.reconcile) > 0 {
		if err := connect(); err != nil {
			return err
		}
		var feed <-chan batchTask
		if len(b.reconcile) > 0 {
			r := &reconciler{b: b, s: s, wait: o.reconcileWait, known: b.knownIDs, claimed: map[string]bool{}, now: time.Now}
			if c.g.local {
				// The server is this command's: nothing of an earlier run
				// can still arrive.
				r.wait = 0
			}
			found, later := r.reconcile(wctx, b.reconcile)
			tasks = append(found, tasks...)
			feed = later
		}
		if len(tasks) > 0 || feed != nil {
			b.execute(wctx, cl, tasks, feed)
		}
	}

	if err := writeUncertain(b.upath, b.uncertain); err != nil {
		c.con.errorf("falgo: could not write the uncertain inputs to %s: %v", b.upath, err)
	}
	if b.ok+b.failed == b.total {
		// Every input has its result: the journal has served its purpose.
		b.journal.close()
		journalOpen = false
		if err := os.Remove(b.jpath); err != nil && !errors.Is(err, os.ErrNotExist) {
			c.con.errorf("falgo: could not delete the journal %s: %v", b.jpath, err)
		}
		syncDir(filepath.Dir(b.jpath))
	}
	if b.billed.Sign() > 0 && s != nil {
		s.reportUnits(context.WithoutCancel(ctx), app, "this run billed", b.billed)
	}
	return b.outcome(wctx)
}

// sameFile reports whether two paths name the same existing file.
func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// loadResults reads the results written by earlier runs.
func (b *batchRun) loadResults(lines [][]byte) error {
	b.recorded = map[int]resultRecord{}
	b.rawResult = map[int][]byte{}
	if b.knownIDs == nil {
		b.knownIDs = map[string]bool{}
	}
	isInput := b.inputLines()
	for i, l := range lines {
		if len(l) == 0 {
			continue
		}
		var r resultRecord
		if err := json.Unmarshal(l, &r); err != nil || r.Line <= 0 {
			return codedErrorf(exitError, "%s line %d is not a falgo batch result; use another -o, or move the file away", b.out, i+1)
		}
		if !isInput[r.Line] {
			return codedErrorf(exitError, "%s has a result for line %d, which is not an input line of this inputs file; was it written for another file? Use another -o", b.out, r.Line)
		}
		if _, dup := b.recorded[r.Line]; dup {
			return codedErrorf(exitError, "%s has two results for input line %d; it was edited by hand or written for another file: use another -o", b.out, r.Line)
		}
		b.recorded[r.Line] = r
		b.rawResult[r.Line] = l
		if r.RequestID != "" {
			b.knownIDs[r.RequestID] = true
		}
	}
	return nil
}

// loadJournal reads what earlier runs recorded, writing the header if the
// journal is new, and checks that it fits this batch.
func (b *batchRun) loadJournal(lines [][]byte) error {
	b.state = map[int]lineState{}
	head, recs, damage := parseJournal(lines)
	if head.Version == 0 && len(damage) == 0 {
		return b.journal.append(journalRecord{Version: journalVersion, App: b.app})
	}
	if head.Version == 0 {
		return codedErrorf(exitError, "%s is not a falgo batch journal; use another -o (if it is a damaged journal, restore it from a backup: without it falgo cannot tell which inputs are in flight)", b.jpath)
	}
	if head.Version != 1 && head.Version != journalVersion {
		return codedErrorf(exitError, "%s was written by another version of falgo (journal format %d); finish that batch with it, or use another -o", b.jpath, head.Version)
	}
	if head.App != b.app {
		return codedErrorf(exitError, "%s belongs to a batch of %s, not %s; run that app to finish it, or use another -o", b.jpath, head.App, b.app)
	}
	if b.knownIDs == nil {
		b.knownIDs = map[string]bool{}
	}
	for _, e := range recs {
		s := b.state[e.Line]
		s.apply(e)
		b.state[e.Line] = s
		if e.RequestID != "" {
			b.knownIDs[e.RequestID] = true
		}
	}
	if len(damage) > 0 {
		affected := b.unresolved()
		if !b.opts.salvageJournal {
			return b.damageError(damage, len(affected))
		}
		return b.salvage(head, recs, damage, affected)
	}
	if head.Version == 1 {
		// Upgrade, so that no older falgo reads the new records as damage.
		return b.rewriteJournal(recs, nil)
	}
	sums := map[int]string{}
	for _, in := range b.inputs {
		sums[in.line] = in.sum
	}
	for line, st := range b.state {
		if _, done := b.recorded[line]; done || !st.mayHaveRun() {
			continue
		}
		what := "it was submitted"
		if st.requestID != "" {
			what = "request " + st.requestID + " was submitted for it"
		}
		sum, ok := sums[line]
		if !ok {
			return codedErrorf(exitError, "line %d is no longer an input line, but %s; restore the inputs file, or use another -o for a fresh batch", line, what)
		}
		if sum != st.sum {
			return codedErrorf(exitError, "input line %d changed since %s; restore the line, or use another -o for a fresh batch", line, what)
		}
	}
	return nil
}

// unresolved lists the input lines with neither a result nor a request id:
// the ones a damaged journal line may have been about.
func (b *batchRun) unresolved() []batchInput {
	var out []batchInput
	for _, in := range b.inputs {
		if _, done := b.recorded[in.line]; done {
			continue
		}
		if b.state[in.line].requestID == "" {
			out = append(out, in)
		}
	}
	return out
}

// salvage goes on with a damaged journal (--salvage-journal): the journal
// is rewritten without the damaged lines, and every input a damaged line
// may have been about is recorded as unconfirmed, so it stays uncertain in
// every later run until --resubmit-uncertain.
func (b *batchRun) salvage(head journalRecord, recs []journalRecord, damage []journalDamage, affected []batchInput) error {
	why := fmt.Sprintf("the journal was damaged at line %d and salvaged: falgo cannot tell whether this input was submitted", damage[0].line)
	var marks []journalRecord
	for _, in := range affected {
		marks = append(marks, journalRecord{Line: in.line, Event: evUnconfirmed, InputSum: in.sum, Error: why, At: now()})
	}
	if err := b.rewriteJournal(recs, marks); err != nil {
		return fmt.Errorf("salvaging %s: %w", b.jpath, err)
	}
	for _, e := range marks {
		s := b.state[e.Line]
		s.apply(e)
		b.state[e.Line] = s
	}
	b.c.con.errorf("falgo: salvaged %s: dropped %s; %s with neither a result nor a request id now uncertain", b.jpath, plural(len(damage), "damaged line"), plural(len(affected), "input"))
	return nil
}

// rewriteJournal replaces the journal with the current header, recs and
// extra, atomically.
func (b *batchRun) rewriteJournal(recs, extra []journalRecord) error {
	all := append([]journalRecord{{Version: journalVersion, App: b.app}}, recs...)
	all = append(all, extra...)
	lines := make([][]byte, 0, len(all))
	for _, e := range all {
		l, err := marshalJSON(e)
		if err != nil {
			return err
		}
		lines = append(lines, l)
	}
	return b.journal.rewrite(lines)
}

// inputLines is the set of line numbers that hold inputs.
func (b *batchRun) inputLines() map[int]bool {
	m := make(map[int]bool, len(b.inputs))
	for _, in := range b.inputs {
		m[in.line] = true
	}
	return m
}

// plan decides what to do with each input, counts those already done and,
// for --retry-failed, removes the old results of the inputs it retries.
func (b *batchRun) plan() ([]batchTask, error) {
	var reattach, submit []batchTask
	retry := map[int]bool{}
	gone := 0 // --local requests of an earlier process
	for _, in := range b.inputs {
		rec, has := b.recorded[in.line]
		switch {
		case has && rec.Error == nil:
			b.ok++
		case has && !b.opts.retryFailed:
			b.failed++
		case has:
			retry[in.line] = true
			submit = append(submit, batchTask{in: in})
		default:
			st := b.state[in.line]
			switch {
			case st.uncertain():
				b.reconcile = append(b.reconcile, reconcileLine{in: in, st: st, sum: cmp.Or(st.jsonSum, in.jsonSum)})
			case st.requestID != "" && b.c.g.local:
				// That request was on the demo server of an earlier falgo
				// process, and died with it.
				gone++
				submit = append(submit, batchTask{in: in})
			case st.requestID != "":
				reattach = append(reattach, batchTask{in: in, requestID: st.requestID})
			default:
				submit = append(submit, batchTask{in: in})
			}
		}
	}
	if len(retry) > 0 {
		var keep [][]byte
		lines := make([]int, 0, len(b.rawResult))
		for line := range b.rawResult {
			lines = append(lines, line)
		}
		sort.Ints(lines)
		for _, line := range lines {
			if !retry[line] {
				keep = append(keep, b.rawResult[line])
			}
		}
		if err := b.results.rewrite(keep); err != nil {
			return nil, fmt.Errorf("removing the failed results from %s: %w", b.out, err)
		}
	}
	b.c.con.errorf("falgo: batch of %d inputs for %s: %d done before, %d to reattach, %d to submit%s%s",
		b.total, b.app, b.ok+b.failed, len(reattach), len(submit), retryNote(len(retry)), b.uncertainNote())
	if gone > 0 {
		b.c.con.errorf("falgo: %s of an earlier run ran on that run's --local server, which stopped with its falgo process: they are gone, so their inputs are submitted again", plural(gone, "request"))
	}
	// Reattached requests first: they have been running the longest.
	return append(reattach, submit...), nil
}

// retryNote describes the --retry-failed part of the plan.
func retryNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d failed before, retried)", n)
}

// uncertainNote describes the uncertain inputs of the plan.
func (b *batchRun) uncertainNote() string {
	if n := len(b.reconcile); n > 0 {
		return fmt.Sprintf(", %d uncertain to look up in fal's request history", n)
	}
	return ""
}

// execute runs the tasks, then those that arrive on feed (if not nil)
// until it is closed, at most opts.concurrency at a time, until all are
// done, ctx ends (Ctrl-C, --timeout) or a fatal error stops the run. It
// reads feed to its end whatever happens.
func (b *batchRun) execute(ctx context.Context, cl *fal.Client, tasks []batchTask, feed <-chan batchTask) {
	if b.c.con.stderrTTY {
		b.bar = b.newBar()
	}
	sem := make(chan struct{}, b.opts.concurrency)
	var wg sync.WaitGroup
	var undispatched []batchTask
	dispatch := func(t batchTask) {
		if ctx.Err() == nil && !b.stopped() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil || b.stopped() {
			undispatched = append(undispatched, t)
			return
		}
		b.update(func() { b.inFlight++ })
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			b.work(ctx, cl, t)
		}()
	}
	for _, t := range tasks {
		dispatch(t)
	}
	if feed != nil {
		for t := range feed {
			dispatch(t)
		}
	}
	wg.Wait()
	// Reattachments never started are still running on fal too.
	for _, t := range undispatched {
		if t.requestID != "" {
			b.left++
		}
	}
	if b.bar != nil && b.ok+b.failed < b.total {
		_ = b.bar.Exit()
		fmt.Fprintln(b.c.con.stderr)
	}
}

// work runs one task: journal the intent, submit (unless reattaching),
// journal the request id, wait, record the result.
func (b *batchRun) work(ctx context.Context, cl *fal.Client, t batchTask) {
	id := t.requestID
	if id == "" {
		if ctx.Err() != nil || b.stopped() {
			b.update(func() { b.inFlight-- }) // not started: the next run submits it
			return
		}
		// The intent is on disk before the submit starts: if falgo dies
		// before the request id is recorded, the next run knows the input
		// may have been queued and does not submit it again.
		at := now()
		if err := b.journal.append(journalRecord{Line: t.in.line, Event: evSubmitting, InputSum: t.in.sum, JSONSum: t.in.jsonSum, At: at}); err != nil {
			b.stop(fmt.Errorf("cannot record in the journal that input line %d is about to be submitted, so it was not: %w", t.in.line, err))
			b.update(func() { b.inFlight-- })
			return
		}
		// A submission under way is not cut short by Ctrl-C: cut, it could
		// be accepted by fal without falgo learning the id.
		h, err := submitSafely(ctx, cl, b.app, t.in.data)
		if err != nil {
			b.submitFailed(t, at, err)
			return
		}
		id = h.RequestID
		b.update(func() { b.accepted++ })
		if err := b.journal.append(journalRecord{Line: t.in.line, Event: evAccepted, InputSum: t.in.sum, RequestID: id, At: now()}); err != nil {
			// The request runs; its result can still be recorded below, but
			// nothing more is submitted without a journal to resume from.
			// Should falgo stop first, the input is uncertain on the rerun.
			b.stop(fmt.Errorf("cannot record request %s in the journal: %w", id, err))
		}
	}
	h, err := cl.Handle(b.app, id)
	if err != nil {
		b.record(t, resultRecord{Line: t.in.line, RequestID: id, Error: &resultError{Message: "the journal holds an invalid request id: " + oneLine(err.Error())}})
		return
	}
	res, err := h.Result(ctx)
	if err == nil {
		b.addBilled(res.BillableUnits)
	} else if he := (*fal.HTTPError)(nil); errors.As(err, &he) {
		b.addBilled(he.BillableUnits)
	}
	switch {
	case err == nil:
		b.record(t, resultRecord{Line: t.in.line, RequestID: id, Output: res.Data})
		b.save(ctx, cl, t.in.line, res.Data)
	case ctx.Err() != nil:
		// Ctrl-C or --timeout: the request keeps running on fal, and the
		// journal holds its id for the next run.
		b.update(func() { b.inFlight--; b.left++ })
	case errors.As(err, new(*fal.RequestError)):
		b.record(t, resultRecord{Line: t.in.line, RequestID: id, Error: failure(err)})
	case isFatal(err):
		b.stop(err)
		b.update(func() { b.inFlight--; b.left++ })
	case requestNotFound(err):
		b.record(t, resultRecord{Line: t.in.line, RequestID: id, Error: &resultError{
			Message: "fal no longer knows this request (its result expired, or it ran on another server); rerun with --retry-failed to submit the input again",
			Status:  http.StatusNotFound,
		}})
	default:
		b.update(func() { b.inFlight--; b.unfinished++; b.lastErr = err })
	}
}

// submitFailed handles a submit, started at at, that returned no request
// id.
func (b *batchRun) submitFailed(t batchTask, at string, err error) {
	if isFatal(err) {
		b.stop(err)
	}
	switch judgeSubmit(err) {
	case refused:
		// The queue refused this input for good (e.g. 422): a result.
		b.record(t, resultRecord{Line: t.in.line, Error: failure(err)})
	case notQueued:
		// fal did not queue it: the next run submits it again.
		b.note(journalRecord{Line: t.in.line, Event: evNotAccepted, InputSum: t.in.sum, Error: oneLine(err.Error()), At: now()})
		b.update(func() { b.inFlight--; b.unfinished++; b.lastErr = err })
	default:
		// fal may have queued it: uncertain, now and in every later run.
		why := "the submit failed without telling whether fal queued the input: " + oneLine(err.Error())
		b.note(journalRecord{Line: t.in.line, Event: evUnconfirmed, InputSum: t.in.sum, Error: why, At: now()})
		b.update(func() {
			b.inFlight--
			b.uncertain = append(b.uncertain, uncertainRecord{Line: t.in.line, InputSum: t.in.sum, SubmittedAt: at, Reason: why})
		})
		if !b.c.con.stderrTTY {
			b.c.con.errorf("falgo: line %d is uncertain: %s", t.in.line, why)
		}
	}
}

// addBilled adds the billable units of one result to the run's sum.
func (b *batchRun) addBilled(units float64) {
	r, _, ok := billableUnits(units)
	if !ok {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.billed.Add(b.billed, r)
}

// note appends a record to the journal; a journal that cannot be written
// stops the run.
func (b *batchRun) note(e journalRecord) {
	if err := b.journal.append(e); err != nil {
		b.stop(fmt.Errorf("cannot write the journal: %w", err))
	}
}

// record writes a result line, journals the outcome and counts it.
func (b *batchRun) record(t batchTask, r resultRecord) {
	if err := b.results.append(r); err != nil {
		b.stop(err)
		b.update(func() { b.inFlight--; b.unfinished++; b.lastErr = err })
		return
	}
	outcome := "succeeded"
	if r.Error != nil {
		outcome = "failed"
	}
	b.note(journalRecord{Line: t.in.line, Event: evDone, RequestID: r.RequestID, Outcome: outcome, At: now()})
	b.update(func() {
		b.inFlight--
		if r.Error == nil {
			b.ok++
		} else {
			b.failed++
		}
	})
	if r.Error != nil && !b.c.con.stderrTTY {
		id := ""
		if r.RequestID != "" {
			id = " (request " + r.RequestID + ")"
		}
		b.c.con.errorf("falgo: line %d failed%s: %s", t.in.line, id, r.Error.Message)
	}
}

// update changes the counters under the lock and redraws the bar.
func (b *batchRun) update(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
	if b.bar != nil {
		b.drawLocked()
	}
}

// drawLocked shows the counters and the count on the bar. Describe draws
// a frame with the old count, then Set one with both new: the bar is not
// throttled, so that second frame is always drawn and stays on screen.
func (b *batchRun) drawLocked() {
	b.bar.Describe(b.describeLocked())
	_ = b.bar.Set(b.ok + b.failed)
}

// newBar is the batch's progress bar on stderr, already at the inputs
// done before. It is redrawn on every change, not throttled: a throttled
// bar skips frames, and a skipped frame could leave the count of one
// change beside the counters of another.
func (b *batchRun) newBar() *progressbar.ProgressBar {
	bar := progressbar.NewOptions(b.total,
		progressbar.OptionSetWriter(b.c.con.stderr),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionEnableColorCodes(false),
		progressbar.OptionSetDescription(b.describe()),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.c.con.stderr) }),
	)
	_ = bar.Set(b.ok + b.failed)
	return bar
}

// describe is the bar's description.
func (b *batchRun) describe() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.describeLocked()
}

func (b *batchRun) describeLocked() string {
	return fmt.Sprintf("%d done · %d failed · %d in flight", b.ok, b.failed, b.inFlight)
}

// stop records a fatal error; nothing more is submitted.
func (b *batchRun) stop(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fatal == nil {
		b.fatal = err
	}
}

// stopped reports whether a fatal error stopped the run.
func (b *batchRun) stopped() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fatal != nil
}

// outcome prints the summary and returns the error that sets the exit
// code: nil only if every input succeeded.
func (b *batchRun) outcome(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	summary := fmt.Sprintf("falgo: batch: %d inputs: %d succeeded, %d failed", b.total, b.ok, b.failed)
	if n := len(b.uncertain); n > 0 {
		summary += fmt.Sprintf(", %d uncertain", n)
	}
	if pending := b.total - b.ok - b.failed - len(b.uncertain); pending > 0 {
		summary += fmt.Sprintf(", %d not finished", pending)
	}
	b.c.con.errorf("%s; results in %s", summary, b.out)
	if n := len(b.uncertain); n > 0 {
		them := pick(n, "it", "them")
		b.c.con.errorf("falgo: %s uncertain: falgo submitted %s but never learned whether fal queued %s (input %s %s); listed in %s. falgo does not submit %s again on its own: check fal's request history, or rerun with --resubmit-uncertain to submit %s again, knowing %s may then run twice",
			pick(n, "1 input is", fmt.Sprintf("%d inputs are", n)), them, them, pick(n, "line", "lines"), b.uncertainLines(), b.upath, them, them, pick(n, "it", "each"))
	}

	again := "run the same command again to collect them (nothing is submitted twice)"
	running := plural(b.left, "request") + " keep running on fal"
	if b.c.g.local {
		running = plural(b.left, "request") + " were on the --local server, which stopped with falgo"
		again = "a rerun with --local submits them again"
	}
	switch {
	case b.fatal != nil:
		return b.fatal
	case timedOut(ctx) && b.left > 0:
		return codedErrorf(exitTimeout, "gave up after %v (--timeout); %s: %s", b.c.g.timeout, running, again)
	case timedOut(ctx):
		return codedErrorf(exitTimeout, "gave up after %v (--timeout); run the same command again to continue", b.c.g.timeout)
	case ctx.Err() != nil && b.left > 0:
		return codedErrorf(exitInterrupted, "interrupted; %s: %s", running, again)
	case ctx.Err() != nil:
		return codedErrorf(exitInterrupted, "interrupted; run the same command again to continue")
	case len(b.uncertain) > 0:
		n := len(b.uncertain)
		return codedErrorf(exitUncertain, "%s uncertain (listed in %s; --resubmit-uncertain submits %s again)%s", pick(n, "1 input is", fmt.Sprintf("%d inputs are", n)), b.upath, pick(n, "it", "them"), b.alsoNote())
	case b.unfinished > 0:
		return codedErrorf(exitError, "%s could not be completed (last error: %s); run the same command again to pick them up", plural(b.unfinished, "input"), oneLine(b.lastErr.Error()))
	case b.failed > 0:
		return codedErrorf(exitError, "%d of %d inputs failed; their errors are in %s; rerun with --retry-failed to submit them again", b.failed, b.total, b.out)
	case b.saveErrs > 0:
		return codedErrorf(exitError, "the files of %s could not be saved into %s (see the lines above); the results are in %s", plural(b.saveErrs, "output"), b.opts.save, b.out)
	}
	return nil
}

// exists reports whether path names something on disk.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// checkFresh notes whether this run starts the batch (no results file,
// no journal) and, if so, that there are credentials to start it with:
// without them it stops before any file is created.
func (b *batchRun) checkFresh() error {
	b.fresh = !exists(b.out) && !exists(b.jpath)
	if !b.fresh || b.c.g.local || b.c.g.keySet {
		return nil
	}
	_, err := fal.FetchCredentials()
	return err
}

// removeIfUnused removes the results file and the journal this run
// created when fal confirmed no request in it: a batch that stopped
// before anything was submitted leaves nothing behind.
func (b *batchRun) removeIfUnused() {
	b.mu.Lock()
	unused := b.fresh && b.accepted == 0 && b.ok+b.failed == 0 && len(b.uncertain) == 0 && b.left == 0
	b.mu.Unlock()
	if !unused {
		return
	}
	// Deferred before the files were opened, this runs after they are
	// closed.
	for _, p := range []string{b.jpath, b.out} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.c.con.errorf("falgo: could not remove %s: %v", p, err)
		}
	}
}

// save downloads the files of line's output into --save's directory,
// named line<N>-<i> by the file's index in the output; a failure is
// reported and counted, the result stays recorded.
func (b *batchRun) save(ctx context.Context, cl *fal.Client, line int, data []byte) {
	if b.opts.save == "" {
		return
	}
	if err := b.c.saveFiles(ctx, cl, b.opts.save, data, func(f fal.File, i, _ int) string {
		if name := plainName(f.FileName); name != "" {
			return fmt.Sprintf("line%d-%s", line, name)
		}
		return fmt.Sprintf("line%d-%d%s", line, i, extensionOf(f))
	}); err != nil {
		b.c.con.errorf("falgo: line %d: %s", line, oneLine(err.Error()))
		b.update(func() { b.saveErrs++ })
	}
}

// alsoNote mentions, after the uncertain inputs, the other inputs without
// a result.
func (b *batchRun) alsoNote() string {
	var parts []string
	if b.unfinished > 0 {
		parts = append(parts, fmt.Sprintf("%s could not be completed (last error: %s): run the same command again to pick them up", plural(b.unfinished, "other input"), oneLine(b.lastErr.Error())))
	}
	if b.failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed (errors in %s)", b.failed, b.out))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, "; ")
}

// uncertainLines lists the uncertain input lines, the first ten of them.
func (b *batchRun) uncertainLines() string {
	lines := make([]int, 0, len(b.uncertain))
	for _, u := range b.uncertain {
		lines = append(lines, u.Line)
	}
	sort.Ints(lines)
	var parts []string
	for i, l := range lines {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(lines)-10))
			break
		}
		parts = append(parts, fmt.Sprint(l))
	}
	return strings.Join(parts, ", ")
}

// pick is one for 1, many otherwise.
func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// plural is "1 input", "2 inputs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// failure describes a failed input for its result line.
func failure(err error) *resultError {
	r := &resultError{Message: oneLine(err.Error())}
	var re *fal.RequestError
	if errors.As(err, &re) {
		r.Type = re.ErrorType
		if re.Message != "" {
			r.Message = oneLine(re.Message)
		}
	}
	var he *fal.HTTPError
	if errors.As(err, &he) {
		r.Status = he.StatusCode
		if r.Type == "" {
			r.Type = he.ErrorType
		}
		if he.Message != "" {
			r.Message = oneLine(he.Message)
		}
		for _, f := range he.FieldErrors {
			r.Fields = append(r.Fields, resultField{Field: f.Field(), Message: f.Msg})
		}
		if len(he.FieldErrors) > 0 {
			r.Message, _ = fieldSummary(he.FieldErrors)
		}
	}
	return r
}

// isFatal reports errors that will fail every request alike: no
// credentials, or credentials fal rejects.
func isFatal(err error) bool {
	if errors.Is(err, fal.ErrMissingCredentials) {
		return true
	}
	st := httpStatus(err)
	return st == http.StatusUnauthorized || st == http.StatusForbidden
}

// httpStatus is the status of the *fal.HTTPError in err, or 0.
func httpStatus(err error) int {
	var he *fal.HTTPError
	if errors.As(err, &he) {
		return he.StatusCode
	}
	return 0
}
