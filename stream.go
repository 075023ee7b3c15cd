package fal

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
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
		return falerr.Wrap(err, "decoding a stream event into %T", v)
	}
	return nil
}

// WithStreamIdleTimeout ends a Stream with *TimeoutError when no complete
// event arrives for d (0, the default, waits as long as the context
// allows). A server that trickles bytes without completing an event does
// not keep the stream alive. One watch checks every open stream, so a
// silent stream ends between d and d + min(d/8, 1 s).
func WithStreamIdleTimeout(d time.Duration) RequestOption {
	return requestOption{"WithStreamIdleTimeout", callStream, func(s *settings) error {
		if d < 0 {
			return falerr.New("WithStreamIdleTimeout: negative duration %v", d)
		}
		s.streamIdle = d
		return nil
	}}
}

// Stream calls app's streaming endpoint (POST {run host}/{app}/stream) and
// yields its events as they arrive. The stream lasts as long as ctx allows:
// the per-attempt timeout bounds only the wait for the response headers, and
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
		cl, err := c.newCall(callStream, opts)
		if err != nil {
			yield(Event{}, err)
			return
		}
		c.stream(ctx, cl, app, input, yield)
	}
}

// streamRequest builds the POST of a streaming job of app.
func (c *Client) streamRequest(ctx context.Context, cl *call, app string, input any) (*engine.Request, error) {
	req, err := c.jobRequest(ctx, cl, "stream", app, cl.eng.Hosts.Run, input)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(req.URL, "/stream") {
		req.URL += "/stream"
	}
	req.Accept = "text/event-stream"
	if req.Header == nil {
		req.Header = noStore
	} else {
		req.Header.Set("Cache-Control", "no-store")
	}
	return req, nil
}

func (c *Client) stream(ctx context.Context, cl *call, app string, input any, yield func(Event, error) bool) {
	req, err := c.streamRequest(ctx, cl, app, input)
	if err != nil {
		yield(Event{}, err)
		return
	}
	op := req.Op
	st, err := cl.eng.Open(ctx, req, cl.s.streamIdle)
	if err != nil {
		yield(Event{}, err)
		return
	}
	defer st.Close()
	ct := strings.ToLower(st.Header.Get("Content-Type"))
	if !strings.HasPrefix(ct, "text/event-stream") {
		// A plain JSON answer is the whole output: deliver it as one event.
		if strings.HasPrefix(ct, "application/json") {
			limit := cl.eng.EventLimit()
			data, err := io.ReadAll(io.LimitReader(st, limit+1))
			if int64(len(data)) > limit {
				yield(Event{}, &engine.LimitError{Op: op, What: "the answer", Field: "Event", Limit: limit})
				return
			}
			if err == nil && json.Valid(data) {
				yield(Event{Data: data}, nil)
				return
			}
		}
		yield(Event{}, falerr.New("%s: expected an event stream (text/event-stream), got Content-Type %q", op, engine.Quote(ct, st.Secrets, 100)))
		return
	}
	dec := sse.NewLimitedDecoder(st, int(cl.eng.EventLimit()))
	for {
		ev, err := dec.Next()
		if err != nil {
			switch {
			case err == io.EOF:
			case errors.Is(err, sse.ErrTooLarge):
				yield(Event{}, &engine.LimitError{Op: op, What: "an event", Field: "Event", Limit: cl.eng.EventLimit()})
			case ctx.Err() != nil:
				yield(Event{}, falerr.Wrap(ctx.Err(), "%s", op))
			case st.TimedOut():
				yield(Event{}, &TimeoutError{Op: op + " (no data for " + cl.s.streamIdle.String() + ")", Limit: cl.s.streamIdle})
			default:
				yield(Event{}, falerr.Wrap(err, "%s: reading the stream", op))
			}
			return
		}
		st.Touch()
		if ev.Type == "error" {
			yield(Event{}, streamEventError(req, st, ev.Data))
			return
		}
		data := []byte(ev.Data)
		if !json.Valid(data) {
			yield(Event{}, falerr.New("%s: an event's data is not JSON: %q", op, engine.Quote(ev.Data, st.Secrets, 200)))
			return
		}
		if !yield(Event{Type: ev.Type, ID: ev.ID, Data: data}, nil) {
			return
		}
	}
}

// streamEventError turns an "error" event into an *HTTPError with the
// status it names (500 if none).
func streamEventError(req *engine.Request, st *engine.Stream, data string) error {
	status := http.StatusInternalServerError
	var v struct {
		StatusCode int `json:"status_code"`
	}
	if json.Unmarshal([]byte(data), &v) == nil && v.StatusCode >= 400 && v.StatusCode <= 599 {
		status = v.StatusCode
	}
	h := http.Header{}
	if st.RequestID != "" {
		h.Set("X-Fal-Request-Id", st.RequestID)
	}
	return newHTTPError(&engine.Failure{Op: req.Op, Method: req.Method, URL: engine.RedactURL(req.URL), Status: status, Header: h, Body: engine.Scrub([]byte(data), st.Secrets)})
}

// Stream calls Stream on a client built from the environment on first use.
func Stream(ctx context.Context, app string, input any, opts ...RequestOption) iter.Seq2[Event, error] {
	c, err := defaultClient()
	if err != nil {
		return func(yield func(Event, error) bool) { yield(Event{}, err) }
	}
	return c.Stream(ctx, app, input, opts...)
}
