package fal_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falgo/fal"
)

// Hostile servers against the limits of what a call reads. Memory is
// measured as the bytes the process allocated during the call
// (runtime.MemStats.TotalAlloc), which does not depend on when the
// garbage collector runs; these tests are not parallel, so that other
// tests do not allocate meanwhile.

// allocated runs f and returns how many bytes the process allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// endless writes chunks of b until the client goes away or n bytes are out.
func endless(w http.ResponseWriter, r *http.Request, b []byte, n int64) {
	for sent := int64(0); sent < n && r.Context().Err() == nil; sent += int64(len(b)) {
		if _, err := w.Write(b); err != nil {
			return
		}
	}
}

func TestHugeAnswersStayWithinTheLimits(t *testing.T) {
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	// A gzip member that inflates to 1 MiB, about 1 KiB on the wire; a
	// gzip stream may hold many members, and the transport inflates them
	// all as one body.
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 1<<20))
	_ = zw.Close()
	const limit = 16 << 20
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		tooBig  bool // the error is ErrTooLarge (else: an HTTP error)
	}{
		{"2 GiB answer", func(w http.ResponseWriter, r *http.Request) { endless(w, r, chunk, 2<<30) }, true},
		{"a Content-Length over the limit", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(int64(2<<30)))
			endless(w, r, chunk, 2<<30)
		}, true},
		{"gzip bomb", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			endless(w, r, member.Bytes(), 2<<20) // 2 GiB inflated
		}, true},
		{"1 GiB error body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			endless(w, r, chunk, 1<<30)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScripted(t, tc.handler)
			c := srv.client(t, fal.WithMaxRetries(0), fal.WithLimits(fal.Limits{Body: limit}))
			var err error
			n := allocated(func() { _, err = c.Run(context.Background(), "fal-ai/x", nil) })
			if tc.tooBig != errors.Is(err, fal.ErrTooLarge) || err == nil {
				t.Fatalf("err = %v; want ErrTooLarge: %v", err, tc.tooBig)
			}
			if tc.tooBig && !strings.Contains(err.Error(), "16 MiB, the Body limit") {
				t.Errorf("the error does not name the limit: %v", err)
			}
			checkErrorText(t, tc.name, err)
			// Reading up to the limit allocates about twice the limit (the
			// buffer doubles); without a limit it would be gigabytes.
			if n > 4*limit {
				t.Errorf("the call allocated %d MiB with a limit of %d MiB", n>>20, limit>>20)
			}
		})
	}
}

func TestHeaderOnlyAnswersDoNotReserveTheirContentLength(t *testing.T) {
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(64<<20))
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // close without a body
	})
	c := srv.client(t, fal.WithMaxRetries(0))
	n := allocated(func() {
		var wg sync.WaitGroup
		for i := 0; i < 64; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Status(context.Background(), "fal-ai/x", fmt.Sprintf("r%d", i)); err == nil {
					t.Error("a truncated answer was accepted")
				}
			}()
		}
		wg.Wait()
	})
	if n > 256<<20 {
		t.Errorf("64 answers claiming 64 MiB each made the client allocate %d MiB", n>>20)
	}
}

func TestHugeEventsStayWithinTheLimits(t *testing.T) {
	line := bytes.Repeat([]byte("y"), 64<<10)
	const limit = 8 << 20
	sse := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: ")
		endless(w, r, line, 1<<30)
	}
	// Submit, then a status stream whose first event never ends.
	queue := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			_, _ = io.WriteString(w, `{"request_id":"r1"}`)
		case strings.HasSuffix(r.URL.Path, "/status/stream"):
			sse(w, r)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
	})
	for name, run := range map[string]func(*fal.Client) error{
		"stream": func(c *fal.Client) error {
			for _, err := range c.Stream(context.Background(), "fal-ai/x", nil) {
				if err != nil {
					return err
				}
			}
			return nil
		},
		"status stream": func(c *fal.Client) error {
			_, err := c.Subscribe(context.Background(), "fal-ai/x", nil)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newScripted(t, sse)
			if name == "status stream" {
				srv = queue
			}
			c := srv.client(t, fal.WithMaxRetries(0), fal.WithLimits(fal.Limits{Event: limit}))
			var err error
			n := allocated(func() { err = run(c) })
			if !errors.Is(err, fal.ErrTooLarge) || !strings.Contains(err.Error(), "8 MiB, the Event limit") {
				t.Fatalf("err = %v, want the Event limit", err)
			}
			if n > 6*limit {
				t.Errorf("the call allocated %d MiB with an event limit of %d MiB", n>>20, limit>>20)
			}
		})
	}
}

func TestLogsAreKeptOnlyWhenAskedAndBounded(t *testing.T) {
	// The server sends 2,000 log entries whatever the logs parameter says,
	// then fails the request.
	var logs strings.Builder
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&logs, `%s{"message":"line %d","level":"INFO","source":"USER","timestamp":"2026-01-01T00:00:%02d.%06dZ"}`, map[bool]string{true: "", false: ","}[i == 0], i, i/1000, i)
	}
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			_, _ = io.WriteString(w, `{"request_id":"r1"}`)
		case strings.HasSuffix(r.URL.Path, "/status"):
			_, _ = io.WriteString(w, `{"status":"COMPLETED","error":"boom","logs":[`+logs.String()+`]}`)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	c := srv.client(t, fal.WithMaxRetries(0), fal.WithLimits(fal.Limits{Logs: 100}))
	for _, withLogs := range []bool{false, true} {
		opts := []fal.RequestOption{fal.WithPolling(time.Millisecond)}
		if withLogs {
			opts = append(opts, fal.WithLogs(true))
		}
		_, err := c.Subscribe(context.Background(), "fal-ai/x", nil, opts...)
		var re *fal.RequestError
		if !errors.As(err, &re) {
			t.Fatalf("err = %v, want *RequestError", err)
		}
		switch {
		case !withLogs && len(re.Logs) != 0:
			t.Errorf("without WithLogs the error kept %d log entries", len(re.Logs))
		case withLogs && (len(re.Logs) != 100 || re.Logs[99].Message != "line 1999"):
			t.Errorf("with WithLogs and a limit of 100 the error kept %d entries, the last %q; want the newest 100", len(re.Logs), re.Logs[len(re.Logs)-1].Message)
		}
	}
}

func TestRetryAfterOverflowDoesNotRetry(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"99999999999", "1e12", "Inf"} {
		srv := newScripted(t, jsonReply(429, `{"detail":"slow down"}`, "Retry-After", v))
		_, err := srv.client(t).Status(context.Background(), "fal-ai/x", "r1")
		if n := len(srv.requests()); n != 1 || err == nil || !strings.Contains(err.Error(), "the server asked to retry after") {
			t.Errorf("Retry-After %s: %d attempts, err = %v; want one attempt and the asked wait in the error", v, n, err)
		}
	}
	srv := newScripted(t, jsonReply(429, `{"detail":"slow down"}`, "Retry-After-Ms", "Inf"))
	if _, err := srv.client(t).Status(context.Background(), "fal-ai/x", "r1"); len(srv.requests()) != 1 || err == nil {
		t.Errorf("Retry-After-Ms Inf: %d attempts, err = %v", len(srv.requests()), err)
	}
}

func TestStreamIdleTimeoutIgnoresATrickle(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: ")
		for r.Context().Err() == nil { // one byte at a time, never an event
			if _, err := w.Write([]byte("z")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	})
	c := srv.client(t, fal.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var err error
	for _, err = range c.Stream(ctx, "fal-ai/x", nil, fal.WithStreamIdleTimeout(200*time.Millisecond)) {
		if err != nil {
			break
		}
	}
	var te *fal.TimeoutError
	if !errors.As(err, &te) || ctx.Err() != nil {
		t.Fatalf("err = %v, want the idle *TimeoutError (a trickle of bytes is not an event)", err)
	}
}
