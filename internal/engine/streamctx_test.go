package engine

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestStreamCtxCancels checks the stream context against what
// context.WithCancelCause does: cancel closes Done with Canceled and keeps
// the cause; the caller's cancellation reaches it with the caller's error
// and cause; a child made with context.WithCancel is cancelled with it.
func TestStreamCtxCancels(t *testing.T) {
	mark := errors.New("mark")
	c := newStreamCtx(context.WithValue(context.Background(), testKey{}, "v"))
	child, stopChild := context.WithCancel(c)
	defer stopChild()
	if c.Err() != nil || c.why() != nil || c.Value(testKey{}) != "v" {
		t.Fatalf("fresh: err %v, cause %v, value %v", c.Err(), c.why(), c.Value(testKey{}))
	}
	c.cancel(mark)
	c.cancel(errors.New("second")) // only the first counts
	waitDone(t, c)
	waitDone(t, child)
	if c.Err() != context.Canceled || c.why() != mark || child.Err() != context.Canceled {
		t.Fatalf("cancelled: err %v, cause %v, child %v", c.Err(), c.why(), child.Err())
	}

	parent, cancelParent := context.WithCancelCause(context.Background())
	c = newStreamCtx(parent)
	cancelParent(mark)
	waitDone(t, c)
	if c.Err() != context.Canceled || c.why() != mark {
		t.Fatalf("from the caller: err %v, cause %v", c.Err(), c.why())
	}

	// A caller's context done already: the stream's is done at once.
	gone, cancelGone := context.WithCancelCause(context.Background())
	cancelGone(mark)
	for range 20 { // (the race detector sees a race on the hook, if any)
		c := newStreamCtx(gone)
		waitDone(t, c)
		if c.Err() != context.Canceled || c.why() != mark {
			t.Fatalf("from a caller done already: err %v, cause %v", c.Err(), c.why())
		}
	}

	// Done already: a child is cancelled at once, in another goroutine.
	late, stopLate := context.WithCancel(c)
	defer stopLate()
	waitDone(t, late)
}

// waitDone fails the test if ctx is not done within a generous bound (a
// guard against hanging, not a measure of speed).
func waitDone(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute):
		t.Fatal("the context was never done")
	}
}

// TestStreamCtxLetsChildrenGo checks that a child cancelled before the
// stream (net/http cancels its own child of every request's context as
// soon as an HTTP/2 answer's headers are in) leaves nothing behind: its
// registration is unlinked, and keeps no pointer to the others, which
// would keep them alive for the stream's life.
func TestStreamCtxLetsChildrenGo(t *testing.T) {
	c := newStreamCtx(context.Background())
	_, stop1 := context.WithCancel(c)
	_, stop2 := context.WithCancel(c)
	_, stop3 := context.WithCancel(c)
	if n := hooked(&c.ender); n != 3 {
		t.Fatalf("%d registrations for 3 children", n)
	}
	first := c.head.next // the middle one: unlinking it mends both sides
	stop2()
	if n := hooked(&c.ender); n != 2 || first.f != nil || first.prev != nil || first.next != nil {
		t.Fatalf("after stopping the middle child: %d registrations; its node still holds f %v, prev %p, next %p", n, first.f != nil, first.prev, first.next)
	}
	stop3()
	stop1()
	if c.head != nil {
		t.Fatal("registrations left after every child was cancelled")
	}
	stop := c.AfterFunc(func() {})
	if !stop() || stop() {
		t.Fatal("stop reported wrongly whether it stopped the function")
	}
	c.cancel(nil)
	if c.why() != context.Canceled {
		t.Fatalf("cancel(nil) gave cause %v", c.why())
	}
	// Registered once done, a function runs at once (in a goroutine of
	// its own: context.WithCancel registers holding its lock).
	ran := make(chan struct{})
	if c.AfterFunc(func() { close(ran) })() {
		t.Fatal("stop stopped a function that was due at once")
	}
	select {
	case <-ran:
	case <-time.After(time.Minute):
		t.Fatal("a function registered after the end never ran")
	}
}

// hooked counts the registrations of e still to run, checking the links
// both ways as it goes.
func hooked(e *ender) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	var prev *hookNode
	for h := e.head; h != nil; h = h.next {
		if h.prev != prev || h.f == nil {
			panic("a broken registration list")
		}
		prev = h
		n++
	}
	return n
}

type testKey struct{}
