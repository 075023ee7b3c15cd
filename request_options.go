package fal

import (
	"strings"
	"time"

	"github.com/falgo/fal/internal/falerr"
)

// WithPath appends a sub-path to the app's URL: Run(ctx, "fal-ai/flux",
// in, WithPath("dev")) posts to .../fal-ai/flux/dev. Leading slashes are
// ignored. It applies to Run, Submit, Subscribe and Stream.
func WithPath(path string) RequestOption {
	return requestOption{"WithPath", callsWithInput, func(s *settings) error {
		p := strings.TrimLeft(path, "/")
		if strings.ContainsAny(p, "?#") || strings.Contains(p, "..") || strings.ContainsAny(p, " \t\r\n") {
			return falerr.New("WithPath: invalid path %q (no spaces, '?', '#' or '..')", path)
		}
		s.setJob(func(j *jobSettings) { j.path = p })
		return nil
	}}
}

// WithStartTimeout asks the server to give up if the request has not started
// running within d (header X-Fal-Request-Timeout, sent in seconds). d must be
// more than one second. A server-side start timeout ends the call with an
// *HTTPError of status 504 whose IsUserTimeout reports true; it is never
// retried. It applies to Run, Submit, Subscribe and Stream.
func WithStartTimeout(d time.Duration) RequestOption {
	return requestOption{"WithStartTimeout", callsWithInput, func(s *settings) error {
		if d <= time.Second {
			return falerr.New("WithStartTimeout: %v is too short; the start timeout must be greater than 1 second", d)
		}
		s.setJob(func(j *jobSettings) { j.startTimeout = d })
		return nil
	}}
}

// WithHint sends a runner hint (X-Fal-Runner-Hint): the router prefers a
// runner that advertises the same hint, best effort. It applies to Run,
// Submit, Subscribe and Stream.
func WithHint(hint string) RequestOption {
	return requestOption{"WithHint", callsWithInput, func(s *settings) error {
		if strings.ContainsAny(hint, "\r\n") {
			return falerr.New("WithHint: the hint contains a line break")
		}
		h := hint
		s.setJob(func(j *jobSettings) { j.hint = &h })
		return nil
	}}
}

// Priority is a queue priority (X-Fal-Queue-Priority).
type Priority string

// Queue priorities accepted by fal.
const (
	PriorityNormal Priority = "normal"
	PriorityLow    Priority = "low"
)

// WithPriority sets the queue priority of a submitted request: Submit and
// Subscribe. Only PriorityNormal and PriorityLow are accepted.
func WithPriority(p Priority) RequestOption {
	return requestOption{"WithPriority", callsQueueing, func(s *settings) error {
		switch p {
		case PriorityNormal, PriorityLow:
			s.setJob(func(j *jobSettings) { j.priority = p })
			return nil
		}
		return falerr.New("WithPriority: unknown priority %q; use fal.PriorityNormal or fal.PriorityLow", string(p))
	}}
}
