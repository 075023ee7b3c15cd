package fal

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// The error types of package fal, checked with errors.As; each Error()
// is one line that starts with "fal: ".

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
	Message     string          // readable one-line summary of the body's detail
	Detail      json.RawMessage // the body's raw "detail" value, if JSON
	FieldErrors []FieldError    // validation errors of a 422 (or a list detail)
	// DocsURL is the documentation page the Platform API names for its
	// errors ({"error": {"type", "message", "docs_url", "request_id"}}).
	DocsURL string
	// BillableUnits is X-Fal-Billable-Units: what fal billed for the
	// failed request, 0 when it did not say.
	BillableUnits float64
	Body          []byte      // the body, at most 8 KiB, with any credential removed
	Header        http.Header // response headers, with any credential removed
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
	b.WriteString(falerr.Prefix)
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

// errorBuilder builds the errors the request engine ends on.
type errorBuilder struct{}

func (errorBuilder) HTTP(f *engine.Failure) error { return newHTTPError(f) }

func (errorBuilder) Timeout(op string, limit time.Duration) error {
	return &TimeoutError{Op: op, Limit: limit}
}

// newHTTPError builds the HTTPError of a failure whose body the engine
// has already bounded and scrubbed of credentials.
func newHTTPError(f *engine.Failure) *HTTPError {
	e := &HTTPError{
		StatusCode:  f.Status,
		Method:      f.Method,
		URL:         f.URL,
		RequestID:   f.Header.Get("X-Fal-Request-Id"),
		ErrorType:   f.Header.Get("X-Fal-Error-Type"),
		TimeoutType: f.Header.Get("X-Fal-Request-Timeout-Type"),
		Header:      f.Header,
		Body:        f.Body,
	}
	e.BillableUnits = billableUnits(f.Header)
	e.Message = oneLine(e.parseBody(f.Body))
	return e
}

// billableUnits reads X-Fal-Billable-Units (0 when absent or unreadable).
func billableUnits(h http.Header) float64 {
	s := strings.TrimSpace(h.Get("X-Fal-Billable-Units"))
	if s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return v
}

// platformError is the Platform API's error envelope.
type platformError struct {
	Type      string `json:"type"`
	Message   string `json:"message"`
	DocsURL   string `json:"docs_url"`
	RequestID string `json:"request_id"`
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
		var pe platformError
		if raw, ok := obj["error"]; ok && json.Unmarshal(raw, &pe) == nil && (pe.Type != "" || pe.Message != "") {
			e.ErrorType, e.DocsURL = cmp.Or(pe.Type, e.ErrorType), pe.DocsURL
			e.RequestID = cmp.Or(e.RequestID, pe.RequestID)
			return cmp.Or(pe.Message, pe.Type)
		}
		for _, k := range []string{"message", "error"} {
			var s string
			if raw, ok := obj[k]; ok && json.Unmarshal(raw, &s) == nil && s != "" {
				return s
			}
		}
		return engine.Clip(string(trimmed), 300)
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
		if retry.Ingress(e.StatusCode, e.Header) {
			return "the fal gateway answered with an HTML error page (no request id): the service is unavailable or overloaded; retry later"
		}
		return "HTML error page: " + engine.Clip(htmlTitle(trimmed), 200)
	}
	return engine.Clip(string(trimmed), 300)
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
	return engine.Clip(string(raw), 300)
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
	return s
}

// oneLine folds runs of whitespace (line breaks included) into one space,
// so that server text keeps an error message on one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// TimeoutError reports that a time limit ran out: the per-attempt timeout
// of WithTimeout, or (for queue waits) the caller's deadline. RequestID is
// set when the request was already accepted by the queue, so the caller can
// reattach to it; errors.Is(err, context.DeadlineExceeded) holds.
type TimeoutError struct {
	Op        string        // what timed out, e.g. "run fal-ai/flux/dev"
	RequestID string        // the queue request id, if the request was accepted
	Limit     time.Duration // the limit that ran out, when known
}

// Error describes what timed out and, with a request id, how to reattach.
func (e *TimeoutError) Error() string {
	var b strings.Builder
	b.WriteString(falerr.Prefix)
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

// RequestError is a queued request that completed with an error. Cause, if
// set, is the *HTTPError the result endpoint answered with (for example a
// 422 with the fields that were wrong).
type RequestError struct {
	App       string
	RequestID string
	Message   string
	ErrorType string
	Logs      []Log
	Cause     error
}

// Error describes the failure.
func (e *RequestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%srequest %s", falerr.Prefix, e.RequestID)
	if e.App != "" {
		fmt.Fprintf(&b, " (%s)", e.App)
	}
	b.WriteString(" failed")
	msg := e.Message
	var he *HTTPError
	if errors.As(e.Cause, &he) && he.Message != "" {
		msg = he.Message
	}
	if msg != "" {
		b.WriteString(": " + oneLine(msg))
	}
	if e.ErrorType != "" {
		b.WriteString(" (error type " + e.ErrorType + ")")
	}
	return b.String()
}

// Unwrap returns Cause.
func (e *RequestError) Unwrap() error { return e.Cause }

// ErrAlreadyCompleted is returned by Cancel when the request had already
// finished; errors.Is(err, ErrAlreadyCompleted) tells it apart.
var ErrAlreadyCompleted = errors.New("fal: the request already completed")

// ErrMissingCredentials is matched by errors.Is for every error that means
// no usable credentials were found, in particular *MissingCredentialsError.
var ErrMissingCredentials = errors.New("fal: no credentials found")

// MissingCredentialsError is returned when no source of the credential
// chain gave usable credentials. Error lists, on one line, every source
// tried and why it gave nothing; Advice says what to do.
// errors.Is(err, ErrMissingCredentials) is true.
type MissingCredentialsError struct {
	// Sources are the sources in the order they were tried.
	Sources []CredentialSource
	// Colab is true when the process looks like a Google Colab runtime (see
	// IsGoogleColab); Advice then explains how to pass a Colab secret
	// (unless a key source is set but unusable, which is the thing to fix).
	Colab bool
	// ColabEnterprise is true in Colab Enterprise (Vertex AI).
	ColabEnterprise bool
	// ForceAuthByUser is true when FAL_FORCE_AUTH_BY_USER=1 limited the chain
	// to the fal CLI login.
	ForceAuthByUser bool
	// KeyOnly is true when the caller (FetchCredentials) accepts API keys
	// only, so a fal CLI login does not count.
	KeyOnly bool
}

// Error lists the sources tried, in order, on one line.
func (e *MissingCredentialsError) Error() string {
	var b strings.Builder
	switch {
	case e.KeyOnly:
		b.WriteString(falerr.Prefix + "key credentials not found")
	case e.anyInvalid():
		b.WriteString(falerr.Prefix + "no usable credentials found")
	default:
		b.WriteString(falerr.Prefix + "no credentials found")
	}
	if len(e.Sources) > 0 {
		b.WriteString(" (tried ")
		for i, s := range e.Sources {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(s.String())
		}
		b.WriteString(")")
	}
	return b.String()
}

// Advice says what to do, in one or more lines of text for a person:
// which variable to set, and in Google Colab how to export a notebook
// secret.
func (e *MissingCredentialsError) Advice() string {
	var b strings.Builder
	switch {
	case e.KeyOnly:
		b.WriteString("Set FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET) to an API key from https://fal.ai/dashboard/keys; a fal CLI login is not an API key.")
	case e.ForceAuthByUser:
		b.WriteString("FAL_FORCE_AUTH_BY_USER=1 is set, so only the fal CLI login is used: run `fal auth login`, or unset FAL_FORCE_AUTH_BY_USER to use FAL_KEY.")
	default:
		b.WriteString("Set FAL_KEY to an API key from https://fal.ai/dashboard/keys (or FAL_KEY_ID and FAL_KEY_SECRET, or FAL_KEY_FILE naming a file that holds the key), or log in with `fal auth login`.")
	}
	if runtime.GOOS == "windows" && !e.Colab {
		b.WriteString("\nOn Windows, `set FAL_KEY=...` only affects the current console; use `setx FAL_KEY ...` and open a new terminal.")
	}
	// In Colab the fix is to export FAL_KEY, unless a key source is already
	// set but broken: then its own detail says what to fix.
	if e.Colab && !e.ForceAuthByUser && !e.keySourceInvalid() {
		b.WriteString("\n")
		b.WriteString(colabAdvice(e.ColabEnterprise))
	}
	return b.String()
}

// Is makes errors.Is(err, ErrMissingCredentials) true.
func (e *MissingCredentialsError) Is(target error) bool { return target == ErrMissingCredentials }

func (e *MissingCredentialsError) keySourceInvalid() bool {
	for _, s := range e.Sources {
		if s.State == SourceInvalid && s.Name != srcCLI {
			return true
		}
	}
	return false
}

func (e *MissingCredentialsError) anyInvalid() bool {
	for _, s := range e.Sources {
		if s.State == SourceInvalid {
			return true
		}
	}
	return false
}
