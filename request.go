package fal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/falgo/fal/internal/retry"
)

// apiRequest is one logical call to fal; do turns it into one or more HTTP
// attempts.
type apiRequest struct {
	op          string // for errors and logs, e.g. "run fal-ai/flux/dev"
	method      string
	url         string
	body        []byte // replayed on every attempt
	contentType string
	header      http.Header // request-specific headers, applied last
	class       retryClass

	// bodyFrom, if set instead of body, opens the body afresh for each
	// attempt (an upload streaming from a file); size is its length.
	bodyFrom func() io.Reader
	size     int64
	// auth overrides the client's credentials: noAuth sends no
	// Authorization (signed URLs), any other value is sent as is (a CDN
	// token). Empty means the client's credentials, for its own hosts.
	auth string
}

// noAuth is the auth value that sends no Authorization header; the NUL
// keeps it from ever equalling a real header value.
const noAuth = "none\x00"

// hasBody reports whether the request sends a body.
func (r *apiRequest) hasBody() bool { return r.body != nil || r.bodyFrom != nil }

// apiResponse is a complete 2xx answer.
type apiResponse struct {
	status    int
	header    http.Header
	body      []byte
	requestID string
}

// errAttemptTimeout marks an attempt cut by the per-call timeout (as opposed
// to the caller's context).
var errAttemptTimeout = errors.New("fal: per-call timeout")

// do sends req with cfg's credentials, headers, timeout and retry policy,
// and returns the 2xx response or an *HTTPError, *TimeoutError, a wrapped
// context error, or a wrapped transport error.
func (c *Client) do(ctx context.Context, cfg *config, req *apiRequest) (*apiResponse, error) {
	creds, err := c.credentialsFor(ctx, cfg, req)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, err := c.attempt(ctx, cfg, req, creds, attempt)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("fal: %s: %w", req.op, ctx.Err())
		}
		lastErr = err
		wait, ok := retryWait(ctx, cfg, req.class, err, attempt)
		if !ok {
			break
		}
		logRetry(ctx, cfg, req, attempt, wait, err)
		if err := retry.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("fal: %s: %w (while waiting to retry after: %v)", req.op, err, lastErr)
		}
	}
	if errors.Is(lastErr, errAttemptTimeout) {
		return nil, &TimeoutError{Op: req.op, Limit: cfg.timeout}
	}
	return nil, lastErr
}

// credentialsFor resolves the credentials req is sent with: the client's,
// and only when req uses them (no auth override) and goes to one of the
// client's hosts; zero otherwise.
func (c *Client) credentialsFor(ctx context.Context, cfg *config, req *apiRequest) (Credentials, error) {
	if req.auth != "" || !cfg.hosts.ownsURL(req.url) {
		return Credentials{}, nil
	}
	return c.credentials(ctx, cfg)
}

// retryWait decides whether attempt number n of a request of class, which
// failed with err, is tried again, and after how long: err must be
// retryable under fal's rules, a server's Retry-After must not exceed the
// policy's limit, attempts must remain, and the wait must end before the
// caller's deadline (otherwise the real error is worth more now).
func retryWait(ctx context.Context, cfg *config, class retryClass, err error, n int) (time.Duration, bool) {
	var (
		wait      time.Duration
		retryable bool
		he        *HTTPError
	)
	switch {
	case errors.As(err, &he):
		retryable = retryableStatus(he, class)
		if ra, ok := retry.RetryAfter(he.Header, now()); ok && retryable {
			limit := cfg.retry.MaxRetryAfter
			if limit == 0 {
				limit = DefaultMaxRetryAfter
			}
			if ra > limit {
				retryable = false
			}
			wait = ra
		}
	case errors.Is(err, errAttemptTimeout):
		retryable = class == idempotent
	default:
		retryable = retryableTransport(err, class)
	}
	if !retryable || n >= max(cfg.retry.MaxAttempts, 1) {
		return 0, false
	}
	if wait == 0 {
		wait = retry.Backoff(n, cfg.retry.BaseDelay, cfg.retry.MaxDelay)
	}
	if dl, ok := ctx.Deadline(); ok && now().Add(wait).After(dl) {
		return 0, false
	}
	return wait, true
}

// logRetry records a retry at debug level.
func logRetry(ctx context.Context, cfg *config, req *apiRequest, n int, wait time.Duration, err error) {
	if cfg.logger != nil {
		cfg.logger.LogAttrs(ctx, slog.LevelDebug, "fal: retrying",
			slog.String("op", req.op), slog.Int("attempt", n), slog.Duration("wait", wait), slog.String("error", err.Error()))
	}
}

// attempt sends one HTTP request and reads the whole answer under the
// per-call timeout.
func (c *Client) attempt(ctx context.Context, cfg *config, req *apiRequest, creds Credentials, n int) (*apiResponse, error) {
	actx := ctx
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeoutCause(ctx, cfg.timeout, errAttemptTimeout)
		defer cancel()
	}
	var body io.Reader
	switch {
	case req.body != nil:
		body = bytes.NewReader(req.body)
	case req.bodyFrom != nil:
		body = req.bodyFrom()
	}
	hr, err := http.NewRequestWithContext(actx, req.method, req.url, body)
	if err != nil {
		return nil, fmt.Errorf("fal: %s: %w", req.op, err)
	}
	if req.bodyFrom != nil {
		hr.ContentLength = req.size
		if req.size == 0 {
			hr.Body = http.NoBody
		}
	}
	c.setHeaders(hr, cfg, req, creds)
	start := time.Now()
	res, err := safeClient(cfg).Do(hr)
	if err != nil {
		return nil, c.transportError(actx, cfg, req, err)
	}
	data, err := readBody(res)
	res.Body.Close()
	if err != nil {
		return nil, c.transportError(actx, cfg, req, err)
	}
	rid := res.Header.Get("X-Fal-Request-Id")
	if cfg.logger != nil {
		cfg.logger.LogAttrs(ctx, slog.LevelDebug, "fal: http",
			slog.String("method", req.method), slog.String("url", redactURL(req.url)), slog.Int("attempt", n),
			slog.Int("status", res.StatusCode), slog.String("request_id", rid), slog.Duration("took", time.Since(start)))
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		secret := creds.Token
		if req.auth != "" && req.auth != noAuth {
			_, secret, _ = strings.Cut(req.auth, " ")
		}
		return nil, newHTTPError(req.method, req.url, res.StatusCode, res.Header, data, secret)
	}
	return &apiResponse{status: res.StatusCode, header: res.Header, body: data, requestID: rid}, nil
}

// transportError turns a failed exchange into an error: the per-call
// timeout becomes errAttemptTimeout (do turns it into *TimeoutError), and
// anything else is wrapped with the operation.
func (c *Client) transportError(actx context.Context, cfg *config, req *apiRequest, err error) error {
	if errors.Is(context.Cause(actx), errAttemptTimeout) {
		return errAttemptTimeout
	}
	if cfg.logger != nil {
		cfg.logger.LogAttrs(actx, slog.LevelDebug, "fal: http failed",
			slog.String("method", req.method), slog.String("url", redactURL(req.url)), slog.String("error", err.Error()))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is already in the message
	}
	return fmt.Errorf("fal: %s: %s %s: %w", req.op, req.method, redactURL(req.url), err)
}

// setHeaders writes the headers of spec §3–4: defaults, the caller's extra
// headers, then the request's own. Credentials go only to the client's hosts.
func (c *Client) setHeaders(hr *http.Request, cfg *config, req *apiRequest, creds Credentials) {
	h := hr.Header
	// The fixed values are shared, never-modified slices: a RoundTripper
	// must not change the request, so no copy is needed per request.
	h["User-Agent"] = cfg.userAgentValue()
	h["Accept"] = jsonValue
	if req.hasBody() {
		if req.contentType == "" {
			h["Content-Type"] = jsonValue
		} else {
			h.Set("Content-Type", req.contentType)
		}
	}
	for k, vs := range cfg.headers {
		h[k] = append([]string(nil), vs...)
	}
	if cfg.hint != nil {
		h.Set("X-Fal-Runner-Hint", *cfg.hint)
	}
	if cfg.startTimeout > 0 {
		h.Set("X-Fal-Request-Timeout", formatSeconds(cfg.startTimeout))
	}
	for k, vs := range req.header {
		h[k] = append([]string(nil), vs...)
	}
	switch {
	case req.auth == noAuth:
		h.Del("Authorization")
	case req.auth != "":
		h.Set("Authorization", req.auth)
	case !creds.IsZero():
		h["Authorization"] = c.authValue(creds)
	}
}

// jsonValue is the header value "application/json".
var jsonValue = []string{"application/json"}

// userAgentValue is the User-Agent header value, built once per config.
func (c *config) userAgentValue() []string {
	if len(c.uaValue) == 1 && c.uaValue[0] == c.userAgent {
		return c.uaValue
	}
	return []string{c.userAgent}
}

// authEntry caches the Authorization header value of one credentials.
type authEntry struct {
	creds Credentials
	value []string
}

// authValue returns the Authorization header value for creds, reusing the
// last one built while the credentials stay the same.
func (c *Client) authValue(creds Credentials) []string {
	if e := c.auth.Load(); e != nil && e.creds == creds {
		return e.value
	}
	e := &authEntry{creds: creds, value: []string{creds.HeaderValue()}}
	c.auth.Store(e)
	return e.value
}

// formatSeconds renders d in seconds the way the Python client does:
// 30s → "30.0", 45.5s → "45.5".
func formatSeconds(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// redactURL hides query values that act as credentials (realtime JWTs,
// signatures of signed URLs).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return raw
	}
	q := u.Query()
	changed := false
	for k := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "token") || strings.Contains(lk, "signature") || strings.Contains(lk, "sig") || strings.Contains(lk, "key") || strings.Contains(lk, "credential") {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if !changed {
		return raw
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// maxRedirects bounds the redirects one request follows.
const maxRedirects = 10

// safeClient is cfg's HTTP client with a redirect policy that never lets
// credentials leave the client's hosts: Authorization is removed from a
// redirected request to any other host, and a redirect from https to
// http is refused. A CheckRedirect of the caller's client still runs.
func safeClient(cfg *config) *http.Client {
	if cfg.safe != nil && cfg.safeFor == cfg.httpClient {
		return cfg.safe
	}
	return newSafeClient(cfg.httpClient, cfg.hosts)
}

// newSafeClient wraps hc with falgo's redirect policy for hosts.
func newSafeClient(base *http.Client, hosts hosts) *http.Client {
	hc := *base
	user := base.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("refusing a redirect from https to %s", req.URL.Scheme)
		}
		if !hosts.owns(req.URL) {
			req.Header.Del("Authorization")
		}
		if user != nil {
			return user(req, via)
		}
		return nil
	}
	return &hc
}

// readBody reads a whole response body, sized from Content-Length when the
// server sent one.
func readBody(res *http.Response) ([]byte, error) {
	if n := res.ContentLength; n >= 0 && n <= 64<<20 {
		buf := make([]byte, n)
		if _, err := io.ReadFull(res.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(res.Body)
}
