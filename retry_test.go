package fal_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/falgo/fal"
)

// fast keeps back-off waits short so retry tests stay quick.
var fast = fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})

func TestRetryAfterIsHonoured(t *testing.T) {
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
	for name, opt := range map[string]fal.Option{
		"WithMaxRetries(0)": fal.WithMaxRetries(0),
		"MaxAttempts 1":     fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 1}),
	} {
		t.Run(name, func(t *testing.T) {
			srv := newScripted(t, jsonReply(429, `{}`), jsonReply(200, `{}`))
			_, err := srv.client(t).Run(context.Background(), "fal-ai/x", nil, opt)
			if n := len(srv.requests()); n != 1 || err == nil {
				t.Fatalf("%d requests, err %v; want exactly one request and its error", n, err)
			}
		})
	}
}

func TestCancelStopsBackoffPromptly(t *testing.T) {
	srv := newScripted(t, jsonReply(429, `{}`, "Retry-After", "30"))
	c := srv.client(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, "fal-ai/x", nil)
		done <- err
	}()
	// Wait until the first attempt has been answered, then cancel while
	// the client waits out the 30 s Retry-After.
	for deadline := time.Now().Add(10 * time.Second); len(srv.requests()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no request arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept waiting after its context was cancelled")
	}
	if n := len(srv.requests()); n != 1 {
		t.Fatalf("%d requests after cancel, want 1", n)
	}
}

func TestDeadlineShorterThanRetryAfterReturnsServerError(t *testing.T) {
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
	block := make(chan struct{})
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	defer close(block)
	start := time.Now()
	_, err := srv.client(t, fal.WithTimeout(time.Second)).Run(context.Background(), "fal-ai/x", nil)
	var te *fal.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T), want *fal.TimeoutError", err, err)
	}
	if te.Limit != time.Second || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("TimeoutError = %+v; want Limit 1s and errors.Is DeadlineExceeded", te)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("took %v", took)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("%d requests; a run that timed out may be running and must not be resent", n)
	}
}

func TestConnectionRefusedIsRetriedThenReported(t *testing.T) {
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
