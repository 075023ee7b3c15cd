package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/falgo/fal/platform"
)

// Reconciliation: an input left uncertain by a crash (the journal holds
// the intent to submit it, and no request id) is looked up in fal's
// request history before anything else is decided about it.
//
// What fal's history shows: GET /v1/models/requests/by-endpoint lists an
// app's requests in a time range (start inclusive, end exclusive, by
// default the last 24 hours), newest first, with expand=payloads their
// json_input and json_output, kept for 30 days unless a request was made
// with X-Fal-Store-IO: 0 or its payloads were deleted. What it does not
// say: whether a request still waiting in the queue is listed before it
// starts (faltest lists it at once; fal's documentation shows only
// finished requests, sorted by end time), which timestamp start filters
// on, and how long a request takes to appear. So:
//
//  1. Look: list the app's requests since the intent was journalled, less
//     skewMargin (the journal is dated by this machine's clock, the
//     history by fal's; 10 minutes covers any clock kept by NTP and most
//     that are not), with payloads. A request whose canonical input hash
//     (canonical.go) equals the input's, sent after the intent (less the
//     margin), and not already known to the journal or the results as
//     another line's, is this input's: its request id is journalled
//     ("accepted", "via": "history") and falgo waits for its result as
//     for any request in flight. Each request is claimed by one line only.
//  2. Not found: look again once the intent is at least --reconcile-wait
//     old (default 5 minutes; at once when it already is), so that a
//     request that was still in the queue, or on its way, when the first
//     look was made has had that long to be listed. Only when the second
//     look does not find it either, and the history of the window is known
//     to be complete, is the input journalled "not_accepted" and submitted
//     again.
//  3. The history is not known to be complete, and the input stays
//     uncertain (reported, exit 5), when: it cannot be read (no key, a key
//     without access, fal's Platform API down); a request in the window has
//     no json_input (payload storage off, payloads deleted or expired), as
//     it could be this input; the window holds more than maxHistoryScan
//     requests; the intent is older than historyHorizon (fal may have
//     dropped its payloads); or falgo does not know when the input was
//     submitted (a salvaged journal).
//
// --resubmit-uncertain keeps its meaning for the inputs reconciliation
// cannot settle: they are submitted again, knowingly, without the second
// look's wait. With --local the server is new to this command: nothing of
// an earlier run can still arrive, so there is no wait either.

const (
	// skewMargin widens the window of the history looked at, for the
	// difference between this machine's clock and fal's.
	skewMargin = 10 * time.Minute
	// defaultReconcileWait is how old an intent must be before its
	// absence from the history counts.
	defaultReconcileWait = 5 * time.Minute
	// historyHorizon is how far back the history is trusted to hold
	// every request with its input (fal keeps payloads for 30 days).
	historyHorizon = 30 * 24 * time.Hour
	// maxHistoryScan bounds the requests read per look.
	maxHistoryScan = 20000
	// historyLookTimeout bounds one look.
	historyLookTimeout = 2 * time.Minute
)

// reconcileLine is an uncertain input being reconciled.
type reconcileLine struct {
	in  batchInput
	st  lineState
	at  time.Time // when its submit started, by the journal
	sum string    // its canonical input hash
}

// reconciler looks uncertain inputs up in fal's request history.
type reconciler struct {
	b       *batchRun
	s       *platformSession
	wait    time.Duration
	known   map[string]bool // request ids of the journal and the results
	claimed map[string]bool // request ids given to a line by this run
	now     func() time.Time
}

// historyIndex is one look at the history: the requests by canonical
// input hash, and why the window is not known to be complete, if it is
// not.
type historyIndex struct {
	bySum      map[string][]platform.RequestRecord
	incomplete string
}

// reconcile looks the uncertain inputs up: those found become reattach
// tasks, those the history cannot settle stay uncertain (or, with
// --resubmit-uncertain, become submit tasks), and those not found yet are
// looked for again in the background, the tasks they lead to sent on the
// returned channel (nil when there are none), which is closed when done.
func (r *reconciler) reconcile(ctx context.Context, lines []reconcileLine) (tasks []batchTask, later <-chan batchTask) {
	b := r.b
	var pending []reconcileLine
	for _, l := range lines {
		at, err := time.Parse(time.RFC3339Nano, l.st.at)
		switch {
		case l.st.at == "" || err != nil:
			tasks = append(tasks, r.unsettled(l, "falgo does not know when it was submitted, so it cannot look it up in fal's request history")...)
		case r.now().Sub(at) > historyHorizon:
			tasks = append(tasks, r.unsettled(l, fmt.Sprintf("it was submitted more than %d days ago, and fal's request history may no longer hold its input", int(historyHorizon.Hours()/24)))...)
		default:
			l.at = at
			pending = append(pending, l)
		}
	}
	if n := len(tasks); n > 0 || len(pending) < len(lines) {
		if un := len(lines) - len(pending); un > 0 {
			note := ""
			if b.opts.resubmitUncertain {
				note = ", submitted again as --resubmit-uncertain asks"
			}
			b.c.con.errorf("falgo: fal's request history cannot settle %s (when %s submitted is unknown, or too long ago)%s", plural(un, "uncertain input"), pick(un, "it was", "they were"), note)
		}
	}
	if len(pending) == 0 {
		return tasks, nil
	}
	since := r.since(pending)
	idx, err := r.look(ctx, since)
	var notFound []reconcileLine
	found := 0
	for _, l := range pending {
		switch {
		case err != nil:
			tasks = append(tasks, r.unsettled(l, r.unreadable(err))...)
		default:
			if t, ok := r.match(l, idx, "the first look"); ok {
				tasks = append(tasks, t)
				found++
			} else if idx.incomplete != "" {
				tasks = append(tasks, r.unsettled(l, idx.incomplete)...)
			} else {
				notFound = append(notFound, l)
			}
		}
	}
	summary := fmt.Sprintf("falgo: looked up %s in fal's request history of %s (requests since %s, which allows %v for clock skew): %d found and reattached",
		plural(len(pending), "uncertain input"), b.app, since.UTC().Format(time.RFC3339), skewMargin, found)
	if len(notFound) > 0 {
		summary += fmt.Sprintf(", %d not found", len(notFound))
	}
	if n := len(pending) - found - len(notFound); n > 0 {
		summary += fmt.Sprintf(", %d that the history cannot settle", n)
		if b.opts.resubmitUncertain {
			summary += ", submitted again as --resubmit-uncertain asks"
		}
	}
	b.c.con.errorf("%s", summary)
	if err != nil {
		b.c.con.errorf("falgo: %s", r.unreadable(err))
	} else if idx.incomplete != "" && len(pending) > found {
		b.c.con.errorf("falgo: %s", idx.incomplete)
	}
	if len(notFound) == 0 {
		return tasks, nil
	}
	if b.opts.resubmitUncertain {
		for _, l := range notFound {
			tasks = append(tasks, r.submitAgain(l, "not in fal's request history at the first look; submitted again without waiting, as --resubmit-uncertain asks"))
		}
		return tasks, nil
	}
	ch := make(chan batchTask)
	go r.lookAgain(ctx, notFound, ch)
	return tasks, ch
}

// lookAgain is the second look, once every line's intent is r.wait old:
// found lines are reattached, lines still missing from a complete history
// are submitted again, the rest stay uncertain. It closes ch when done.
func (r *reconciler) lookAgain(ctx context.Context, lines []reconcileLine, ch chan<- batchTask) {
	defer close(ch)
	b := r.b
	when := r.now()
	for _, l := range lines {
		if t := l.at.Add(r.wait); t.After(when) {
			when = t
		}
	}
	// An intent dated after now (this clock was set back since): no
	// longer than the wait from now.
	if limit := r.now().Add(r.wait); when.After(limit) {
		when = limit
	}
	if d := when.Sub(r.now()); d > 0 {
		b.c.con.errorf("falgo: falgo looks for %s again at %s, %v after %s submit started, before submitting %s again: a request still waiting in fal's queue may not be listed yet (--reconcile-wait sets the wait)",
			plural(len(lines), "input"), when.UTC().Format(time.RFC3339), r.wait, pick(len(lines), "its", "their"), pick(len(lines), "it", "them"))
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			for _, l := range lines {
				r.stayUncertain(l, "falgo stopped before its second look at fal's request history")
			}
			return
		}
	}
	idx, err := r.look(ctx, r.since(lines))
	var again []int
	for _, l := range lines {
		var t batchTask
		switch {
		case err != nil:
			r.stayUncertain(l, r.unreadable(err))
			continue
		default:
			var ok bool
			if t, ok = r.match(l, idx, "the second look"); !ok {
				if idx.incomplete != "" {
					r.stayUncertain(l, idx.incomplete)
					continue
				}
				again = append(again, l.in.line)
				t = r.submitAgain(l, fmt.Sprintf("not in fal's request history of requests since %s, looked at twice, the second time %v or more after the submit started: it never reached fal", r.since(lines).UTC().Format(time.RFC3339), r.wait))
			}
		}
		ch <- t
	}
	if len(again) > 0 {
		b.c.con.errorf("falgo: %s %s still not in fal's request history: %s never reached fal; submitting %s again", plural(len(again), "uncertain input"), pick(len(again), "is", "are"), pick(len(again), "it", "they"), pick(len(again), "it", "them"))
	}
}

// since is the start of the window looked at for lines.
func (r *reconciler) since(lines []reconcileLine) time.Time {
	first := lines[0].at
	for _, l := range lines[1:] {
		if l.at.Before(first) {
			first = l.at
		}
	}
	s := first.Add(-skewMargin)
	if limit := r.now().Add(-skewMargin); s.After(limit) {
		s = limit // an intent dated in the future: this clock was ahead
	}
	return s
}

// look reads the app's history since since, with payloads.
func (r *reconciler) look(ctx context.Context, since time.Time) (*historyIndex, error) {
	lctx, cancel := context.WithTimeout(ctx, historyLookTimeout)
	defer cancel()
	idx := &historyIndex{bySum: map[string][]platform.RequestRecord{}}
	n, missing := 0, 0
	p := platform.RequestsParams{EndpointID: r.b.app, Start: since, Expand: []string{platform.ExpandPayloads}, Limit: platform.MaxRequestsLimit}
	for rec, err := range r.s.history.Requests(lctx, p) {
		if err != nil {
			return nil, err
		}
		if n++; n > maxHistoryScan {
			idx.incomplete = fmt.Sprintf("fal's request history holds more than %d requests of %s since %s, too many to look through", maxHistoryScan, r.b.app, since.UTC().Format(time.RFC3339))
			return idx, nil
		}
		if r.known[rec.RequestID] || rec.RequestID == "" {
			continue
		}
		if len(rec.JSONInput) == 0 || string(rec.JSONInput) == "null" {
			missing++
			continue
		}
		sum, err := canonicalSum(rec.JSONInput)
		if err != nil {
			missing++
			continue
		}
		idx.bySum[sum] = append(idx.bySum[sum], rec)
	}
	if missing > 0 {
		idx.incomplete = fmt.Sprintf("fal's request history holds %s of %s since %s without their input (made with payload storage off, X-Fal-Store-IO: 0, or their payloads deleted), so falgo cannot tell whether one of them was this input",
			plural(missing, "request"), r.b.app, since.UTC().Format(time.RFC3339))
	}
	return idx, nil
}

// match finds l's request in idx: the earliest unclaimed request with its
// input sent after its intent (less the margin). Found, it is journalled
// and returned as a reattach task.
func (r *reconciler) match(l reconcileLine, idx *historyIndex, which string) (batchTask, bool) {
	cands := idx.bySum[l.sum]
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].SentAt.Before(cands[j].SentAt) })
	from := l.at.Add(-skewMargin)
	for _, rec := range cands {
		if r.claimed[rec.RequestID] || (!rec.SentAt.IsZero() && rec.SentAt.Before(from)) {
			continue
		}
		r.claimed[rec.RequestID] = true
		r.b.note(journalRecord{Line: l.in.line, Event: evAccepted, InputSum: l.in.sum, RequestID: rec.RequestID, Via: "history", At: now()})
		r.s.debugf("falgo: line %d found in fal's request history (%s) as request %s, sent at %s: reattached", l.in.line, which, rec.RequestID, rec.SentAt.UTC().Format(time.RFC3339))
		return batchTask{in: l.in, requestID: rec.RequestID}, true
	}
	return batchTask{}, false
}

// submitAgain journals that l is not in fal's history, and returns the
// task that submits it again.
func (r *reconciler) submitAgain(l reconcileLine, why string) batchTask {
	r.b.note(journalRecord{Line: l.in.line, Event: evNotAccepted, InputSum: l.in.sum, Error: why, At: now()})
	return batchTask{in: l.in}
}

// unsettled is a line the history cannot settle: uncertain, or with
// --resubmit-uncertain submitted again.
func (r *reconciler) unsettled(l reconcileLine, why string) []batchTask {
	if r.b.opts.resubmitUncertain {
		return []batchTask{{in: l.in}}
	}
	r.stayUncertain(l, why)
	return nil
}

// stayUncertain reports l as uncertain, with why the history did not
// settle it.
func (r *reconciler) stayUncertain(l reconcileLine, why string) {
	b := r.b
	b.update(func() {
		b.uncertain = append(b.uncertain, uncertainRecord{Line: l.in.line, InputSum: l.in.sum, SubmittedAt: l.st.at, Reason: uncertainReason(l.st) + "; fal's request history cannot settle it: " + why})
	})
}

// unreadable explains a history that could not be read.
func (r *reconciler) unreadable(err error) string {
	switch st := httpStatus(err); {
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return fmt.Sprintf("the key in use may not read fal's request history (%d %s)", st, http.StatusText(st))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "falgo stopped, or gave up, while reading fal's request history"
	}
	return "fal's request history could not be read: " + strings.TrimSuffix(oneLine(err.Error()), ".")
}
