package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// Request is one logical call; the engine turns it into one or more HTTP
// attempts.
type Request struct {
	Op          string // for errors and logs, e.g. "run fal-ai/flux/dev"
	Method      string
	URL         string
	Body        []byte // replayed on every attempt
	ContentType string // of the body; application/json by default
	Accept      string // application/json by default
	Header      http.Header
	Class       retry.Class

	// BodyFrom, if set instead of Body, opens the body afresh for each
	// attempt (an upload streaming from a file); Size is its length.
	BodyFrom func() io.Reader
	Size     int64

	// Auth overrides the client's credentials: NoAuth sends no
	// Authorization (signed URLs, downloads); any other value is sent as is
	// (a CDN token). Empty means the client's credentials, for its hosts.
	Auth string
	// Secrets are scrubbed from server text on top of the credentials'
	// (a token sent in the body or the URL).
	Secrets []string
	// NoTimeout exempts the request from the per-attempt timeout: moving
	// file data may take longer than any fixed bound; the context limits it.
	NoTimeout bool
	// FinalStatus, if not 0, is an answer status that ends the attempts at
	// once (a 429 the caller asked for, such as a full queue).
	FinalStatus int
}

// NoAuth is the Auth value that sends no Authorization header; the NUL
// keeps it from ever equalling a real header value.
const NoAuth = "none\x00"

func (r *Request) hasBody() bool { return r.Body != nil || r.BodyFrom != nil }

// Response is a complete 2xx answer.
type Response struct {
	Status    int
	Header    http.Header
	Body      []byte
	RequestID string   // X-Fal-Request-Id
	Secrets   []string // the request's credentials, to scrub from what the body says
}

// Quote is the body made fit for an error message (see Quote).
func (r *Response) Quote(n int) string { return Quote(string(r.Body), r.Secrets, n) }

// Do sends req and returns its 2xx answer, read whole (up to MaxBody), or
// the error the Config's Errors build, a wrapped context error, or a
// wrapped transport error.
func (c *Config) Do(ctx context.Context, req *Request) (*Response, error) {
	var resp *Response
	err := c.loop(ctx, req, func(auth Auth, n int) error {
		var err error
		resp, err = c.exchange(ctx, req, auth, n)
		return err
	})
	return resp, err
}

// statusError is a non-2xx answer while the attempts go on.
type statusError struct{ f *Failure }

func (e *statusError) Error() string {
	return e.f.Method + " " + e.f.URL + ": " + http.StatusText(e.f.Status)
}

// permanent is a failure that no retry can cure (an answer over a limit).
type permanent struct{ err error }

func (e *permanent) Error() string { return e.err.Error() }
func (e *permanent) Unwrap() error { return e.err }

// loop runs attempts until one succeeds or the retry policy says stop.
func (c *Config) loop(ctx context.Context, req *Request, send func(Auth, int) error) error {
	auth, err := c.authOf(ctx, req)
	if err != nil {
		return err
	}
	for n := 1; ; n++ {
		err := send(auth, n)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return falerr.Wrap(ctx.Err(), "%s", req.Op)
		}
		var p *permanent
		if errors.As(err, &p) {
			return p.err
		}
		f := failureOf(err)
		if req.FinalStatus != 0 && f.Status == req.FinalStatus {
			return c.final(req, err, retry.Decision{})
		}
		d := c.Decide(ctx, f, req.Class, n)
		if !d.Retry {
			return c.final(req, err, d)
		}
		c.logRetry(ctx, req, n, d, err)
		if serr := retry.Sleep(ctx, d.Wait); serr != nil {
			return falerr.Wrap(serr, "%s (while waiting to retry after: %s)", req.Op, falerr.Trim(c.final(req, err, d).Error()))
		}
	}
}

// logExchange logs an answer at debug level. It is a function of its own,
// never inlined, so that its attributes take room on the stack only when
// a logger is set: a Subscribe's goroutine waits inside the engine, and
// smaller frames keep its stack from growing.
//
//go:noinline
func (c *Config) logExchange(ctx context.Context, msg string, req *Request, n int, res *http.Response, rid string, start time.Time) {
	c.Debug(ctx, msg, slog.String("method", req.Method), slog.String("url", RedactURL(req.URL)), slog.Int("attempt", n),
		slog.Int("status", res.StatusCode), slog.String("request_id", rid), slog.Duration("took", time.Since(start)), slog.String("proto", res.Proto))
}

// logRetry logs a retry at debug level (see logExchange for why it is a
// function of its own).
//
//go:noinline
func (c *Config) logRetry(ctx context.Context, req *Request, n int, d retry.Decision, err error) {
	if c.Logger == nil {
		return
	}
	c.Debug(ctx, "fal: retrying", slog.String("op", req.Op), slog.Int("attempt", n),
		slog.Duration("wait", d.Wait), slog.String("error", c.final(req, err, d).Error()))
}

// authOf resolves the credentials a request is sent with.
func (c *Config) authOf(ctx context.Context, req *Request) (Auth, error) {
	switch req.Auth {
	case "":
		a, err := c.AuthFor(ctx, req.URL)
		if err != nil {
			return Auth{}, err
		}
		a.Secrets = append(a.Secrets[:len(a.Secrets):len(a.Secrets)], req.Secrets...)
		return a, nil
	case NoAuth:
		return Auth{Header: NoAuth, Secrets: req.Secrets}, nil
	}
	a := Auth{Header: req.Auth, Secrets: req.Secrets}
	if _, tok, ok := strings.Cut(req.Auth, " "); ok {
		a.Secrets = append([]string{tok}, req.Secrets...)
	}
	return a, nil
}

// failureOf describes an attempt's error for the retry decision.
func failureOf(err error) retry.Failure {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return retry.Failure{Status: se.f.Status, Header: se.f.Header}
	case errors.Is(err, attemptTimeout):
		return retry.Failure{AttemptTimeout: true}
	}
	return retry.Failure{Err: err}
}

// final turns the last attempt's error into the caller's error.
func (c *Config) final(req *Request, err error, d retry.Decision) error {
	var se *statusError
	switch {
	case errors.As(err, &se):
		herr := c.Errors.HTTP(se.f)
		if d.TooLong {
			return TooLong(herr, req.Op, d)
		}
		return herr
	case errors.Is(err, attemptTimeout):
		return c.Errors.Timeout(req.Op, c.Timeout)
	}
	return err
}

// TooLong is the error of a server that asked, with Retry-After, for a
// longer wait than the retry policy allows: err, with how long it asked.
func TooLong(err error, op string, d retry.Decision) error {
	return falerr.Wrap(err, "%s: the server asked to retry after %v, more than the retry policy's MaxRetryAfter of %v", op, d.RetryAfter.Round(time.Second), d.Limit)
}

// exchange sends one attempt and reads the whole answer.
func (c *Config) exchange(ctx context.Context, req *Request, auth Auth, n int) (*Response, error) {
	actx, cancel := c.attemptContext(ctx, req)
	defer cancel()
	hr, err := c.newHTTPRequest(actx, req, auth)
	if err != nil {
		return nil, &permanent{err}
	}
	hc := c.clientFor(hr)
	gz := acceptGzip(hc, hr)
	var start time.Time
	if c.Logger != nil {
		start = time.Now()
	}
	res, err := do(hc, hr)
	if err != nil {
		return nil, c.transportError(actx, req, auth, err)
	}
	defer res.Body.Close()
	if gz {
		gunzip(res)
	}
	rid := res.Header.Get("X-Fal-Request-Id")
	if c.Logger != nil {
		c.logExchange(ctx, "fal: http", req, n, res, rid, start)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, c.statusError(req, res, auth)
	}
	body, err := readBody(res, c.maxBody())
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, &permanent{&LimitError{Op: req.Op, What: "the answer", Field: "Body", Limit: c.maxBody()}}
		}
		return nil, c.transportError(actx, req, auth, err)
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: body, RequestID: rid, Secrets: auth.Secrets}, nil
}

// newHTTPRequest builds one attempt's request with its headers.
func (c *Config) newHTTPRequest(ctx context.Context, req *Request, auth Auth) (*http.Request, error) {
	var body io.Reader
	switch {
	case req.Body != nil:
		body = bytes.NewReader(req.Body)
	case req.BodyFrom != nil:
		body = req.BodyFrom()
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, falerr.Wrap(err, "%s", req.Op)
	}
	if req.BodyFrom != nil {
		hr.ContentLength = req.Size
		if req.Size == 0 {
			hr.Body = http.NoBody
		}
	}
	c.setHeaders(hr.Header, req, auth)
	return hr, nil
}

// jsonValue is the header value "application/json".
var jsonValue = []string{"application/json"}

// setHeaders writes the defaults, the configured extra headers, then the
// request's own, then the credentials.
func (c *Config) setHeaders(h http.Header, req *Request, auth Auth) {
	c.userAgent(h)
	if req.Accept == "" {
		h["Accept"] = jsonValue
	} else {
		h.Set("Accept", req.Accept)
	}
	if req.hasBody() {
		if req.ContentType == "" {
			h["Content-Type"] = jsonValue
		} else {
			h.Set("Content-Type", req.ContentType)
		}
	}
	copyHeader(h, c.Header)
	copyHeader(h, req.Header)
	setAuth(h, auth)
}

// BaseHeader writes the headers every request carries, for requests the
// engine does not send itself (websocket handshakes): the User-Agent, the
// configured extra headers, and auth.
func (c *Config) BaseHeader(h http.Header, auth Auth) {
	c.userAgent(h)
	copyHeader(h, c.Header)
	setAuth(h, auth)
}

func (c *Config) userAgent(h http.Header) {
	// The fixed values are shared, never-modified slices: a RoundTripper
	// must not change the request, so no copy is needed per request.
	if c.ua != nil && c.ua[0] == c.UserAgent {
		h["User-Agent"] = c.ua
	} else {
		h["User-Agent"] = []string{c.UserAgent}
	}
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = append([]string(nil), vs...)
	}
}

func setAuth(h http.Header, auth Auth) {
	switch auth.Header {
	case "", NoAuth:
		h.Del("Authorization")
	default:
		if len(auth.value) == 1 && auth.value[0] == auth.Header {
			h["Authorization"] = auth.value
		} else {
			h["Authorization"] = []string{auth.Header}
		}
	}
}

// statusError reads a non-2xx answer into a Failure.
func (c *Config) statusError(req *Request, res *http.Response, auth Auth) error {
	return &statusError{NewFailure(req.Op, req.Method, req.URL, res, auth.Secrets)}
}

// NewFailure describes a non-2xx answer to a request to rawURL: its
// status, its headers and its body read up to MaxErrorBody, scrubbed of
// the secrets. It does not close the body.
func NewFailure(op, method, rawURL string, res *http.Response, secrets []string) *Failure {
	var body []byte
	if res.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(res.Body, MaxErrorBody))
	}
	return &Failure{
		Op: op, Method: method, URL: RedactURL(rawURL), Status: res.StatusCode,
		Header: ScrubHeader(res.Header, secrets), Body: Scrub(body, secrets), Secrets: secrets,
	}
}

// TransportCause is what a failed exchange's error says without the URL
// (which may hold a token) and scrubbed of the secrets; its chain is kept
// unless scrubbing changed its text.
func TransportCause(err error, secrets []string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if msg := err.Error(); ScrubString(msg, secrets) != msg {
		err = errors.New(ScrubString(msg, secrets))
	}
	return err
}

// transportError turns a failed exchange into an error: the per-attempt
// timeout becomes attemptTimeout (final turns it into the caller's
// timeout error), anything else is wrapped with the operation.
func (c *Config) transportError(actx context.Context, req *Request, auth Auth, err error) error {
	if AttemptTimedOut(actx) {
		return attemptTimeout
	}
	var refused *redirectRefused
	final := errors.As(err, &refused)
	err = TransportCause(err, auth.Secrets)
	c.Debug(actx, "fal: http failed", slog.String("method", req.Method), slog.String("url", RedactURL(req.URL)), slog.String("error", err.Error()))
	err = falerr.Wrap(err, "%s: %s %s", req.Op, req.Method, RedactURL(req.URL))
	if final {
		return &permanent{err}
	}
	return err
}
