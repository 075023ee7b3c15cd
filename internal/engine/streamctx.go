package engine

import (
	"context"
	"slices"
	"sync"
)

// streamCtx is the context of an open stream: the caller's deadline and
// values, done when the caller's context is done or when the stream is
// cancelled (its header or idle timer, Close). It behaves as
// context.WithCancelCause but holds less for the stream's life, which for
// a status stream is the whole job: net/http derives its own context from
// every request's, and a *context.cancelCtx parent would keep that child
// in a map allocated for it, where a context with an AfterFunc method
// keeps only the function the child asks to be called.
//
// Its cause is read with why: context.Cause does not know this type (it
// finds the caller's context's cause, nil while that is alive) and gives
// its Err. The engine reads the cause only with why.
type streamCtx struct {
	context.Context // the caller's

	done chan struct{}

	mu     sync.Mutex
	err    error       // set once, with done closed
	cause  error       // why: the timer's mark, or the caller's cause
	hooks  []*func()   // AfterFunc registrations still to run
	unhook func() bool // stops the caller's context's AfterFunc
}

// newStreamCtx returns a stream context under parent.
func newStreamCtx(parent context.Context) *streamCtx {
	c := &streamCtx{Context: parent, done: make(chan struct{})}
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

// Done is closed once the stream's context is done.
func (c *streamCtx) Done() <-chan struct{} { return c.done }

// Err is nil until the context is done, then context.Canceled or the
// caller's context's error.
func (c *streamCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// why returns the cause the context was cancelled with (nil while not done).
func (c *streamCtx) why() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// AfterFunc arranges for f to be called once the context is done: it is
// how context.WithCancel (and so net/http) hooks a child onto this
// context. The functions registered so only cancel their own context,
// so they are called in the goroutine that ends this one (outside its
// lock), not each in a goroutine of its own; context.AfterFunc's own
// function still gets one, from context. stop unregisters f; it reports
// whether f was stopped before it ran.
func (c *streamCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		// context.WithCancel registers while holding its own lock: f,
		// which takes it, must not run in this goroutine.
		go f()
		return func() bool { return false }
	}
	p := &f
	c.hooks = append(c.hooks, p)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if i := slices.Index(c.hooks, p); i >= 0 {
			// Delete clears the slot left behind: the backing array must
			// not keep the function, and what it would cancel, alive.
			c.hooks = slices.Delete(c.hooks, i, i+1)
			return true
		}
		return false
	}
}

// cancel ends the context with cause (context.Canceled when nil), as a
// CancelCauseFunc does.
func (c *streamCtx) cancel(cause error) {
	if cause == nil {
		cause = context.Canceled
	}
	c.end(context.Canceled, cause)
}

// end makes the context done with err and cause, once.
func (c *streamCtx) end(err, cause error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err, c.cause = err, cause
	hooks, unhook := c.hooks, c.unhook
	c.hooks = nil
	close(c.done)
	c.mu.Unlock()
	if unhook != nil {
		unhook()
	}
	for _, f := range hooks {
		(*f)()
	}
}
