package fal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// RetryPolicy says how often and how patiently a failed call is retried.
//
// What is retried follows fal's rules (see the package documentation):
// reads (status, result, cancel) are retried on 408, 409, 429, answers of the
// ingress proxy (502/503/504 without a request id) and network errors. A POST
// that may have reached an app (run, submit) is retried only when the
// server said it was not processed — 408, 429, or 503 from the ingress —
// or when the connection could not be opened at all. A 504 carrying
// X-Fal-Request-Timeout-Type is never retried.
type RetryPolicy struct {
	// MaxAttempts is the total number of tries, first one included;
	// 1 means no retries.
	MaxAttempts int
	// BaseDelay is the delay before the first retry; it doubles for each
	// further retry, with a random factor in [0.5, 1.5).
	BaseDelay time.Duration
	// MaxDelay caps the computed delay.
	MaxDelay time.Duration
	// MaxRetryAfter caps a server's Retry-After; a longer one ends the
	// retries with the server's answer. 0 means DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
}

// DefaultMaxRetryAfter is the longest Retry-After honoured by default.
const DefaultMaxRetryAfter = 60 * time.Second

// DefaultRetryPolicy is the Python client's schedule: 10 tries, 0.1 s
// doubling up to 30 s (about 51 s of waiting in all), plus Retry-After.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: 30 * time.Second}
}

// WithRetryPolicy replaces the retry policy.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *config) error {
		if p.MaxAttempts < 1 {
			return fmt.Errorf("fal: WithRetryPolicy: MaxAttempts is %d; it counts the first try, so use 1 for no retries", p.MaxAttempts)
		}
		if p.BaseDelay < 0 || p.MaxDelay < 0 || p.MaxRetryAfter < 0 {
			return errors.New("fal: WithRetryPolicy: delays must not be negative")
		}
		c.retry = p
		return nil
	}
}

// WithMaxRetries sets how many times a failed call is retried (0 turns
// retries off), keeping the rest of the policy.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("fal: WithMaxRetries: %d is negative; use 0 to turn retries off", n)
		}
		c.retry.MaxAttempts = n + 1
		return nil
	}
}

// retryClass says what kind of request is being retried.
type retryClass int

const (
	// idempotent requests (GET status/result, PUT cancel) can be repeated.
	idempotent retryClass = iota
	// once requests (run, submit) may start a job: repeat only when the
	// server certainly did not process them.
	once
)

// retryableStatus decides whether an HTTP error is worth another try.
func retryableStatus(e *HTTPError, class retryClass) bool {
	if e.StatusCode == http.StatusGatewayTimeout && e.TimeoutType != "" {
		return false // the start timeout the caller asked for expired
	}
	switch e.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusConflict:
		return class == idempotent
	case http.StatusServiceUnavailable:
		return e.ingress()
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		// The ingress may have forwarded the request before failing: a
		// run could be executing, so only reads are repeated.
		return e.ingress() && class == idempotent
	}
	return false
}

// retryableTransport decides whether a transport error is worth another
// try. For requests that may start a job, only failures to connect qualify.
func retryableTransport(err error, class retryClass) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if class == idempotent {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
