package fal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// openStream sends one request whose answer is read incrementally (SSE).
// The per-call timeout bounds only the wait for the response headers; the
// body may stream for as long as ctx allows, with idle (if > 0) cutting a
// stream that stays silent that long. A non-2xx answer is an *HTTPError.
// The caller must call the returned stop function, which closes the body.
func (c *Client) openStream(ctx context.Context, cfg *config, req *apiRequest, idle time.Duration) (*http.Response, *idleReader, func(), error) {
	creds, err := c.credentialsFor(ctx, cfg, req)
	if err != nil {
		return nil, nil, nil, err
	}
	sctx, cancel := context.WithCancelCause(ctx)
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(sctx, req.method, req.url, body)
	if err != nil {
		cancel(nil)
		return nil, nil, nil, fmt.Errorf("fal: %s: %w", req.op, err)
	}
	c.setHeaders(hr, cfg, req, creds)
	hr.Header.Set("Accept", "text/event-stream")
	hr.Header.Set("Cache-Control", "no-store")
	var headerTimer *time.Timer
	if cfg.timeout > 0 {
		headerTimer = time.AfterFunc(cfg.timeout, func() { cancel(errAttemptTimeout) })
	}
	start := time.Now()
	res, err := safeClient(cfg).Do(hr)
	if headerTimer != nil {
		headerTimer.Stop()
	}
	if cfg.logger != nil && err == nil {
		cfg.logger.LogAttrs(ctx, slog.LevelDebug, "fal: http stream",
			slog.String("method", req.method), slog.String("url", redactURL(req.url)),
			slog.Int("status", res.StatusCode), slog.String("request_id", res.Header.Get("X-Fal-Request-Id")), slog.Duration("took", time.Since(start)))
	}
	if err != nil {
		cancel(nil)
		if errors.Is(context.Cause(sctx), errAttemptTimeout) && ctx.Err() == nil {
			return nil, nil, nil, &TimeoutError{Op: req.op, Limit: cfg.timeout}
		}
		if ctx.Err() != nil {
			return nil, nil, nil, fmt.Errorf("fal: %s: %w", req.op, ctx.Err())
		}
		return nil, nil, nil, c.transportError(sctx, cfg, req, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		res.Body.Close()
		cancel(nil)
		return nil, nil, nil, newHTTPError(req.method, req.url, res.StatusCode, res.Header, data, creds.Token)
	}
	ir := &idleReader{r: res.Body}
	if idle > 0 {
		ir.timer = time.AfterFunc(idle, func() { ir.fired(); cancel(errIdle) })
		ir.idle = idle
	}
	stop := func() {
		if ir.timer != nil {
			ir.timer.Stop()
		}
		cancel(nil)
		res.Body.Close()
	}
	return res, ir, stop, nil
}

// errIdle marks a stream cut because it stayed silent too long.
var errIdle = errors.New("fal: the stream stayed silent too long")

// idleReader resets the idle timer on every read that returns data.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	idle  time.Duration

	mu      sync.Mutex
	wasIdle bool
}

func (ir *idleReader) fired() {
	ir.mu.Lock()
	ir.wasIdle = true
	ir.mu.Unlock()
}

// timedOut reports whether the idle timer cut the stream.
func (ir *idleReader) timedOut() bool {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	return ir.wasIdle
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 && ir.timer != nil {
		ir.timer.Reset(ir.idle)
	}
	return n, err
}
