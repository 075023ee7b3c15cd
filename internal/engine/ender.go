package engine

import "sync"

// ender is what the engine's own contexts (a stream's, an attempt
// window's) have in common: a done channel closed once, the error and
// cause it ended with, and the functions hooked on with AfterFunc.
//
// A context with an AfterFunc method is how context.WithCancel (and so
// net/http, for every request) hooks a child onto its parent without a
// *context.cancelCtx's children map. Such a map grows with the children
// a burst brings and keeps that size for the parent's life: an attempt
// window outlives its attempts by the whole timeout, and a heap profile
// of 10,000 Subscribes in flight (go run ./bench -only inflight -profile)
// found about 90 bytes per Subscribe left in the windows' maps long after
// the submits were answered. Here each registration is a node of a list,
// garbage once stopped.
type ender struct {
	done chan struct{}

	mu    sync.Mutex
	err   error     // set once, with done closed
	cause error     // why it ended
	head  *hookNode // registrations still to run
}

// hookNode is one AfterFunc registration; f is nil once it ran or was
// stopped.
type hookNode struct {
	f          func()
	prev, next *hookNode
	e          *ender
}

func newEnder() ender { return ender{done: make(chan struct{})} }

// Done is closed once the context has ended.
func (e *ender) Done() <-chan struct{} { return e.done }

// Err is nil until the context has ended, then the error it ended with.
func (e *ender) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// why returns the cause the context ended with (nil while not ended).
// context.Cause does not know these types: it gives their Err.
func (e *ender) why() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cause
}

// AfterFunc arranges for f to be called once the context has ended. The
// functions registered so only cancel their own context, so they are
// called in the goroutine that ends this one (outside its lock), not each
// in a goroutine of its own; context.AfterFunc's own function still gets
// one, from context. stop unregisters f; it reports whether f was stopped
// before it ran.
func (e *ender) AfterFunc(f func()) (stop func() bool) {
	e.mu.Lock()
	if e.err != nil {
		e.mu.Unlock()
		// context.WithCancel registers while holding its own lock: f,
		// which takes it, must not run in this goroutine.
		go f()
		return func() bool { return false }
	}
	n := &hookNode{f: f, next: e.head, e: e}
	if e.head != nil {
		e.head.prev = n
	}
	e.head = n
	e.mu.Unlock()
	return n.stop
}

// stop unlinks the registration, unless it ran or was stopped already.
func (n *hookNode) stop() bool {
	e := n.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if n.f == nil {
		return false
	}
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		e.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	}
	n.f, n.prev, n.next = nil, nil, nil
	return true
}

// end ends the context with err and cause, once, and calls what was
// registered. It reports whether this call ended it.
func (e *ender) end(err, cause error) bool {
	e.mu.Lock()
	if e.err != nil {
		e.mu.Unlock()
		return false
	}
	e.err, e.cause = err, cause
	var fs []func()
	for n := e.head; n != nil; {
		next := n.next
		fs = append(fs, n.f)
		n.f, n.prev, n.next = nil, nil, nil
		n = next
	}
	e.head = nil
	close(e.done)
	e.mu.Unlock()
	for _, f := range fs {
		f()
	}
	return true
}
