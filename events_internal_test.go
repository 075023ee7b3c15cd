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

	"github.com/falgo/fal/internal/engine"
)

// TestPollingPausesBetweenPolls: polling waits the interval before it
// polls again. With an hour's interval and a second of deadline, the
// queue sees exactly one status request, however fast it answers.
func TestPollingPausesBetweenPolls(t *testing.T) {
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

// TestStatusStreamLetsGoOfItsHeader: an open status stream is accepted
// only as an event stream, and its header (net/http's map of the answer's
// fields) is not kept for the job's life.
func TestStatusStreamLetsGoOfItsHeader(t *testing.T) {
	st := &engine.Stream{Header: http.Header{"Content-Type": {"text/event-stream; charset=utf-8"}, "X-Many": {"fields"}}}
	if err := acceptStatusStream(st); err != nil {
		t.Fatal(err)
	}
	if st.Header != nil {
		t.Fatalf("the open stream keeps its header: %v", st.Header)
	}
	other := &engine.Stream{Header: http.Header{"Content-Type": {"application/json"}}}
	if err := acceptStatusStream(other); !errors.Is(err, errStreamUnavailable) {
		t.Fatalf("a JSON answer to the stream: %v, want errStreamUnavailable", err)
	}
}
