package fal

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/falgo/fal/internal/clientlink"
	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
)

// Version is falgo's version, sent in the User-Agent.
const Version = "0.1.0"

// Client talks to fal. Every method blocks until done and is safe to call
// from many goroutines; Submit plus a *RequestHandle is the asynchronous path.
// The zero value is not usable: build one with NewClient.
type Client struct {
	eng     *engine.Config
	cdn     cdnTokens
	targets jobTargets
}

// NewClient builds a client. It fails only on invalid options or on invalid
// FAL_*_HOST environment variables; credentials are looked up when the first
// request needs them (see the package documentation for the order), so a
// client can be built before the key is known.
func NewClient(opts ...Option) (*Client, error) {
	h, err := engine.HostsFromEnv()
	if err != nil {
		return nil, err
	}
	eng := &engine.Config{
		HTTPClient: defaultHTTPClient,
		Timeout:    defaultTimeout,
		Retry:      defaultRetryPolicy,
		UserAgent:  defaultUserAgent,
		Hosts:      h,
		Auth:       &providerAuth{p: newDefaultChain()},
		Errors:     errorBuilder{},
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyClient(eng); err != nil {
			return nil, err
		}
	}
	if err := prepare(eng); err != nil {
		return nil, err
	}
	logHTTP1Only(eng)
	return &Client{eng: eng}, nil
}

// defaultHTTPClient has no Timeout of its own (falgo bounds each attempt
// with WithTimeout and the context) and more idle connections per host than
// net/http's default, since fal traffic goes to few hosts.
var defaultHTTPClient = &http.Client{Transport: newTransport()}

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.MaxIdleConns = 256
	return t
}

// newCall starts a call of kind with the client's settings and opts.
func (c *Client) newCall(kind callKind, opts []RequestOption) (*call, error) {
	if c == nil || c.eng == nil {
		return nil, falerr.New("the Client is nil or was not built with NewClient")
	}
	return newCall(kind, c.eng, settings{}, opts)
}

// Format describes the client's hosts and timeout for every verb, without
// revealing credentials.
func (c *Client) Format(f fmt.State, _ rune) {
	if c == nil || c.eng == nil {
		fmt.Fprint(f, "fal.Client(nil)")
		return
	}
	fmt.Fprintf(f, "fal.Client{%s, credentials: %s, timeout: %v}", c.eng.Hosts, describeAuth(c.eng.Auth), c.eng.Timeout)
}

// defaultClient is the client of the package-level functions (Run,
// Submit, ...), built on first use from the environment, like net/http's
// DefaultClient.
var defaultClient = sync.OnceValues(func() (*Client, error) { return NewClient() })

// Run calls Run on a client built from the environment on first use.
func Run(ctx context.Context, app string, input any, opts ...RequestOption) (*Result, error) {
	c, err := defaultClient()
	if err != nil {
		return nil, err
	}
	return c.Run(ctx, app, input, opts...)
}

// Subscribe calls Subscribe on a client built from the environment on
// first use.
func Subscribe(ctx context.Context, app string, input any, opts ...RequestOption) (*Result, error) {
	c, err := defaultClient()
	if err != nil {
		return nil, err
	}
	return c.Subscribe(ctx, app, input, opts...)
}

// Submit calls Submit on a client built from the environment on first use.
func Submit(ctx context.Context, app string, input any, opts ...RequestOption) (*RequestHandle, error) {
	c, err := defaultClient()
	if err != nil {
		return nil, err
	}
	return c.Submit(ctx, app, input, opts...)
}

// clock is the client's time source (the engine's, so tests can set one).
func (c *Client) clock() time.Time { return c.eng.Clock() }

// slogError is the log attribute of an error.
func slogError(err error) slog.Attr { return slog.String("error", err.Error()) }

func init() {
	clientlink.Engine = func(v any) (*engine.Config, error) {
		c, _ := v.(*Client)
		if c == nil || c.eng == nil {
			return nil, falerr.New("the Client is nil or was not built with NewClient")
		}
		return c.eng, nil
	}
}
