package realtime

import (
	"context"
	"strings"
	"time"

	"github.com/falgo/fal/internal/falerr"
)

// Option configures one connection opened with fal.Client.Realtime. How
// the connection reaches fal (credentials, hosts, timeout, retry policy,
// HTTP client, logger, headers, user agent) is the client's, as given to
// fal.NewClient; for other settings build a client with them.
type Option interface {
	apply(*config) error
}

// optionFunc is the Option every constructor below returns.
type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// TokenProvider returns a token for a realtime connection to app (the
// parsed app id, e.g. "fal-ai/fast-lcm-diffusion") and when it expires. A
// zero expiry means "unknown": the token is then used for one connection
// only and the provider is asked again for the next one. It is called
// before each connection that needs a new token, never concurrently for
// one Conn.
type TokenProvider func(ctx context.Context, app string) (token string, expires time.Time, err error)

// Defaults and limits.
const (
	// defaultTokenExpiration is the lifetime asked for tokens, as both
	// official clients do.
	defaultTokenExpiration = 120 * time.Second
	// maxBuffering is the largest max_buffering fal accepts.
	maxBuffering = 60
	// tokenMargin: a cached token closer than this to its expiry is
	// replaced before a reconnection.
	tokenMargin = 10 * time.Second
)

// config is what Options build.
type config struct {
	path         string // suffix after the app id; "/realtime" by default
	pathSet      bool
	maxBuffering int // 0: not sent
	tokenTTL     time.Duration
	tokenTTLSet  bool
	noToken      bool
	provider     TokenProvider
	readLimit    int64 // -1: the client's event limit
	onMeta       func(map[string]any)
}

// newConfig applies opts and checks that they fit together.
func newConfig(opts []Option) (config, error) {
	c := config{readLimit: -1}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(&c); err != nil {
			return c, err
		}
	}
	switch {
	case c.noToken && c.provider != nil:
		return c, falerr.New("realtime: WithoutToken and WithTokenProvider exclude each other; pick one")
	case c.noToken && c.tokenTTLSet:
		return c, falerr.New("realtime: WithTokenExpiration has no effect with WithoutToken; drop one of them")
	case c.provider != nil && c.tokenTTLSet:
		return c, falerr.New("realtime: WithTokenExpiration applies to the built-in token request only; with WithTokenProvider the provider chooses the expiry")
	}
	return c, nil
}

// WithPath replaces the "/realtime" suffix of the connection URL:
// WithPath("ws") connects to .../{app}/ws, and WithPath("") to the app's
// URL itself (the Python client's ws_connect). Leading slashes are
// ignored. A sub-path of the app, which fal.WithPath gave before this
// package existed, goes in the app id ("owner/alias/sub") or here
// (WithPath("sub/realtime")).
func WithPath(path string) Option {
	return optionFunc(func(c *config) error {
		p := strings.TrimLeft(path, "/")
		if strings.ContainsAny(p, "?#") || strings.Contains(p, "..") || strings.ContainsAny(p, " \t\r\n") {
			return falerr.New("realtime.WithPath: invalid path %q (no spaces, '?', '#' or '..')", path)
		}
		c.path, c.pathSet = p, true
		return nil
	})
}

// WithMaxBuffering asks the server to keep at most n inputs waiting while
// the app is busy, dropping older ones (query parameter max_buffering). n
// must be from 1 to 60. Without it the server decides.
func WithMaxBuffering(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 || n > maxBuffering {
			return falerr.New("realtime.WithMaxBuffering: %d is out of range; max_buffering must be from 1 to %d (inclusive)", n, maxBuffering)
		}
		c.maxBuffering = n
		return nil
	})
}

// WithTokenExpiration sets the lifetime asked for the temporary token
// (default 120 seconds), rounded up to whole seconds. It must be at least
// one second. A token only matters when a connection opens; a
// reconnection reuses it unless it expires within 10 seconds.
func WithTokenExpiration(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < time.Second {
			return falerr.New("realtime.WithTokenExpiration: %v is too short; the token expiration must be at least 1 second", d)
		}
		c.tokenTTL, c.tokenTTLSet = d, true
		return nil
	})
}

// WithoutToken skips the temporary token: the handshake carries the
// client's credentials in an Authorization header instead (the Python
// client's use_jwt=False). Use it from servers; a token is what a browser
// would get.
func WithoutToken() Option {
	return optionFunc(func(c *config) error {
		c.noToken = true
		return nil
	})
}

// WithTokenProvider gets tokens from p instead of POST {rest host}/tokens/,
// for example from your own backend.
func WithTokenProvider(p TokenProvider) Option {
	return optionFunc(func(c *config) error {
		if p == nil {
			return falerr.New("realtime.WithTokenProvider: the provider is nil")
		}
		c.provider = p
		return nil
	})
}

// WithReadLimit bounds the size of one incoming message to n bytes; a
// larger one ends the connection with an error. The default is the
// client's fal.Limits.Event (64 MiB unless fal.WithLimits changed it):
// outputs such as images can be large, but never unbounded.
func WithReadLimit(n int64) Option {
	return optionFunc(func(c *config) error {
		if n < 1 {
			return falerr.New("realtime.WithReadLimit: %d bytes is not a limit; pass a positive size", n)
		}
		c.readLimit = n
		return nil
	})
}

// OnMeta calls f with each {"type": "x-fal-message", ...} frame (timings,
// for example), which Recv otherwise skips. f runs on the goroutine
// calling Recv, before Recv goes on to the next frame.
func OnMeta(f func(msg map[string]any)) Option {
	return optionFunc(func(c *config) error {
		c.onMeta = f
		return nil
	})
}
