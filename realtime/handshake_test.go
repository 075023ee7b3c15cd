package realtime_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
	"github.com/falgo/fal/realtime"
)

// countingTransport counts the requests a client sends, whether or not
// they reach the server.
type countingTransport struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func newCounting(t *testing.T) *countingTransport {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &countingTransport{next: tr}
}

// A Retry-After longer than the policy's MaxRetryAfter ends the dial at
// once, with an error that says how long the server asked for: the
// handshake asks the client's one retry decision, which applies the cap.
func TestRealtimeHandshakeRetryAfterAboveTheCapEndsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter string
		policy     []fal.Option
		want       []string
	}{
		// The default policy's cap is 60 s.
		{"default cap", "120", nil, []string{"retry after 2m0s", "MaxRetryAfter of 1m0s"}},
		// The client's own cap, not a fixed one.
		{"client cap", "1", []fal.Option{fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: time.Millisecond})},
			[]string{"retry after 1s", "MaxRetryAfter of 1ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// The ingress's 503 (no X-Fal-Request-Id): retryable, but
				// not that late.
				w.Header().Set("Retry-After", tc.retryAfter)
				w.WriteHeader(http.StatusServiceUnavailable)
			}))
			defer srv.Close()
			ct := newCounting(t)
			c, err := fal.NewClient(append([]fal.Option{fal.WithKey(testKey), fal.WithRunHost(srv.URL), fal.WithQueueHost(srv.URL),
				fal.WithHTTPClient(&http.Client{Transport: ct})}, tc.policy...)...)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := c.Realtime(rtCtx(t), "me/app", realtime.WithoutToken())
			if err == nil {
				conn.Close()
				t.Fatal("no error")
			}
			var he *fal.HTTPError
			if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("err = %v, want the 503 *HTTPError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Count(err.Error(), "fal: ") != 1 {
				t.Errorf("error %q has more than one prefix", err)
			}
			if n := ct.n.Load(); n != 1 {
				t.Errorf("handshakes = %d, want 1 (no retry)", n)
			}
		})
	}
}

// A handshake is never redirected: the redirect is the answer, an
// *HTTPError, and its target is never asked. The client's extra headers
// go on the handshake.
func TestRealtimeHandshakeNeverFollowsRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	var header atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			elsewhere.Add(1)
			ws, err := websocket.Accept(w, r, nil)
			if err == nil {
				_ = ws.Close(websocket.StatusNormalClosure, "")
			}
			return
		}
		header.Store(r.Header.Get("X-Extra"))
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	ct := newCounting(t)
	c, err := fal.NewClient(fal.WithKey(testKey), fal.WithRunHost(srv.URL), fal.WithQueueHost(srv.URL),
		fal.WithHTTPClient(&http.Client{Transport: ct}), fal.WithHeader("X-Extra", "on-every-request"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.Realtime(rtCtx(t), "me/app", realtime.WithoutToken())
	if err == nil {
		conn.Close()
		t.Fatal("the redirect was followed")
	}
	var he *fal.HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusTemporaryRedirect || !strings.Contains(err.Error(), "handshake was refused") {
		t.Fatalf("err = %v, want a 307 *HTTPError", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect target was asked %d times", n)
	}
	if n := ct.n.Load(); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
	if h, _ := header.Load().(string); h != "on-every-request" {
		t.Errorf("X-Extra on the handshake = %q", h)
	}
}

// The client's timeout bounds each handshake: one that gets no answer is
// tried again per the retry policy, then ends with *fal.TimeoutError.
func TestRealtimeHandshakeTimeoutIsRetriedThenTimeoutError(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	ct := newCounting(t)
	const limit = 50 * time.Millisecond
	c, err := fal.NewClient(fal.WithKey(testKey), fal.WithRunHost(srv.URL), fal.WithQueueHost(srv.URL),
		fal.WithHTTPClient(&http.Client{Transport: ct}), fal.WithTimeout(limit),
		fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.Realtime(rtCtx(t), "me/app", realtime.WithoutToken())
	if err == nil {
		conn.Close()
		t.Fatal("no error")
	}
	var te *fal.TimeoutError
	if !errors.As(err, &te) || te.Limit != limit || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v (%T), want a *fal.TimeoutError of %v", err, err, limit)
	}
	if !strings.Contains(err.Error(), "me/app") {
		t.Errorf("error %q does not name the app", err)
	}
	if n := ct.n.Load(); n != 2 {
		t.Errorf("handshakes = %d, want 2 (the policy's attempts)", n)
	}
}

// Client.RealtimeToken takes the client's options for one call, and
// checks its arguments before any request.
func TestRealtimeTokenOptionsAndArguments(t *testing.T) {
	f := newRT(t, nil)
	ctx := rtCtx(t)
	_, _, err := f.c.RealtimeToken(ctx, faltest.DemoEcho, 0, fal.WithKey("wrong-key-456"))
	var he *fal.HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
		t.Fatalf("RealtimeToken with a wrong per-call key = %v, want a 401 *HTTPError", err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, he), "wrong-key-456") {
		t.Errorf("key in error: %v", err)
	}
	before := f.count("realtime_token")
	for _, tc := range []struct {
		app  string
		ttl  time.Duration
		opts []fal.RequestOption
		want string
	}{
		{faltest.DemoEcho, 500 * time.Millisecond, nil, "at least 1 second"},
		{"not-an-app-id!", 0, nil, "invalid app id"},
		{faltest.DemoEcho, 0, []fal.RequestOption{fal.WithPriority(fal.PriorityLow)}, "does not apply to RealtimeToken"},
	} {
		if _, _, err := f.c.RealtimeToken(ctx, tc.app, tc.ttl, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RealtimeToken(%q, %v) = %v, want an error mentioning %q", tc.app, tc.ttl, err, tc.want)
		}
	}
	if got := f.count("realtime_token") - before; got != 0 {
		t.Errorf("%d token requests for refused arguments", got)
	}
	tok, exp, err := f.c.RealtimeToken(ctx, faltest.DemoEcho, 0)
	if err != nil || tok == "" || exp.IsZero() {
		t.Fatalf("RealtimeToken = %q, %v, %v", tok, exp, err)
	}
}
