package fal_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

func TestStreamEventsInOrder(t *testing.T) {
	t.Parallel()
	_, c, _ := newLocal(t, nil)
	ctx := bg(t)
	var got []string
	for ev, err := range c.Stream(ctx, "falgo/echo", map[string]any{"_events": []any{1, "two", map[string]int{"three": 3}}}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(ev.Data))
	}
	if strings.Join(got, "|") != `1|"two"|{"three":3}` {
		t.Fatalf("events %v", got)
	}

	var last struct {
		Output  string `json:"output"`
		Partial bool   `json:"partial"`
	}
	n := 0
	for ev, err := range c.Stream(ctx, "fal-ai/any-llm", map[string]string{"prompt": "hello there"}) {
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.Decode(&last); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n < 2 || last.Partial || last.Output == "" {
		t.Fatalf("any-llm: %d events, last %+v; want ≥2 and a final partial=false", n, last)
	}
}

func TestStreamErrors(t *testing.T) {
	t.Parallel()
	_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/midfail", func(ctx context.Context, req *faltest.Request) (any, error) {
		if err := req.Emit(map[string]int{"step": 1}); err != nil {
			return nil, err
		}
		return nil, &faltest.AppError{Status: 503, Detail: "GPU fell over", Type: "runner_disconnected"}
	})})
	ctx := bg(t)

	t.Run("422 before the stream", func(t *testing.T) {
		var errs []error
		for _, err := range c.Stream(ctx, "fal-ai/any-llm", map[string]string{}) {
			errs = append(errs, err)
		}
		var he *fal.HTTPError
		if len(errs) != 1 || !errors.As(errs[0], &he) || he.StatusCode != 422 {
			t.Fatalf("errs %v, want one *HTTPError 422", errs)
		}
	})
	t.Run("app error mid-stream", func(t *testing.T) {
		var events int
		var last error
		for _, err := range c.Stream(ctx, "t/midfail", nil) {
			if err != nil {
				last = err
				continue
			}
			events++
		}
		var he *fal.HTTPError
		if events != 1 || !errors.As(last, &he) || he.StatusCode != 503 || he.Message != "GPU fell over" || he.ErrorType != "runner_disconnected" {
			t.Fatalf("events %d, err %v", events, last)
		}
	})
	t.Run("unknown app", func(t *testing.T) {
		for _, err := range c.Stream(ctx, "t/nope", nil) {
			var he *fal.HTTPError
			if !errors.As(err, &he) || he.StatusCode != 404 {
				t.Fatalf("err %v, want 404", err)
			}
		}
	})
}

func TestStreamBreakDisconnects(t *testing.T) {
	t.Parallel()
	gone := make(chan struct{})
	_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/ticker", func(ctx context.Context, req *faltest.Request) (any, error) {
		for i := 0; ; i++ {
			if err := req.Emit(map[string]int{"i": i}); err != nil {
				close(gone)
				return nil, err
			}
			select {
			case <-ctx.Done():
				close(gone)
				return nil, ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	})})
	n := 0
	for _, err := range c.Stream(bg(t), "t/ticker", nil) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	select {
	case <-gone:
	case <-time.After(30 * time.Second):
		t.Fatal("the app never saw the client go away")
	}
}

// TestStreamIdleTimeout: a stream that goes silent for longer than
// WithStreamIdleTimeout ends with *TimeoutError.
func TestStreamIdleTimeout(t *testing.T) {
	t.Parallel()
	_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/stall", func(ctx context.Context, req *faltest.Request) (any, error) {
		_ = req.Emit("first")
		<-ctx.Done()
		return nil, ctx.Err()
	})})
	var got []string
	var last error
	for ev, err := range c.Stream(bg(t), "t/stall", nil, fal.WithStreamIdleTimeout(200*time.Millisecond)) {
		if err != nil {
			last = err
			break
		}
		got = append(got, string(ev.Data))
	}
	var te *fal.TimeoutError
	if fmt.Sprint(got) != `["first"]` || !errors.As(last, &te) || te.Limit != 200*time.Millisecond {
		t.Fatalf("events %v, err %v; want one event then *TimeoutError", got, last)
	}
	checkErrorText(t, "idle stream", last)
}

// TestStreamIdleTimerResetByData: every event restarts the idle timer, so
// a stream that sends more often than the idle timeout (here 20 times as
// often) is not cut however long it lasts (here three times the timeout).
func TestStreamIdleTimerResetByData(t *testing.T) {
	t.Parallel()
	const idle = 400 * time.Millisecond
	const events = 60 // one every idle/20: 3 × idle in all
	_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/ticker", func(ctx context.Context, req *faltest.Request) (any, error) {
		tick := time.NewTicker(idle / 20)
		defer tick.Stop()
		for i := 0; i < events; i++ {
			if err := req.Emit(i); err != nil {
				return nil, err
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return nil, nil
	})})
	start := time.Now()
	n := 0
	for _, err := range c.Stream(bg(t), "t/ticker", nil, fal.WithStreamIdleTimeout(idle)) {
		if err != nil {
			t.Fatalf("after %d events (%v): %v", n, time.Since(start).Round(time.Millisecond), err)
		}
		n++
	}
	if n != events {
		t.Fatalf("%d events, want %d", n, events)
	}
	if took := time.Since(start); took < 2*idle {
		t.Fatalf("the stream lasted %v, not several idle timeouts: the test proves nothing", took)
	}
}

// TestStreamNotCutByPerCallTimeout: WithTimeout bounds the wait for the
// stream's headers, not the stream.
func TestStreamNotCutByPerCallTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 500 * time.Millisecond
	_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/slowstream", func(ctx context.Context, req *faltest.Request) (any, error) {
		_ = req.Emit(0)
		select { // the stream outlives the per-attempt timeout
		case <-time.After(2 * timeout):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		_ = req.Emit(1)
		return nil, nil
	})}, fal.WithTimeout(timeout))
	n := 0
	for _, err := range c.Stream(bg(t), "t/slowstream", nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("%d events, want 2 (a stream longer than the per-call timeout)", n)
	}
}
