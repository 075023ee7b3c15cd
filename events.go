package fal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
	"github.com/falgo/fal/internal/sse"
)

// statusStreamIdle is how long the status stream may go without an event
// before it is treated as dropped (and reopened, then replaced by polling).
const statusStreamIdle = 60 * time.Second

// statusStreamBuffer is the read buffer of a status stream. A Subscribe
// holds it for as long as the job runs, mostly waiting, and its events
// are a few hundred bytes: a small buffer keeps thousands of waits in
// flight cheap (an event longer than it is still read whole).
const statusStreamBuffer = 512

// streamReconnects is how many times a dropped status stream is reopened
// before Events falls back to polling.
const streamReconnects = 2

// Events follows the request until it completes, yielding each change of
// its status; the last status yielded is Completed. It reads fal's status
// stream (GET …/status/stream) and falls back to polling every 250 ms
// when the stream is not available or keeps dropping; WithPolling polls
// from the start.
//
// With WithLogs(true), each InProgress and Completed carries only the log
// entries not yielded before, so no entry is delivered twice, even across
// a reconnect or a switch to polling. Breaking out of the loop releases
// the connection. An error is yielded once, and ends the sequence.
func (h *RequestHandle) Events(ctx context.Context, opts ...RequestOption) iter.Seq2[Status, error] {
	cl, err := h.newCall(callEvents, opts)
	if err != nil {
		return func(yield func(Status, error) bool) { yield(nil, err) }
	}
	return h.events(ctx, cl)
}

// errStreamUnavailable means the server has no status stream for us.
var errStreamUnavailable = errors.New("status stream unavailable")

func (h *RequestHandle) events(ctx context.Context, cl *call) iter.Seq2[Status, error] {
	return func(yield func(Status, error) bool) {
		f := newFollower(h, cl)
		defer f.stop()
		for {
			st, err := f.next(ctx)
			if st == nil && err == nil {
				return
			}
			if !yield(st, err) || err != nil {
				return
			}
		}
	}
}

// follower follows a request's status one status at a time: the state of
// Events and Subscribe between statuses (the watcher, the open status
// stream or the polling), kept on the heap.
type follower struct {
	h       *RequestHandle
	cl      *call
	w       watcher
	st      *engine.Stream // the open status stream, or nil
	dec     *sse.Decoder   // st's decoder
	polling bool           // polling, not streaming
	polled  bool           // a status was polled: pause before the next poll
	drops   int            // status streams that broke
	over    bool           // Completed or an error was given: nothing follows

	// What follow gathers for Subscribe and Result: the Completed status
	// (a pointer: it arrives only at the end) and, with WithLogs(true),
	// the logs.
	done *Completed
	logs []Log
}

// newFollower is not inlined: its composite literal would be built in the
// caller's frame, which is on the stack for a Subscribe's whole wait.
//
//go:noinline
func newFollower(h *RequestHandle, cl *call) *follower {
	return &follower{h: h, cl: cl, polling: cl.s.polling}
}

// next returns the next status worth giving (new, per the watcher), or
// an error, which ends the sequence, as Completed does; after either it
// returns nil, nil.
//
// A Subscribe spends nearly all its life here, waiting for the status
// stream's next event, so the wait is made from this small frame
// (Decoder.Wait) rather than deep in the decoder: with few frames on its
// stack, a waiting goroutine's stack is shrunk by the runtime at the next
// collection, and stacks are half the memory of thousands of waits.
func (f *follower) next(ctx context.Context) (Status, error) {
	for !f.over {
		if f.dec != nil {
			f.dec.Wait()
		}
		if st, ok, err := f.step(ctx); ok {
			return st, err
		}
	}
	return nil, nil
}

// step does the next piece of work, none of it a long wait on a stream:
// it decodes the stream's next event, opens the stream, or polls. ok is
// true when it has a status or an error to give.
//
//go:noinline
func (f *follower) step(ctx context.Context) (st Status, ok bool, err error) {
	if f.dec != nil {
		st, err := f.event()
		if err != nil {
			f.closeStream()
			return f.dropped(ctx, err)
		}
		return f.deliver(st)
	}
	if !f.polling {
		if err := f.open(ctx); err != nil {
			return f.dropped(ctx, err)
		}
		return nil, false, nil
	}
	if f.polled {
		interval := f.cl.s.pollInterval
		if interval <= 0 {
			interval = defaultPollInterval
		}
		if err := retry.Sleep(ctx, interval); err != nil {
			return f.fail(falerr.Wrap(err, "waiting for %s", f.h.describe()))
		}
	}
	st, err = f.h.status(ctx, f.cl)
	f.polled = true
	if err != nil {
		return f.fail(err)
	}
	return f.deliver(st)
}

// deliver gives st if it is news; Completed ends the sequence.
func (f *follower) deliver(st Status) (Status, bool, error) {
	st, news := f.w.news(st)
	if !news {
		return nil, false, nil
	}
	if _, done := st.(Completed); done {
		f.stop()
	}
	return st, true, nil
}

// fail gives err, which ends the sequence.
func (f *follower) fail(err error) (Status, bool, error) {
	f.stop()
	return nil, true, err
}

// dropped decides what follows a status stream that could not be opened
// or broke: another try after a pause, polling, or the end.
func (f *follower) dropped(ctx context.Context, err error) (Status, bool, error) {
	switch {
	case ctx.Err() != nil:
		return f.fail(falerr.Wrap(ctx.Err(), "waiting for %s", f.h.describe()))
	case errors.Is(err, errStreamUnavailable):
		f.polling = true
	case isFinal(err):
		return f.fail(err)
	default:
		f.drops++
		if f.drops > streamReconnects {
			f.polling = true
		}
		f.cl.eng.Debug(ctx, "fal: status stream dropped", slog.String("request_id", f.h.RequestID),
			slog.String("error", fmt.Sprint(err)), slog.Int("count", f.drops))
		if retry.Sleep(ctx, retry.Backoff(f.drops, 50*time.Millisecond, time.Second)) != nil {
			return f.fail(falerr.Wrap(ctx.Err(), "waiting for %s", f.h.describe()))
		}
	}
	return nil, false, nil
}

// stop ends the sequence and releases the status stream.
func (f *follower) stop() {
	f.over = true
	f.closeStream()
}

func (f *follower) closeStream() {
	if f.st != nil {
		f.st.Close()
		f.st, f.dec = nil, nil
	}
}

// isFinal reports errors that another try of the stream will not cure.
func isFinal(err error) bool {
	if errors.Is(err, ErrTooLarge) {
		return true
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return !retry.StatusRetryable(he.StatusCode, he.Header, retry.Idempotent)
	}
	var me *MissingCredentialsError
	return errors.As(err, &me)
}

// open opens the status stream (GET …/status/stream).
func (f *follower) open(ctx context.Context) error {
	h, cl := f.h, f.cl
	u := withLogs(strings.TrimSuffix(h.statusURL(), "/")+"/stream", cl.s.logs)
	st, err := cl.eng.Open(ctx, &engine.Request{
		Op: "status stream of " + h.describe(), Method: http.MethodGet, URL: u, Accept: "text/event-stream",
		Header: noStore, Class: retry.Idempotent,
	}, cmp.Or(cl.s.statusIdle, statusStreamIdle))
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) {
			switch he.StatusCode {
			case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
				// Either the route does not exist or the request is
				// unknown; polling tells which.
				return errStreamUnavailable
			}
		}
		return err
	}
	if ct := st.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "text/event-stream") {
		st.Close()
		return errStreamUnavailable
	}
	st.Header = nil // not needed again, and not held for the job's life
	f.st, f.dec = st, sse.NewSizedDecoder(st.Body(), int(cl.eng.EventLimit()), statusStreamBuffer)
	return nil
}

// event decodes the status stream's next event into a status.
func (f *follower) event() (Status, error) {
	h, cl, st := f.h, f.cl, f.st
	ev, err := f.dec.Next()
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("status stream ended before the request completed")
		}
		if errors.Is(err, sse.ErrTooLarge) {
			return nil, &engine.LimitError{Op: "status stream of " + h.describe(), What: "an event", Field: "Event", Limit: cl.eng.EventLimit()}
		}
		if st.TimedOut() {
			return nil, errors.New("the status stream went without an event for " + cmp.Or(cl.s.statusIdle, statusStreamIdle).String())
		}
		return nil, err
	}
	st.Touch()
	if ev.Type == "error" {
		return nil, fmt.Errorf("status stream reported an error: %s", engine.Quote(ev.Data, st.Secrets, 300))
	}
	return parseStatus([]byte(ev.Data), st.Secrets)
}

// noStore asks proxies not to buffer or cache an event stream.
var noStore = http.Header{"Cache-Control": {"no-store"}}

// watcher turns raw statuses into the de-duplicated sequence Events yields.
// Its memory does not grow with the logs: it keeps a hash of the sequence
// delivered so far and the hashes of the last recentLogs entries.
type watcher struct {
	last   Status
	seed   maphash.Seed
	n      int            // log entries delivered
	prefix uint64         // the hash of the sequence of their keys
	recent map[uint64]int // how often each recently delivered key was delivered
	ring   []uint64       // those keys, oldest first
}

// recentLogs is how many delivered entries a batch of new entries is
// checked against for repeats.
const recentLogs = 1024

// news returns st as it is to be given (its logs only those not given
// before) and whether it is news at all.
func (w *watcher) news(st Status) (Status, bool) {
	switch s := st.(type) {
	case InProgress:
		s.Logs = w.fresh(s.Logs)
		st = s
		if _, ok := w.last.(InProgress); ok && len(s.Logs) == 0 {
			return nil, false // still running, nothing new
		}
	case Completed:
		s.Logs = w.fresh(s.Logs)
		st = s
	case Queued:
		if prev, ok := w.last.(Queued); ok && prev.Position == s.Position {
			return nil, false
		}
	}
	w.last = st
	return st, true
}

// fresh returns the entries of batch not yielded before. A batch holding
// the whole history (polling, or a stream after a reconnect) starts with
// what was delivered; a batch of new entries only (a live stream) does
// not, and its entries are matched one by one against the recent ones.
func (w *watcher) fresh(batch []Log) []Log {
	if len(batch) == 0 {
		return nil
	}
	if w.recent == nil {
		w.seed, w.recent = maphash.MakeSeed(), map[uint64]int{}
	}
	keys := make([]uint64, len(batch))
	for i, l := range batch {
		keys[i] = l.hash(w.seed)
	}
	var out []Log
	if w.n > 0 && len(batch) >= w.n && sequenceHash(0, keys[:w.n]) == w.prefix {
		out, keys = batch[w.n:], keys[w.n:]
	} else {
		counts := map[uint64]int{}
		var kept []uint64
		for i, k := range keys {
			counts[k]++
			if counts[k] > w.recent[k] {
				out = append(out, batch[i])
				kept = append(kept, k)
			}
		}
		keys = kept
	}
	for _, k := range keys {
		w.deliver(k)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// deliver records that the entry with key k was yielded.
func (w *watcher) deliver(k uint64) {
	w.n++
	w.prefix = sequenceHash(w.prefix, []uint64{k})
	w.recent[k]++
	w.ring = append(w.ring, k)
	if len(w.ring) > recentLogs {
		old := w.ring[0]
		if w.recent[old]--; w.recent[old] == 0 {
			delete(w.recent, old)
		}
		w.ring = w.ring[1:]
	}
}

// sequenceHash folds keys into the hash h of the keys before them.
func sequenceHash(h uint64, keys []uint64) uint64 {
	for _, k := range keys {
		h = (h^k)*0x100000001b3 + 0x9e3779b97f4a7c15
	}
	return h
}
