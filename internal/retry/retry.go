// Package retry is falgo's one retry decision: which failures are worth
// another try under fal's rules, how long to wait (exponential back-off
// with jitter, or the server's Retry-After), and a context-aware sleep.
// The request engine, the status stream and realtime handshakes all ask
// it; nothing else decides.
package retry

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Class says what repeating a request could do on the server.
type Class int

const (
	// Idempotent requests (status, result, cancel, uploads, downloads,
	// tokens) can be repeated.
	Idempotent Class = iota
	// Once requests (run, submit, stream) may start a job: they are
	// repeated only when the server certainly did not process them.
	Once
)

// Policy says how often and how patiently a failed call is retried.
type Policy struct {
	MaxAttempts   int           // total tries, the first included; < 1 counts as 1
	BaseDelay     time.Duration // delay before the first retry; doubles each time
	MaxDelay      time.Duration // cap of the computed delay
	MaxRetryAfter time.Duration // longest Retry-After honoured; 0 means DefaultMaxRetryAfter
}

// DefaultMaxRetryAfter is the longest Retry-After honoured by default.
const DefaultMaxRetryAfter = 60 * time.Second

// Failure is what one failed attempt tells the decision.
type Failure struct {
	Status         int         // the HTTP status; 0 when no answer came
	Header         http.Header // the answer's headers (Retry-After, X-Fal-Request-Id, ...)
	Err            error       // the transport error, when Status is 0
	AttemptTimeout bool        // the per-attempt timeout cut the attempt
}

// Decision is the verdict on one failed attempt.
type Decision struct {
	Retry bool          // try again after Wait
	Wait  time.Duration // how long to wait first
	// RetryAfter is the wait the server asked for (0 if none); when
	// TooLong is set it exceeded the policy's MaxRetryAfter and ended the
	// retries.
	RetryAfter time.Duration
	TooLong    bool
	Limit      time.Duration // the MaxRetryAfter that applied
}

// Next decides whether attempt n (1 for the first), which failed with f,
// is tried again: the failure must be retryable for class under fal's
// rules, attempts must remain, a server's Retry-After must not exceed
// MaxRetryAfter, and the wait must end before deadline (when hasDeadline):
// otherwise the real error is worth more now than a retry that cannot
// finish.
func (p Policy) Next(f Failure, class Class, n int, now time.Time, deadline time.Time, hasDeadline bool) Decision {
	var d Decision
	switch {
	case f.Status != 0:
		if !StatusRetryable(f.Status, f.Header, class) {
			return d
		}
		if ra, ok := RetryAfter(f.Header, now); ok {
			d.RetryAfter, d.Limit = ra, p.maxRetryAfter()
			if ra > d.Limit {
				d.TooLong = true
				return d
			}
			d.Wait = ra
		}
	case f.AttemptTimeout:
		if class != Idempotent {
			return d
		}
	default:
		if !TransportRetryable(f.Err, class) {
			return d
		}
	}
	if n >= max(p.MaxAttempts, 1) {
		return d
	}
	if d.Wait == 0 {
		d.Wait = Backoff(n, p.BaseDelay, p.MaxDelay)
	}
	if hasDeadline && now.Add(d.Wait).After(deadline) {
		return d
	}
	d.Retry = true
	return d
}

func (p Policy) maxRetryAfter() time.Duration {
	if p.MaxRetryAfter > 0 {
		return p.MaxRetryAfter
	}
	return DefaultMaxRetryAfter
}

// StatusRetryable reports whether an answer with status and headers h is
// worth another try. 408 and 429 always are. 409 and the ingress proxy's
// 502/504 (no X-Fal-Request-Id) are for idempotent requests only: the
// ingress may have forwarded the request before failing. The ingress's 503
// is retried for every class: it refused the request. A 504 carrying
// X-Fal-Request-Timeout-Type (the caller's start timeout expired) never is.
func StatusRetryable(status int, h http.Header, class Class) bool {
	if status == http.StatusGatewayTimeout && h.Get("X-Fal-Request-Timeout-Type") != "" {
		return false
	}
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusConflict:
		return class == Idempotent
	case http.StatusServiceUnavailable:
		return Ingress(status, h)
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return Ingress(status, h) && class == Idempotent
	}
	return false
}

// Ingress reports whether an answer came from fal's ingress proxy rather
// than from fal itself: a 502, 503 or 504 without a request id.
func Ingress(status int, h http.Header) bool {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return h.Get("X-Fal-Request-Id") == ""
	}
	return false
}

// TransportRetryable reports whether a failure without an answer is worth
// another try: for idempotent requests any network error is; for requests
// that may start a job only a connection that could not be opened (a
// failed dial or name lookup) is. A cancelled or expired context never is.
func TransportRetryable(err error, class Class) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if class == Idempotent {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

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
	for i := 1; i < n && (max <= 0 || d < max) && d < math.MaxInt64/2; i++ {
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

// maxWait is the longest wait RetryAfter reports; a longer or unreadable
// one (1e12 seconds, Inf) is clamped to it, far beyond any MaxRetryAfter,
// so it ends the retries instead of overflowing into a negative duration.
const maxWait = 100 * 365 * 24 * time.Hour

// RetryAfter reads Retry-After-Ms, then Retry-After (seconds or an HTTP
// date) from h. It reports false when neither is present or valid; NaN and
// negative values are invalid, and values beyond a century are clamped.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if d, ok := scaled(v, float64(time.Millisecond)); ok {
			return d, true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if d, ok := scaled(v, float64(time.Second)); ok {
		return d, true
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return 0, false // a number, but negative or NaN
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

// scaled parses a non-negative number of units without overflowing.
func scaled(v string, unit float64) (time.Duration, bool) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < 0 {
		return 0, false
	}
	if f*unit >= float64(maxWait) {
		return maxWait, true
	}
	return time.Duration(f * unit), true
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
