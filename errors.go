package fal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// HTTPError is a non-2xx answer from fal. Check for it with errors.As.
type HTTPError struct {
	StatusCode int    // HTTP status
	Method     string // request method
	URL        string // request URL, with credentials in the query redacted
	RequestID  string // x-fal-request-id, empty for answers from the ingress proxy
	ErrorType  string // the body's error_type, else the X-Fal-Error-Type header
	// TimeoutType is X-Fal-Request-Timeout-Type; "user" means the start
	// timeout (WithStartTimeout) expired before the request started.
	TimeoutType string
	Message     string          // readable summary of the body's detail
	Detail      json.RawMessage // the body's raw "detail" value, if JSON
	FieldErrors []FieldError    // validation errors of a 422 (or a list detail)
	Body        []byte          // the body, at most 8 KiB, with any credential removed
	Header      http.Header     // response headers
}

// FieldError is one validation error of a 422 answer.
type FieldError struct {
	Loc  []any  `json:"loc"`  // path to the field, e.g. ["body", "prompt"]
	Msg  string `json:"msg"`  // what is wrong
	Type string `json:"type"` // e.g. "missing", "value_error"
}

// Field is the dotted path of the field, without the leading "body".
func (f FieldError) Field() string {
	var parts []string
	for i, p := range f.Loc {
		s := fmt.Sprint(p)
		if i == 0 && s == "body" && len(f.Loc) > 1 {
			continue
		}
		if _, isNum := p.(float64); isNum && len(parts) > 0 {
			parts[len(parts)-1] += "[" + s + "]"
			continue
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ".")
}

// String is "field: message".
func (f FieldError) String() string {
	if fld := f.Field(); fld != "" {
		return fld + ": " + f.Msg
	}
	return f.Msg
}

// Error describes the failure in one line.
func (e *HTTPError) Error() string {
	var b strings.Builder
	b.WriteString("fal: ")
	if e.Method != "" {
		b.WriteString(e.Method + " " + e.URL + ": ")
	}
	fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.ErrorType != "" {
		b.WriteString(" (error type " + e.ErrorType + ")")
	}
	if e.RequestID != "" {
		b.WriteString(" [request " + e.RequestID + "]")
	}
	return b.String()
}

// IsUserTimeout reports whether the start timeout set with WithStartTimeout
// expired on the server (a 504 with X-Fal-Request-Timeout-Type: user).
func (e *HTTPError) IsUserTimeout() bool {
	return e.StatusCode == http.StatusGatewayTimeout && e.TimeoutType == "user"
}

// FieldError returns the validation error of the named field (matched on the
// dotted path, or on the last element of the path), if any.
func (e *HTTPError) FieldError(field string) (FieldError, bool) {
	for _, f := range e.FieldErrors {
		if f.Field() == field {
			return f, true
		}
		if n := len(f.Loc); n > 0 && fmt.Sprint(f.Loc[n-1]) == field {
			return f, true
		}
	}
	return FieldError{}, false
}

// ingress reports whether the answer came from fal's ingress proxy rather
// than from fal itself: a 502/503/504 without a request id.
func (e *HTTPError) ingress() bool {
	switch e.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return e.RequestID == ""
	}
	return false
}

const maxErrorBody = 8 << 10

// newHTTPError builds an HTTPError from a response body. secret, if not
// empty, is scrubbed from everything the error keeps.
func newHTTPError(method, rawURL string, status int, h http.Header, body []byte, secret string) *HTTPError {
	e := &HTTPError{
		StatusCode:  status,
		Method:      method,
		URL:         redactURL(rawURL),
		RequestID:   h.Get("X-Fal-Request-Id"),
		ErrorType:   h.Get("X-Fal-Error-Type"),
		TimeoutType: h.Get("X-Fal-Request-Timeout-Type"),
		Header:      h,
	}
	if secret != "" {
		body = bytes.ReplaceAll(body, []byte(secret), []byte("[redacted]"))
		for k, vs := range h {
			for i, v := range vs {
				if strings.Contains(v, secret) {
					h[k][i] = strings.ReplaceAll(v, secret, "[redacted]")
				}
			}
		}
	}
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	e.Body = body
	e.Message = e.parseBody(body)
	return e
}

// parseBody fills Detail, ErrorType and FieldErrors from a fal error body
// and returns a readable message. detail may be a string, a list of
// validation errors, or an object; bodies that are not JSON (ingress HTML,
// plain text, nothing) still give a message.
func (e *HTTPError) parseBody(body []byte) string {
	trimmed := bytes.TrimSpace(body)
	var obj map[string]json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &obj) == nil {
		if raw, ok := obj["error_type"]; ok {
			var t string
			if json.Unmarshal(raw, &t) == nil && t != "" {
				e.ErrorType = t // the body wins over the header, as in the Python client
			}
		}
		if raw, ok := obj["detail"]; ok {
			e.Detail = raw
			return e.detailMessage(raw)
		}
		for _, k := range []string{"message", "error"} {
			var s string
			if raw, ok := obj[k]; ok && json.Unmarshal(raw, &s) == nil && s != "" {
				return s
			}
		}
		return clip(string(trimmed), 300)
	}
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if msg := e.detailMessage(trimmed); msg != "" {
			e.Detail = json.RawMessage(trimmed)
			return msg
		}
	}
	if len(trimmed) == 0 {
		return "empty response body"
	}
	if looksHTML(trimmed) {
		if e.ingress() {
			return "the fal gateway answered with an HTML error page (no request id): the service is unavailable or overloaded; retry later"
		}
		return "HTML error page: " + clip(htmlTitle(trimmed), 200)
	}
	return clip(string(trimmed), 300)
}

func (e *HTTPError) detailMessage(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []FieldError
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		e.FieldErrors = list
		msgs := make([]string, len(list))
		for i, f := range list {
			msgs[i] = f.String()
		}
		return strings.Join(msgs, "; ")
	}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil {
		for _, k := range []string{"message", "msg", "error"} {
			if s, ok := obj[k].(string); ok && s != "" {
				return s
			}
		}
	}
	return clip(string(raw), 300)
}

func looksHTML(b []byte) bool {
	head := strings.ToLower(string(b[:min(len(b), 512)]))
	return strings.Contains(head, "<html") || strings.Contains(head, "<!doctype") || strings.Contains(head, "<head") || strings.Contains(head, "<body")
}

func htmlTitle(b []byte) string {
	s := string(b)
	low := strings.ToLower(s)
	if i := strings.Index(low, "<title>"); i >= 0 {
		if j := strings.Index(low[i:], "</title>"); j > 0 {
			return strings.TrimSpace(s[i+7 : i+j])
		}
	}
	return strings.Join(strings.Fields(s), " ")
}

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// TimeoutError reports that a time limit ran out: the per-call timeout of
// WithTimeout, or (for queue waits) the caller's deadline. RequestID is set
// when the request was already accepted by the queue, so the caller can
// reattach to it; errors.Is(err, context.DeadlineExceeded) holds.
type TimeoutError struct {
	Op        string        // what timed out, e.g. "run fal-ai/flux/dev"
	RequestID string        // the queue request id, if the request was accepted
	Limit     time.Duration // the limit that ran out, when known
}

// Error describes what timed out and, with a request id, how to reattach.
func (e *TimeoutError) Error() string {
	var b strings.Builder
	b.WriteString("fal: ")
	if e.Op != "" {
		b.WriteString(e.Op + ": ")
	}
	b.WriteString("timed out")
	if e.Limit > 0 {
		b.WriteString(" after " + e.Limit.String())
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + " is still known to the queue: reattach with Client.Handle)")
	}
	return b.String()
}

// Unwrap makes errors.Is(err, context.DeadlineExceeded) true.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// Timeout reports true, like net.Error.
func (e *TimeoutError) Timeout() bool { return true }
