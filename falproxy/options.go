package falproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	fal "github.com/falgo/fal"
)

// DefaultMaxBodyBytes bounds a request body unless WithMaxBodyBytes says
// otherwise. Requests through the proxy carry JSON inputs (files are
// uploaded straight to storage, not through the proxy), so 32 MiB leaves
// room for inline data URIs.
const DefaultMaxBodyBytes = 32 << 20

// Option configures a Handler; pass options to New.
type Option func(*settings) error

// settings collects the options before New checks and compiles them.
type settings struct {
	creds       fal.CredentialsProvider
	authorize   func(*http.Request) error
	allowUnauth bool
	targets     []string // nil: DefaultTargets
	extra       []string
	noTokens    bool
	upstreams   map[string]*url.URL
	transport   http.RoundTripper
	maxBody     int64
	logger      *slog.Logger
}

// WithCredentials sets where the proxy's fal credentials come from. The
// provider is asked on every request, so it may rotate keys; it must be
// safe for concurrent use. The default is fal.DefaultCredentialsChain()
// (FAL_KEY, FAL_KEY_ID and FAL_KEY_SECRET, FAL_KEY_FILE, the fal CLI login).
func WithCredentials(p fal.CredentialsProvider) Option {
	return func(s *settings) error {
		if p == nil {
			return errors.New("WithCredentials: nil provider (leave the option out to use fal.DefaultCredentialsChain)")
		}
		s.creds = p
		return nil
	}
}

// WithKey authorizes upstream requests with an explicit API key ("Key
// <key>"), instead of the environment.
func WithKey(key string) Option {
	return func(s *settings) error {
		if key == "" {
			return errors.New("WithKey: empty key")
		}
		if !validHeaderValue(key) || strings.ContainsAny(key, " \t") {
			return errors.New("WithKey: the key contains spaces or control characters; copy it again from the fal dashboard")
		}
		cr := fal.Credentials{Scheme: "Key", Token: key}
		s.creds = fal.CredentialsProviderFunc(func(context.Context) (fal.Credentials, error) { return cr, nil })
		return nil
	}
}

// WithAuthorize sets the hook that decides whether a caller may use the
// proxy: your application's own authentication (a session cookie, your
// Authorization header, a CSRF token, a rate limit). It runs after the
// target URL has been checked (Target returns it) and before any credential
// is looked up or any upstream request is made. A nil error lets the
// request through; an *AuthError answers with its status and message; any
// other error answers 401 with a generic message, and is logged.
//
// New fails unless either WithAuthorize or AllowUnauthenticated is given.
func WithAuthorize(f func(*http.Request) error) Option {
	return func(s *settings) error {
		if f == nil {
			return errors.New("WithAuthorize: nil hook (use AllowUnauthenticated to let every caller through)")
		}
		s.authorize = f
		return nil
	}
}

// AllowUnauthenticated lets every caller that can reach the handler use it,
// spending your fal credits. It is for handlers behind your own
// authentication middleware, and for tests; without it (or WithAuthorize)
// New fails, where @fal-ai/server-proxy allows unauthenticated callers by
// default.
func AllowUnauthenticated() Option {
	return func(s *settings) error {
		s.allowUnauth = true
		return nil
	}
}

// WithTargets replaces the allowlist of target URLs (DefaultTargets) with
// patterns. A pattern is
//
//	[METHOD ][https://|http://]host[/path][?query]
//
// The host is matched exactly (case-insensitively; a port must match too).
// Without a scheme the target must be https; http:// is accepted for
// loopback hosts only. Path segments match literally, "*" matches one
// segment and a last "**" matches any rest of the path, including none
// ("fal.run/**" matches https://fal.run/anything/below). Without "?" any
// query is allowed; with it the query must hold exactly these parameters
// (order aside). Without a method every forwarded method is allowed.
// An empty list allows nothing.
func WithTargets(patterns ...string) Option {
	return func(s *settings) error {
		s.targets = append([]string{}, patterns...)
		return nil
	}
}

// AllowTargets adds patterns (see WithTargets) to the allowlist, for
// example fal's other REST routes your app calls through the proxy.
func AllowTargets(patterns ...string) Option {
	return func(s *settings) error {
		s.extra = append(s.extra, patterns...)
		return nil
	}
}

// WithoutRealtimeTokens removes TargetRealtimeTokens from the allowlist.
//
// The token route is allowed by default because the JavaScript client
// needs it for realtime connections and client-mode streams, and a token
// (scoped to one app, valid for minutes) grants nothing the proxy's
// fal.run/** route does not. But a token keeps working after the caller is
// no longer authorized, and is used directly with fal, not through the
// proxy's hook: remove the route if your app does not use realtime.
func WithoutRealtimeTokens() Option {
	return func(s *settings) error {
		s.noTokens = true
		return nil
	}
}

// WithUpstream sends requests for a fal host to another base URL: a target
// https://<host>/<path>?<query> is forwarded to <baseURL>/<path>?<query>.
// The allowlist is still checked against the original target. It is for
// tests and local development, e.g.
//
//	falproxy.WithUpstream("fal.run", srv.URL+"/run") // a faltest.Server
//
// baseURL must be an absolute https URL, or http for a loopback address;
// it may have a path but no query, fragment or user info.
func WithUpstream(host, baseURL string) Option {
	return func(s *settings) error {
		h := strings.ToLower(strings.TrimSpace(host))
		if h == "" || strings.ContainsAny(h, "/?#@*\\ ") {
			return fmt.Errorf("WithUpstream: %q is not a host such as fal.run", host)
		}
		u, err := url.Parse(strings.TrimSpace(baseURL))
		if err != nil || !u.IsAbs() || u.Host == "" {
			return fmt.Errorf("WithUpstream(%q): %q is not an absolute URL such as http://127.0.0.1:8080/run", host, baseURL)
		}
		switch {
		case u.Scheme != "https" && u.Scheme != "http":
			return fmt.Errorf("WithUpstream(%q): unsupported scheme %q; use https (or http for a loopback address)", host, u.Scheme)
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			return fmt.Errorf("WithUpstream(%q): plain http is allowed only for loopback addresses, not %s: the proxy sends your fal key there", host, u.Host)
		case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
			return fmt.Errorf("WithUpstream(%q): %q must have no user info, query or fragment", host, baseURL)
		}
		u.Path = strings.TrimRight(u.Path, "/")
		u.RawPath = ""
		if s.upstreams == nil {
			s.upstreams = make(map[string]*url.URL)
		}
		s.upstreams[h] = u
		return nil
	}
}

// WithTransport sets the RoundTripper that makes upstream requests (the
// default is a clone of http.DefaultTransport). The Handler calls
// RoundTrip directly, so redirects are never followed whatever the
// transport.
func WithTransport(rt http.RoundTripper) Option {
	return func(s *settings) error {
		if rt == nil {
			return errors.New("WithTransport: nil transport")
		}
		s.transport = rt
		return nil
	}
}

// WithMaxBodyBytes bounds the size of a request body (DefaultMaxBodyBytes
// by default). A larger body answers 413, before anything is sent upstream
// when the request declares its length, and otherwise as soon as the limit
// is crossed. A negative n removes the bound.
func WithMaxBodyBytes(n int64) Option {
	return func(s *settings) error {
		if n == 0 {
			return errors.New("WithMaxBodyBytes: 0 would refuse every request with a body; pass a positive size, or a negative one for no limit")
		}
		s.maxBody = n
		return nil
	}
}

// WithLogger sets the logger for rejected requests, upstream failures and
// missing credentials (slog.Default() by default); each forwarded request
// is logged at debug level. Log lines carry the target without its query,
// and never a credential.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		if l == nil {
			return errors.New("WithLogger: nil logger (to discard logs, use slog.New(slog.NewTextHandler(io.Discard, nil)))")
		}
		s.logger = l
		return nil
	}
}

// compileTargets turns the settings' patterns into rules and the set of
// hosts allowed over plain http.
func (s *settings) compileTargets() ([]rule, map[string]bool, error) {
	patterns := s.targets
	if patterns == nil {
		patterns = DefaultTargets()
	}
	patterns = append(slices.Clone(patterns), s.extra...)
	var rules []rule
	httpHosts := map[string]bool{}
	var errs []error
	for _, p := range patterns {
		r, err := parseRule(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if s.noTokens && r.pattern == TargetRealtimeTokens {
			continue
		}
		if r.scheme == "http" {
			httpHosts[r.host] = true
		}
		rules = append(rules, r)
	}
	return rules, httpHosts, errors.Join(errs...)
}

// validHeaderValue reports whether v can be sent as a header value: no
// control characters (in particular no CR or LF).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
