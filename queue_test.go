package fal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestQueuePositionsDecreaseToZero(t *testing.T) {
	for _, mode := range []string{"stream", "polling"} {
		t.Run(mode, func(t *testing.T) {
			_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/slow", func(ctx context.Context, req *faltest.Request) (any, error) {
				select {
				case <-time.After(150 * time.Millisecond):
				case <-ctx.Done():
				}
				return map[string]string{"ok": "yes"}, nil
			}, faltest.Concurrency(1))})
			ctx := bg(t)
			opts := []fal.RequestOption{fal.WithPollInterval(10 * time.Millisecond)}
			if mode == "polling" {
				opts = append(opts, fal.WithPolling())
			}
			var last *fal.RequestHandle
			for i := 0; i < 4; i++ {
				h, err := c.Submit(ctx, "t/slow", map[string]int{"i": i})
				if err != nil {
					t.Fatal(err)
				}
				last = h
			}
			var positions []int
			var states []string
			for st, err := range last.Events(ctx, opts...) {
				if err != nil {
					t.Fatal(err)
				}
				states = append(states, st.State())
				if q, ok := st.(fal.Queued); ok {
					positions = append(positions, q.Position)
				}
			}
			if len(positions) < 2 || positions[len(positions)-1] != 0 || positions[0] < 2 {
				t.Fatalf("positions %v: want several, starting at 2 or more and ending at 0", positions)
			}
			for i := 1; i < len(positions); i++ {
				if positions[i] >= positions[i-1] {
					t.Fatalf("positions %v do not strictly decrease (repeats are not news)", positions)
				}
			}
			if states[len(states)-1] != "COMPLETED" || !contains(states, "IN_PROGRESS") {
				t.Fatalf("states %v", states)
			}
			res, err := last.Result(ctx)
			if err != nil || !strings.Contains(string(res.Data), `"ok"`) {
				t.Fatalf("Result: %v %s", err, res)
			}
		})
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// proxy sits between the client and faltest to break the status stream.
type proxy struct {
	*httptest.Server
	streams, polls atomic.Int32
}

// newProxy forwards everything to srv; streamMode "drop" cuts the first
// status stream after two events, "disabled" answers 404 to every status
// stream request.
func newProxy(t *testing.T, srv *faltest.Server, streamMode string) *proxy {
	target, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1
	rp.ErrorLog = nil
	p := &proxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/status/stream"):
			n := p.streams.Add(1)
			if streamMode == "disabled" {
				http.Error(w, `{"detail":"Not Found"}`, http.StatusNotFound)
				return
			}
			if streamMode == "drop" && n == 1 {
				rp.ServeHTTP(&cutter{ResponseWriter: w, after: 2}, r)
				return
			}
		case strings.HasSuffix(r.URL.Path, "/status"):
			p.polls.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// cutter aborts the response after a number of SSE events went through.
type cutter struct {
	http.ResponseWriter
	after, seen int
}

func (c *cutter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.seen += strings.Count(string(b), "\n\n")
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	if c.seen >= c.after {
		panic(http.ErrAbortHandler) // the connection drops mid-stream
	}
	return n, err
}

func (c *cutter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func clientVia(t *testing.T, p *proxy, tr *http.Transport, opts ...fal.Option) *fal.Client {
	c, err := fal.NewClient(append([]fal.Option{fal.WithKey(faltest.DefaultKey), fal.WithHTTPClient(&http.Client{Transport: tr}),
		fal.WithRunHost(p.URL + "/run"), fal.WithQueueHost(p.URL + "/queue")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func loggingApp(lines int) faltest.Option {
	return faltest.WithApp("t/logger", func(ctx context.Context, req *faltest.Request) (any, error) {
		for i := 1; i <= lines; i++ {
			req.Log("INFO", fmt.Sprintf("line %d", i))
			time.Sleep(15 * time.Millisecond)
		}
		return map[string]int{"lines": lines}, nil
	})
}

func TestLogsInOrderWithoutDuplicatesAcrossStreamDrop(t *testing.T) {
	srv, _, tr := newLocal(t, []faltest.Option{loggingApp(12)})
	p := newProxy(t, srv, "drop")
	c := clientVia(t, p, tr)
	ctx := bg(t)
	var got []string
	res, err := c.Subscribe(ctx, "t/logger", nil, fal.WithLogs(true), fal.OnQueueUpdate(func(st fal.Status) {
		switch s := st.(type) {
		case fal.InProgress:
			for _, l := range s.Logs {
				got = append(got, l.Message)
			}
		case fal.Completed:
			for _, l := range s.Logs {
				got = append(got, l.Message)
			}
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if p.streams.Load() < 2 {
		t.Fatalf("the status stream was opened %d times; the drop did not happen", p.streams.Load())
	}
	var want []string
	for i := 1; i <= 12; i++ {
		want = append(want, fmt.Sprintf("line %d", i))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("logs = %v\nwant %v", got, want)
	}
	if string(res.Data) != `{"lines":12}` {
		t.Fatalf("result %s", res.Data)
	}
}

func TestPollingFallbackWhenStreamDisabled(t *testing.T) {
	srv, _, tr := newLocal(t, []faltest.Option{loggingApp(3)})
	p := newProxy(t, srv, "disabled")
	c := clientVia(t, p, tr, fal.WithPollInterval(10*time.Millisecond))
	var logs []string
	res, err := c.Subscribe(bg(t), "t/logger", nil, fal.WithLogs(true), fal.OnQueueUpdate(func(st fal.Status) {
		if s, ok := st.(fal.InProgress); ok {
			for _, l := range s.Logs {
				logs = append(logs, l.Message)
			}
		}
		if s, ok := st.(fal.Completed); ok {
			for _, l := range s.Logs {
				logs = append(logs, l.Message)
			}
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if p.streams.Load() != 1 || p.polls.Load() < 1 {
		t.Fatalf("stream tried %d times, polled %d times; want 1 try then polling", p.streams.Load(), p.polls.Load())
	}
	if strings.Join(logs, ",") != "line 1,line 2,line 3" || string(res.Data) != `{"lines":3}` {
		t.Fatalf("logs %v result %s", logs, res.Data)
	}
}

func TestWebhookDeliveredWithRequestID(t *testing.T) {
	got := make(chan map[string]any, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		select {
		case got <- body:
		default:
		}
	}))
	defer hook.Close()
	_, c, _ := newLocal(t, nil)
	h, err := c.Submit(bg(t), "falgo/echo", map[string]string{"hello": "hook"}, fal.WithWebhook(hook.URL+"/hook?a=b c"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case body := <-got:
		if body["request_id"] != h.RequestID || body["status"] != "OK" {
			t.Fatalf("webhook body %v, want request_id %s", body, h.RequestID)
		}
		if p, _ := body["payload"].(map[string]any); p["hello"] != "hook" {
			t.Fatalf("payload %v", body["payload"])
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook delivery")
	}
}

func TestQueueHeadersReachTheApp(t *testing.T) {
	_, c, _ := newLocal(t, nil)
	res, err := c.Subscribe(bg(t), "falgo/echo", map[string]any{"_headers": true},
		fal.WithPriority(fal.PriorityLow), fal.WithHint("lora:a"), fal.WithStartTimeout(30*time.Second), fal.WithHeader("X-Fal-Store-IO", "0"))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Request struct {
			Headers map[string]string `json:"headers"`
		} `json:"_request"`
	}
	if err := res.Decode(&out); err != nil {
		t.Fatal(err)
	}
	h := out.Request.Headers
	get := func(k string) string {
		for hk, v := range h {
			if strings.EqualFold(hk, k) {
				return v
			}
		}
		return ""
	}
	for k, want := range map[string]string{"X-Fal-Queue-Priority": "low", "X-Fal-Runner-Hint": "lora:a", "X-Fal-Request-Timeout": "30.0", "X-Fal-Store-Io": "0"} {
		if got := get(k); got != want {
			t.Errorf("app saw %s = %q, want %q (all: %v)", k, got, want, h)
		}
	}
}

func TestCancelQueuedAndRunning(t *testing.T) {
	started := make(chan struct{}, 8)
	stopped := make(chan struct{}, 8)
	srv, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/block", func(ctx context.Context, req *faltest.Request) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		stopped <- struct{}{}
		return nil, ctx.Err()
	}, faltest.Concurrency(1))})
	ctx := bg(t)
	running, err := c.Submit(ctx, "t/block", nil)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	queued, err := c.Submit(ctx, "t/block", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := queued.Status(ctx); err != nil || st.State() != "IN_QUEUE" {
		t.Fatalf("second job: %v %v, want IN_QUEUE", st, err)
	}
	if err := queued.Cancel(ctx); err != nil {
		t.Fatalf("cancel queued: %v", err)
	}
	if err := running.Cancel(ctx); err != nil {
		t.Fatalf("cancel running: %v", err)
	}
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the running job was not stopped")
	}
	for _, h := range []*fal.RequestHandle{queued, running} {
		_, err := h.Result(ctx)
		var re *fal.RequestError
		if !errors.As(err, &re) || re.RequestID != h.RequestID {
			t.Fatalf("Result of cancelled %s: %v, want *RequestError", h, err)
		}
	}
	if n := srv.Executions("t/block"); n != 1 {
		t.Fatalf("app ran %d times; the cancelled queued job must never run", n)
	}
	if err := queued.Cancel(ctx); !errors.Is(err, fal.ErrAlreadyCompleted) {
		t.Fatalf("second cancel: %v, want ErrAlreadyCompleted", err)
	}
}

func TestReattachFromSecondClient(t *testing.T) {
	srv, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/slowecho", func(ctx context.Context, req *faltest.Request) (any, error) {
		time.Sleep(100 * time.Millisecond)
		return req.Input, nil
	})})
	ctx := bg(t)
	h, err := c.Submit(ctx, "t/slowecho/sub/path", map[string]int{"n": 42})
	if err != nil {
		t.Fatal(err)
	}
	c2 := srv.Client()
	h2, err := c2.Handle("t/slowecho/sub/path", h.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if h2.StatusURL != h.StatusURL || h2.ResponseURL != h.ResponseURL || h2.CancelURL != h.CancelURL {
		t.Fatalf("by-id URLs differ from the queue's:\n%+v\n%+v", h2, h)
	}
	if _, err := c2.Status(ctx, "t/slowecho", h.RequestID); err != nil {
		t.Fatal(err)
	}
	res, err := c2.Result(ctx, "t/slowecho", h.RequestID)
	if err != nil || string(res.Data) != `{"n":42}` || res.RequestID != h.RequestID {
		t.Fatalf("Result by id: %v %+v", err, res)
	}
	if _, err := c2.Status(ctx, "t/slowecho", "no-such-id"); err == nil {
		t.Fatal("unknown id: want an error")
	}
	if _, err := c2.Handle("not-an-id", "x"); err == nil {
		t.Fatal("invalid app id: want an error")
	}
}

func TestFailedJobGivesRequestError(t *testing.T) {
	_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/fail", func(ctx context.Context, req *faltest.Request) (any, error) {
		req.Log("ERROR", "checking input")
		return nil, faltest.ValidationError("prompt", "field required")
	})})
	_, err := c.Subscribe(bg(t), "t/fail", map[string]string{}, fal.WithLogs(true))
	var re *fal.RequestError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T), want *fal.RequestError", err, err)
	}
	if re.RequestID == "" || len(re.Logs) != 1 || re.Logs[0].Message != "checking input" {
		t.Fatalf("RequestError %+v", re)
	}
	var he *fal.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 422 {
		t.Fatalf("cause: %v, want the result's 422", err)
	}
	if f, ok := he.FieldError("prompt"); !ok || f.Msg != "field required" {
		t.Fatalf("field errors %v", he.FieldErrors)
	}
	if !strings.Contains(err.Error(), "prompt: field required") {
		t.Fatalf("message %q should name the field", err)
	}
}

func TestClientTimeoutCancelsOnServer(t *testing.T) {
	stopped := make(chan struct{}, 1)
	_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/forever", func(ctx context.Context, req *faltest.Request) (any, error) {
		<-ctx.Done()
		stopped <- struct{}{}
		return nil, ctx.Err()
	})})
	var enqueued string
	_, err := c.Subscribe(context.Background(), "t/forever", nil, fal.WithClientTimeout(time.Second),
		fal.OnEnqueue(func(id string) { enqueued = id }))
	var te *fal.TimeoutError
	if !errors.As(err, &te) || te.RequestID == "" || te.RequestID != enqueued {
		t.Fatalf("err = %v, want *TimeoutError with request id %q", err, enqueued)
	}
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the job kept running on the server")
	}
	if done := finalStatus(t, c, "t/forever", te.RequestID); done.ErrorType != "request_cancelled" {
		t.Fatalf("server status %#v, want Completed with request_cancelled", done)
	}
}

func TestContextDeadlineAlsoCancels(t *testing.T) {
	var mu sync.Mutex
	stopped := false
	_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/forever", func(ctx context.Context, req *faltest.Request) (any, error) {
		<-ctx.Done()
		mu.Lock()
		stopped = true
		mu.Unlock()
		return nil, ctx.Err()
	})})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := c.Subscribe(ctx, "t/forever", nil)
	var te *fal.TimeoutError
	if !errors.As(err, &te) || te.RequestID == "" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want *TimeoutError with a request id", err)
	}
	if done := finalStatus(t, c, "t/forever", te.RequestID); done.ErrorType != "request_cancelled" {
		t.Fatalf("status %#v", done)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		s := stopped
		mu.Unlock()
		if s {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("handler not stopped")
		}
	}
}

func TestSubscribeCallbacksAndResult(t *testing.T) {
	_, c, _ := newLocal(t, nil)
	var id string
	var updates []string
	res, err := c.Subscribe(bg(t), "falgo/echo", map[string]any{"x": 1, "_logs": []string{"a", "b"}},
		fal.OnEnqueue(func(r string) { id = r }),
		fal.OnQueueUpdate(func(s fal.Status) { updates = append(updates, s.State()) }))
	if err != nil {
		t.Fatal(err)
	}
	if id == "" || res.RequestID != id {
		t.Fatalf("OnEnqueue id %q, result id %q", id, res.RequestID)
	}
	if len(updates) == 0 || updates[len(updates)-1] != "COMPLETED" {
		t.Fatalf("updates %v", updates)
	}
	var out map[string]any
	if err := res.Decode(&out); err != nil || out["x"] != float64(1) {
		t.Fatalf("%v %v", err, out)
	}
}

func TestSubmitIgnoresForeignURLs(t *testing.T) {
	srv := newScripted(t,
		jsonReply(200, `{"request_id":"r1","status_url":"https://evil.example/steal/status","response_url":"https://evil.example/steal","cancel_url":"https://evil.example/steal/cancel"}`),
		jsonReply(200, `{"status":"COMPLETED","logs":null,"metrics":{}}`))
	c := srv.client(t, fal.WithPolling())
	h, err := c.Submit(context.Background(), "fal-ai/flux/dev", nil, fal.WithWebhook("https://ex.com/hook?a=b c"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h.StatusURL+h.ResponseURL+h.CancelURL, "evil") {
		t.Fatalf("handle adopted foreign URLs: %+v", h)
	}
	if h.StatusURL != srv.URL+"/queue/fal-ai/flux/requests/r1/status" {
		t.Fatalf("status URL %s", h.StatusURL)
	}
	if _, err := h.Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := srv.requests()
	if r[0].Path != "/queue/fal-ai/flux/dev" || r[0].Query != "fal_webhook=https%3A%2F%2Fex.com%2Fhook%3Fa%3Db+c" {
		t.Fatalf("submit went to %s?%s", r[0].Path, r[0].Query)
	}
	if r[1].Path != "/queue/fal-ai/flux/requests/r1/status" || r[1].Query != "logs=0" {
		t.Fatalf("status went to %s?%s", r[1].Path, r[1].Query)
	}
	_ = io.Discard
}

// finalStatus waits (generously) for a request to complete on the server:
// a cancelled running job completes when its handler returns.
func finalStatus(t *testing.T, c *fal.Client, app, id string) fal.Completed {
	t.Helper()
	h, err := c.Handle(app, id)
	if err != nil {
		t.Fatal(err)
	}
	var last fal.Status
	for st, err := range h.Events(bg(t), fal.WithPollInterval(10*time.Millisecond)) {
		if err != nil {
			t.Fatal(err)
		}
		last = st
	}
	done, ok := last.(fal.Completed)
	if !ok {
		t.Fatalf("request %s never completed: %#v", id, last)
	}
	return done
}
