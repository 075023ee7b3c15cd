package fal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

func TestSubscribeCallbacksAndResult(t *testing.T) {
	t.Parallel()
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

func TestFailedJobGivesRequestError(t *testing.T) {
	t.Parallel()
	_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/fail", func(ctx context.Context, req *faltest.Request) (any, error) {
		req.Log("ERROR", "checking input")
		return nil, faltest.ValidationError("prompt", "field required")
	})})
	_, err := c.Subscribe(bg(t), "t/fail", map[string]string{}, fal.WithLogs(true))
	var re *fal.RequestError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T), want *fal.RequestError", err, err)
	}
	if re.RequestID == "" || re.App != "t/fail" || len(re.Logs) != 1 || re.Logs[0].Message != "checking input" {
		t.Fatalf("RequestError %+v", re)
	}
	he := asHTTPError(t, err)
	if he.StatusCode != 422 || len(he.FieldErrors) != 1 || he.FieldErrors[0].Field() != "prompt" || he.FieldErrors[0].Msg != "field required" {
		t.Fatalf("cause: %v, field errors %v; want the result's 422", err, he.FieldErrors)
	}
	if !strings.Contains(err.Error(), "prompt: field required") {
		t.Fatalf("message %q should name the field", err)
	}
	checkErrorText(t, "failed job", err)
}

// TestClientTimeoutCancelsOnServer: when WithClientTimeout runs out, the
// request is cancelled on the server and the error carries its id.
func TestClientTimeoutCancelsOnServer(t *testing.T) {
	t.Parallel()
	stopped := make(chan struct{}, 1)
	_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/forever", func(ctx context.Context, req *faltest.Request) (any, error) {
		<-ctx.Done()
		stopped <- struct{}{}
		return nil, ctx.Err()
	})})
	var enqueued string
	_, err := c.Subscribe(context.Background(), "t/forever", nil, fal.WithClientTimeout(500*time.Millisecond),
		fal.OnEnqueue(func(id string) { enqueued = id }))
	var te *fal.TimeoutError
	if !errors.As(err, &te) || te.RequestID == "" || te.RequestID != enqueued || te.Limit != 500*time.Millisecond {
		t.Fatalf("err = %v, want *TimeoutError with request id %q", err, enqueued)
	}
	checkErrorText(t, "client timeout", err)
	select {
	case <-stopped:
	case <-bg(t).Done():
		t.Fatal("the job kept running on the server")
	}
	if done := finalStatus(t, c, "t/forever", te.RequestID); done.ErrorType != "request_cancelled" {
		t.Fatalf("server status %#v, want Completed with request_cancelled", done)
	}
}

func TestContextDeadlineAlsoCancels(t *testing.T) {
	t.Parallel()
	stopped := make(chan struct{})
	_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/forever", func(ctx context.Context, req *faltest.Request) (any, error) {
		<-ctx.Done()
		close(stopped)
		return nil, ctx.Err()
	})})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := c.Subscribe(ctx, "t/forever", nil)
	var te *fal.TimeoutError
	if !errors.As(err, &te) || te.RequestID == "" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want *TimeoutError with a request id", err)
	}
	if done := finalStatus(t, c, "t/forever", te.RequestID); done.ErrorType != "request_cancelled" {
		t.Fatalf("status %#v", done)
	}
	select {
	case <-stopped:
	case <-bg(t).Done():
		t.Fatal("handler not stopped")
	}
}

// TestCancelledContextLeavesTheRequest: cancelling the context (rather
// than a deadline) leaves the request in the queue, to reattach later.
func TestCancelledContextLeavesTheRequest(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/gated", func(ctx context.Context, req *faltest.Request) (any, error) {
		if !awaitOrDone(ctx, release) {
			return nil, ctx.Err()
		}
		return map[string]bool{"done": true}, nil
	})})
	ctx, cancel := context.WithCancel(bg(t))
	var id string
	_, err := c.Subscribe(ctx, "t/gated", nil, fal.OnEnqueue(func(r string) { id = r; cancel() }))
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "left in the queue") {
		t.Fatalf("err = %v, want context.Canceled, request left in the queue", err)
	}
	checkErrorText(t, "cancelled subscribe", err)
	close(release)
	res, err := c.Result(bg(t), "t/gated", id)
	if err != nil || string(res.Data) != `{"done":true}` {
		t.Fatalf("reattached: %v %v", err, res)
	}
}

// finalStatus waits for a request to complete on the server: a cancelled
// running job completes when its handler returns.
func finalStatus(t *testing.T, c *fal.Client, app, id string) fal.Completed {
	t.Helper()
	h, err := c.Handle(app, id)
	if err != nil {
		t.Fatal(err)
	}
	var last fal.Status
	for st, err := range h.Events(bg(t), fal.WithPolling(10*time.Millisecond)) {
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

// TestSoak runs many Subscribe calls at once against a faltest server that
// injects faults on every queue route: ingress 503s, 429s with Retry-After,
// connection resets before the response, and latency spikes. Every call must
// end with its own output or a typed error, and no job may run twice for one
// call. The CI form is small; FALGO_SOAK=long runs the long form and prints
// the figures.
func TestSoak(t *testing.T) {
	t.Parallel()
	calls, concurrency := 200, 32
	if os.Getenv("FALGO_SOAK") == "long" {
		calls, concurrency = 5000, 128
	}
	if testing.Short() {
		calls = 50
	}
	var mu sync.Mutex
	runs := map[string]int{}
	app := faltest.WithApp("soak/job", func(ctx context.Context, req *faltest.Request) (any, error) {
		var in struct {
			ID string `json:"id"`
		}
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		mu.Lock()
		runs[in.ID]++
		mu.Unlock()
		req.Log("INFO", "working on "+in.ID)
		select {
		case <-time.After(time.Duration(rand.IntN(20)) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return map[string]string{"id": in.ID}, nil
	}, faltest.Concurrency(16))
	faults := []faltest.FaultRule{
		{Route: "*", Kind: faltest.Latency, Rate: 0.05, Latency: 150 * time.Millisecond},
		{Route: "submit", Kind: faltest.Ingress503, Rate: 0.05},
		{Route: "submit", Kind: faltest.TooManyRequests, Rate: 0.03, RetryAfter: time.Second},
		{Route: "submit", Kind: faltest.ConnReset, Rate: 0.02},
		{Route: "status", Kind: faltest.Ingress503, Rate: 0.05},
		{Route: "status", Kind: faltest.ConnReset, Rate: 0.03},
		{Route: "status_stream", Kind: faltest.ConnReset, Rate: 0.05},
		{Route: "status_stream", Kind: faltest.Ingress502, Rate: 0.05},
		{Route: "result", Kind: faltest.Ingress503, Rate: 0.05},
		{Route: "result", Kind: faltest.TooManyRequests, Rate: 0.03, RetryAfter: time.Second},
		{Route: "result", Kind: faltest.ConnReset, Rate: 0.03},
	}
	srv, c, _ := newLocal(t, []faltest.Option{faltest.WithoutDemoApps(), app, faltest.WithFaults(42, faults...)},
		fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 6, BaseDelay: 20 * time.Millisecond, MaxDelay: 500 * time.Millisecond}))

	type outcome struct {
		id  string
		err error
		out string
	}
	results := make([]outcome, calls)
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i := 0; i < calls; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id := "job-" + strconv.Itoa(i)
			opts := []fal.RequestOption{fal.WithLogs(i%2 == 0)}
			if i%3 == 0 {
				opts = append(opts, fal.WithPolling(20*time.Millisecond)) // the others read the status stream
			}
			res, err := c.Subscribe(ctx, "soak/job", map[string]string{"id": id}, opts...)
			o := outcome{id: id, err: err}
			if err == nil {
				var v struct {
					ID string `json:"id"`
				}
				_ = json.Unmarshal(res.Data, &v)
				o.out = v.ID
			}
			results[i] = o
		}()
	}
	wg.Wait()
	took := time.Since(start)

	kinds := map[string]int{}
	for _, o := range results {
		mu.Lock()
		n := runs[o.id]
		mu.Unlock()
		if n > 1 {
			t.Errorf("%s ran %d times for one call", o.id, n)
		}
		if o.err == nil {
			if o.out != o.id {
				t.Errorf("%s got the output of %q", o.id, o.out)
			}
			if n != 1 {
				t.Errorf("%s succeeded but ran %d times", o.id, n)
			}
			kinds["ok"]++
			continue
		}
		var he *fal.HTTPError
		var ne net.Error
		var te *fal.TimeoutError
		switch {
		case errors.As(o.err, &he):
			kinds[fmt.Sprintf("http %d", he.StatusCode)]++
		case errors.As(o.err, &te):
			kinds["timeout"]++
		case errors.As(o.err, &ne):
			kinds["network"]++
		default:
			t.Errorf("%s: untyped error %T: %v", o.id, o.err, o.err)
		}
	}
	st := srv.Stats()
	var faultNames []string
	total := 0
	for r, n := range st.Faults {
		faultNames = append(faultNames, fmt.Sprintf("%s=%d", r, n))
		total += n
	}
	sort.Strings(faultNames)
	t.Logf("soak: %d calls at concurrency %d in %v; outcomes %v; %d faults injected %v", calls, concurrency, took.Round(time.Millisecond), kinds, total, faultNames)
	if kinds["ok"] < calls*8/10 {
		t.Errorf("only %d of %d calls succeeded; retries should absorb most faults", kinds["ok"], calls)
	}
	if total == 0 {
		t.Error("no fault was injected: the soak proved nothing")
	}
}
