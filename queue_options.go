package fal

import (
	"net/url"
	"time"

	"github.com/falgo/fal/internal/falerr"
)

// WithWebhook asks fal to POST the outcome of a submitted request to
// webhookURL when it ends (query parameter fal_webhook): Submit and
// Subscribe. The URL must be an absolute http or https URL. Verify
// deliveries with package webhook.
func WithWebhook(webhookURL string) RequestOption {
	return requestOption{"WithWebhook", callsQueueing, func(s *settings) error {
		u, err := url.Parse(webhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return falerr.New("WithWebhook: %q is not an absolute http(s) URL", webhookURL)
		}
		s.setJob(func(j *jobSettings) { j.webhook = webhookURL })
		return nil
	}}
}

// WithLogs asks for the request's logs with each status: Status, Events,
// Result and Subscribe (OnQueueUpdate, and the logs of a *RequestError).
// Given to Submit or Client.Handle it is the default of the handle's calls.
func WithLogs(on bool) RequestOption {
	return requestOption{"WithLogs", callsFollowing | callStatus, func(s *settings) error {
		s.logs = on
		return nil
	}}
}

// defaultPollInterval is how often the status is polled when the status
// stream is not used.
const defaultPollInterval = 250 * time.Millisecond

// WithPolling makes Events, Result and Subscribe poll the status every
// interval (0 means 250 ms) instead of reading the status stream
// (/status/stream), which they use by default. Given to Submit or
// Client.Handle it is the default of the handle's calls.
func WithPolling(interval time.Duration) RequestOption {
	return requestOption{"WithPolling", callsFollowing, func(s *settings) error {
		if interval < 0 {
			return falerr.New("WithPolling: %v is a negative interval", interval)
		}
		s.polling, s.pollInterval = true, interval
		return nil
	}}
}

// WithClientTimeout bounds the whole wait of Subscribe (submit, queue,
// run and result) on the client side. When it runs out after the request
// was submitted, the request is cancelled on the server and Subscribe
// returns *TimeoutError carrying the request id. If no start timeout is set,
// the server is also told to give up on starting the request after d. A
// context deadline has the same effect.
func WithClientTimeout(d time.Duration) RequestOption {
	return requestOption{"WithClientTimeout", callSubscribe, func(s *settings) error {
		if d <= 0 {
			return falerr.New("WithClientTimeout: %v is not a positive duration", d)
		}
		s.clientTimeout = d
		return nil
	}}
}

// OnEnqueue calls f with the request id as soon as Subscribe has submitted
// the request; save it to reattach later with Client.Handle.
func OnEnqueue(f func(requestID string)) RequestOption {
	return requestOption{"OnEnqueue", callSubscribe, func(s *settings) error {
		if f == nil {
			return falerr.New("OnEnqueue: the function is nil")
		}
		s.onEnqueue = f
		return nil
	}}
}

// OnQueueUpdate calls f with every status change Subscribe or Result sees,
// Completed included. f runs on the calling goroutine: keep it short.
func OnQueueUpdate(f func(Status)) RequestOption {
	return requestOption{"OnQueueUpdate", callSubscribe | callResult, func(s *settings) error {
		if f == nil {
			return falerr.New("OnQueueUpdate: the function is nil")
		}
		s.onQueueUpdate = f
		return nil
	}}
}
