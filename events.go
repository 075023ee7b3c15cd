package fal

import (
	"context"
	"errors"
	"fmt"
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

// statusStreamIdle is how long the status stream may stay silent before it
// is treated as dropped; fal sends a comment every 15 s.
const statusStreamIdle = 60 * time.Second

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
	u := withLogs(strings.TrimSuffix(h.statusURL, "/")+"/stream", cl.s.logs)
	st, err := cl.eng.Open(ctx, &engine.Request{
		Op: "status stream of " + h.describe(), Method: http.MethodGet, URL: u, Accept: "text/event-stream",
		Header: noStore, Class: retry.Idempotent,
	}, statusStreamIdle)
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
	if ct := st.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "text/event-stream") {
		return false, errStreamUnavailable
	}
	dec := sse.NewDecoder(st)
	for {
		ev, err := dec.Next()
		if err != nil {
			if err == io.EOF {
				return false, errors.New("status stream ended before the request completed")
			}
			if st.TimedOut() {
				return false, errors.New("the status stream stayed silent for " + statusStreamIdle.String())
			}
			return false, err
		}
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

// noStore asks proxies not to buffer or cache an event stream.
var noStore = http.Header{"Cache-Control": {"no-store"}}

// watcher turns raw statuses into the de-duplicated sequence Events yields.
type watcher struct {
	last      Status
	delivered []string       // keys of log entries yielded, in order
	seen      map[string]int // how often each key was yielded
}

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
// not, and its entries are matched one by one.
func (w *watcher) fresh(batch []Log) []Log {
	if len(batch) == 0 {
		return nil
	}
	if w.seen == nil {
		w.seen = map[string]int{}
	}
	n := len(w.delivered)
	keys := make([]string, len(batch))
	for i, l := range batch {
		keys[i] = l.key()
	}
	var out []Log
	if n > 0 && len(batch) >= n && equalKeys(keys[:n], w.delivered) {
		out = batch[n:]
		keys = keys[n:]
	} else {
		counts := map[string]int{}
		var kept []string
		for i, k := range keys {
			counts[k]++
			if counts[k] > w.seen[k] {
				out = append(out, batch[i])
				kept = append(kept, k)
			}
		}
		keys = kept
	}
	for _, k := range keys {
		w.delivered = append(w.delivered, k)
		w.seen[k]++
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func equalKeys(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
