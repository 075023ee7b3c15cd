package falproxy

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// AuthError is what an Authorize hook (WithAuthorize) returns to refuse a
// caller with a status and a message of its choosing, e.g.
//
//	return &falproxy.AuthError{Status: http.StatusForbidden, Message: "your plan does not include video models"}
//
// Any other error from the hook answers 401 with a generic message.
type AuthError struct {
	// Status is the HTTP status of the answer; 0, or anything outside
	// 400-499, means 401 Unauthorized.
	Status int
	// Message is shown to the caller (the JavaScript client's
	// ApiError.message).
	Message string
	// Err is an optional cause. It is logged, never shown to the caller.
	Err error
}

// Error returns the message, and the cause if there is one.
func (e *AuthError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "not authorized"
	}
	if e.Err != nil {
		return "falproxy: " + msg + ": " + e.Err.Error()
	}
	return "falproxy: " + msg
}

// Unwrap returns the cause.
func (e *AuthError) Unwrap() error { return e.Err }

// status is the answer's HTTP status.
func (e *AuthError) status() int {
	if e.Status < 400 || e.Status > 499 {
		return http.StatusUnauthorized
	}
	return e.Status
}

// Error types the Handler puts in error answers (the "error_type" field and
// the X-Fal-Error-Type header), so a caller can tell the proxy's own errors
// from fal's.
const (
	errTypeBadTarget     = "falproxy_invalid_target"
	errTypeForbidden     = "falproxy_target_not_allowed"
	errTypeMethod        = "falproxy_method_not_allowed"
	errTypeUnauthorized  = "falproxy_unauthorized"
	errTypeTooLarge      = "falproxy_body_too_large"
	errTypeNoCredentials = "falproxy_no_credentials"
	errTypeCredentials   = "falproxy_credentials_unavailable"
	errTypeUpstream      = "falproxy_upstream_unreachable"
	errTypeRedirect      = "falproxy_upstream_redirect"
)

// writeError answers with a JSON error body readable by both clients:
// @fal-ai/client shows "message", falgo and fal's own errors use "detail".
func writeError(w http.ResponseWriter, status int, errType, msg string) {
	body, _ := json.Marshal(struct {
		Message   string `json:"message"`
		Detail    string `json:"detail"`
		ErrorType string `json:"error_type"`
	}{msg, msg, errType})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Fal-Error-Type", errType)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
