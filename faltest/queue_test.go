package faltest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
)

func TestQueueSubmitShape(t *testing.T) {
	srv := newServer(t)
	for _, c := range []struct{ app, base string }{
		{"falgo/echo", "falgo/echo"},
		{"falgo/echo/sub/path", "falgo/echo"},
		{"fal-ai/flux/dev", "fal-ai/flux"},
	} {
		r := call(t, srv, "POST", "/queue/"+c.app, `{"prompt":"x","image_size":{"width":8,"height":8}}`)
		if r.code != 200 {
			t.Fatalf("submit %s: %d %s", c.app, r.code, r.body)
		}
		sub := r.json(t)
		id, _ := sub["request_id"].(string)
		if id == "" || sub["gateway_request_id"] != id || r.header.Get("x-fal-request-id") != id {
			t.Fatalf("submit %s: ids %v / header %q", c.app, sub, r.header.Get("x-fal-request-id"))
		}
		base := srv.URL + "/queue/" + c.base + "/requests/" + id
		if sub["response_url"] != base || sub["status_url"] != base+"/status" || sub["cancel_url"] != base+"/cancel" {
			t.Fatalf("submit %s: URLs %v, want base %s", c.app, sub, base)
		}
		if sub["status"] != "IN_QUEUE" || sub["queue_position"] != float64(0) {
			t.Fatalf("submit %s: %v", c.app, sub)
		}
		st := waitStatus(t, srv, sub, "?logs=0", "completion", isCompleted)
		for _, k := range []string{"request_id", "response_url", "status_url", "cancel_url"} {
			if st[k] != sub[k] {
				t.Fatalf("status %s = %v, want %v", k, st[k], sub[k])
			}
		}
		// The app's full id also reaches the request.
		if r := call(t, srv, "GET", srv.URL+"/queue/"+c.app+"/requests/"+id, ""); r.code != 200 {
			t.Fatalf("result via the full app id: %d %s", r.code, r.body)
		}
	}
	// A request id under another app is not found.
	sub := submit(t, srv, "falgo/echo", `{}`)
	id := sub["request_id"].(string)
	if r := call(t, srv, "GET", "/queue/fal-ai/flux/requests/"+id+"/status", ""); r.code != 404 {
		t.Fatalf("status under another app: %d", r.code)
	}
}

func TestQueueLifecycleAndLogs(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("t/gate", g.handler))
	sub := submit(t, srv, "t/gate", `{}`)
	id := recv(t, g.started, "start")
	if id != sub["request_id"] {
		t.Fatalf("app saw request id %s, submit said %v", id, sub["request_id"])
	}
	code, st := status(t, srv, sub, "?logs=1")
	if code != 202 || st["status"] != "IN_PROGRESS" {
		t.Fatalf("running: %d %v", code, st)
	}
	logs, ok := st["logs"].([]any)
	if !ok || len(logs) != 1 {
		t.Fatalf("running logs %v", st["logs"])
	}
	entry := logs[0].(map[string]any)
	if entry["message"] != "started "+id || entry["level"] != "INFO" || entry["source"] != "USER" || entry["timestamp"] == "" {
		t.Fatalf("log entry %v", entry)
	}
	// Not asked for: null, but present.
	r := call(t, srv, "GET", sub["status_url"].(string)+"?logs=false", "")
	if !strings.Contains(string(r.body), `"logs":null`) {
		t.Fatalf("logs=false: %s", r.body)
	}
	if r := call(t, srv, "GET", sub["status_url"].(string), ""); !strings.Contains(string(r.body), `"logs":null`) {
		t.Fatalf("no logs parameter: %s", r.body)
	}
	if r := call(t, srv, "GET", sub["status_url"].(string)+"?logs=maybe", ""); r.code != 422 {
		t.Fatalf("logs=maybe: %d", r.code)
	}
	// The result is not ready yet.
	r = call(t, srv, "GET", sub["response_url"].(string), "")
	if r.code != 400 || r.json(t)["error_type"] != "request_in_progress" {
		t.Fatalf("early result: %d %s", r.code, r.body)
	}

	g.release <- struct{}{}
	st = waitStatus(t, srv, sub, "?logs=true", "completion", isCompleted)
	if _, ok := st["logs"].([]any); !ok {
		t.Fatalf("completed logs %v", st["logs"])
	}
	metrics, ok := st["metrics"].(map[string]any)
	if !ok {
		t.Fatalf("no metrics: %v", st)
	}
	if v, ok := metrics["inference_time"].(float64); !ok || v < 0 {
		t.Fatalf("inference_time %v", metrics["inference_time"])
	}
	if _, ok := st["error"]; ok {
		t.Fatalf("a successful request has an error: %v", st)
	}
	code, st = status(t, srv, sub, "?logs=0")
	if code != 200 || st["logs"] != nil {
		t.Fatalf("completed without logs: %d %v", code, st)
	}
	r = call(t, srv, "GET", sub["response_url"].(string), "")
	if r.code != 200 || r.json(t)["id"] != id || r.header.Get("x-fal-request-id") != id {
		t.Fatalf("result: %d %s %v", r.code, r.body, r.header)
	}
}

func TestQueueFailedRequest(t *testing.T) {
	srv := newServer(t)
	sub := submit(t, srv, "falgo/echo", `{"_error":{"status":503,"detail":"runner went away","error_type":"runner_disconnected"}}`)
	st := waitStatus(t, srv, sub, "", "completion", isCompleted)
	if st["error"] != "runner went away" || st["error_type"] != "runner_disconnected" {
		t.Fatalf("failed status: %v", st)
	}
	r := call(t, srv, "GET", sub["response_url"].(string), "")
	if r.code != 503 || r.header.Get("x-fal-error-type") != "runner_disconnected" || r.json(t)["detail"] != "runner went away" {
		t.Fatalf("failed result: %d %v %s", r.code, r.header, r.body)
	}
	// Invalid input: 422 comes back from the result, and the status says why.
	sub = submit(t, srv, "fal-ai/flux/schnell", `{}`)
	st = waitStatus(t, srv, sub, "", "completion", isCompleted)
	if e, _ := st["error"].(string); !strings.Contains(e, "prompt") {
		t.Fatalf("validation failure status: %v", st)
	}
	if r := call(t, srv, "GET", sub["response_url"].(string), ""); r.code != 422 {
		t.Fatalf("validation failure result: %d %s", r.code, r.body)
	}
}

func TestQueuePositionsDecrease(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("t/one", g.handler, faltest.Concurrency(1)))
	first := submit(t, srv, "t/one", `{}`)
	recv(t, g.started, "first job")
	var subs []map[string]any
	for i := 0; i < 3; i++ {
		sub := submit(t, srv, "t/one", `{}`)
		if sub["queue_position"] != float64(i) {
			t.Fatalf("submit %d: queue_position %v, want %d", i, sub["queue_position"], i)
		}
		subs = append(subs, sub)
	}
	last := subs[2]
	for want := 2; want >= 0; want-- {
		code, st := status(t, srv, last, "")
		if code != 202 || st["status"] != "IN_QUEUE" || st["queue_position"] != float64(want) {
			t.Fatalf("want position %d: %d %v", want, code, st)
		}
		g.release <- struct{}{} // one job finishes; the next starts
		recv(t, g.started, "next job")
		// Wait until the last job's position moved on.
		waitStatus(t, srv, last, "", fmt.Sprintf("position below %d", want), func(st map[string]any) bool {
			return st["status"] != "IN_QUEUE" || st["queue_position"].(float64) < float64(want)
		})
	}
	_, st := status(t, srv, last, "")
	if st["status"] != "IN_PROGRESS" {
		t.Fatalf("last job: %v", st)
	}
	g.release <- struct{}{}
	waitStatus(t, srv, last, "", "last done", isCompleted)
	waitStatus(t, srv, first, "", "first done", isCompleted)
	if n := srv.Executions("t/one"); n != 4 {
		t.Fatalf("Executions = %d, want 4", n)
	}
}

func TestQueuePriority(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("t/one", g.handler, faltest.Concurrency(1)))
	submit(t, srv, "t/one", `{}`)
	recv(t, g.started, "blocker")
	low := submit(t, srv, "t/one", `{}`, "X-Fal-Queue-Priority", "low")
	normal := submit(t, srv, "t/one", `{}`, "X-Fal-Queue-Priority", "normal")
	if low["queue_position"] != float64(0) || normal["queue_position"] != float64(0) {
		t.Fatalf("positions at submit: low %v normal %v", low["queue_position"], normal["queue_position"])
	}
	if _, st := status(t, srv, low, ""); st["queue_position"] != float64(1) {
		t.Fatalf("the low-priority job was not moved behind the normal one: %v", st)
	}
	g.release <- struct{}{}
	if id := recv(t, g.started, "second job"); id != normal["request_id"] {
		t.Fatalf("ran %s before the normal-priority %v", id, normal["request_id"])
	}
	g.release <- struct{}{}
	if id := recv(t, g.started, "third job"); id != low["request_id"] {
		t.Fatalf("third job %s, want the low-priority %v", id, low["request_id"])
	}
	g.release <- struct{}{}
	waitStatus(t, srv, low, "", "low done", isCompleted)

	for _, p := range []string{"urgent", "high", "0"} {
		r := call(t, srv, "POST", "/queue/t/one", `{}`, "X-Fal-Queue-Priority", p)
		if r.code != 422 || !strings.Contains(string(r.body), "x-fal-queue-priority") {
			t.Fatalf("priority %q: %d %s", p, r.code, r.body)
		}
	}
}

func TestQueueStartTimeout(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("t/one", g.handler, faltest.Concurrency(1)))
	blocker := submit(t, srv, "t/one", `{}`)
	recv(t, g.started, "blocker")
	sub := submit(t, srv, "t/one", `{"x":1}`, "X-Fal-Request-Timeout", "0.05", "X-Fal-Runner-Hint", "h")
	st := waitStatus(t, srv, sub, "", "the start timeout", isCompleted)
	if st["error"] != "Request timed out" || st["error_type"] != "request_timeout" {
		t.Fatalf("timed-out status %v", st)
	}
	if m := st["metrics"].(map[string]any); m["inference_time"] != nil {
		t.Fatalf("a request that never ran has inference_time %v", m["inference_time"])
	}
	r := call(t, srv, "GET", sub["response_url"].(string), "")
	if r.code != 504 || r.header.Get("X-Fal-Request-Timeout-Type") != "user" || r.json(t)["error_type"] != "request_timeout" {
		t.Fatalf("timed-out result: %d %v %s", r.code, r.header, r.body)
	}
	g.release <- struct{}{}
	waitStatus(t, srv, blocker, "", "blocker done", isCompleted)
	if n := srv.Executions("t/one"); n != 1 {
		t.Fatalf("Executions = %d, want 1", n)
	}
}

func TestQueueStartupDelay(t *testing.T) {
	srv := newServer(t, faltest.WithApp("t/cold", func(context.Context, *faltest.Request) (any, error) { return "ok", nil },
		faltest.StartupDelay(time.Hour), faltest.Concurrency(1)))
	// The cold start (an hour: it cannot end first, however slow the
	// machine) outlasts the start timeout: the request times out while
	// IN_QUEUE, without running.
	sub := submit(t, srv, "t/cold", `{}`, "X-Fal-Request-Timeout", "0.05")
	st := waitStatus(t, srv, sub, "", "timeout during cold start", isCompleted)
	if st["error_type"] != "request_timeout" || srv.Executions("t/cold") != 0 {
		t.Fatalf("cold start: %v, executions %d", st, srv.Executions("t/cold"))
	}
}

func TestQueueCancelQueued(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("t/one", g.handler, faltest.Concurrency(1)))
	blocker := submit(t, srv, "t/one", `{}`)
	recv(t, g.started, "blocker")
	queued := submit(t, srv, "t/one", `{}`)
	r := call(t, srv, "PUT", queued["cancel_url"].(string), "")
	if r.code != 200 || r.json(t)["status"] != "OK" {
		t.Fatalf("cancel queued: %d %s", r.code, r.body)
	}
	code, st := status(t, srv, queued, "")
	if code != 200 || st["status"] != "COMPLETED" || st["error"] != "Request was cancelled" || st["error_type"] != "request_cancelled" {
		t.Fatalf("cancelled status: %d %v", code, st)
	}
	r = call(t, srv, "GET", queued["response_url"].(string), "")
	if r.code != 400 || r.json(t)["error_type"] != "request_cancelled" {
		t.Fatalf("cancelled result: %d %s", r.code, r.body)
	}
	g.release <- struct{}{}
	waitStatus(t, srv, blocker, "", "blocker done", isCompleted)
	// Another job runs next: the cancelled one left the line.
	next := submit(t, srv, "t/one", `{}`)
	if id := recv(t, g.started, "next job"); id != next["request_id"] {
		t.Fatalf("started %s, want %v (the cancelled job must never run)", id, next["request_id"])
	}
	g.release <- struct{}{}
	waitStatus(t, srv, next, "", "next done", isCompleted)
	if n := srv.Executions("t/one"); n != 2 {
		t.Fatalf("Executions = %d, want 2 (the cancelled job never ran)", n)
	}
	r = call(t, srv, "PUT", queued["cancel_url"].(string), "")
	if r.code != 400 || r.json(t)["status"] != "ALREADY_COMPLETED" {
		t.Fatalf("cancel again: %d %s", r.code, r.body)
	}
	if r := call(t, srv, "POST", queued["cancel_url"].(string), ""); r.code == 200 {
		t.Fatal("POST to cancel_url treated as a cancel")
	}
	if r := call(t, srv, "GET", queued["cancel_url"].(string), ""); r.code != 405 {
		t.Fatalf("GET cancel_url: %d", r.code)
	}
}

func TestQueueCancelRunning(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("t/gate", g.handler))
	sub := submit(t, srv, "t/gate", `{}`)
	recv(t, g.started, "job")
	r := call(t, srv, "PUT", sub["cancel_url"].(string), "")
	if r.code != 202 || r.json(t)["status"] != "CANCELLATION_REQUESTED" {
		t.Fatalf("cancel running: %d %s", r.code, r.body)
	}
	if err := recv(t, g.ctxDone, "the job's ctx to end"); !errors.Is(err, context.Canceled) {
		t.Fatalf("ctx error %v", err)
	}
	st := waitStatus(t, srv, sub, "", "cancelled completion", isCompleted)
	if st["error_type"] != "request_cancelled" {
		t.Fatalf("status %v", st)
	}
	if r := call(t, srv, "GET", sub["response_url"].(string), ""); r.code != 400 {
		t.Fatalf("result: %d %s", r.code, r.body)
	}
}

func TestQueueCancelRunningAppFinishes(t *testing.T) {
	// A handler may ignore the cancellation and finish; its output stands.
	started := make(chan struct{})
	finish := make(chan struct{})
	srv := newServer(t, faltest.WithApp("t/stubborn", func(ctx context.Context, req *faltest.Request) (any, error) {
		close(started)
		<-ctx.Done()
		<-finish
		return "done anyway", nil
	}))
	sub := submit(t, srv, "t/stubborn", `{}`)
	recv(t, started, "start")
	if r := call(t, srv, "PUT", sub["cancel_url"].(string), ""); r.code != 202 {
		t.Fatalf("cancel: %d", r.code)
	}
	close(finish)
	st := waitStatus(t, srv, sub, "", "completion", isCompleted)
	if _, ok := st["error"]; ok {
		t.Fatalf("status %v", st)
	}
	if r := call(t, srv, "GET", sub["response_url"].(string), ""); r.code != 200 || string(r.body) != `"done anyway"` {
		t.Fatalf("result %d %s", r.code, r.body)
	}
}

func TestQueueRequestHeadersReachApp(t *testing.T) {
	srv := newServer(t)
	sub := submit(t, srv, "falgo/echo", `{"_headers":true}`, "X-Fal-Runner-Hint", "lora:a", "X-Fal-Queue-Priority", "low", "X-Fal-Request-Timeout", "30")
	waitStatus(t, srv, sub, "", "completion", isCompleted)
	r := call(t, srv, "GET", sub["response_url"].(string), "")
	var out struct {
		Request struct {
			RequestID string            `json:"request_id"`
			Headers   map[string]string `json:"headers"`
		} `json:"_request"`
	}
	if err := jsonUnmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	h := out.Request.Headers
	if out.Request.RequestID != sub["request_id"] || h["X-Fal-Runner-Hint"] != "lora:a" || h["X-Fal-Queue-Priority"] != "low" || h["X-Fal-Request-Timeout"] != "30" {
		t.Fatalf("app saw %s", r.body)
	}
}

func TestQueueRetention(t *testing.T) {
	srv := newServer(t, faltest.WithResultRetention(1))
	sub := submit(t, srv, "falgo/echo", `{}`)
	waitFor(t, "the result to expire", func() bool {
		return call(t, srv, "GET", sub["status_url"].(string), "").code == 404
	})
	if r := call(t, srv, "GET", sub["response_url"].(string), ""); r.code != 404 {
		t.Fatalf("expired result: %d", r.code)
	}
}

func TestQueueProcessingDelay(t *testing.T) {
	const delay = 80 * time.Millisecond
	called := make(chan time.Time, 1)
	release := make(chan struct{})
	srv := newServer(t, faltest.WithApp("t/slow", func(ctx context.Context, _ *faltest.Request) (any, error) {
		called <- time.Now()
		select {
		case <-release:
			return "ok", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}, faltest.ProcessingDelay(delay)))
	start := time.Now()
	sub := submit(t, srv, "t/slow", `{}`)
	// The handler does not return before it is released, so once the
	// request has left the queue it stays running however slowly this
	// test polls.
	st := waitStatus(t, srv, sub, "", "the start", func(st map[string]any) bool { return st["status"] != "IN_QUEUE" })
	if st["status"] != "IN_PROGRESS" {
		t.Fatalf("after leaving the queue, before the handler returned: %v", st)
	}
	calledAt := recv(t, called, "the handler call")
	if d := calledAt.Sub(start); d < delay {
		t.Fatalf("the handler was called %v after the submit, want at least the processing delay %v", d, delay)
	}
	released := time.Now()
	close(release)
	st = waitStatus(t, srv, sub, "", "completion", isCompleted)
	if _, ok := st["error"]; ok {
		t.Fatalf("completed with an error: %v", st)
	}
	// The delay is part of the run, after the start: the request started
	// at least delay before the handler was called and completed after it
	// was released, so inference_time (completion - start) is at least
	// released - calledAt + delay. A delay spent IN_QUEUE, before the
	// start, would leave it short of that.
	it, ok := st["metrics"].(map[string]any)["inference_time"].(float64)
	want := released.Sub(calledAt) + delay
	if !ok || time.Duration(it*float64(time.Second))+time.Microsecond < want {
		t.Fatalf("inference_time %v, want at least %v (the processing delay counts as running)", st["metrics"], want)
	}
}
