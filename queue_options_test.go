package fal_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

func TestWebhookDeliveredWithRequestID(t *testing.T) {
	t.Parallel()
	got := make(chan map[string]any, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		select {
		case got <- body:
		default:
		}
	}))
	t.Cleanup(hook.Close)
	_, c, _ := newLocal(t, nil)
	ctx := bg(t)
	h, err := c.Submit(ctx, "falgo/echo", map[string]string{"hello": "hook"}, fal.WithWebhook(hook.URL+"/hook?a=b c"))
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
	case <-ctx.Done():
		t.Fatal("no webhook delivery")
	}
	if _, err := c.Submit(ctx, "falgo/echo", nil, fal.WithWebhook("/relative")); err == nil {
		t.Fatal("a relative webhook URL was accepted")
	}
}

// TestRequestErrorKeepsLogsOnlyWithWithLogs: the logs of a failed job are
// asked for, and kept in the *RequestError, only with WithLogs(true).
func TestRequestErrorKeepsLogsOnlyWithWithLogs(t *testing.T) {
	t.Parallel()
	_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/fail", func(ctx context.Context, req *faltest.Request) (any, error) {
		req.Log("ERROR", "checking input")
		return nil, &faltest.AppError{Status: 500, Detail: "boom"}
	})})
	ctx := bg(t)
	for _, tc := range []struct {
		name string
		opts []fal.RequestOption
		logs int
	}{
		{"default", nil, 0},
		{"WithLogs(false)", []fal.RequestOption{fal.WithLogs(false)}, 0},
		{"WithLogs(true)", []fal.RequestOption{fal.WithLogs(true)}, 1},
		{"WithLogs(true), polling", []fal.RequestOption{fal.WithLogs(true), fal.WithPolling(5 * time.Millisecond)}, 1},
	} {
		_, err := c.Subscribe(ctx, "t/fail", nil, tc.opts...)
		var re *fal.RequestError
		if !errors.As(err, &re) {
			t.Fatalf("%s: err = %v, want *fal.RequestError", tc.name, err)
		}
		if len(re.Logs) != tc.logs {
			t.Errorf("%s: RequestError has %d log entries, want %d", tc.name, len(re.Logs), tc.logs)
		}
		h, err := c.Submit(ctx, "t/fail", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Result(ctx, tc.opts...)
		if !errors.As(err, &re) || len(re.Logs) != tc.logs {
			t.Errorf("%s: Result: %v with %d log entries, want %d", tc.name, err, len(re.Logs), tc.logs)
		}
	}
}
