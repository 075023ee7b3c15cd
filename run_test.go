package fal_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
)

func TestRunSendsSpecRequest(t *testing.T) {
	t.Parallel()
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

func TestRunRefusesBadInputBeforeAnyRequest(t *testing.T) {
	t.Parallel()
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
		{"hint newline", "fal-ai/flux", nil, []fal.RequestOption{fal.WithHint("a\nb")}, "line break"},
		{"auth header", "fal-ai/flux", nil, []fal.RequestOption{fal.WithHeader("authorization", "Key x")}, "use WithKey"},
		{"header newline", "fal-ai/flux", nil, []fal.RequestOption{fal.WithHeader("X-A", "a\r\nb")}, "line break"},
		{"bad path", "fal-ai/flux", nil, []fal.RequestOption{fal.WithPath("a?b")}, "invalid path"},
	}
	for _, tc := range cases {
		_, err := c.Run(ctx, tc.app, tc.input, tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
		checkErrorText(t, tc.name, err)
	}
	// Options of the queue are checked by the calls they apply to.
	for _, p := range []fal.Priority{"high", ""} {
		_, err := c.Submit(ctx, "fal-ai/flux", nil, fal.WithPriority(p))
		if err == nil || !strings.Contains(err.Error(), "unknown priority") {
			t.Errorf("priority %q: err = %v", p, err)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("server saw %d requests; bad input must be refused before sending", n)
	}
}
