package fal_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/falgo/fal"
)

func TestRequestControlsReachTheJobRequestOnly(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, jsonReply(200, `{"request_id":"r1"}`), jsonReply(200, `{"status":"COMPLETED","logs":null}`), jsonReply(200, `{}`))
	c := srv.client(t)
	_, err := c.Subscribe(context.Background(), "fal-ai/x", nil, fal.WithPolling(0),
		fal.WithoutPayloadStorage(), fal.WithoutServerRetries(), fal.WithoutFallback(),
		fal.WithTags(map[string]string{"team": "ml", "env": "prod"}), fal.WithMaxQueueLength(5))
	if err != nil {
		t.Fatal(err)
	}
	r := srv.requests()
	want := map[string]string{"X-Fal-Store-Io": "0", "X-Fal-No-Retry": "1", "X-App-Fal-Disable-Fallback": "true", "X-Fal-Tags": "env=prod,team=ml"}
	for k, v := range want {
		if got := r[0].Header.Get(k); got != v {
			t.Errorf("submit header %s = %q, want %q", k, got, v)
		}
		for _, later := range r[1:] {
			if later.Header.Get(k) != "" {
				t.Errorf("%s %s carries %s", later.Method, later.Path, k)
			}
		}
	}
	if r[0].Query != "fal_max_queue_length=5" {
		t.Errorf("submit query = %q", r[0].Query)
	}
}

func TestMaxQueueLengthFailsAtOnce(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, jsonReply(429, `{"detail":"queue too long"}`, "X-Fal-Request-Id", "r9"))
	_, err := srv.client(t).Submit(context.Background(), "fal-ai/x", nil, fal.WithMaxQueueLength(3))
	var he *fal.HTTPError
	if !errors.Is(err, fal.ErrQueueFull) || !errors.As(err, &he) || he.StatusCode != 429 || len(srv.requests()) != 1 {
		t.Fatalf("err = %v after %d requests; want ErrQueueFull wrapping the 429, no retry", err, len(srv.requests()))
	}
	checkErrorText(t, "queue full", err)
	// Without the option a 429 is retried, and is not ErrQueueFull.
	srv2 := newScripted(t, jsonReply(429, `{}`), jsonReply(200, `{"request_id":"r1"}`))
	if _, err := srv2.client(t, fast).Submit(context.Background(), "fal-ai/x", nil); err != nil || len(srv2.requests()) != 2 {
		t.Fatalf("a plain 429: err = %v after %d requests, want a retry", err, len(srv2.requests()))
	}
}

func TestTagsAreValidated(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, jsonReply(200, `{}`))
	c := srv.client(t)
	many := map[string]string{}
	for i := 0; i < 11; i++ {
		many[string(rune('a'+i))] = "v"
	}
	for name, tags := range map[string]map[string]string{
		"none": {}, "eleven": many, "comma": {"a": "b,c"}, "equals": {"a=b": "c"}, "space": {"a": "b c"},
		"newline": {"a": "b\nc"}, "empty value": {"a": ""}, "too long": {"k": strings.Repeat("v", 1100)},
	} {
		if _, err := c.Run(context.Background(), "fal-ai/x", nil, fal.WithTags(tags)); err == nil || !strings.Contains(err.Error(), "WithTags") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests were sent with invalid tags", n)
	}
}

func TestRunMethod(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, jsonReply(200, `{"ok":1}`))
	c := srv.client(t)
	in := map[string]any{"prompt": "a b&c", "n": 2, "size": map[string]int{"w": 1}}
	if _, err := c.Run(context.Background(), "fal-ai/x", in, fal.WithMethod("get")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background(), "fal-ai/x", in, fal.WithMethod(http.MethodPut)); err != nil {
		t.Fatal(err)
	}
	r := srv.requests()
	if r[0].Method != http.MethodGet || len(r[0].Body) != 0 || r[0].Query != "n=2&prompt=a+b%26c&size=%7B%22w%22%3A1%7D" {
		t.Errorf("GET: %s ?%s body %q", r[0].Method, r[0].Query, r[0].Body)
	}
	if r[1].Method != http.MethodPut || !strings.Contains(string(r[1].Body), `"prompt":"a b&c"`) {
		t.Errorf("PUT: %s body %q", r[1].Method, r[1].Body)
	}
	if _, err := c.Run(context.Background(), "fal-ai/x", []int{1}, fal.WithMethod("GET")); err == nil {
		t.Error("a GET with a non-object input was accepted")
	}
	if _, err := c.Submit(context.Background(), "fal-ai/x", nil, fal.WithMethod("GET")); err == nil || !strings.Contains(err.Error(), "applies to Run") {
		t.Errorf("WithMethod on Submit: err = %v", err)
	}
}

func TestBillableUnits(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, jsonReply(200, `{}`, "X-Fal-Billable-Units", "2.5"),
		jsonReply(422, `{"detail":"no"}`, "X-Fal-Billable-Units", "1"), jsonReply(200, `{}`, "X-Fal-Billable-Units", "NaN"))
	c := srv.client(t)
	res, err := c.Run(context.Background(), "fal-ai/x", nil)
	if err != nil || res.BillableUnits != 2.5 {
		t.Fatalf("Run: %v, billable units %v; want 2.5", err, res.BillableUnits)
	}
	_, err = c.Run(context.Background(), "fal-ai/x", nil)
	if he := asHTTPError(t, err); he.BillableUnits != 1 {
		t.Errorf("HTTPError.BillableUnits = %v, want 1", he.BillableUnits)
	}
	if res, err := c.Run(context.Background(), "fal-ai/x", nil); err != nil || res.BillableUnits != 0 {
		t.Errorf("an unreadable header: %v, %v; want 0", res, err)
	}
}

func TestPlatformErrorEnvelope(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, jsonReply(403, `{"error":{"type":"authorization_error","message":"This endpoint requires an admin key","docs_url":"https://docs.fal.ai/x","request_id":"req-7"}}`))
	_, err := srv.client(t).Run(context.Background(), "fal-ai/x", nil)
	he := asHTTPError(t, err)
	if he.ErrorType != "authorization_error" || he.Message != "This endpoint requires an admin key" || he.DocsURL != "https://docs.fal.ai/x" || he.RequestID != "req-7" {
		t.Fatalf("HTTPError = %+v", he)
	}
}
