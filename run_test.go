package fal_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
)

func TestRunSendsSpecRequest(t *testing.T) {
	srv := newScripted(t, jsonReply(200, `{"images":[{"url":"x"}],"seed":7}`, "X-Fal-Request-Id", "rid-1"))
	c := srv.client(t)
	res, err := c.Run(context.Background(), "fal-ai/flux/dev", map[string]any{"prompt": "a ü <cat>", "n": 1},
		fal.WithHint("lora:a"), fal.WithStartTimeout(30*time.Second), fal.WithHeader("X-Custom", "1"))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.RequestID != "rid-1" {
		t.Errorf("RequestID = %q, want rid-1", res.RequestID)
	}
	var out struct{ Seed int }
	if err := res.Decode(&out); err != nil || out.Seed != 7 {
		t.Errorf("Decode: %v, seed %d", err, out.Seed)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/run/fal-ai/flux/dev" || r.Query != "" {
		t.Errorf("request line = %s %s?%s", r.Method, r.Path, r.Query)
	}
	want := map[string]string{
		"Authorization":         "Key " + testKey,
		"User-Agent":            "falgo/" + fal.Version + " (go)",
		"Content-Type":          "application/json",
		"Accept":                "application/json",
		"X-Fal-Runner-Hint":     "lora:a",
		"X-Fal-Request-Timeout": "30.0",
		"X-Custom":              "1",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if got := string(r.Body); got != `{"n":1,"prompt":"a ü <cat>"}` {
		t.Errorf("body = %s, want compact UTF-8 JSON without HTML escaping", got)
	}
}

func TestRunPathAndPerCallOverrides(t *testing.T) {
	srv := newScripted(t, jsonReply(200, `{}`))
	other := newScripted(t, jsonReply(200, `{}`))
	c := srv.client(t, fal.WithHint("client-hint"), fal.WithHeader("X-Env", "client"), fal.WithUserAgent("app/1"))
	ctx := context.Background()

	if _, err := c.Run(ctx, "fal-ai/flux", nil, fal.WithPath("/dev")); err != nil {
		t.Fatal(err)
	}
	// Per-call options win over the client's, and a per-call key and run
	// host reach another environment without touching the client.
	if _, err := c.Run(ctx, "fal-ai/flux", nil, fal.WithHint("call-hint"), fal.WithHeader("X-Env", "call"),
		fal.WithKey("other-key"), fal.WithRunHost(other.URL+"/run")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(ctx, "fal-ai/flux", nil); err != nil {
		t.Fatal(err)
	}
	r := srv.requests()
	if len(r) != 2 {
		t.Fatalf("client server got %d requests, want 2", len(r))
	}
	if r[0].Path != "/run/fal-ai/flux/dev" || string(r[0].Body) != "{}" {
		t.Errorf("WithPath: got %s body %s", r[0].Path, r[0].Body)
	}
	for _, rq := range r {
		if rq.Header.Get("X-Fal-Runner-Hint") != "client-hint" || rq.Header.Get("X-Env") != "client" || rq.Header.Get("User-Agent") != "app/1" {
			t.Errorf("client defaults not sent: %v", rq.Header)
		}
		if rq.Header.Get("Authorization") != "Key "+testKey {
			t.Errorf("client key not sent")
		}
	}
	o := other.requests()
	if len(o) != 1 {
		t.Fatalf("other server got %d requests, want 1", len(o))
	}
	if o[0].Header.Get("X-Fal-Runner-Hint") != "call-hint" || o[0].Header.Get("X-Env") != "call" || o[0].Header.Get("Authorization") != "Key other-key" {
		t.Errorf("per-call options not applied: %v", o[0].Header)
	}
}

func TestRunRefusesBadInputBeforeAnyRequest(t *testing.T) {
	srv := newScripted(t, jsonReply(200, `{}`))
	c := srv.client(t)
	ctx := context.Background()
	cases := []struct {
		name, app string
		input     any
		opts      []fal.RequestOption
		want      string
	}{
		{"empty app", "", nil, nil, "empty app id"},
		{"leading slash", "/fal-ai/flux", nil, nil, "leading or trailing slash"},
		{"double slash", "fal-ai//flux", nil, nil, "empty path segment"},
		{"dot dot", "fal-ai/../admin", nil, nil, `".." segments`},
		{"space", "fal-ai/fl ux", nil, nil, "not allowed"},
		{"query", "fal-ai/flux?x=1", nil, nil, "not allowed"},
		{"url", "https://fal.run/fal-ai/flux", nil, nil, "not a URL"},
		{"NaN", "fal-ai/flux", math.NaN(), nil, "cannot be encoded as JSON"},
		{"NaN nested", "fal-ai/flux", map[string]any{"x": math.Inf(1)}, nil, "cannot be encoded as JSON"},
		{"channel", "fal-ai/flux", map[string]any{"c": make(chan int)}, nil, "cannot be encoded as JSON"},
		{"bad raw", "fal-ai/flux", json.RawMessage(`{"a":`), nil, "not valid JSON"},
		{"start timeout 1s", "fal-ai/flux", nil, []fal.RequestOption{fal.WithStartTimeout(time.Second)}, "greater than 1 second"},
		{"start timeout 0.5s", "fal-ai/flux", nil, []fal.RequestOption{fal.WithStartTimeout(500 * time.Millisecond)}, "greater than 1 second"},
		{"priority", "fal-ai/flux", nil, []fal.RequestOption{fal.WithPriority("high")}, `unknown priority "high"`},
		{"empty priority", "fal-ai/flux", nil, []fal.RequestOption{fal.WithPriority("")}, "unknown priority"},
		{"auth header", "fal-ai/flux", nil, []fal.RequestOption{fal.WithHeader("authorization", "Key x")}, "use WithKey"},
		{"header newline", "fal-ai/flux", nil, []fal.RequestOption{fal.WithHeader("X-A", "a\r\nb")}, "line break"},
		{"bad path", "fal-ai/flux", nil, []fal.RequestOption{fal.WithPath("a?b")}, "invalid path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Run(ctx, tc.app, tc.input, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("server saw %d requests; bad input must be refused before sending", n)
	}
}

func TestNewClientRejectsInvalidOptions(t *testing.T) {
	cases := map[string]fal.Option{
		"empty key":           fal.WithKey(" "),
		"nil provider":        fal.WithCredentials(nil),
		"negative timeout":    fal.WithTimeout(-time.Second),
		"nil http client":     fal.WithHTTPClient(nil),
		"host scheme":         fal.WithRunHost("ftp://x"),
		"host path no scheme": fal.WithRunHost("x/y"),
		"host query":          fal.WithQueueHost("http://x/?a=1"),
		"retry attempts":      fal.WithRetryPolicy(fal.RetryPolicy{}),
		"negative retries":    fal.WithMaxRetries(-1),
	}
	for name, opt := range cases {
		if _, err := fal.NewClient(opt); err == nil {
			t.Errorf("%s: NewClient accepted an invalid option", name)
		}
	}
}

func TestHostsFromEnvironment(t *testing.T) {
	srv := newScripted(t, jsonReply(200, `{"ok":true}`))
	t.Setenv("FAL_KEY", testKey)
	t.Setenv("FAL_RUN_HOST", srv.URL+"/run/")
	t.Setenv("FAL_QUEUE_RUN_HOST", "")
	c, err := fal.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background(), "falgo/echo", map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if r := srv.requests(); len(r) != 1 || r[0].Path != "/run/falgo/echo" {
		t.Fatalf("requests = %+v", r)
	}
	if s := c.String(); !strings.Contains(s, "queue: "+srv.URL+"/run") {
		t.Errorf("the queue host of an IP run host should default to the same host: %s", s)
	}
	t.Setenv("FAL_RUN_HOST", "fal.example.com:8443")
	c2, err := fal.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	if s := c2.String(); !strings.Contains(s, "run: https://fal.example.com:8443,") || !strings.Contains(s, "queue: https://queue.fal.example.com:8443,") {
		t.Errorf("queue host should default to queue.<run host>: %s", s)
	}
	t.Setenv("FAL_RUN_HOST", "bad host/with space")
	if _, err := fal.NewClient(); err == nil || !strings.Contains(err.Error(), "FAL_RUN_HOST") {
		t.Errorf("invalid FAL_RUN_HOST: err = %v, want one naming the variable", err)
	}
}

func TestHTTPErrorMessages(t *testing.T) {
	cases := []struct {
		name    string
		reply   http.HandlerFunc
		status  int
		message string
		errType string
		rid     string
	}{
		{"string detail", jsonReply(404, `{"detail":"not found","error_type":"bad_request"}`, "X-Fal-Request-Id", "r1"), 404, "not found", "bad_request", "r1"},
		{"header error type", jsonReply(504, `{"detail":"Request timed out"}`, "X-Fal-Error-Type", "request_timeout", "X-Fal-Request-Id", "r2"), 504, "Request timed out", "request_timeout", "r2"},
		{"body type wins", jsonReply(400, `{"detail":"Runner disconnected","error_type":"runner_disconnected"}`, "X-Fal-Error-Type", "internal_error"), 400, "Runner disconnected", "runner_disconnected", ""},
		{"validation list", jsonReply(422, `{"detail":[{"loc":["body","prompt"],"msg":"field required","type":"missing"},{"loc":["body","loras",0,"scale"],"msg":"must be <= 4","type":"value_error"}]}`),
			422, "prompt: field required; loras[0].scale: must be <= 4", "", ""},
		{"object detail", jsonReply(400, `{"detail":{"message":"bad image","code":7}}`), 400, "bad image", "", ""},
		{"plain text", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			_, _ = w.Write([]byte("Internal Server Error"))
		}, 500, "Internal Server Error", "", ""},
		{"empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, 500, "empty response body", "", ""},
		{"html", htmlReply(401), 401, "HTML error page: 503 Service Temporarily Unavailable", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScripted(t, tc.reply)
			_, err := srv.client(t, fal.WithMaxRetries(0)).Run(context.Background(), "fal-ai/x", nil)
			var he *fal.HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("err = %v (%T), want *fal.HTTPError", err, err)
			}
			if he.StatusCode != tc.status || he.Message != tc.message || he.ErrorType != tc.errType || he.RequestID != tc.rid {
				t.Errorf("got status %d message %q type %q rid %q", he.StatusCode, he.Message, he.ErrorType, he.RequestID)
			}
			if !strings.Contains(err.Error(), tc.message) || !strings.Contains(err.Error(), "/run/fal-ai/x") {
				t.Errorf("Error() = %q should name the URL and the message", err)
			}
		})
	}
	t.Run("field lookup", func(t *testing.T) {
		srv := newScripted(t, jsonReply(422, `{"detail":[{"loc":["body","image_size","width"],"msg":"too big","type":"value_error"}]}`))
		_, err := srv.client(t).Run(context.Background(), "fal-ai/x", nil)
		var he *fal.HTTPError
		if !errors.As(err, &he) {
			t.Fatal(err)
		}
		if f, ok := he.FieldError("image_size.width"); !ok || f.Msg != "too big" {
			t.Errorf("FieldError(image_size.width) = %v, %v", f, ok)
		}
		if _, ok := he.FieldError("width"); !ok {
			t.Errorf("FieldError(width) should match the last path element")
		}
	})
}
