package fal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/falgo/fal/internal/retry"
	"github.com/falgo/fal/internal/sse"
)

// Event is one server-sent event of an output stream.
type Event struct {
	Type string          // the SSE event type; empty for plain data events
	ID   string          // the SSE event id, if the server sends ids
	Data json.RawMessage // the event's JSON data
}

// Decode unmarshals the event's data into v.
func (e Event) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("fal: decoding a stream event into %T: %w", v, err)
	}
	return nil
}

// WithStreamIdleTimeout ends a Stream with *TimeoutError when no data
// arrives for d (0, the default, waits as long as the context allows).
func WithStreamIdleTimeout(d time.Duration) RequestOption {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("fal: WithStreamIdleTimeout: negative duration %v", d)
		}
		c.streamIdle = d
		return nil
	}
}

// Stream calls app's streaming endpoint (POST {run host}/{app}/stream) and
// yields its events as they arrive. The stream lasts as long as ctx allows:
// the per-call timeout bounds only the wait for the response headers, and
// WithStreamIdleTimeout bounds silences. Breaking out of the loop closes the
// connection, which tells the app to stop.
//
// A non-2xx answer is an *HTTPError (the Python client reports a content
// type error instead). An app error after the stream started, sent as an
// "error" event, is an *HTTPError with the status the event names. An event
// whose data is not JSON is an error that quotes the data. The request is
// retried only before anything was received and only when the server
// certainly did not start the app (see RetryPolicy). An error is yielded
// once and ends the sequence.
func (c *Client) Stream(ctx context.Context, app string, input any, opts ...RequestOption) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		cfg, err := c.callConfig(opts)
		if err != nil {
			yield(Event{}, err)
			return
		}
		c.stream(ctx, cfg, app, input, yield)
	}
}

func (c *Client) stream(ctx context.Context, cfg *config, app string, input any, yield func(Event, error) bool) {
	op := "stream " + app
	if err := validateApp(app); err != nil {
		yield(Event{}, err)
		return
	}
	body, err := c.prepare(ctx, cfg, op, input)
	if err != nil {
		yield(Event{}, err)
		return
	}
	u := join(cfg.hosts.run, app, cfg.path)
	if !strings.HasSuffix(u, "/stream") {
		u += "/stream"
	}
	req := &apiRequest{op: op, method: http.MethodPost, url: u, body: body, header: lifecycleHeader(cfg), class: once}
	var (
		res  *http.Response
		rd   *idleReader
		stop func()
	)
	for attempt := 1; ; attempt++ {
		res, rd, stop, err = c.openStream(ctx, cfg, req, cfg.streamIdle)
		if err == nil {
			break
		}
		wait, again := retryWait(ctx, cfg, once, err, attempt)
		if !again || ctx.Err() != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("fal: %s: %w", op, ctx.Err())
			}
			yield(Event{}, err)
			return
		}
		logRetry(ctx, cfg, req, attempt, wait, err)
		if serr := retry.Sleep(ctx, wait); serr != nil {
			yield(Event{}, fmt.Errorf("fal: %s: %w (while waiting to retry after: %v)", op, serr, err))
			return
		}
	}
	defer stop()
	rid := res.Header.Get("X-Fal-Request-Id")
	ct := strings.ToLower(res.Header.Get("Content-Type"))
	if !strings.HasPrefix(ct, "text/event-stream") {
		// A plain JSON answer is the whole output: deliver it as one event.
		if strings.HasPrefix(ct, "application/json") {
			data, err := io.ReadAll(res.Body)
			if err == nil && json.Valid(data) {
				yield(Event{Data: data}, nil)
				return
			}
		}
		yield(Event{}, fmt.Errorf("fal: %s: expected an event stream (text/event-stream), got Content-Type %q", op, ct))
		return
	}
	dec := sse.NewDecoder(rd)
	for {
		ev, err := dec.Next()
		if err != nil {
			switch {
			case err == io.EOF:
			case ctx.Err() != nil:
				yield(Event{}, fmt.Errorf("fal: %s: %w", op, ctx.Err()))
			case rd.timedOut():
				yield(Event{}, &TimeoutError{Op: op + " (no data for " + cfg.streamIdle.String() + ")", Limit: cfg.streamIdle})
			default:
				yield(Event{}, fmt.Errorf("fal: %s: reading the stream: %w", op, err))
			}
			return
		}
		if ev.Type == "error" {
			yield(Event{}, streamEventError(req, rid, ev.Data))
			return
		}
		data := []byte(ev.Data)
		if !json.Valid(data) {
			yield(Event{}, fmt.Errorf("fal: %s: an event's data is not JSON: %q", op, clip(ev.Data, 200)))
			return
		}
		if !yield(Event{Type: ev.Type, ID: ev.ID, Data: data}, nil) {
			return
		}
	}
}

// streamEventError turns an "error" event into an *HTTPError.
func streamEventError(req *apiRequest, rid, data string) error {
	status := http.StatusInternalServerError
	var v struct {
		StatusCode int `json:"status_code"`
	}
	if json.Unmarshal([]byte(data), &v) == nil && v.StatusCode >= 400 && v.StatusCode <= 599 {
		status = v.StatusCode
	}
	h := http.Header{}
	if rid != "" {
		h.Set("X-Fal-Request-Id", rid)
	}
	return newHTTPError(req.method, req.url, status, h, []byte(data), "")
}

// Stream calls Stream on the default client.
func Stream(ctx context.Context, app string, input any, opts ...RequestOption) iter.Seq2[Event, error] {
	c, err := DefaultClient()
	if err != nil {
		return func(yield func(Event, error) bool) { yield(Event{}, err) }
	}
	return c.Stream(ctx, app, input, opts...)
}
