package fal

import (
	"cmp"
	"time"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
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
//
// A zero field takes the default, which is the Python client's schedule:
// 10 tries, 0.1 s doubling up to 30 s (about 51 s of waiting in all), and
// a server's Retry-After honoured up to 60 s.
type RetryPolicy struct {
	// MaxAttempts is the total number of tries, first one included;
	// 1 means no retries.
	MaxAttempts int
	// BaseDelay is the delay before the first retry; it doubles for each
	// further retry, with a random factor in [0.5, 1.5).
	BaseDelay time.Duration
	// MaxDelay caps the computed delay.
	MaxDelay time.Duration
	// MaxRetryAfter caps a server's Retry-After: a longer one ends the
	// retries with an error that says how long the server asked for.
	MaxRetryAfter time.Duration
}

// defaultRetryPolicy is the policy of a client without WithRetryPolicy.
var defaultRetryPolicy = retry.Policy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: 30 * time.Second, MaxRetryAfter: retry.DefaultMaxRetryAfter}

// WithRetryPolicy replaces the retry policy; its zero fields take the
// defaults.
func WithRetryPolicy(p RetryPolicy) Option {
	return clientOption(func(e *engine.Config) error {
		if p.MaxAttempts < 0 || p.BaseDelay < 0 || p.MaxDelay < 0 || p.MaxRetryAfter < 0 {
			return falerr.New("WithRetryPolicy: MaxAttempts and the delays must not be negative (MaxAttempts counts the first try: use 1 for no retries)")
		}
		d := defaultRetryPolicy
		e.Retry = retry.Policy{
			MaxAttempts:   cmp.Or(p.MaxAttempts, d.MaxAttempts),
			BaseDelay:     cmp.Or(p.BaseDelay, d.BaseDelay),
			MaxDelay:      cmp.Or(p.MaxDelay, d.MaxDelay),
			MaxRetryAfter: cmp.Or(p.MaxRetryAfter, d.MaxRetryAfter),
		}
		return nil
	})
}

// WithMaxRetries sets how many times a failed call is retried (0 turns
// retries off), keeping the rest of the policy.
func WithMaxRetries(n int) Option {
	return clientOption(func(e *engine.Config) error {
		if n < 0 {
			return falerr.New("WithMaxRetries: %d is negative; use 0 to turn retries off", n)
		}
		e.Retry.MaxAttempts = n + 1
		return nil
	})
}
