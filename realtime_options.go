package fal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RealtimeOption configures Client.Realtime. Besides the options below,
// every RequestOption is a RealtimeOption too, applied to the connection's
// own copy of the client's settings: WithKey and WithCredentials (the key
// that mints tokens, or goes on the handshake with WithoutRealtimeToken),
// the hosts, WithTimeout (bounds each token request and each handshake),
// WithRetryPolicy (how often opening a connection is tried), WithPath (a
// sub-path of the app), WithHeader, WithUserAgent, WithHTTPClient and
// WithLogger. Options that only concern queued requests have no effect.
type RealtimeOption interface {
	applyRealtime(*realtimeConfig) error
}

// applyRealtime makes every RequestOption usable with Client.Realtime.
func (o RequestOption) applyRealtime(rc *realtimeConfig) error {
	if o != nil {
		rc.requestOpts = append(rc.requestOpts, o)
	}
	return nil
}

// realtimeOptionFunc is a RealtimeOption that is not a RequestOption.
type realtimeOptionFunc func(*realtimeConfig) error

func (f realtimeOptionFunc) applyRealtime(rc *realtimeConfig) error { return f(rc) }

// RealtimeTokenProvider returns a token for a realtime connection to app
// (the parsed app id, e.g. "fal-ai/fast-lcm-diffusion") and when it
// expires. A zero expiry means "unknown": the token is then used for one
// connection only and the provider is asked again for the next one. It is
// called before each connection that needs a new token, never concurrently
// for one RealtimeConn.
type RealtimeTokenProvider func(ctx context.Context, app string) (token string, expires time.Time, err error)

// Realtime defaults and limits.
const (
	// DefaultRealtimeTokenExpiration is the lifetime asked for realtime
	// tokens, as both official clients do.
	DefaultRealtimeTokenExpiration = 120 * time.Second
	// MaxRealtimeBuffering is the largest max_buffering fal accepts.
	MaxRealtimeBuffering = 60
	// realtimeTokenMargin: a cached token closer than this to its expiry
	// is replaced before a reconnection.
	realtimeTokenMargin = 10 * time.Second
)

// realtimeConfig is what RealtimeOptions build.
type realtimeConfig struct {
	requestOpts  []RequestOption
	path         string // suffix after the app id; "/realtime" by default
	pathSet      bool
	maxBuffering int // 0: not sent
	tokenTTL     time.Duration
	tokenTTLSet  bool
	noToken      bool
	provider     RealtimeTokenProvider
	readLimit    int64 // -1: no limit
	onMeta       func(map[string]any)
}

// apply applies opts and checks that they fit together.
func (rc *realtimeConfig) apply(opts []RealtimeOption) error {
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyRealtime(rc); err != nil {
			return err
		}
	}
	switch {
	case rc.noToken && rc.provider != nil:
		return errors.New("fal: Realtime: WithoutRealtimeToken and WithRealtimeTokenProvider exclude each other; pick one")
	case rc.noToken && rc.tokenTTLSet:
		return errors.New("fal: Realtime: WithRealtimeTokenExpiration has no effect with WithoutRealtimeToken; drop one of them")
	case rc.provider != nil && rc.tokenTTLSet:
		return errors.New("fal: Realtime: WithRealtimeTokenExpiration applies to the built-in token request only; with WithRealtimeTokenProvider the provider chooses the expiry")
	}
	return nil
}

// WithRealtimePath replaces the "/realtime" suffix of the connection URL:
// WithRealtimePath("ws") connects to .../{app}/ws, and
// WithRealtimePath("") to the app's URL itself (the Python client's
// ws_connect). Leading slashes are ignored.
func WithRealtimePath(path string) RealtimeOption {
	return realtimeOptionFunc(func(rc *realtimeConfig) error {
		p := strings.TrimLeft(path, "/")
		if strings.ContainsAny(p, "?#") || strings.Contains(p, "..") || strings.ContainsAny(p, " \t\r\n") {
			return fmt.Errorf("fal: WithRealtimePath: invalid path %q (no spaces, '?', '#' or '..')", path)
		}
		rc.path, rc.pathSet = p, true
		return nil
	})
}

// WithMaxBuffering asks the server to keep at most n inputs waiting while
// the app is busy, dropping older ones (query parameter max_buffering). n
// must be from 1 to MaxRealtimeBuffering. Without it the server decides.
func WithMaxBuffering(n int) RealtimeOption {
	return realtimeOptionFunc(func(rc *realtimeConfig) error {
		if n < 1 || n > MaxRealtimeBuffering {
			return fmt.Errorf("fal: WithMaxBuffering: %d is out of range; max_buffering must be from 1 to %d (inclusive)", n, MaxRealtimeBuffering)
		}
		rc.maxBuffering = n
		return nil
	})
}

// WithRealtimeTokenExpiration sets the lifetime asked for the temporary
// token (default DefaultRealtimeTokenExpiration), rounded up to whole
// seconds. It must be at least one second. A token only matters when a
// connection opens; a reconnection reuses it unless it expires within 10
// seconds.
func WithRealtimeTokenExpiration(d time.Duration) RealtimeOption {
	return realtimeOptionFunc(func(rc *realtimeConfig) error {
		if d < time.Second {
			return fmt.Errorf("fal: WithRealtimeTokenExpiration: %v is too short; the token expiration must be at least 1 second", d)
		}
		rc.tokenTTL, rc.tokenTTLSet = d, true
		return nil
	})
}

// WithoutRealtimeToken skips the temporary token: the handshake carries
// the client's credentials in an Authorization header instead (the Python
// client's use_jwt=False). Use it from servers; a token is what a browser
// would get.
func WithoutRealtimeToken() RealtimeOption {
	return realtimeOptionFunc(func(rc *realtimeConfig) error {
		rc.noToken = true
		return nil
	})
}

// WithRealtimeTokenProvider gets tokens from p instead of POST
// {rest host}/tokens/, for example from your own backend.
func WithRealtimeTokenProvider(p RealtimeTokenProvider) RealtimeOption {
	return realtimeOptionFunc(func(rc *realtimeConfig) error {
		if p == nil {
			return errors.New("fal: WithRealtimeTokenProvider: the provider is nil")
		}
		rc.provider = p
		return nil
	})
}

// WithRealtimeReadLimit bounds the size of one incoming message to n bytes;
// a larger one ends the connection with an error. By default there is no
// limit, as in the Python client: outputs such as images can be large.
func WithRealtimeReadLimit(n int64) RealtimeOption {
	return realtimeOptionFunc(func(rc *realtimeConfig) error {
		if n < 1 {
			return fmt.Errorf("fal: WithRealtimeReadLimit: %d bytes is not a limit; pass a positive size", n)
		}
		rc.readLimit = n
		return nil
	})
}

// OnRealtimeMeta calls f with each {"type": "x-fal-message", ...} frame
// (timings, for example), which Recv otherwise skips. f runs on the
// goroutine calling Recv, before Recv goes on to the next frame.
func OnRealtimeMeta(f func(msg map[string]any)) RealtimeOption {
	return realtimeOptionFunc(func(rc *realtimeConfig) error {
		rc.onMeta = f
		return nil
	})
}
