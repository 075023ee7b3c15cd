package retry

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	base, max := 100*time.Millisecond, 30*time.Second
	for n := 1; n <= 12; n++ {
		nominal := base << (n - 1)
		if nominal > max {
			nominal = max
		}
		for i := 0; i < 200; i++ {
			d := Backoff(n, base, max)
			if d < nominal/2 || d > max || d >= nominal*3/2+time.Nanosecond {
				t.Fatalf("Backoff(%d) = %v, want within [%v, min(%v, %v))", n, d, nominal/2, nominal*3/2, max)
			}
		}
	}
	if Backoff(3, 0, time.Second) != 0 {
		t.Fatal("zero base must give zero delay")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		h    http.Header
		want time.Duration
		ok   bool
	}{
		{http.Header{"Retry-After": {"1"}}, time.Second, true},
		{http.Header{"Retry-After": {"2.5"}}, 2500 * time.Millisecond, true},
		{http.Header{"Retry-After-Ms": {"150"}, "Retry-After": {"9"}}, 150 * time.Millisecond, true},
		{http.Header{"Retry-After": {now.Add(3 * time.Second).Format(http.TimeFormat)}}, 3 * time.Second, true},
		{http.Header{"Retry-After": {now.Add(-time.Hour).Format(http.TimeFormat)}}, 0, true},
		{http.Header{"Retry-After": {"-1"}}, 0, false},
		{http.Header{"Retry-After": {"soon"}}, 0, false},
		{http.Header{}, 0, false},
	}
	for _, tc := range cases {
		got, ok := RetryAfter(tc.h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("RetryAfter(%v) = %v, %v; want %v, %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSleepStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep = %v", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatal("Sleep ignored the cancel")
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
