package engine

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestIdleWatchSweeps checks the idle watch's decisions at a sweep: a
// stream touched within its bound is kept, a silent one is cut (its
// context with errIdle, TimedOut true) and no longer watched, a closed one
// is left alone; the watch's timer runs only while streams are watched.
// The clock is set, not waited for.
func TestIdleWatchSweeps(t *testing.T) {
	const idle = time.Hour
	now := time.Now()
	w := &idleWatch{now: func() time.Time { return now }}
	newStream := func() *Stream {
		s := &Stream{body: io.NopCloser(strings.NewReader("")), ctx: newStreamCtx(context.Background()), idle: idle}
		s.touchAt(now)
		w.add(s)
		return s
	}
	alive, silent, closed := newStream(), newStream(), newStream()
	if w.timer == nil || w.period != idle/8 && w.period != maxSweep {
		t.Fatalf("watching 3 streams: timer %v, period %v", w.timer, w.period)
	}
	now = now.Add(2 * idle)
	alive.touchAt(now) // just now
	// As Close does before it stops watching.
	closed.ctx.cancel(nil)
	w.sweep()
	if alive.TimedOut() || alive.ctx.Err() != nil {
		t.Fatal("a stream touched just now was cut")
	}
	if !silent.TimedOut() || !errors.Is(silent.ctx.why(), errIdle) {
		t.Fatalf("a silent stream was kept: timed out %v, cause %v", silent.TimedOut(), silent.ctx.why())
	}
	if closed.TimedOut() {
		t.Fatal("a closed stream was marked timed out")
	}
	if _, ok := w.streams[silent]; ok {
		t.Fatal("a cut stream is still watched")
	}
	if _, ok := w.streams[alive]; !ok {
		t.Fatal("a live stream is no longer watched")
	}
	w.remove(alive)
	now = now.Add(2 * idle)
	w.sweep()
	if w.timer != nil || w.streams != nil {
		t.Fatalf("nothing left to watch, but the timer is %v and the map of %d streams is kept", w.timer, len(w.streams))
	}
	if alive.TimedOut() {
		t.Fatal("a stream no longer watched was cut")
	}
}

// TestIdleWatchSpeedsUpForShortBounds: a stream with a shorter bound than
// those watched brings the next sweep forward.
func TestIdleWatchSpeedsUpForShortBounds(t *testing.T) {
	w := &idleWatch{}
	long := &Stream{ctx: newStreamCtx(context.Background()), idle: time.Hour}
	short := &Stream{ctx: newStreamCtx(context.Background()), idle: 80 * time.Millisecond}
	long.touchAt(time.Now())
	short.touchAt(time.Now())
	w.add(long)
	if w.period != maxSweep {
		t.Fatalf("period %v for an hour's bound, want %v", w.period, maxSweep)
	}
	w.add(short)
	if w.period != 10*time.Millisecond {
		t.Fatalf("period %v after an 80 ms bound, want 10ms", w.period)
	}
	w.remove(long)
	w.remove(short)
	w.mu.Lock()
	w.timer.Stop()
	w.mu.Unlock()
}

// TestClosedStreamsAreNotWatched: Open watches a stream with an idle
// bound, and Close stops watching it (a closed stream must not stay in
// the watch, and keep its timer running, until its bound runs out).
func TestClosedStreamsAreNotWatched(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
	}))
	defer srv.Close()
	c := newConfig(t, srv)
	st, err := c.Open(context.Background(), &Request{Op: "stream", Method: http.MethodGet, URL: srv.URL + "/s"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	watched := func() bool {
		idleStreams.mu.Lock()
		defer idleStreams.mu.Unlock()
		_, ok := idleStreams.streams[st]
		return ok
	}
	if !watched() {
		t.Fatal("an open stream with an idle bound is not watched")
	}
	st.Close()
	if watched() {
		t.Fatal("a closed stream is still watched")
	}
}

// TestStreamStaysSmall: a waiting Subscribe holds its status stream and
// the stream's context for its job's life, thousands at once; 96 and 80
// bytes are heap size classes (the next are 112 and 96), which a
// time.Time per stream, and a slice of hooks, once overran.
func TestStreamStaysSmall(t *testing.T) {
	if n := unsafe.Sizeof(Stream{}); n > 96 {
		t.Fatalf("a Stream is %d bytes, more than 96", n)
	}
	if n := unsafe.Sizeof(streamCtx{}); n > 80 {
		t.Fatalf("a stream's context is %d bytes, more than 80", n)
	}
}
