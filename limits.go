package fal

import (
	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
)

// Limits bound what a call reads from fal, so that no answer, however
// large or endless, can exhaust memory. A zero field keeps its default.
// An answer beyond a limit ends the call with an error that names the
// limit; errors.Is(err, ErrTooLarge) matches it.
type Limits struct {
	// Body bounds a response body read whole: a sync run's output, a
	// status, a result (default 256 MiB; images as data URIs fit).
	Body int64
	// Event bounds one server-sent event of a stream or status stream,
	// and one line of it, and one realtime frame (default 64 MiB).
	Event int64
	// Logs bounds the log entries kept while following a request with
	// WithLogs(true), for a *RequestError (default 10,000: the newest are
	// kept).
	Logs int
}

// WithLimits sets the limits of what calls read (see Limits).
func WithLimits(l Limits) Option {
	return clientOption(func(e *engine.Config) error {
		if l.Body < 0 || l.Event < 0 || l.Logs < 0 {
			return falerr.New("WithLimits: limits must not be negative (0 keeps the default)")
		}
		if l.Body > 0 {
			e.MaxBody = l.Body
		}
		if l.Event > 0 {
			e.MaxEvent = l.Event
		}
		if l.Logs > 0 {
			e.MaxLogs = l.Logs
		}
		return nil
	})
}

// ErrTooLarge is matched by errors.Is when an answer exceeded one of the
// Limits; the error's message names the limit and how to raise it.
var ErrTooLarge = engine.ErrTooLarge
