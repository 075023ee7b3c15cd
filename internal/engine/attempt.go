package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// The per-attempt timeout (Config.Timeout) bounds every exchange. A
// context.WithTimeout per attempt costs a timer, a context and its
// registration with the caller's context on every call, which is a
// visible part of a sync Run's CPU. Most callers pass a context that can
// never be cancelled (context.Background, or values on it): their attempts
// share a window instead. A window is one context with one deadline for
// all the attempts that start within its span (a hundredth of the timeout,
// at most a second), so each attempt is cut between its timeout and that
// span later: 120 s becomes 120–121 s. A caller's context that can be
// cancelled, or a deadline of its own, keeps the exact per-attempt
// context.

// attemptTimeout marks an attempt cut by the per-attempt timeout (as
// opposed to the caller's context).
var attemptTimeout = errors.New("per-attempt timeout")

// windowMin is the shortest timeout that attempts share windows for:
// below it the span would be under 10 ms, and precision matters more.
const windowMin = time.Second

// windows hands out the shared attempt windows of one timeout.
type windows struct {
	timeout, span time.Duration
	cur           atomic.Pointer[window]
	mu            sync.Mutex // serialises making a new window
}

// window is the context of the attempts that start in [start, start+span):
// it ends at its deadline, start+span+timeout, with cause attemptTimeout,
// and in no other way. The contexts net/http derives from its attempts
// hook onto it through the ender's list, not a map (see ender).
type window struct {
	start, deadline time.Time
	ender
}

// windowRegistry holds the windows of each timeout.
type windowRegistry struct {
	mu sync.Mutex
	m  sync.Map // time.Duration → *windows
	n  int      // entries in m
}

// registry is shared by every Config in the process: a window outlives
// its attempts by up to the timeout, so windows per client, or per call
// with a WithTimeout of its own, would pile up timers for programs that
// make a client per request.
var registry windowRegistry

// maxTimeouts bounds the distinct timeouts that get windows; attempts
// with any other timeout get a context of their own.
const maxTimeouts = 32

// windowsFor returns the shared windows of timeout, or nil when attempts
// with that timeout do not share windows.
func windowsFor(timeout time.Duration) *windows { return registry.get(timeout) }

func (r *windowRegistry) get(timeout time.Duration) *windows {
	if timeout < windowMin {
		return nil
	}
	if w, ok := r.m.Load(timeout); ok {
		return w.(*windows)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if w, ok := r.m.Load(timeout); ok {
		return w.(*windows)
	}
	if r.n >= maxTimeouts {
		return nil
	}
	w := &windows{timeout: timeout, span: min(timeout/100, time.Second)}
	r.m.Store(timeout, w)
	r.n++
	return w
}

// current returns the current window if an attempt starting at now
// belongs to it, else nil.
func (w *windows) current(now time.Time) *window {
	if cur := w.cur.Load(); cur != nil && !now.Before(cur.start) && now.Sub(cur.start) < w.span {
		return cur
	}
	return nil
}

// at returns the window for an attempt starting at now.
func (w *windows) at(now time.Time) *window {
	if cur := w.current(now); cur != nil {
		return cur
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if cur := w.current(now); cur != nil { // made by another attempt meanwhile
		return cur
	}
	nw := &window{start: now, deadline: now.Add(w.span + w.timeout), ender: newEnder()}
	time.AfterFunc(w.span+w.timeout, nw.expire)
	w.cur.Store(nw)
	return nw
}

// expire ends the window at its deadline.
func (w *window) expire() { w.end(context.DeadlineExceeded, attemptTimeout) }

// windowCtx is an attempt's context in a window: the caller's values, the
// window's deadline and end. The contexts net/http derives from it hook
// onto the window with its AfterFunc method (not with a goroutine of
// their own). context.Cause gives its Err; AttemptTimedOut knows it.
type windowCtx struct {
	context.Context // the caller's, which is never cancelled
	w               *window
}

func (a *windowCtx) Deadline() (time.Time, bool)           { return a.w.deadline, true }
func (a *windowCtx) Done() <-chan struct{}                 { return a.w.Done() }
func (a *windowCtx) Err() error                            { return a.w.Err() }
func (a *windowCtx) AfterFunc(f func()) (stop func() bool) { return a.w.AfterFunc(f) }

// noCancel is the CancelFunc of an attempt that needs none.
func noCancel() {}

// AttemptTimedOut reports whether actx, from AttemptContext, ended because
// the per-attempt timeout fired.
func AttemptTimedOut(actx context.Context) bool {
	if a, ok := actx.(*windowCtx); ok {
		return a.w.why() == attemptTimeout
	}
	return errors.Is(context.Cause(actx), attemptTimeout)
}

// attemptContext bounds one attempt of req (see AttemptContext).
func (c *Config) attemptContext(ctx context.Context, req *Request) (context.Context, context.CancelFunc) {
	if req.NoTimeout {
		return ctx, noCancel
	}
	return c.AttemptContext(ctx)
}

// AttemptContext bounds one attempt by the per-attempt timeout, unless the
// caller's deadline comes first anyway; AttemptTimedOut tells whether it
// fired. For attempts the engine does not send itself (handshakes).
func (c *Config) AttemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.Timeout <= 0 {
		return ctx, noCancel
	}
	if w := c.window(ctx); w != nil {
		return &windowCtx{Context: ctx, w: w}, noCancel
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(c.Clock().Add(c.Timeout)) {
		return ctx, noCancel
	}
	return context.WithTimeoutCause(ctx, c.Timeout, attemptTimeout)
}

// window is the shared attempt window of an attempt starting now with
// ctx, or nil when it gets a deadline of its own: ctx can be cancelled,
// the clock is a test's, or the timeout has no windows.
func (c *Config) window(ctx context.Context) *window {
	if c.Now != nil || ctx.Done() != nil {
		return nil
	}
	if w := windowsFor(c.Timeout); w != nil {
		return w.at(time.Now())
	}
	return nil
}
