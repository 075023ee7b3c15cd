package fal

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// WithWebhook asks fal to POST the outcome of a submitted request to
// webhookURL when it ends (query parameter fal_webhook). The URL must be an
// absolute http or https URL. Verify deliveries with package webhook.
func WithWebhook(webhookURL string) RequestOption {
	return func(c *config) error {
		u, err := url.Parse(webhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("fal: WithWebhook: %q is not an absolute http(s) URL", webhookURL)
		}
		c.webhook = webhookURL
		return nil
	}
}

// WithLogs asks for the request's logs with each status (Status, Events,
// Subscribe's OnQueueUpdate, and the logs of a *RequestError).
func WithLogs(on bool) RequestOption {
	return func(c *config) error {
		c.logs = on
		return nil
	}
}

// WithPollInterval sets how often status is polled when the status stream
// is not used (default DefaultPollInterval).
func WithPollInterval(d time.Duration) RequestOption {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("fal: WithPollInterval: %v is not a positive interval", d)
		}
		c.pollInterval = d
		return nil
	}
}

// WithPolling makes Events, Result and Subscribe poll the status instead of
// reading the status stream (/status/stream), which they use by default.
func WithPolling() RequestOption {
	return func(c *config) error {
		c.polling = true
		return nil
	}
}

// WithClientTimeout bounds the whole wait of Subscribe (submit, queue,
// run and result) on the client side. When it runs out after the request
// was submitted, the request is cancelled on the server and Subscribe
// returns *TimeoutError carrying the request id. If no start timeout is set,
// the server is also told to give up on starting the request after d. A
// context deadline has the same effect.
func WithClientTimeout(d time.Duration) RequestOption {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("fal: WithClientTimeout: %v is not a positive duration", d)
		}
		c.clientTimeout = d
		return nil
	}
}

// OnEnqueue calls f with the request id as soon as Subscribe has submitted
// the request; save it to reattach later with Client.Handle.
func OnEnqueue(f func(requestID string)) RequestOption {
	return func(c *config) error {
		if f == nil {
			return errors.New("fal: OnEnqueue: the function is nil")
		}
		c.onEnqueue = f
		return nil
	}
}

// OnQueueUpdate calls f with every status change Subscribe sees, Completed
// included. f runs on Subscribe's goroutine: keep it short.
func OnQueueUpdate(f func(Status)) RequestOption {
	return func(c *config) error {
		if f == nil {
			return errors.New("fal: OnQueueUpdate: the function is nil")
		}
		c.onQueueUpdate = f
		return nil
	}
}
