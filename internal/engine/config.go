// Package engine is falgo's one request engine: every HTTP call of the
// library (sync runs, the queue, status and output streams, storage,
// realtime tokens and handshakes, downloads, token refreshes) goes through
// it. It owns the attempt loop and asks package retry whether to try
// again, attaches credentials only to the client's own hosts, follows
// redirects safely, bounds every read, scrubs credentials from server text
// and turns failures into the caller's error types.
package engine

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/falgo/fal/internal/retry"
)

// Auth is the Authorization of requests to the client's hosts.
type Auth struct {
	Header  string   // the Authorization header value, e.g. "Key id:secret"
	Secrets []string // what is scrubbed from server text: the token and each half of an id:secret key

	// value is Header as a header value, built once by NewAuth and shared
	// by every request (a RoundTripper does not change the request).
	value []string
}

// AuthSource supplies the Auth of one request.
type AuthSource interface {
	Auth(ctx context.Context) (Auth, error)
}

// NewAuth builds the Auth of a scheme and token, with the token and, for
// an id:secret key, each half as secrets.
func NewAuth(scheme, token string) Auth {
	a := Auth{Header: scheme + " " + token, Secrets: []string{token}}
	a.value = []string{a.Header}
	if id, secret, ok := strings.Cut(token, ":"); ok {
		a.Secrets = append(a.Secrets, id, secret)
	}
	return a
}

// Errors builds the errors callers see for failures the engine ends on.
type Errors interface {
	// HTTP turns a non-2xx answer into an error (the caller's *HTTPError).
	HTTP(f *Failure) error
	// Timeout reports that the per-attempt timeout ran out.
	Timeout(op string, limit time.Duration) error
}

// Failure is a non-2xx answer: its status, headers and (bounded) body,
// with credentials scrubbed from the headers and the body.
type Failure struct {
	Op     string // what was being done, e.g. "run fal-ai/flux/dev"
	Method string
	URL    string // with credentials in the query redacted
	Status int
	Header http.Header
	Body   []byte
	// Secrets are the credentials of the request, for builders that must
	// scrub text of their own.
	Secrets []string
}

// Default limits.
const (
	// DefaultMaxBody bounds a buffered response body; a sync run that
	// returns images as data URIs stays far below it.
	DefaultMaxBody = 256 << 20
	// DefaultMaxEvent bounds one server-sent event (and one line of it)
	// and one realtime frame.
	DefaultMaxEvent = 64 << 20
	// DefaultMaxLogs bounds the log entries kept while following a request.
	DefaultMaxLogs = 10_000
	// MaxErrorBody bounds what is read and kept of an error body.
	MaxErrorBody = 8 << 10
)

// Config is how requests are sent. A client holds one; a call that
// changes a connection setting works on its own Clone. Call Prepare after
// changing fields and before sending; a prepared Config is read-only and
// safe for concurrent use.
type Config struct {
	HTTPClient *http.Client // the caller's client (or falgo's default)
	// Cleartext, if set, sends the requests to plain-http URLs (HTTP/2
	// without TLS); HTTPClient sends the others, and websocket handshakes.
	Cleartext *http.Client
	Timeout   time.Duration // bounds each attempt; 0 for none
	Retry     retry.Policy
	Logger    *slog.Logger // debug logs of exchanges and retries; nil for none
	UserAgent string
	Header    http.Header // added to every request
	Hosts     Hosts
	AllowHTTP bool       // plain http to hosts that are not loopback
	Auth      AuthSource // credentials for the client's hosts
	Errors    Errors
	MaxBody   int64            // bound of a buffered body; 0 for DefaultMaxBody
	MaxEvent  int64            // bound of an event or frame; 0 for DefaultMaxEvent
	MaxLogs   int              // bound of the log entries kept; 0 for DefaultMaxLogs
	Now       func() time.Time // the clock; nil for time.Now

	// Built by Prepare.
	safe, safePlain *http.Client
	safeFrom        safeKey // what safe and safePlain were built from
	ua              []string
	streamHeaders   *streamHeaders // shared with the Config's clones
}

// safeKey is what the redirect-safe clients depend on.
type safeKey struct {
	base, plain *http.Client
	hosts       Hosts
}

// Clone returns a copy that can be changed without affecting c.
func (c *Config) Clone() *Config {
	cp := *c
	cp.Header = c.Header.Clone()
	return &cp
}

// Prepare checks the settings and builds what requests share. It must be
// called after the last change.
func (c *Config) Prepare() error {
	if err := c.Hosts.Validate(c.AllowHTTP); err != nil {
		return err
	}
	// A Clone whose per-call options left the HTTP client and the hosts
	// alone keeps the client it was cloned from: no copy per call.
	if k := (safeKey{c.HTTPClient, c.Cleartext, c.Hosts}); c.safe == nil || c.safeFrom != k {
		c.safe, c.safePlain, c.safeFrom = safeClient(c.HTTPClient, c.Hosts), nil, k
		if c.Cleartext != nil {
			c.safePlain = safeClient(c.Cleartext, c.Hosts)
		}
	}
	if c.ua == nil || c.ua[0] != c.UserAgent {
		c.ua = []string{c.UserAgent}
	}
	if c.streamHeaders == nil {
		c.streamHeaders = new(streamHeaders)
	}
	return nil
}

// Client is the HTTP client with falgo's redirect policy.
func (c *Config) Client() *http.Client {
	if c.safe == nil {
		return safeClient(c.HTTPClient, c.Hosts)
	}
	return c.safe
}

// clientFor is the HTTP client, with falgo's redirect policy, that sends
// hr: Cleartext's for a plain-http URL when it is set.
func (c *Config) clientFor(hr *http.Request) *http.Client {
	if c.Cleartext != nil && hr.URL.Scheme == "http" {
		if c.safePlain == nil {
			return safeClient(c.Cleartext, c.Hosts)
		}
		return c.safePlain
	}
	return c.Client()
}

// Clock reads the clock.
func (c *Config) Clock() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Config) maxBody() int64 { return cmp.Or(c.MaxBody, DefaultMaxBody) }

// EventLimit is the bound of one server-sent event or realtime frame.
func (c *Config) EventLimit() int64 { return cmp.Or(c.MaxEvent, DefaultMaxEvent) }

// LogLimit is the bound of the log entries kept while following a request.
func (c *Config) LogLimit() int { return cmp.Or(c.MaxLogs, DefaultMaxLogs) }

// Debug logs at debug level when a logger is set.
func (c *Config) Debug(ctx context.Context, msg string, attrs ...slog.Attr) {
	if c.Logger != nil {
		c.Logger.LogAttrs(ctx, slog.LevelDebug, msg, attrs...)
	}
}

// AuthFor resolves the credentials for a request to url: the client's,
// when url is on one of its hosts; none otherwise.
func (c *Config) AuthFor(ctx context.Context, url string) (Auth, error) {
	if c.Auth == nil || !c.Hosts.OwnsURL(url) {
		return Auth{}, nil
	}
	return c.Auth.Auth(ctx)
}

// Decide asks the retry policy about attempt n that failed with f.
func (c *Config) Decide(ctx context.Context, f retry.Failure, class retry.Class, n int) retry.Decision {
	dl, ok := ctx.Deadline()
	return c.Retry.Next(f, class, n, c.Clock(), dl, ok)
}
