package fal

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Version is falgo's version, sent in the User-Agent.
const Version = "0.1.0"

// DefaultUserAgent is sent unless WithUserAgent replaces it.
const DefaultUserAgent = "falgo/" + Version + " (go)"

// Client talks to fal. Every method blocks until done and is safe to call
// from many goroutines; Submit plus a *RequestHandle is the asynchronous path.
// The zero value is not usable: build one with NewClient.
type Client struct {
	cfg *config

	chainOnce sync.Once
	chain     CredentialsProvider

	cdn  cdnTokens
	auth atomic.Pointer[authEntry] // the last Authorization value built
}

// NewClient builds a client. It fails only on invalid options or on invalid
// FAL_*_HOST environment variables; credentials are looked up when the first
// request needs them (see the package documentation for the order), so a
// client can be built before the key is known.
func NewClient(opts ...Option) (*Client, error) {
	h, err := defaultHosts()
	if err != nil {
		return nil, err
	}
	cfg := &config{
		httpClient: defaultHTTPClient,
		timeout:    DefaultTimeout,
		hosts:      h,
		retry:      DefaultRetryPolicy(),
		userAgent:  DefaultUserAgent,
	}
	if err := cfg.apply(opts); err != nil {
		return nil, err
	}
	return &Client{cfg: cfg}, nil
}

// defaultHTTPClient has no Timeout of its own (falgo bounds each call with
// WithTimeout and the context) and more idle connections per host than
// net/http's default, since fal traffic goes to few hosts.
var defaultHTTPClient = &http.Client{Transport: newTransport()}

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.MaxIdleConns = 256
	return t
}

// callConfig is the client's configuration with per-call options applied.
func (c *Client) callConfig(opts []RequestOption) (*config, error) {
	if c == nil || c.cfg == nil {
		return nil, fmt.Errorf("fal: the Client is nil or was not built with NewClient")
	}
	if len(opts) == 0 {
		return c.cfg, nil
	}
	cfg := c.cfg.clone()
	if err := cfg.apply(opts); err != nil {
		return nil, err
	}
	return cfg, nil
}

// credentials resolves the credentials for one request.
func (c *Client) credentials(ctx context.Context, cfg *config) (Credentials, error) {
	p := cfg.creds
	if p == nil {
		c.chainOnce.Do(func() { c.chain = newDefaultChain() })
		p = c.chain
	}
	return p.Credentials(ctx)
}

// String describes the client's hosts without revealing credentials.
func (c *Client) String() string {
	if c == nil || c.cfg == nil {
		return "fal.Client(nil)"
	}
	src := "default chain"
	if c.cfg.creds != nil {
		src = fmt.Sprintf("%v", c.cfg.creds)
	}
	return fmt.Sprintf("fal.Client{run: %s, queue: %s, rest: %s, cdn: %s, credentials: %s, timeout: %v}",
		c.cfg.hosts.run, c.cfg.hosts.queue, c.cfg.hosts.rest, c.cfg.hosts.cdn, src, c.cfg.timeout)
}

// GoString is String, so %#v never reveals credentials.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb, so no verb reveals credentials.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue describes the client without credentials.
func (c *Client) LogValue() slog.Value { return slog.StringValue(c.String()) }

var (
	defaultOnce   sync.Once
	defaultClient *Client
	defaultErr    error
)

// DefaultClient returns the client used by the package-level functions
// (Run, Submit, ...), building it on first use from the environment, like
// net/http's DefaultClient.
func DefaultClient() (*Client, error) {
	defaultOnce.Do(func() { defaultClient, defaultErr = NewClient() })
	return defaultClient, defaultErr
}

// Run calls Run on the default client.
func Run(ctx context.Context, app string, input any, opts ...RequestOption) (*Result, error) {
	c, err := DefaultClient()
	if err != nil {
		return nil, err
	}
	return c.Run(ctx, app, input, opts...)
}

// now is replaced in tests that need a fixed clock.
var now = time.Now
