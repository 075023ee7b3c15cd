// Package retry holds the timing half of falgo's retry engine: exponential
// back-off with jitter, Retry-After parsing and a context-aware sleep. What
// is retried is decided by package fal, which knows fal's status codes.
package retry

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff returns the delay before retry number n (n >= 1, counted after the
// n-th failure): base·2^(n-1), capped at max, times a random factor in
// [0.5, 1.5), capped at max again. This is the Python client's schedule.
func Backoff(n int, base, max time.Duration) time.Duration {
	if n < 1 {
		n = 1
	}
	if base <= 0 {
		return 0
	}
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if max > 0 && d > max {
		d = max
	}
	d = time.Duration(float64(d) * (0.5 + rand.Float64()))
	if max > 0 && d > max {
		d = max
	}
	return d
}

// RetryAfter reads Retry-After-Ms, then Retry-After (seconds or an HTTP
// date) from h. It reports false when neither is present or valid.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// Sleep waits for d or until ctx is done, whichever comes first, and
// returns ctx.Err() in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
