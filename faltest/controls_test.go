package faltest_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/falgo/fal/faltest"
)

func TestTagsRecorded(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	runApp(t, srv, "falgo/echo", `{}`, "X-Fal-Tags", "team=ml, job=42")
	sub := submit(t, srv, "falgo/echo", `{}`, "X-Fal-Tags", "via=queue")
	waitStatus(t, srv, sub, "", "completion", isCompleted)
	streamAll(t, srv, "falgo/echo", `{}`, "X-Fal-Tags", "via=stream")
	runApp(t, srv, "falgo/echo", `{}`)
	h := srv.History("falgo/echo")
	want := []map[string]string{{"team": "ml", "job": "42"}, {"via": "queue"}, {"via": "stream"}, nil}
	for i, r := range h {
		if !reflect.DeepEqual(r.Tags, want[i]) {
			t.Errorf("request %d (%s): tags %v, want %v", i, r.Mode, r.Tags, want[i])
		}
	}
	var ten []string
	for i := 0; i < 10; i++ {
		ten = append(ten, fmt.Sprintf("k%d=v", i))
	}
	if r := runApp(t, srv, "falgo/echo", `{}`, "X-Fal-Tags", strings.Join(ten, ",")); r.code != 200 {
		t.Errorf("10 tags: %d %s", r.code, r.body)
	}
	for _, bad := range []struct{ tags, msg string }{
		{strings.Join(ten, ",") + ",k10=v", "at most 10"},
		{"k=" + strings.Repeat("v", 1030), "at most 1024"},
		{"novalue", "key=value"},
		{"=v", "key=value"},
		{"k=", "key=value"},
		{"a=1,a=2", "twice"},
	} {
		for _, path := range []string{"/run/falgo/echo", "/queue/falgo/echo", "/run/falgo/echo/stream"} {
			r := call(t, srv, "POST", path, `{}`, "X-Fal-Tags", bad.tags)
			if r.code != 400 || !strings.Contains(string(r.body), bad.msg) || !strings.Contains(string(r.body), "X-Fal-Tags") {
				t.Errorf("%s with X-Fal-Tags %.40q: %d %s", path, bad.tags, r.code, r.body)
			}
		}
	}
	if n := len(srv.History("falgo/echo")); n != 5 {
		t.Errorf("refused requests were recorded: %d records", n)
	}
}

func TestNoRetryAndDisableFallbackRecorded(t *testing.T) {
	srv := newServer(t)
	runApp(t, srv, "falgo/echo", `{}`, "X-Fal-No-Retry", "yes", "x-app-fal-disable-fallback", "true")
	runApp(t, srv, "falgo/echo", `{}`, "X-Fal-No-Retry", "0")
	runApp(t, srv, "falgo/echo", `{}`)
	h := srv.History("falgo/echo")
	if !h[0].NoRetry || !h[0].DisableFallback || h[1].NoRetry || h[1].DisableFallback || h[2].NoRetry {
		t.Errorf("records %+v", h)
	}
	for _, hdr := range []string{"X-Fal-No-Retry", "x-app-fal-disable-fallback"} {
		r := runApp(t, srv, "falgo/echo", `{}`, hdr, "sometimes")
		if r.code != 422 || !strings.Contains(string(r.body), strings.ToLower(hdr)) {
			t.Errorf("bad %s: %d %s", hdr, r.code, r.body)
		}
	}
}

func TestMaxQueueLength(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("me/slow", g.handler, faltest.Concurrency(1)))
	submit(t, srv, "me/slow", `{}`) // runs
	recv(t, g.started, "the first request to start")
	submit(t, srv, "me/slow", `{}`) // waits: 1 in the queue
	submit(t, srv, "me/slow", `{}`) // waits: 2 in the queue

	// fal_max_queue_length=N refuses a submit when more than N wait.
	if r := call(t, srv, "POST", "/queue/me/slow?fal_max_queue_length=2", `{}`); r.code != 200 {
		t.Fatalf("2 waiting, max 2: %d %s", r.code, r.body) // now 3 wait
	}
	for _, n := range []string{"2", "0", "1"} {
		r := call(t, srv, "POST", "/queue/me/slow?fal_max_queue_length="+n, `{}`)
		if r.code != 429 || !strings.Contains(string(r.body), "fal_max_queue_length="+n) || r.header.Get("x-fal-request-id") == "" {
			t.Errorf("3 waiting, max %s: %d %s", n, r.code, r.body)
		}
	}
	if r := call(t, srv, "POST", "/queue/me/slow?fal_max_queue_length=3", `{}`); r.code != 200 {
		t.Errorf("3 waiting, max 3: %d %s", r.code, r.body)
	}
	for _, bad := range []string{"-1", "x", "1.5"} {
		if r := call(t, srv, "POST", "/queue/me/slow?fal_max_queue_length="+bad, `{}`); r.code != 422 {
			t.Errorf("fal_max_queue_length=%s: %d", bad, r.code)
		}
	}
	if n := len(srv.History("me/slow")); n != 5 {
		t.Errorf("%d requests recorded, want the 5 accepted", n)
	}
	// An app with no runner limit has no queue: never refused.
	if r := call(t, srv, "POST", "/queue/falgo/echo?fal_max_queue_length=0", `{}`); r.code != 200 {
		t.Errorf("unlimited app: %d %s", r.code, r.body)
	}
	for i := 0; i < 5; i++ {
		g.release <- struct{}{}
	}
}

// Sync runs also come as GET (the input as query parameters) and PUT,
// the forms of fal-js's method option.
func TestRunWithGetAndPut(t *testing.T) {
	srv := newServer(t)
	r := call(t, srv, "GET", "/run/falgo/echo?prompt=a+cat&n=2&flag=true&obj=%7B%22a%22%3A1%7D&fal_webhook=x", "")
	if r.code != 200 {
		t.Fatalf("GET: %d %s", r.code, r.body)
	}
	want := map[string]any{"prompt": "a cat", "n": 2.0, "flag": true, "obj": map[string]any{"a": 1.0}}
	if got := r.json(t); !reflect.DeepEqual(got, want) {
		t.Errorf("GET input %v, want %v", got, want)
	}
	r = call(t, srv, "PUT", "/run/falgo/echo", `{"x":1}`)
	if r.code != 200 || string(r.body) != `{"x":1}` {
		t.Errorf("PUT: %d %s", r.code, r.body)
	}
	// The queue and streams stay POST only.
	for _, c := range []struct{ method, path string }{{"PUT", "/queue/falgo/echo"}, {"GET", "/queue/falgo/echo"}, {"PUT", "/run/falgo/echo/stream"}} {
		if r := call(t, srv, c.method, c.path, ""); r.code != 405 {
			t.Errorf("%s %s: %d", c.method, c.path, r.code)
		}
	}
}

// Faults injected on the "platform" route answer in its envelope.
func TestPlatformFaults(t *testing.T) {
	srv := newServer(t, faltest.WithFaults(1,
		faltest.FaultRule{Route: "platform", Kind: faltest.TooManyRequests, Count: 1},
		faltest.FaultRule{Route: "platform", Kind: faltest.AppError500, Count: 1},
	))
	platformError(t, api(t, srv, "GET", "/models", "", ""), 429, "rate_limited")
	platformError(t, api(t, srv, "GET", "/models", "", ""), 500, "server_error")
	apiOK(t, srv, "GET", "/models", "", "", 200)
	if st := srv.Stats(); st.Requests["platform"] != 3 || st.Faults["platform"] != 2 {
		t.Errorf("stats %v %v", st.Requests, st.Faults)
	}
}

func TestEnvExportsAPIHost(t *testing.T) {
	srv := newServer(t)
	env := srv.Env()
	if last := env[len(env)-1]; last != "FAL_API_HOST="+srv.URL+"/api" {
		t.Errorf("last Env entry %q", last)
	}
	// The exported host serves the Platform API at /v1.
	r := call(t, srv, "GET", strings.TrimPrefix(env[len(env)-1], "FAL_API_HOST=")+"/v1/models?endpoint_id=falgo/echo", "")
	if r.code != 200 {
		t.Errorf("FAL_API_HOST/v1/models: %d %s", r.code, r.body)
	}
}
