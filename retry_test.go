package fal_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falgo/fal"
)

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	srv := newScripted(t,
		jsonReply(429, `{"detail":"Too many requests"}`, "Retry-After", "1", "X-Fal-Request-Id", "r"),
		jsonReply(200, `{"ok":true}`))
	start := time.Now()
	res, err := srv.client(t, fast).Run(context.Background(), "fal-ai/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %v; Retry-After: 1 asks for at least 1s", waited)
	}
	if string(res.Data) != `{"ok":true}` || len(srv.requests()) != 2 {
		t.Errorf("want success on the second request, got %s after %d", res.Data, len(srv.requests()))
	}
}

func TestRetryDecisions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		first http.HandlerFunc
		want  int // requests made when the second answer is 200
	}{
		{"ingress 503 html without request id", htmlReply(503), 2},
		{"429", jsonReply(429, `{"detail":"slow down"}`), 2},
		{"408", jsonReply(408, `{"detail":"timeout"}`), 2},
		{"app 500", jsonReply(500, `{"detail":"boom"}`, "X-Fal-Request-Id", "r"), 1},
		{"503 from the app (has request id)", jsonReply(503, `{"detail":"Runner disconnected"}`, "X-Fal-Request-Id", "r"), 1},
		{"user 504", jsonReply(504, `{"detail":"Request timed out"}`, "X-Fal-Request-Timeout-Type", "user"), 1},
		{"user 504 without request id", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Fal-Request-Timeout-Type", "user")
			htmlReply(504)(w, r)
		}, 1},
		{"ingress 502 on a POST (may have reached the app)", htmlReply(502), 1},
		{"400", jsonReply(400, `{"detail":"bad"}`), 1},
		{"422", jsonReply(422, `{"detail":[]}`), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, tc.first, jsonReply(200, `{}`))
			_, err := srv.client(t, fast).Run(context.Background(), "fal-ai/x", nil)
			if got := len(srv.requests()); got != tc.want {
				t.Fatalf("%d requests, want %d (err %v)", got, tc.want, err)
			}
			if tc.want == 1 {
				var he *fal.HTTPError
				if !errors.As(err, &he) {
					t.Fatalf("err = %v, want *fal.HTTPError", err)
				}
			} else if err != nil {
				t.Fatalf("err = %v after a retry", err)
			}
		})
	}
}

func TestRetriesGiveUpWithLastError(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, htmlReply(503))
	_, err := srv.client(t, fast).Run(context.Background(), "fal-ai/x", nil)
	var he *fal.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 503 {
		t.Fatalf("err = %v, want the last 503", err)
	}
	if n := len(srv.requests()); n != 5 {
		t.Fatalf("%d requests, want MaxAttempts = 5", n)
	}
}

func TestRetriesOff(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]fal.Option{
		"WithMaxRetries(0)": fal.WithMaxRetries(0),
		"MaxAttempts 1":     fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 1}),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, jsonReply(429, `{}`), jsonReply(200, `{}`))
			_, err := srv.client(t).Run(context.Background(), "fal-ai/x", nil, opt)
			if n := len(srv.requests()); n != 1 || err == nil {
				t.Fatalf("%d requests, err %v; want exactly one request and its error", n, err)
			}
		})
	}
}

func TestCancelStopsBackoffPromptly(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, jsonReply(429, `{}`, "Retry-After", "30"))
	waiting := make(chan struct{})
	c := srv.client(t, fal.WithLogger(slog.New(&onMessage{msg: "fal: retrying", do: func() { close(waiting) }})))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, "fal-ai/x", nil)
		done <- err
	}()
	// The client logs "fal: retrying" just before it waits out the 30 s
	// Retry-After: cancel then.
	select {
	case <-waiting:
	case <-time.After(30 * time.Second):
		t.Fatal("the client never got to its back-off")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "while waiting to retry") {
			t.Fatalf("err = %v, want context.Canceled while waiting to retry", err)
		}
		checkErrorText(t, "cancelled back-off", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept waiting after its context was cancelled")
	}
	if n := len(srv.requests()); n != 1 {
		t.Fatalf("%d requests after cancel, want 1", n)
	}
}

// onMessage is a slog.Handler that calls do, once, when a record with
// message msg is logged.
type onMessage struct {
	msg  string
	do   func()
	once sync.Once
}

func (h *onMessage) Enabled(context.Context, slog.Level) bool { return true }

func (h *onMessage) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(h.do)
	}
	return nil
}

func (h *onMessage) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *onMessage) WithGroup(string) slog.Handler { return h }

func TestDeadlineShorterThanRetryAfterReturnsServerError(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, jsonReply(429, `{"detail":"busy"}`, "Retry-After", "30"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := srv.client(t).Run(ctx, "fal-ai/x", nil)
	var he *fal.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 429 {
		t.Fatalf("err = %v; when the deadline is sooner than Retry-After, the 429 itself should be returned", err)
	}
}

func TestPerCallTimeout(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	defer close(block)
	_, err := srv.client(t, fal.WithTimeout(100*time.Millisecond)).Run(bg(t), "fal-ai/x", nil)
	var te *fal.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T), want *fal.TimeoutError", err, err)
	}
	if te.Limit != 100*time.Millisecond || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("TimeoutError = %+v; want Limit 100ms and errors.Is DeadlineExceeded", te)
	}
	checkErrorText(t, "per-attempt timeout", err)
	// (Under heavy load the attempt may time out before the request
	// arrives; either way it is never sent again.)
	if n := len(srv.requests()); n > 1 {
		t.Errorf("%d requests; a run that timed out may be running and must not be resent", n)
	}
}

func TestConnectionRefusedIsRetriedThenReported(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens here now
	c, err := fal.NewClient(fal.WithKey(testKey), fal.WithRunHost("http://"+addr+"/run"), fast)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Run(context.Background(), "fal-ai/x", nil)
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Fatalf("err = %v, want a dial error", err)
	}
}

// TestMaxRetryAfterEndsRetries: a Retry-After longer than the policy's
// MaxRetryAfter ends the retries at once, with an error that says how long
// the server asked for; a shorter one is waited out.
func TestMaxRetryAfterEndsRetries(t *testing.T) {
	t.Parallel()
	policy := fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxRetryAfter: 10 * time.Second})
	// The deadline is far, but sooner than the Retry-After: without the cap
	// the deadline would end the retries, with the bare 429.
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	t.Cleanup(cancel) // after the parallel subtests
	check := func(t *testing.T, srv *scripted, err error) {
		t.Helper()
		if he := asHTTPError(t, err); he.StatusCode != 429 {
			t.Fatalf("err = %v, want the 429", err)
		}
		if !strings.Contains(err.Error(), "the server asked to retry after 2h0m0s, more than the retry policy's MaxRetryAfter of 10s") {
			t.Errorf("err = %v, want it to say how long the server asked for", err)
		}
		checkErrorText(t, "MaxRetryAfter", err)
		if n := len(srv.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	}
	t.Run("run", func(t *testing.T) {
		t.Parallel()
		srv := newScripted(t, jsonReply(429, `{"detail":"busy"}`, "Retry-After", "7200"), jsonReply(200, `{}`))
		_, err := srv.client(t, policy).Run(ctx, "fal-ai/x", nil)
		check(t, srv, err)
	})
	t.Run("stream", func(t *testing.T) {
		t.Parallel()
		srv := newScripted(t, jsonReply(429, `{"detail":"busy"}`, "Retry-After", "7200"), jsonReply(200, `{}`))
		var err error
		for _, e := range srv.client(t, policy).Stream(ctx, "fal-ai/x", nil) {
			err = e
		}
		check(t, srv, err)
	})
	t.Run("within the cap", func(t *testing.T) {
		t.Parallel()
		srv := newScripted(t, jsonReply(429, `{"detail":"busy"}`, "Retry-After-Ms", "20"), jsonReply(200, `{}`))
		if _, err := srv.client(t, policy).Run(ctx, "fal-ai/x", nil); err != nil || len(srv.requests()) != 2 {
			t.Fatalf("err %v after %d requests; want a retry", err, len(srv.requests()))
		}
	})
}
