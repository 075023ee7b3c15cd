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
		w := &watcher{}
		useStream := !cl.s.polling
		drops := 0
		interval := cl.s.pollInterval
		if interval <= 0 {
			interval = defaultPollInterval
		}
		for {
			if useStream {
				done, err := h.streamStatus(ctx, cl, w, yield)
				if done {
					return
				}
				switch {
				case ctx.Err() != nil:
					yield(nil, falerr.Wrap(ctx.Err(), "waiting for %s", h.describe()))
					return
				case errors.Is(err, errStreamUnavailable):
					useStream = false
				case isFinal(err):
					yield(nil, err)
					return
				default:
					drops++
					if drops > streamReconnects {
						useStream = false
					}
					cl.eng.Debug(ctx, "fal: status stream dropped", slog.String("request_id", h.RequestID),
						slog.String("error", fmt.Sprint(err)), slog.Int("count", drops))
					if retry.Sleep(ctx, retry.Backoff(drops, 50*time.Millisecond, time.Second)) != nil {
						yield(nil, falerr.Wrap(ctx.Err(), "waiting for %s", h.describe()))
						return
					}
				}
				continue
			}
			st, err := h.status(ctx, cl)
			if err != nil {
				yield(nil, err)
				return
			}
			cont, done := w.emit(st, yield)
			if !cont || done {
				return
			}
			if err := retry.Sleep(ctx, interval); err != nil {
				yield(nil, falerr.Wrap(err, "waiting for %s", h.describe()))
				return
			}
		}
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

// streamStatus reads one connection of the status stream. done is true
// when the sequence is over (Completed yielded, or the consumer stopped).
func (h *RequestHandle) streamStatus(ctx context.Context, cl *call, w *watcher, yield func(Status, error) bool) (done bool, err error) {
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
				return false, errStreamUnavailable
			}
		}
		return false, err
	}
	defer st.Close()
	if err := acceptStatusStream(st); err != nil {
		return false, err
	}
	dec := sse.NewSizedDecoder(st, int(cl.eng.EventLimit()), statusStreamBuffer)
	for {
		ev, err := dec.Next()
		if err != nil {
			if err == io.EOF {
				return false, errors.New("status stream ended before the request completed")
			}
			if errors.Is(err, sse.ErrTooLarge) {
				return false, &engine.LimitError{Op: "status stream of " + h.describe(), What: "an event", Field: "Event", Limit: cl.eng.EventLimit()}
			}
			if st.TimedOut() {
				return false, errors.New("the status stream went without an event for " + cmp.Or(cl.s.statusIdle, statusStreamIdle).String())
			}
			return false, err
		}
		st.Touch()
		if ev.Type == "error" {
			return false, fmt.Errorf("status stream reported an error: %s", engine.Quote(ev.Data, st.Secrets, 300))
		}
		s, err := parseStatus([]byte(ev.Data), st.Secrets)
		if err != nil {
			return false, err
		}
		cont, completed := w.emit(s, yield)
		if !cont || completed {
			return true, nil
		}
	}
}

// acceptStatusStream checks that an open status stream is an event
// stream, and lets go of its header, which is not needed again: a status
// stream is open for its job's life, and thousands may wait at once.
func acceptStatusStream(st *engine.Stream) error {
	if ct := st.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "text/event-stream") {
		return errStreamUnavailable
	}
	st.Header = nil
	return nil
}

// noStore asks proxies not to buffer or cache an event stream.
var noStore = http.Header{"Cache-Control": {"no-store"}}

// watcher turns raw statuses into the de-duplicated sequence Events yields.
// Its memory does not grow with the logs: it keeps a hash of the sequence
// delivered so far and the hashes of the last recentLogs entries.
type watcher struct {
	last Status
	seen *logsSeen // nil until the first log entry: most waits have none
}

// logsSeen is what a watcher knows of the log entries it delivered.
type logsSeen struct {
	seed   maphash.Seed
	n      int            // log entries delivered
	prefix uint64         // the hash of the sequence of their keys
	recent map[uint64]int // how often each recently delivered key was delivered
	ring   []uint64       // those keys, oldest first
}

// recentLogs is how many delivered entries a batch of new entries is
// checked against for repeats.
const recentLogs = 1024

// emit yields st if it is news. cont is false when the consumer stopped;
// done is true when st is Completed.
func (w *watcher) emit(st Status, yield func(Status, error) bool) (cont, done bool) {
	switch s := st.(type) {
	case InProgress:
		s.Logs = w.fresh(s.Logs)
		st = s
		if _, ok := w.last.(InProgress); ok && len(s.Logs) == 0 {
			return true, false // still running, nothing new
		}
	case Completed:
		s.Logs = w.fresh(s.Logs)
		st = s
	case Queued:
		if prev, ok := w.last.(Queued); ok && prev.Position == s.Position {
			return true, false
		}
	}
	w.last = st
	_, done = st.(Completed)
	return yield(st, nil), done
}

// fresh returns the entries of batch not yielded before. A batch holding
// the whole history (polling, or a stream after a reconnect) starts with
// what was delivered; a batch of new entries only (a live stream) does
// not, and its entries are matched one by one against the recent ones.
func (w *watcher) fresh(batch []Log) []Log {
	if len(batch) == 0 {
		return nil
	}
	if w.seen == nil {
		w.seen = &logsSeen{seed: maphash.MakeSeed(), recent: map[uint64]int{}}
	}
	seen := w.seen
	keys := make([]uint64, len(batch))
	for i, l := range batch {
		keys[i] = l.hash(seen.seed)
	}
	var out []Log
	if seen.n > 0 && len(batch) >= seen.n && sequenceHash(0, keys[:seen.n]) == seen.prefix {
		out, keys = batch[seen.n:], keys[seen.n:]
	} else {
		counts := map[uint64]int{}
		var kept []uint64
		for i, k := range keys {
			counts[k]++
			if counts[k] > seen.recent[k] {
				out = append(out, batch[i])
				kept = append(kept, k)
			}
		}
		keys = kept
	}
	for _, k := range keys {
		seen.deliver(k)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// deliver records that the entry with key k was yielded.
func (s *logsSeen) deliver(k uint64) {
	s.n++
	s.prefix = sequenceHash(s.prefix, []uint64{k})
	s.recent[k]++
	s.ring = append(s.ring, k)
	if len(s.ring) > recentLogs {
		old := s.ring[0]
		if s.recent[old]--; s.recent[old] == 0 {
			delete(s.recent, old)
		}
		s.ring = s.ring[1:]
	}
}

// sequenceHash folds keys into the hash h of the keys before them.
func sequenceHash(h uint64, keys []uint64) uint64 {
	for _, k := range keys {
		h = (h^k)*0x100000001b3 + 0x9e3779b97f4a7c15
	}
	return h
}
