package fal

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/falgo/fal/internal/falerr"
)

// cancelGrace bounds the best-effort cancel sent after a wait timed out.
// It runs in the background: the caller is not held past its deadline.
const cancelGrace = 5 * time.Second

// Subscribe submits a request to app's queue, waits for it to complete and
// returns its output: the way to run real fal workloads, which take seconds
// to minutes.
//
// While waiting it follows the status stream (see Events). OnEnqueue
// receives the request id as soon as it is known, OnQueueUpdate every
// status change, and WithLogs(true) adds the app's logs. A request that
// completes with an error returns *RequestError (with the logs, and the
// result endpoint's *HTTPError as Cause, e.g. a 422's fields).
//
// The context deadline, or WithClientTimeout, bounds the whole call: it
// returns at the deadline. When the deadline runs out after the request was
// submitted, Subscribe returns *TimeoutError with the request id at once
// and cancels the request on the server in the background (best effort,
// for at most 5 seconds, failures logged), so no runner keeps working for a
// caller that is gone. Cancelling ctx instead leaves the request in the
// queue (reattach with Client.Handle and the id from OnEnqueue).
func (c *Client) Subscribe(ctx context.Context, app string, input any, opts ...RequestOption) (*Result, error) {
	// This frame is on the stack for the whole wait (see follower.next):
	// the work before and after the wait is done in the functions it calls.
	cl, err := c.newCall(callSubscribe, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := cl.bound(ctx)
	if cancel != nil {
		defer cancel()
	}
	h, err := c.submit(ctx, cl, app, input)
	if err != nil {
		return nil, cl.submitFailed(ctx, app, err)
	}
	if cl.s.onEnqueue != nil {
		cl.s.onEnqueue(h.RequestID)
	}
	f := newFollower(h, cl)
	defer f.stop()
	if err := f.follow(ctx); err != nil {
		return nil, h.abandon(ctx, cl, err)
	}
	return h.subscribed(ctx, cl, f)
}

// bound applies WithClientTimeout to a Subscribe: it returns the context
// bounding the whole call, with its cancel (nil when ctx is kept), and
// sets the limit a *TimeoutError reports.
func (cl *call) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	cl.limit = cl.s.clientTimeout
	if cl.limit > 0 {
		if cl.s.startTimeout == 0 && cl.limit > time.Second {
			cl.s.startTimeout = cl.limit
		}
		return context.WithTimeout(ctx, cl.limit)
	}
	if dl, ok := ctx.Deadline(); ok {
		cl.limit = time.Until(dl)
	}
	return ctx, nil
}

// submitFailed is the error of a Subscribe whose submit failed.
func (cl *call) submitFailed(ctx context.Context, app string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return &TimeoutError{Op: "subscribe " + app, Limit: cl.limit}
	}
	return err
}

// subscribed fetches the output of a Subscribe's completed request.
func (h *RequestHandle) subscribed(ctx context.Context, cl *call, f *follower) (*Result, error) {
	res, err := h.finish(ctx, cl, f.completed(), f.logs)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		// The request completed but its output could not be fetched in
		// time; it stays fetchable by id for a while.
		return nil, &TimeoutError{Op: "subscribe " + h.App, RequestID: h.RequestID, Limit: cl.limit}
	}
	return res, err
}

// abandon ends a wait that failed. When the deadline ran out, the request
// is cancelled on the server in the background, with a fresh short
// context, so no runner keeps working for a caller that is gone.
func (h *RequestHandle) abandon(ctx context.Context, cl *call, err error) error {
	op := "subscribe " + h.App
	if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() == nil {
		if ctx.Err() != nil {
			return falerr.Wrap(ctx.Err(), "%s: request %s left in the queue", op, h.RequestID)
		}
		return err
	}
	go func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmp.Or(cl.s.cancelGrace, cancelGrace))
		defer cancel()
		if cerr := h.cancel(cctx, cl); cerr != nil && cl.eng.Logger != nil {
			cl.eng.Logger.Warn("fal: cancelling a request after its wait timed out failed", "request_id", h.RequestID, "error", cerr.Error())
		}
	}()
	return &TimeoutError{Op: op, RequestID: h.RequestID, Limit: cl.limit}
}
