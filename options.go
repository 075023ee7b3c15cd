package fal

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RequestOption configures a client (passed to NewClient) or a single call
// (passed to Run, Submit, ...). Every option works at both levels: a call
// starts from a copy of its client's settings and applies its own options on
// top, so a per-call WithKey is how temporary credentials are used, and a
// per-call WithRunHost is how one client talks to two environments.
type RequestOption func(*config) error

// Option is the name RequestOption goes by when passed to NewClient.
type Option = RequestOption

// config holds every setting a client or a call can have.
type config struct {
	creds      CredentialsProvider // nil: the client's default chain
	httpClient *http.Client
	timeout    time.Duration // per HTTP call (each attempt); 0 means none
	hosts      hosts
	retry      RetryPolicy
	logger     *slog.Logger
	userAgent  string
	headers    http.Header

	// per-call request settings
	path         string
	startTimeout time.Duration
	hint         *string
	priority     Priority

	// queue settings
	webhook       string
	logs          bool
	pollInterval  time.Duration // 0: DefaultPollInterval
	polling       bool          // true: never use the status stream
	clientTimeout time.Duration // bounds a whole Subscribe / Result wait
	onEnqueue     func(requestID string)
	onQueueUpdate func(Status)

	streamIdle time.Duration // Stream: longest silence, 0 for none

	upload uploadConfig

	allowHTTP bool // plain http to hosts that are not loopback

	// safe is httpClient with falgo's redirect policy, built by apply for
	// the hosts and client of the time (safeFor); see safeClient.
	safe    *http.Client
	safeFor *http.Client
	uaValue []string // the User-Agent header value, built by apply
}

func (c *config) clone() *config {
	cp := *c
	cp.headers = c.headers.Clone()
	return &cp
}

func (c *config) apply(opts []RequestOption) error {
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return err
		}
	}
	if err := c.validate(); err != nil {
		return err
	}
	c.safe, c.safeFor = newSafeClient(c.httpClient, c.hosts), c.httpClient
	c.uaValue = []string{c.userAgent}
	return nil
}

// validate checks what no single option can: plain http is refused for
// hosts that are not on this machine, unless WithInsecureHTTP allows it,
// since the key would cross the network in the clear.
func (c *config) validate() error {
	if c.allowHTTP {
		return nil
	}
	for _, h := range []struct {
		name string
		u    *url.URL
	}{{"run", c.hosts.run}, {"queue", c.hosts.queue}, {"REST", c.hosts.rest}, {"CDN", c.hosts.cdn}} {
		if h.u != nil && h.u.Scheme == "http" && !isLoopback(h.u.Hostname()) {
			return fmt.Errorf("fal: the %s host %s uses plain http to a host that is not this machine: the API key would travel unencrypted; use https, or WithInsecureHTTP() if you really mean it", h.name, h.u)
		}
	}
	return nil
}

// WithInsecureHTTP allows plain http:// hosts that are not loopback
// addresses (a test server on another machine of a private network).
// Without it such hosts are refused, because credentials would be sent in
// the clear. Loopback hosts (127.0.0.1, ::1, localhost) never need it.
func WithInsecureHTTP() Option {
	return func(c *config) error {
		c.allowHTTP = true
		return nil
	}
}

// DefaultTimeout bounds each HTTP call unless WithTimeout says otherwise.
const DefaultTimeout = 120 * time.Second

// WithKey authorizes requests with "Key <key>". An explicit key always wins
// over the environment; a key of the form "id:secret" is sent verbatim.
func WithKey(key string) Option {
	return func(c *config) error {
		if strings.TrimSpace(key) == "" {
			return errors.New("fal: WithKey: the key is empty; pass a fal API key (https://fal.ai/dashboard/keys)")
		}
		c.creds = StaticCredentials{Scheme: "Key", Token: key}
		return nil
	}
}

// WithCredentials uses p for every request instead of the default chain.
func WithCredentials(p CredentialsProvider) Option {
	return func(c *config) error {
		if p == nil {
			return errors.New("fal: WithCredentials: the provider is nil")
		}
		c.creds = p
		return nil
	}
}

// WithTimeout bounds each HTTP call (each retry attempt separately; the
// context deadline bounds the whole call). The default is DefaultTimeout; 0
// removes the bound. When it fires the call returns *TimeoutError.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("fal: WithTimeout: negative duration %v; use 0 for no timeout", d)
		}
		c.timeout = d
		return nil
	}
}

// WithHTTPClient sends requests through hc. Its Timeout, if set, applies on
// top of WithTimeout. Redirects follow falgo's policy first (credentials
// are removed from a redirect to a host that is not one of the client's,
// and https→http redirects are refused), then hc's CheckRedirect, if any.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("fal: WithHTTPClient: the client is nil")
		}
		c.httpClient = hc
		return nil
	}
}

// WithRunHost sets the host of the synchronous endpoint (default
// $FAL_RUN_HOST, else fal.run). A bare host ("fal.run", "localhost:8443") is
// reached over https; a URL with a scheme and path
// ("http://127.0.0.1:8080/run") is used as the base URL. Unless set
// explicitly, the queue host follows it as queue.<run host> (or the run host
// itself when that is an IP address or localhost).
func WithRunHost(host string) Option {
	return func(c *config) error {
		u, err := parseHost("WithRunHost", host)
		if err != nil {
			return err
		}
		c.hosts.run = u
		if !c.hosts.queueExplicit {
			c.hosts.queue = queueFromRun(u)
		}
		return nil
	}
}

// WithQueueHost sets the queue host (default $FAL_QUEUE_RUN_HOST, else
// queue.<run host>). It takes the same forms as WithRunHost.
func WithQueueHost(host string) Option {
	return func(c *config) error {
		u, err := parseHost("WithQueueHost", host)
		if err != nil {
			return err
		}
		c.hosts.queue = u
		c.hosts.queueExplicit = true
		return nil
	}
}

// WithRestHost sets the REST API host used for tokens and storage (default
// $FAL_REST_HOST, else rest.fal.ai). It takes the same forms as WithRunHost.
func WithRestHost(host string) Option {
	return func(c *config) error {
		u, err := parseHost("WithRestHost", host)
		if err != nil {
			return err
		}
		c.hosts.rest = u
		return nil
	}
}

// WithCDNHost sets the CDN host that uploads go to (default $FAL_CDN_HOST,
// else v3.fal.media). It takes the same forms as WithRunHost.
func WithCDNHost(host string) Option {
	return func(c *config) error {
		u, err := parseHost("WithCDNHost", host)
		if err != nil {
			return err
		}
		c.hosts.cdn = u
		return nil
	}
}

// WithLogger sends debug logs of every HTTP exchange and retry to l.
// Credentials are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithUserAgent replaces the User-Agent (default "falgo/<version> (go)").
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		c.userAgent = ua
		return nil
	}
}

// WithHeader adds a header to requests. Authorization and User-Agent cannot
// be set this way (use WithKey and WithUserAgent): credentials are only ever
// attached by the client, to its own hosts.
func WithHeader(name, value string) RequestOption {
	return func(c *config) error {
		canon := http.CanonicalHeaderKey(strings.TrimSpace(name))
		if canon == "" || strings.ContainsAny(canon, " \t\r\n:") {
			return fmt.Errorf("fal: WithHeader: invalid header name %q", name)
		}
		if strings.ContainsAny(value, "\r\n") {
			return fmt.Errorf("fal: WithHeader: header %s: value contains a line break", canon)
		}
		switch canon {
		case "Authorization":
			return errors.New("fal: WithHeader: Authorization cannot be set as a header; use WithKey or WithCredentials")
		case "User-Agent":
			return errors.New("fal: WithHeader: use WithUserAgent to set the User-Agent")
		}
		if c.headers == nil {
			c.headers = http.Header{}
		}
		c.headers.Set(canon, value)
		return nil
	}
}

// WithPath appends a sub-path to the app's URL: Run(ctx, "fal-ai/flux",
// in, WithPath("dev")) posts to .../fal-ai/flux/dev. Leading slashes are
// ignored.
func WithPath(path string) RequestOption {
	return func(c *config) error {
		p := strings.TrimLeft(path, "/")
		if strings.ContainsAny(p, "?#") || strings.Contains(p, "..") || strings.ContainsAny(p, " \t\r\n") {
			return fmt.Errorf("fal: WithPath: invalid path %q (no spaces, '?', '#' or '..')", path)
		}
		c.path = p
		return nil
	}
}

// MinStartTimeout is the smallest accepted start timeout (exclusive).
const MinStartTimeout = time.Second

// WithStartTimeout asks the server to give up if the request has not started
// running within d (header X-Fal-Request-Timeout, sent in seconds). d must be
// more than one second. A server-side start timeout ends the call with an
// *HTTPError of status 504 whose IsUserTimeout reports true; it is never
// retried.
func WithStartTimeout(d time.Duration) RequestOption {
	return func(c *config) error {
		if d <= MinStartTimeout {
			return fmt.Errorf("fal: WithStartTimeout: %v is too short; the start timeout must be greater than 1 second", d)
		}
		c.startTimeout = d
		return nil
	}
}

// WithHint sends a runner hint (X-Fal-Runner-Hint): the router prefers a
// runner that advertises the same hint, best effort.
func WithHint(hint string) RequestOption {
	return func(c *config) error {
		if strings.ContainsAny(hint, "\r\n") {
			return errors.New("fal: WithHint: the hint contains a line break")
		}
		h := hint
		c.hint = &h
		return nil
	}
}

// Priority is a queue priority (X-Fal-Queue-Priority).
type Priority string

// Queue priorities accepted by fal.
const (
	PriorityNormal Priority = "normal"
	PriorityLow    Priority = "low"
)

// WithPriority sets the queue priority of a submitted request. Only
// PriorityNormal and PriorityLow are accepted. It has no effect on Run,
// which does not go through the queue.
func WithPriority(p Priority) RequestOption {
	return func(c *config) error {
		switch p {
		case PriorityNormal, PriorityLow:
			c.priority = p
			return nil
		}
		return fmt.Errorf("fal: WithPriority: unknown priority %q; use fal.PriorityNormal or fal.PriorityLow", string(p))
	}
}
