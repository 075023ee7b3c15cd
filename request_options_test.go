package fal_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
)

func TestQueueHeadersReachTheApp(t *testing.T) {
	t.Parallel()
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

// TestJobHeadersOnlyOnTheStartingPOST: the start timeout, the runner hint
// and the priority go on the POST that starts the job, not on the status,
// status stream and result requests that follow it. WithClientTimeout
// sets the start timeout when none is given.
func TestJobHeadersOnlyOnTheStartingPOST(t *testing.T) {
	t.Parallel()
	sse := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"status\":\"COMPLETED\",\"logs\":null}\n\n")
	}
	for _, tc := range []struct {
		name    string
		opts    []fal.RequestOption
		timeout string
		status  http.HandlerFunc
	}{
		{"polling", []fal.RequestOption{fal.WithStartTimeout(30 * time.Second), fal.WithPolling(time.Millisecond)}, "30.0", jsonReply(200, `{"status":"COMPLETED","logs":null}`)},
		{"stream", []fal.RequestOption{fal.WithStartTimeout(45500 * time.Millisecond)}, "45.5", sse},
		{"client timeout", []fal.RequestOption{fal.WithClientTimeout(50 * time.Second)}, "50.0", sse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, jsonReply(200, `{"request_id":"r1"}`), tc.status, jsonReply(200, `{"ok":true}`))
			opts := append([]fal.RequestOption{fal.WithHint("h"), fal.WithPriority(fal.PriorityLow)}, tc.opts...)
			if _, err := srv.client(t).Subscribe(bg(t), "fal-ai/x", nil, opts...); err != nil {
				t.Fatal(err)
			}
			r := srv.requests()
			if len(r) != 3 {
				t.Fatalf("%d requests, want submit, status, result", len(r))
			}
			if r[0].Method != "POST" || r[0].Header.Get("X-Fal-Request-Timeout") != tc.timeout || r[0].Header.Get("X-Fal-Runner-Hint") != "h" || r[0].Header.Get("X-Fal-Queue-Priority") != "low" {
				t.Errorf("submit headers %v", r[0].Header)
			}
			for _, rq := range r[1:] {
				for _, k := range []string{"X-Fal-Request-Timeout", "X-Fal-Runner-Hint", "X-Fal-Queue-Priority"} {
					if v := rq.Header.Get(k); v != "" {
						t.Errorf("%s %s carried %s: %q", rq.Method, rq.Path, k, v)
					}
				}
			}
		})
	}
}
