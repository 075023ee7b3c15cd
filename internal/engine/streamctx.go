package engine

import "context"

// streamCtx is the context of an open stream: the caller's deadline and
// values, done when the caller's context is done or when the stream is
// cancelled (its header or idle bound, Close). It behaves as
// context.WithCancelCause but holds less for the stream's life, which for
// a status stream is the whole job: net/http's own child of the request's
// context is a registration in the ender's list (see ender), not an entry
// in a map allocated for it.
//
// Its cause is read with why: context.Cause does not know this type (it
// finds the caller's context's cause, nil while that is alive) and gives
// its Err. The engine reads the cause only with why.
type streamCtx struct {
	context.Context // the caller's
	ender
	unhook func() bool // stops the caller's context's AfterFunc
}

// newStreamCtx returns a stream context under parent.
func newStreamCtx(parent context.Context) *streamCtx {
	c := &streamCtx{Context: parent, ender: newEnder()}
	if parent.Done() != nil {
		// A parent already done runs the function at once, in another
		// goroutine: unhook is set, and read by end, under the lock.
		unhook := context.AfterFunc(parent, func() { c.end(parent.Err(), context.Cause(parent)) })
		c.mu.Lock()
		c.unhook = unhook
		c.mu.Unlock()
	}
	return c
}

// Done, Err and AfterFunc are the ender's, not the caller's context's.
func (c *streamCtx) Done() <-chan struct{}                 { return c.ender.Done() }
func (c *streamCtx) Err() error                            { return c.ender.Err() }
func (c *streamCtx) AfterFunc(f func()) (stop func() bool) { return c.ender.AfterFunc(f) }

// cancel ends the context with cause (context.Canceled when nil), as a
// CancelCauseFunc does.
func (c *streamCtx) cancel(cause error) {
	if cause == nil {
		cause = context.Canceled
	}
	c.end(context.Canceled, cause)
}

// end ends the context, once, and lets go of the caller's context.
func (c *streamCtx) end(err, cause error) {
	if !c.ender.end(err, cause) {
		return
	}
	c.mu.Lock()
	unhook := c.unhook
	c.unhook = nil
	c.mu.Unlock()
	if unhook != nil {
		unhook()
	}
}
