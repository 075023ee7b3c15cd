package fal

import (
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/falgo/fal/internal/falerr"
)

// fal's request controls: how fal itself handles a request (its
// "common parameters"). They apply to the calls that start a job.

// WithoutPayloadStorage asks fal not to store the request's input and
// output (X-Fal-Store-IO: 0; fal keeps them 30 days by default, for the
// request history). It applies to Run, Submit, Subscribe and Stream.
func WithoutPayloadStorage() RequestOption {
	return requestOption{"WithoutPayloadStorage", callsWithInput, func(s *settings) error {
		s.setJob(func(j *jobSettings) { j.noStore = true })
		return nil
	}}
}

// WithoutServerRetries asks fal not to retry the request on its side
// (X-Fal-No-Retry: 1); falgo's own retries are set with WithMaxRetries. It
// applies to Run, Submit, Subscribe and Stream.
func WithoutServerRetries() RequestOption {
	return requestOption{"WithoutServerRetries", callsWithInput, func(s *settings) error {
		s.setJob(func(j *jobSettings) { j.noRetry = true })
		return nil
	}}
}

// WithoutFallback asks fal not to route the request to a fallback
// endpoint (x-app-fal-disable-fallback: true). It applies to Run, Submit,
// Subscribe and Stream.
func WithoutFallback() RequestOption {
	return requestOption{"WithoutFallback", callsWithInput, func(s *settings) error {
		s.setJob(func(j *jobSettings) { j.noFallback = true })
		return nil
	}}
}

// Limits of fal's request tags.
const (
	maxTags     = 10
	maxTagBytes = 1 << 10
)

// WithTags labels the request with up to 10 key=value tags, at most 1 KB
// in all (X-Fal-Tags). Keys and values must not be empty nor hold commas,
// equals signs, spaces or control characters. It applies to Run, Submit,
// Subscribe and Stream. fal-js sends this header in an unreleased change;
// what fal does with the tags is not documented yet.
func WithTags(tags map[string]string) RequestOption {
	return requestOption{"WithTags", callsWithInput, func(s *settings) error {
		if len(tags) == 0 || len(tags) > maxTags {
			return falerr.New("WithTags: %d tags; give 1 to %d", len(tags), maxTags)
		}
		pairs := make([]string, 0, len(tags))
		for k, v := range tags {
			for _, part := range []string{k, v} {
				if part == "" || strings.ContainsFunc(part, func(r rune) bool { return r == ',' || r == '=' || r <= ' ' || r == 0x7f }) {
					return falerr.New("WithTags: %q=%q: keys and values must not be empty nor hold commas, equals signs, spaces or control characters", k, v)
				}
			}
			pairs = append(pairs, k+"="+v)
		}
		sort.Strings(pairs)
		v := strings.Join(pairs, ",")
		if len(v) > maxTagBytes {
			return falerr.New("WithTags: the tags take %d bytes; fal accepts at most %d", len(v), maxTagBytes)
		}
		s.setJob(func(j *jobSettings) { j.tags = v })
		return nil
	}}
}

// WithMaxQueueLength makes a submit fail at once, rather than wait in a
// long queue, when the app's queue already holds more than n requests
// (query parameter fal_max_queue_length): fal then answers 429, which this
// call does not retry, and the error matches ErrQueueFull (and wraps the
// *HTTPError). It applies to Submit and Subscribe.
func WithMaxQueueLength(n int) RequestOption {
	return requestOption{"WithMaxQueueLength", callsQueueing, func(s *settings) error {
		if n < 1 {
			return falerr.New("WithMaxQueueLength: %d is not a queue length; give 1 or more", n)
		}
		s.setJob(func(j *jobSettings) { j.maxQueue = n })
		return nil
	}}
}

// ErrQueueFull is matched by errors.Is when a submit made with
// WithMaxQueueLength was refused because the queue was longer.
var ErrQueueFull = errors.New("fal: the queue is longer than the submit allowed")

// queueFullError is a 429 to a submit made with WithMaxQueueLength.
type queueFullError struct {
	op  string
	max int
	err error // the *HTTPError
}

func (e *queueFullError) Error() string {
	return falerr.Wrap(e.err, "%s: the queue holds more than %d requests (WithMaxQueueLength)", e.op, e.max).Error()
}

func (e *queueFullError) Unwrap() error { return e.err }

func (e *queueFullError) Is(target error) bool { return target == ErrQueueFull }

// WithMethod sends Run's request with method: POST (the default), PUT (the
// input as the JSON body), or GET (the input as query parameters: a string
// as it is, any other value as its JSON). It follows an unreleased option of
// fal-js; the GET form suits endpoints that take flat inputs.
func WithMethod(method string) RequestOption {
	return requestOption{"WithMethod", callRun, func(s *settings) error {
		switch m := strings.ToUpper(method); m {
		case http.MethodPost, http.MethodPut, http.MethodGet:
			s.setJob(func(j *jobSettings) { j.method = m })
			return nil
		}
		return falerr.New("WithMethod: %q; use GET, PUT or POST", method)
	}}
}
