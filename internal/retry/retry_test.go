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

func TestRetryAfterNeverOverflows(t *testing.T) {
	now := time.Now()
	for _, h := range []http.Header{
		{"Retry-After": {"99999999999"}},
		{"Retry-After": {"1e12"}},
		{"Retry-After": {"Inf"}},
		{"Retry-After-Ms": {"Inf"}},
		{"Retry-After-Ms": {"1e300"}},
	} {
		d, ok := RetryAfter(h, now)
		if !ok || d < 24*time.Hour {
			t.Errorf("RetryAfter(%v) = %v, %v; want a huge positive wait", h, d, ok)
		}
		dec := Policy{MaxAttempts: 5}.Next(Failure{Status: http.StatusTooManyRequests, Header: h}, Idempotent, 1, now, time.Time{}, false)
		if dec.Retry || !dec.TooLong || dec.RetryAfter != d {
			t.Errorf("Next with %v = %+v; want no retry, TooLong, RetryAfter %v", h, dec, d)
		}
	}
	for _, h := range []http.Header{{"Retry-After": {"NaN"}}, {"Retry-After-Ms": {"NaN"}}, {"Retry-After": {"-Inf"}}} {
		if d, ok := RetryAfter(h, now); ok {
			t.Errorf("RetryAfter(%v) = %v, true; want invalid", h, d)
		}
	}
}

func TestNextFollowsFalRules(t *testing.T) {
	now := time.Now()
	ingress := http.Header{}
	fal := http.Header{"X-Fal-Request-Id": {"r1"}}
	p := Policy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	for _, tc := range []struct {
		name  string
		f     Failure
		class Class
		want  bool
	}{
		{"429 submit", Failure{Status: 429, Header: fal}, Once, true},
		{"503 ingress submit", Failure{Status: 503, Header: ingress}, Once, true},
		{"503 from fal submit", Failure{Status: 503, Header: fal}, Once, false},
		{"502 ingress submit", Failure{Status: 502, Header: ingress}, Once, false},
		{"502 ingress read", Failure{Status: 502, Header: ingress}, Idempotent, true},
		{"409 read", Failure{Status: 409, Header: fal}, Idempotent, true},
		{"409 submit", Failure{Status: 409, Header: fal}, Once, false},
		{"user start timeout", Failure{Status: 504, Header: http.Header{"X-Fal-Request-Timeout-Type": {"user"}}}, Idempotent, false},
		{"500", Failure{Status: 500, Header: fal}, Idempotent, false},
		{"attempt timeout read", Failure{AttemptTimeout: true}, Idempotent, true},
		{"attempt timeout submit", Failure{AttemptTimeout: true}, Once, false},
		{"reset read", Failure{Err: errors.New("connection reset")}, Idempotent, true},
		{"reset submit", Failure{Err: errors.New("connection reset")}, Once, false},
		{"cancelled", Failure{Err: context.Canceled}, Idempotent, false},
	} {
		if got := p.Next(tc.f, tc.class, 1, now, time.Time{}, false).Retry; got != tc.want {
			t.Errorf("%s: retry = %v, want %v", tc.name, got, tc.want)
		}
	}
	if p.Next(Failure{Status: 429}, Idempotent, 3, now, time.Time{}, false).Retry {
		t.Error("retried past MaxAttempts")
	}
	slow := Policy{MaxAttempts: 3, BaseDelay: time.Hour, MaxDelay: time.Hour}
	if slow.Next(Failure{Status: 429}, Idempotent, 1, now, now.Add(time.Second), true).Retry {
		t.Error("retried although the wait ends after the deadline")
	}
	d := Policy{MaxAttempts: 3, MaxRetryAfter: 2 * time.Second}.Next(Failure{Status: 429, Header: http.Header{"Retry-After": {"3"}}}, Idempotent, 1, now, time.Time{}, false)
	if d.Retry || !d.TooLong || d.RetryAfter != 3*time.Second {
		t.Errorf("Retry-After beyond MaxRetryAfter: %+v", d)
	}
}
