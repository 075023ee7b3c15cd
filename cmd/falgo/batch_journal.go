package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/retry"
)

// The journal of a batch (RESULTS.jsonl.journal) is what lets a rerun after
// any stop (Ctrl-C, a crash, kill -9, a power cut) go on without running an
// input twice. It is append-only, one JSON record per line, each line
// written with one write and synced to disk before falgo acts on it:
//
//	{"falgo_batch_journal":2,"app":"fal-ai/flux/schnell"}          the header
//	{"line":3,"event":"submitting","input_sha256":"…","json_sha256":"…","at":"…"}  before the submit starts
//	{"line":3,"event":"accepted","input_sha256":"…","request_id":"…","at":"…"}
//	{"line":3,"event":"done","request_id":"…","outcome":"succeeded","at":"…"}
//
// "line" is the input's line in INPUTS.jsonl and input_sha256 the SHA-256
// of its JSON, so an edited inputs file is noticed; json_sha256 is the
// SHA-256 of its canonical JSON, what reconciliation looks for in fal's
// request history (batch_reconcile.go), which may also journal an
// "accepted" record with "via":"history" (found there) or a
// "not_accepted" one (not there). A submit that fails
// ends with "not_accepted" (fal certainly did not queue it: it may be
// submitted again) or "unconfirmed" (no way to tell: like a submitting
// with no request id after it, the input is uncertain). The results file
// is the authority on outcomes; "done" only completes the story.
//
// A last line without its newline is a write that a crash cut short: the
// submit it announced had not started (falgo waits for the sync), so it is
// dropped. Any other line that is not a record is damage: falgo stops and
// names it, and --salvage-journal goes on without resubmitting anything
// that could be in flight.

// Journal events.
const (
	evSubmitting  = "submitting"
	evAccepted    = "accepted"
	evNotAccepted = "not_accepted"
	evUnconfirmed = "unconfirmed"
	evDone        = "done"
)

// journalVersion is the journal format falgo writes. Version 1 journals
// (falgo before the intents: one line per accepted request) are read and
// upgraded.
const journalVersion = 2

// journalRecord is one line of a batch journal.
type journalRecord struct {
	Version  int    `json:"falgo_batch_journal,omitempty"` // header only
	App      string `json:"app,omitempty"`                 // header only
	Line     int    `json:"line,omitempty"`
	Event    string `json:"event,omitempty"`
	InputSum string `json:"input_sha256,omitempty"`
	// JSONSum is the SHA-256 of the input's canonical JSON (canonical.go),
	// what fal's request history is searched for (submitting).
	JSONSum   string `json:"json_sha256,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Via says how an accepted request id was learned: "history" when
	// reconciliation found it in fal's request history.
	Via     string `json:"via,omitempty"`
	Outcome string `json:"outcome,omitempty"` // done: "succeeded" or "failed"
	Error   string `json:"error,omitempty"`   // not_accepted, unconfirmed: why
	At      string `json:"at,omitempty"`      // when, RFC 3339 UTC
}

// valid reports whether e is a record falgo writes.
func (e journalRecord) valid() bool {
	if e.Line <= 0 || e.Version != 0 {
		return false
	}
	switch e.Event {
	case evSubmitting, evNotAccepted, evUnconfirmed:
		return e.InputSum != ""
	case evAccepted:
		return e.InputSum != "" && e.RequestID != ""
	case evDone:
		return true
	}
	return false
}

// now is the time stamp of a journal record.
func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// lineState is what the journal says about one input line: the fold of its
// records, in order.
type lineState struct {
	event     string // the last event
	sum       string // the input's SHA-256 when it was last submitted
	jsonSum   string // the SHA-256 of its canonical JSON then, if journalled
	requestID string // the request id of the last submission, if known
	at        string // when the last submission started
	why       string // why it was not accepted, or is unconfirmed
}

// apply folds one more record into the state.
func (s *lineState) apply(e journalRecord) {
	switch e.Event {
	case evSubmitting:
		*s = lineState{sum: e.InputSum, jsonSum: e.JSONSum, at: e.At}
	case evAccepted:
		s.requestID = e.RequestID
	case evNotAccepted, evUnconfirmed:
		s.why = e.Error
	case evDone:
		if e.RequestID != "" {
			s.requestID = e.RequestID
		}
	}
	if e.InputSum != "" {
		s.sum = e.InputSum
	}
	s.event = e.Event
}

// uncertain reports whether fal may have queued the last submission
// without falgo learning its request id.
func (s lineState) uncertain() bool {
	return s.event == evSubmitting || s.event == evUnconfirmed
}

// mayHaveRun reports whether the input may have run on fal: it has a
// request id, or is uncertain.
func (s lineState) mayHaveRun() bool {
	return s.requestID != "" || s.uncertain()
}

// journalDamage is a line of the journal that is not a record.
type journalDamage struct {
	line int    // 1-based line number in the journal
	text string // the line, for the message
}

// parseJournal reads the journal's lines (the torn last line already
// dropped): its header, its records, and the lines that are neither.
// Blank lines carry nothing and are skipped.
func parseJournal(lines [][]byte) (head journalRecord, recs []journalRecord, damage []journalDamage) {
	for i, l := range lines {
		if len(l) == 0 {
			continue
		}
		var e journalRecord
		err := json.Unmarshal(l, &e)
		switch {
		case head.Version == 0 && err == nil && e.Version != 0:
			head = e
		case head.Version == 0:
			damage = append(damage, journalDamage{line: i + 1, text: string(l)})
			return head, nil, damage // not a journal at all, or not one we know
		case err == nil && head.Version == 1 && e.Event == "" && e.Line > 0 && e.RequestID != "" && e.InputSum != "":
			e.Event = evAccepted // a version 1 entry: the request fal accepted
			recs = append(recs, e)
		case err == nil && e.valid():
			recs = append(recs, e)
		default:
			damage = append(damage, journalDamage{line: i + 1, text: string(l)})
		}
	}
	return head, recs, damage
}

// damageError is the refusal to run on a damaged journal: it names the
// first damaged line and says how to go on without resubmitting inputs
// that may be in flight.
func (b *batchRun) damageError(damage []journalDamage, affected int) error {
	d := damage[0]
	more := ""
	if len(damage) > 1 {
		more = fmt.Sprintf(" (and %d more lines)", len(damage)-1)
	}
	return codedErrorf(exitError, "%s line %d%s is damaged, not a journal record: %s; nothing was submitted. "+
		"Do not delete the journal: it is what keeps inputs in flight from running twice. "+
		"If you can restore the line from a backup, do; otherwise rerun with --salvage-journal: inputs with a result are kept, "+
		"inputs with a request id are reattached, and the %s with neither become uncertain (reported, not submitted), "+
		"since falgo cannot tell which input the damaged line was about",
		b.jpath, d.line, more, engine.Clip(d.text, 80), plural(affected, "input"))
}

// uncertainRecord is one line of the uncertain report
// (RESULTS.jsonl.uncertain): an input falgo submitted without learning
// whether fal queued it.
type uncertainRecord struct {
	Line        int    `json:"line"`
	InputSum    string `json:"input_sha256"`
	SubmittedAt string `json:"submitted_at,omitempty"` // when the submit started, if known
	Reason      string `json:"reason"`
}

// uncertainReason explains why an input is uncertain.
func uncertainReason(s lineState) string {
	if s.why != "" {
		return s.why
	}
	return "falgo stopped after starting to submit this input and before recording fal's answer: fal may or may not have queued it"
}

// writeUncertain replaces the uncertain report with recs, or removes it
// when there are none. It is rewritten at the end of every run, from the
// journal, which stays the authority.
func writeUncertain(path string, recs []uncertainRecord) error {
	if len(recs) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Line < recs[j].Line })
	var buf strings.Builder
	for _, r := range recs {
		b, err := marshalJSON(r)
		if err != nil {
			return err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return writeFileAtomic(path, []byte(buf.String()))
}

// writeFileAtomic replaces path with data: a crash leaves the old content
// or the new.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing left to remove
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// submitVerdict is what a failed submit says about the input.
type submitVerdict int

const (
	// refused: fal refused the input for good (e.g. 422): a result.
	refused submitVerdict = iota
	// notQueued: fal certainly did not queue it, but may later (429, the
	// ingress's 503, no connection): a rerun submits it again.
	notQueued
	// unknown: fal may have queued it (a cut connection, a 5xx, no
	// answer in time): the input is uncertain.
	unknown
)

// judgeSubmit tells what a failed submit means for its input. Only answers
// that prove fal did not queue the input count as not queued — the ones
// the client's retry rules treat as "not processed" for a request that may
// start a job, and a refused key, which is checked before the queue;
// anything else may have reached the queue.
func judgeSubmit(err error) submitVerdict {
	if errors.Is(err, fal.ErrMissingCredentials) {
		return notQueued // nothing was sent
	}
	var he *fal.HTTPError
	if errors.As(err, &he) {
		st := he.StatusCode
		switch {
		case retry.StatusRetryable(st, he.Header, retry.Once), st == http.StatusUnauthorized, st == http.StatusForbidden:
			return notQueued
		case st >= 400 && st < 500:
			return refused
		}
		return unknown
	}
	if retry.TransportRetryable(err, retry.Once) {
		return notQueued // the connection could not be opened
	}
	return unknown
}
