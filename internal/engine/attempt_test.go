package engine

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falgo/fal/internal/retry"
)

// deadlineRecorder answers every request at once and records the deadline
// and a value of each request's context.
type deadlineRecorder struct {
	mu        sync.Mutex
	deadlines []time.Time
	values    []any
}

type ctxKey struct{}

func (d *deadlineRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	dl, _ := r.Context().Deadline()
	d.mu.Lock()
	d.deadlines = append(d.deadlines, dl)
	d.values = append(d.values, r.Context().Value(ctxKey{}))
	d.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

// TestAttemptsShareAWindow: attempts from a context that cannot be
// cancelled share one window's deadline (no timer of their own), between
// the timeout and a hundredth of it later, and keep the caller's values;
// a cancellable context still gets a deadline of its own per attempt.
func TestAttemptsShareAWindow(t *testing.T) {
	t.Parallel()
	rec := &deadlineRecorder{}
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c := newConfig(t, srv)
	c.HTTPClient = &http.Client{Transport: rec}
	c.Timeout = 100 * time.Second
	if err := c.Prepare(); err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), ctxKey{}, "traced")
	req := func() *Request {
		return &Request{Op: "run", Method: http.MethodPost, URL: srv.URL + "/run", Body: []byte(`{}`), Class: retry.Once}
	}
	before := time.Now()
	for i := 0; i < 2; i++ {
		if _, err := c.Do(ctx, req()); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := c.Do(cctx, req()); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if len(rec.deadlines) != 3 {
		t.Fatalf("%d requests recorded, want 3", len(rec.deadlines))
	}
	// The two attempts share a window, or fell on either side of a
	// window's end: then the second window's deadline is a whole span
	// (1 s) later. Deadlines of their own would differ by microseconds.
	if d0, d1 := rec.deadlines[0], rec.deadlines[1]; !d0.Equal(d1) && d1.Sub(d0) < time.Second {
		t.Errorf("attempts from an uncancellable context have deadlines %v and %v, want one shared window", rec.deadlines[0], rec.deadlines[1])
	}
	lo, hi := before.Add(c.Timeout), after.Add(c.Timeout+time.Second)
	for i, dl := range rec.deadlines {
		if dl.Before(lo) || dl.After(hi) {
			t.Errorf("attempt %d: deadline %v, want between %v and %v", i, dl, lo, hi)
		}
		if rec.values[i] != "traced" {
			t.Errorf("attempt %d: the caller's context value is %v in the request's context", i, rec.values[i])
		}
	}
	if rec.deadlines[2].Equal(rec.deadlines[0]) {
		t.Error("an attempt from a cancellable context shares the window; want a deadline of its own")
	}
}

// TestWindowAttemptTimesOut: an attempt in a window is cut by the
// per-attempt timeout like any other, and reported as the timeout.
func TestWindowAttemptTimesOut(t *testing.T) {
	t.Parallel()
	srv, c := silentServer(t)
	if windowsFor(c.Timeout) == nil {
		t.Fatal("no attempt windows for a timeout of windowMin")
	}
	_, err := c.Do(context.Background(), &Request{Op: "run", Method: http.MethodPost, URL: srv.URL + "/run", Body: []byte(`{}`), Class: retry.Once})
	if err == nil || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Fatalf("err = %v, want the per-attempt timeout", err)
	}
}

// TestWindowsAreSharedAndBounded: every Config with one timeout shares
// its windows (a client made per request adds no timers of its own), and
// only so many distinct timeouts get windows at all.
func TestWindowsAreSharedAndBounded(t *testing.T) {
	t.Parallel()
	var r windowRegistry
	a := r.get(77 * time.Second)
	if a == nil || r.get(77*time.Second) != a {
		t.Fatal("two lookups of one timeout do not share its windows")
	}
	if r.get(windowMin-time.Millisecond) != nil {
		t.Error("a timeout under windowMin has windows")
	}
	for i := 0; i < 2*maxTimeouts; i++ {
		r.get(time.Hour + time.Duration(i)*time.Second)
	}
	n := 0
	r.m.Range(func(any, any) bool { n++; return true })
	if n > maxTimeouts || r.get(2*time.Hour) != nil {
		t.Errorf("%d timeouts have windows, and a new one still gets them; want at most %d", n, maxTimeouts)
	}
	// Two configs with one timeout (two clients) share the windows: the
	// same deadline, or one a whole span later (see above).
	c1, c2 := &Config{Timeout: 103 * time.Second}, &Config{Timeout: 103 * time.Second}
	a1, _ := c1.AttemptContext(context.Background())
	a2, _ := c2.AttemptContext(context.Background())
	d1, _ := a1.Deadline()
	d2, _ := a2.Deadline()
	if !d1.Equal(d2) && d2.Sub(d1) < time.Second {
		t.Errorf("two clients' attempts have deadlines %v and %v, want one window", d1, d2)
	}
}

// TestWindowBoundsStreamHeaders: a stream's wait for the answer's headers
// is bounded by the per-attempt timeout, through the shared attempt window
// for a context that can never be cancelled and a timer for one that can,
// and reports it as the per-attempt timeout.
func TestWindowBoundsStreamHeaders(t *testing.T) {
	t.Parallel()
	srv, c := silentServer(t)
	// Background shares the window; a cancellable context gets a timer.
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, ctx := range []context.Context{context.Background(), cancellable} {
		_, err := c.Open(ctx, &Request{Op: "stream", Method: http.MethodGet, URL: srv.URL + "/s", Class: retry.Once}, 0)
		if err == nil || !strings.Contains(err.Error(), "timed out after 1s") {
			t.Fatalf("err = %v, want the per-attempt timeout", err)
		}
	}
}

// silentServer is a server that never answers (until the test ends), and
// a Config for it whose per-attempt timeout is windowMin, the shortest
// with windows.
func silentServer(t *testing.T) (*httptest.Server, *Config) {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: the handlers return
	c := newConfig(t, srv)
	c.Timeout = windowMin
	if err := c.Prepare(); err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// TestWindowLetsAttemptsGo: the contexts net/http derives from attempts in
// a window hook onto it through its list, and leave nothing there once
// they end (a *context.cancelCtx window kept a map sized for the biggest
// burst until its deadline); the window's end cancels those still hooked
// on, with its deadline's error, and counts as the per-attempt timeout.
func TestWindowLetsAttemptsGo(t *testing.T) {
	w := &window{start: time.Now(), deadline: time.Now().Add(time.Hour), ender: newEnder()}
	a := &windowCtx{Context: context.WithValue(context.Background(), ctxKey{}, "v"), w: w}
	var stops []context.CancelFunc
	for range 1000 {
		_, stop := context.WithCancel(a)
		stops = append(stops, stop)
	}
	if n := hooked(&w.ender); n != 1000 {
		t.Fatalf("%d of 1000 children hooked onto the window", n)
	}
	for _, stop := range stops {
		stop()
	}
	if w.head != nil {
		t.Fatalf("%d registrations left once every child ended", hooked(&w.ender))
	}
	child, stop := context.WithCancel(a)
	defer stop()
	if AttemptTimedOut(a) || a.Value(ctxKey{}) != "v" {
		t.Fatalf("before the deadline: timed out %v, value %v", AttemptTimedOut(a), a.Value(ctxKey{}))
	}
	w.expire()
	waitDone(t, child)
	if child.Err() != context.DeadlineExceeded || a.Err() != context.DeadlineExceeded || !AttemptTimedOut(a) {
		t.Fatalf("after the deadline: child %v, window %v, timed out %v", child.Err(), a.Err(), AttemptTimedOut(a))
	}
	late, stopLate := context.WithCancel(a)
	defer stopLate()
	waitDone(t, late)
}
