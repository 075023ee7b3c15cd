package webhook

import (
	"errors"
	"net/http"
)

// Handler returns an http.Handler for a webhook endpoint: it reads the
// body (at most WithMaxBodySize bytes), verifies and parses it, and calls
// next with the delivery. next answers the request; if it writes nothing
// the answer is 200 OK, which tells fal the delivery arrived.
//
// Failures are answered without calling next, with a one-line plain-text
// reason:
//
//   - 405 Method Not Allowed: not a POST.
//   - 413 Request Entity Too Large: ErrBodyTooLarge.
//   - 400 Bad Request: ErrMissingHeader, ErrMalformedHeader,
//     ErrInvalidDelivery, or the body could not be read.
//   - 401 Unauthorized: ErrBadSignature, ErrStaleTimestamp, ErrReplayed,
//     ErrUserNotAllowed.
//   - 503 Service Unavailable: ErrJWKSUnavailable (the keys could not be
//     fetched, so the delivery may be genuine; fal retries a failed
//     delivery later).
//
// If next answers with a 5xx status or panics, the delivery is dropped
// from the replay cache so that a retry of exactly the same delivery is
// accepted. For other responses, or to log failures, call VerifyRequest
// yourself. Handler panics if next is nil, as http.Handle does.
func (v *Verifier) Handler(next func(w http.ResponseWriter, r *http.Request, d *Delivery)) http.Handler {
	if next == nil {
		panic("webhook: Handler: nil next function")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "webhook: fal delivers webhooks with POST, not "+r.Method, http.StatusMethodNotAllowed)
			return
		}
		d, key, err := v.verifyRequest(r)
		if err != nil {
			http.Error(w, err.Error(), statusFor(err))
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		completed := false
		defer func() {
			if !completed || rec.status >= 500 {
				v.forget(key)
			}
		}()
		next(rec, r, d)
		completed = true
	})
}

// statusFor maps a verification error to the HTTP status Handler answers.
func statusFor(err error) int {
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrJWKSUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrBadSignature), errors.Is(err, ErrStaleTimestamp),
		errors.Is(err, ErrReplayed), errors.Is(err, ErrUserNotAllowed):
		return http.StatusUnauthorized
	default:
		return http.StatusBadRequest
	}
}

// statusRecorder remembers the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
