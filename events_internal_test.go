package fal

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestFollowerPausesBetweenPolls: a follower polls, then waits the
// interval before it polls again. With an hour's interval and a second of
// deadline, the queue sees exactly one status request, however fast it
// answers.
func TestFollowerPausesBetweenPolls(t *testing.T) {
	t.Parallel()
	var polls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			_, _ = io.WriteString(w, `{"request_id":"r1"}`)
		case strings.HasSuffix(r.URL.Path, "/status"):
			polls.Add(1)
			_, _ = io.WriteString(w, `{"status":"IN_PROGRESS"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := newInternalClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.Subscribe(ctx, "fal-ai/x", nil, WithPolling(time.Hour))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if n := polls.Load(); n != 1 {
		t.Fatalf("%d status polls within the first interval, want 1", n)
	}
}

// TestFollowerDropsTheStreamHeader: once a status stream is open, its
// header (net/http's map of the answer's fields) is not kept for the
// job's life.
func TestFollowerDropsTheStreamHeader(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Many", "fields")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	c := newInternalClient(t, srv)
	cl, err := c.newCall(callEvents, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := cl.handle("fal-ai/x", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
	if err != nil {
		t.Fatal(err)
	}
	f := newFollower(h, cl)
	defer f.stop()
	if err := f.open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.st == nil || f.st.Header != nil {
		t.Fatalf("the open stream keeps its header: %v", f.st.Header)
	}
}
