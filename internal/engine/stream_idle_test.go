package engine

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestStreamIdleCheck checks the idle timer's decision when it fires: a
// stream touched within the idle time is kept (the timer set again for
// the rest), a silent one is cut with errIdle, and a closed one is left
// alone. The times are set, not waited for.
func TestStreamIdleCheck(t *testing.T) {
	const idle = time.Hour
	newStream := func(silentFor time.Duration) (*Stream, *streamCtx) {
		ctx := newStreamCtx(context.Background())
		s := &Stream{body: io.NopCloser(strings.NewReader("")), ctx: ctx, idle: idle, start: time.Now().Add(-silentFor)}
		s.timer = time.AfterFunc(idle, func() {})
		t.Cleanup(func() { s.timer.Stop() })
		return s, ctx
	}
	s, ctx := newStream(2 * idle)
	s.Touch() // just now: the stream is alive
	s.checkIdle()
	if s.TimedOut() || ctx.Err() != nil {
		t.Fatalf("a stream touched just now was cut")
	}
	s, ctx = newStream(2 * idle) // never touched for two idle periods
	s.checkIdle()
	if !s.TimedOut() || !errors.Is(ctx.why(), errIdle) {
		t.Fatalf("a silent stream was kept: timed out %v, cause %v", s.TimedOut(), ctx.why())
	}
	s, ctx = newStream(2 * idle)
	_ = s.Close()
	s.checkIdle()
	if s.TimedOut() {
		t.Fatal("a closed stream was marked timed out")
	}
	_ = ctx
}
