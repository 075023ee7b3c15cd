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
	// The two attempts start well within one span (1 s) of each other.
	if !rec.deadlines[0].Equal(rec.deadlines[1]) && after.Sub(before) < 500*time.Millisecond {
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
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newConfig(t, srv)
	c.Timeout = windowMin // the shortest timeout with windows
	if err := c.Prepare(); err != nil {
		t.Fatal(err)
	}
	if c.windows == nil {
		t.Fatal("no attempt windows for a timeout of windowMin")
	}
	_, err := c.Do(context.Background(), &Request{Op: "run", Method: http.MethodPost, URL: srv.URL + "/run", Body: []byte(`{}`), Class: retry.Once})
	if err == nil || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Fatalf("err = %v, want the per-attempt timeout", err)
	}
}
