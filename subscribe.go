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
	cl, err := c.newCall(callSubscribe, opts)
	if err != nil {
		return nil, err
	}
	limit := cl.s.clientTimeout
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
		if cl.s.jobs().startTimeout == 0 && limit > time.Second {
			cl.s.setJob(func(j *jobSettings) { j.startTimeout = limit })
		}
	} else if dl, ok := ctx.Deadline(); ok {
		limit = time.Until(dl)
	}
	h, err := c.submit(ctx, cl, app, input)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return nil, &TimeoutError{Op: "subscribe " + app, Limit: limit}
		}
		return nil, err
	}
	if cl.s.onEnqueue != nil {
		cl.s.onEnqueue(h.RequestID)
	}
	done, logs, err := h.follow(ctx, cl)
	if err != nil {
		return nil, h.abandon(ctx, cl, "subscribe "+app, limit, err)
	}
	res, err := h.finish(ctx, cl, done, logs)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		// The request completed but its output could not be fetched in
		// time; it stays fetchable by id for a while.
		return nil, &TimeoutError{Op: "subscribe " + app, RequestID: h.RequestID, Limit: limit}
	}
	return res, err
}

// abandon ends a wait that failed. When the deadline ran out, the request
// is cancelled on the server in the background, with a fresh short
// context, so no runner keeps working for a caller that is gone.
func (h *RequestHandle) abandon(ctx context.Context, cl *call, op string, limit time.Duration, err error) error {
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
	return &TimeoutError{Op: op, RequestID: h.RequestID, Limit: limit}
}
