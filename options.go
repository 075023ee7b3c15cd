package fal

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
)

// Option configures how a client reaches fal: credentials, hosts, the HTTP
// client, timeouts, retries, logging and extra headers. Pass options to
// NewClient. Every Option is also a RequestOption: given to a single call,
// it overrides the client's setting for that call only, so a per-call
// WithKey is how temporary credentials are used and a per-call
// WithQueueHost how one client reaches a second environment.
type Option interface {
	RequestOption
	applyClient(*engine.Config) error
}

// clientOption is the Option every constructor below returns.
type clientOption func(*engine.Config) error

func (o clientOption) applyClient(e *engine.Config) error { return o(e) }

func (o clientOption) applyRequest(cl *call) error { return o(cl.engineToChange()) }

// WithKey authorizes requests with "Key <key>". An explicit key always wins
// over the environment; a key of the form "id:secret" is sent verbatim.
func WithKey(key string) Option {
	return clientOption(func(e *engine.Config) error {
		if strings.TrimSpace(key) == "" {
			return falerr.New("WithKey: the key is empty; pass a fal API key (https://fal.ai/dashboard/keys)")
		}
		e.Auth = staticAuth(engine.NewAuth("Key", key))
		return nil
	})
}

// WithCredentials uses p for every request instead of the default
// credential chain (see the package documentation).
func WithCredentials(p CredentialsProvider) Option {
	return clientOption(func(e *engine.Config) error {
		if p == nil {
			return falerr.New("WithCredentials: the provider is nil")
		}
		e.Auth = &providerAuth{p: p}
		return nil
	})
}

// defaultTimeout bounds each HTTP attempt unless WithTimeout says otherwise.
const defaultTimeout = 120 * time.Second

// WithTimeout bounds each HTTP attempt (default 120 s; 0 removes the
// bound). The context's deadline bounds the whole call, retries included.
// For streams and downloads it bounds the wait for the answer's headers
// only. When it fires the call returns *TimeoutError.
//
// Attempts made with a context that cannot be cancelled (Background, or
// values on it) share their deadline with the attempts, of any client,
// that start up to a hundredth of the timeout (at most a second) after
// them, which spares a timer per call: such an attempt is cut between d
// and d + d/100 after it started (120–121 s by default). Timeouts under a
// second, contexts that can be cancelled, and a program's timeouts beyond
// its first 32 distinct ones get a deadline of exactly d per attempt.
func WithTimeout(d time.Duration) Option {
	return clientOption(func(e *engine.Config) error {
		if d < 0 {
			return falerr.New("WithTimeout: negative duration %v; use 0 for no timeout", d)
		}
		e.Timeout = d
		return nil
	})
}

// WithHTTPClient sends every request, downloads included, through hc. Its
// Timeout, if set, applies on top of WithTimeout. Redirects follow falgo's
// policy first (see the package documentation), then hc's CheckRedirect.
//
// HTTP/2: net/http negotiates it with fal's hosts only if hc's Transport
// allows it. An *http.Transport with a TLSClientConfig, a dialer or a TLS
// dialer of its own speaks HTTP/1.1 only, silently, unless
// ForceAttemptHTTP2 is set or its Protocols include HTTP/2; every request
// in flight then holds a connection (and two goroutines) of its own. With
// WithLogger, NewClient logs such a transport at debug level.
func WithHTTPClient(hc *http.Client) Option {
	return clientOption(func(e *engine.Config) error {
		if hc == nil {
			return falerr.New("WithHTTPClient: the client is nil")
		}
		e.HTTPClient = hc
		return nil
	})
}

// WithRunHost sets the host of the synchronous endpoint (default
// $FAL_RUN_HOST, else fal.run). A bare host ("fal.run", "localhost:8443") is
// reached over https; a URL with a scheme and path
// ("http://127.0.0.1:8080/run") is used as the base URL. Unless set
// explicitly, the queue host follows it as queue.<run host> (or the run host
// itself when that is an IP address or localhost).
func WithRunHost(host string) Option {
	return hostOption("WithRunHost", host, (*engine.Hosts).SetRun)
}

// WithQueueHost sets the queue host (default $FAL_QUEUE_RUN_HOST, else
// queue.<run host>). It takes the same forms as WithRunHost.
func WithQueueHost(host string) Option {
	return hostOption("WithQueueHost", host, (*engine.Hosts).SetQueue)
}

// WithRestHost sets the REST host of tokens and storage (default
// $FAL_REST_HOST, else rest.fal.ai). It takes the same forms as WithRunHost.
func WithRestHost(host string) Option {
	return hostOption("WithRestHost", host, func(h *engine.Hosts, u *url.URL) { h.Rest = u })
}

// WithCDNHost sets the CDN host uploads go to (default $FAL_CDN_HOST, else
// v3.fal.media). It takes the same forms as WithRunHost.
func WithCDNHost(host string) Option {
	return hostOption("WithCDNHost", host, func(h *engine.Hosts, u *url.URL) { h.CDN = u })
}

// WithAPIHost sets the host of fal's Platform API, which package platform
// calls (default $FAL_API_HOST, else api.fal.ai; its paths start with
// /v1). It takes the same forms as WithRunHost.
func WithAPIHost(host string) Option {
	return hostOption("WithAPIHost", host, func(h *engine.Hosts, u *url.URL) { h.API = u })
}

func hostOption(name, host string, set func(*engine.Hosts, *url.URL)) Option {
	return clientOption(func(e *engine.Config) error {
		u, err := engine.ParseHost(name, host)
		if err != nil {
			return err
		}
		set(&e.Hosts, u)
		return nil
	})
}

// WithInsecureHTTP allows plain http:// hosts that are not loopback
// addresses (a test server on another machine of a private network).
// Without it such hosts are refused, because credentials would be sent in
// the clear. Loopback hosts (127.0.0.1, ::1, localhost) never need it.
func WithInsecureHTTP() Option {
	return clientOption(func(e *engine.Config) error {
		e.AllowHTTP = true
		return nil
	})
}

// WithLogger sends debug logs of every HTTP exchange and retry to l.
// Credentials are never logged.
func WithLogger(l *slog.Logger) Option {
	return clientOption(func(e *engine.Config) error {
		e.Logger = l
		return nil
	})
}

// defaultUserAgent is sent unless WithUserAgent replaces it.
const defaultUserAgent = "falgo/" + Version + " (go)"

// WithHeader adds a header to every request to fal (on a client) or to the
// requests of one call. WithHeader("User-Agent", ua) replaces the default
// User-Agent, "falgo/<version> (go)". Authorization cannot be set this way
// (use WithKey or WithCredentials): credentials are only ever attached by
// the client, to its own hosts.
func WithHeader(name, value string) Option {
	return clientOption(func(e *engine.Config) error {
		canon := http.CanonicalHeaderKey(strings.TrimSpace(name))
		if canon == "" || strings.ContainsAny(canon, " \t\r\n:") {
			return falerr.New("WithHeader: invalid header name %q", name)
		}
		if strings.ContainsAny(value, "\r\n") {
			return falerr.New("WithHeader: header %s: the value contains a line break", canon)
		}
		switch canon {
		case "Authorization":
			return falerr.New("WithHeader: Authorization cannot be set as a header; use WithKey or WithCredentials")
		case "User-Agent":
			e.UserAgent = value
			return nil
		}
		if e.Header == nil {
			e.Header = http.Header{}
		}
		e.Header.Set(canon, value)
		return nil
	})
}
