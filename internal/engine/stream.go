package engine

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Stream is a 2xx answer whose body is read as it arrives (server-sent
// events, a download). Close it when done.
type Stream struct {
	Status    int
	Header    http.Header
	RequestID string
	Secrets   []string // the request's credentials, to scrub from what the body says

	body  io.ReadCloser
	ctx   *streamCtx // cancelled by the idle watch and Close
	idle  time.Duration
	touch atomic.Int64 // when Touch was last called (or the stream opened), as sinceOrigin
}

// errIdle marks a stream cut because it stayed silent too long.
var errIdle = errors.New("the stream stayed silent too long")

// Open sends req and returns its answer once the headers have arrived. The
// per-attempt timeout bounds only that wait; the body may stream for as
// long as ctx allows, with idle (if > 0) cutting a stream that goes that
// long without a Touch. Attempts are retried (per the policy and req.Class)
// only before an answer arrived; a non-2xx answer is read (bounded) and
// returned as the Config's HTTP error.
func (c *Config) Open(ctx context.Context, req *Request, idle time.Duration) (*Stream, error) {
	var s *Stream
	err := c.loop(ctx, req, func(auth Auth, n int) error {
		var err error
		s, err = c.open(ctx, req, auth, n, idle)
		return err
	})
	return s, err
}

func (c *Config) open(ctx context.Context, req *Request, auth Auth, n int, idle time.Duration) (*Stream, error) {
	sctx := newStreamCtx(ctx)
	hr, err := c.newHTTPRequest(sctx, req, auth)
	if err != nil {
		sctx.cancel(nil)
		return nil, &permanent{err}
	}
	endHeaderBound := c.headerBound(ctx, req, sctx)
	var start time.Time
	if c.Logger != nil {
		start = time.Now()
	}
	hc := c.clientFor(hr)
	hr.Header = c.streamHeaders.share(hc, hr.Header)
	res, err := do(hc, hr)
	endHeaderBound()
	if err != nil {
		sctx.cancel(nil)
		if errors.Is(sctx.why(), attemptTimeout) && ctx.Err() == nil {
			return nil, attemptTimeout
		}
		return nil, c.transportError(sctx, req, auth, err)
	}
	rid := res.Header.Get("X-Fal-Request-Id")
	if c.Logger != nil {
		c.logExchange(ctx, "fal: http stream", req, n, res, rid, start)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		err := c.statusError(req, res, auth)
		res.Body.Close()
		sctx.cancel(nil)
		return nil, err
	}
	s := &Stream{Status: res.StatusCode, Header: res.Header, RequestID: rid, Secrets: auth.Secrets, body: res.Body, ctx: sctx, idle: idle}
	// The stream's Header is all that is kept of the header: net/http
	// holds the response for as long as the body is open, and a caller
	// done with the header (a status stream, for the job's life) lets it
	// go by dropping Stream.Header.
	res.Header = nil
	if idle > 0 {
		s.touchAt(time.Now())
		idleStreams.add(s)
	}
	return s, nil
}

// headerBound cuts sctx with attemptTimeout if the answer's headers take
// longer than the per-attempt timeout (the stream's context outlives
// them, so it cannot be an AttemptContext). The function it returns ends
// the bound. A caller's context that can never be cancelled uses the
// shared attempt window, as AttemptContext does, rather than a timer of
// its own: a stopped timer lingers in the runtime's timer heap for a
// while, and the streams of a burst of Subscribes would each leave one.
func (c *Config) headerBound(ctx context.Context, req *Request, sctx *streamCtx) (end func() bool) {
	if c.Timeout <= 0 || req.NoTimeout {
		return noBound
	}
	cut := func() { sctx.cancel(attemptTimeout) }
	if w := c.window(ctx); w != nil {
		return w.AfterFunc(cut)
	}
	return time.AfterFunc(c.Timeout, cut).Stop
}

func noBound() bool { return false }

// Read reads the body.
func (s *Stream) Read(p []byte) (int, error) { return s.body.Read(p) }

// Touch restarts the idle clock: call it for each complete event, so that
// the idle timeout measures time without an event, not without a byte (a
// server trickling one byte a second must not keep a stream alive).
func (s *Stream) Touch() {
	if s.idle > 0 {
		s.touchAt(time.Now())
	}
}

// touchAt records t as the stream's last Touch.
func (s *Stream) touchAt(t time.Time) { s.touch.Store(sinceOrigin(t)) }

// TimedOut reports whether the stream was cut for its silence: its
// context ended, first, with errIdle (after Close, a late idle cut changes
// nothing).
func (s *Stream) TimedOut() bool { return s.ctx.why() == errIdle }

// Close releases the connection.
func (s *Stream) Close() error {
	if s.idle > 0 {
		idleStreams.remove(s)
	}
	s.ctx.cancel(nil)
	return s.body.Close()
}
