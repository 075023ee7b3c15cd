package fal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/falgo/fal/internal/appid"
	"github.com/falgo/fal/internal/retry"
)

// Opening realtime connections: the temporary token (spec §7.1), the URL
// and handshake (§7.2), and the retry and pacing of (re)connections.

// RealtimeToken mints a temporary token that lets its bearer open realtime
// connections to app for ttl (0 means DefaultRealtimeTokenExpiration),
// with POST {rest host}/tokens/ and the client's credentials. It is what
// Realtime does by default; call it yourself to hand tokens to code that
// must not see your key, such as a browser. The token is a secret: it is
// never logged nor put in errors by this package.
func (c *Client) RealtimeToken(ctx context.Context, app string, ttl time.Duration, opts ...RequestOption) (token string, expires time.Time, err error) {
	id, err := appid.Parse(app)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("fal: RealtimeToken: %w", err)
	}
	if ttl == 0 {
		ttl = DefaultRealtimeTokenExpiration
	}
	if ttl < time.Second {
		return "", time.Time{}, fmt.Errorf("fal: RealtimeToken: %v is too short; the token expiration must be at least 1 second", ttl)
	}
	cfg, err := c.callConfig(opts)
	if err != nil {
		return "", time.Time{}, err
	}
	return c.realtimeToken(ctx, cfg, id, ttl)
}

// realtimeToken asks the REST API for a token for id (spec §7.1).
func (c *Client) realtimeToken(ctx context.Context, cfg *config, id appid.ID, ttl time.Duration) (string, time.Time, error) {
	op := "realtime token for " + id.String()
	secs := int64(math.Ceil(ttl.Seconds()))
	body, err := json.Marshal(map[string]any{
		"allowed_apps":     []string{id.Alias},
		"token_expiration": secs,
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("fal: %s: %w", op, err)
	}
	start := now()
	// Minting a token has no side effect worth guarding: retry like a read.
	resp, err := c.do(ctx, cfg, &apiRequest{
		op:     op,
		method: http.MethodPost,
		url:    join(cfg.hosts.rest, "tokens") + "/",
		body:   body,
		class:  idempotent,
	})
	if err != nil {
		return "", time.Time{}, err
	}
	tok, err := parseRealtimeToken(resp.body)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("fal: %s: unexpected answer from POST %s: %w", op, join(cfg.hosts.rest, "tokens")+"/", err)
	}
	return tok, start.Add(time.Duration(secs) * time.Second), nil
}

// parseRealtimeToken reads the token endpoint's answer: a JSON string, or
// an object with a string "token" or (old proxies) "detail". The error
// never quotes the body, which may hold a token.
func parseRealtimeToken(body []byte) (string, error) {
	var s string
	if err := json.Unmarshal(body, &s); err == nil {
		if strings.TrimSpace(s) == "" {
			return "", errors.New("the token is an empty string")
		}
		return s, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err == nil && obj != nil {
		for _, k := range []string{"token", "detail"} {
			if raw, ok := obj[k]; ok && json.Unmarshal(raw, &s) == nil && strings.TrimSpace(s) != "" {
				return s, nil
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, strconv.Quote(k))
		}
		return "", fmt.Errorf(`want a JSON string or an object with a string "token"; got an object with keys [%s]`, strings.Join(keys, ", "))
	}
	what := "a body that is not JSON"
	if json.Valid(body) {
		what = "a JSON " + jsonKind(body)
	}
	return "", fmt.Errorf(`want a JSON string or an object with a string "token"; got %s`, what)
}

func jsonKind(b []byte) string {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '[':
			return "array"
		case '{':
			return "object"
		case 'n':
			return "null"
		case 't', 'f':
			return "boolean"
		case '"':
			return "string"
		default:
			return "number"
		}
	}
	return "value"
}

// realtimeURL is the connection URL without its query: the run host with
// a ws(s) scheme, the app id, WithPath's sub-path and the realtime path.
func realtimeURL(cfg *config, rc *realtimeConfig, id appid.ID) string {
	base := *cfg.hosts.run
	switch base.Scheme {
	case "https":
		base.Scheme = "wss"
	case "http":
		base.Scheme = "ws"
	}
	u := join(&base, id.String(), cfg.path)
	switch {
	case rc.pathSet:
		if rc.path != "" {
			u += "/" + rc.path
		}
	case !strings.HasSuffix(u, "/realtime"):
		u += "/realtime"
	}
	return u
}

// withQuery adds the token and max_buffering, in the Python client's order.
func (rc *RealtimeConn) withQuery(token string) string {
	var q []string
	if token != "" {
		q = append(q, "fal_jwt_token="+url.QueryEscape(token))
	}
	if rc.opts.maxBuffering > 0 {
		q = append(q, "max_buffering="+strconv.Itoa(rc.opts.maxBuffering))
	}
	if len(q) == 0 {
		return rc.url
	}
	return rc.url + "?" + strings.Join(q, "&")
}

// token returns the token for the next handshake: the cached one unless
// it expires within realtimeTokenMargin (or its expiry is unknown), or
// fresh is set. cached reports whether the token had been used before.
// Guarded by sendSem.
func (rc *RealtimeConn) token(ctx context.Context, fresh bool) (tok string, cached bool, err error) {
	if rc.opts.noToken {
		return "", false, nil
	}
	if !fresh && rc.tok != "" && !rc.tokExp.IsZero() && rc.tokExp.Sub(now()) > realtimeTokenMargin {
		return rc.tok, true, nil
	}
	rc.tok, rc.tokExp = "", time.Time{}
	if p := rc.opts.provider; p != nil {
		tok, exp, err := p(ctx, rc.id.String())
		if err != nil {
			if ctx.Err() != nil {
				return "", false, fmt.Errorf("fal: realtime %s: getting a token: %w", rc.app, ctx.Err())
			}
			return "", false, fmt.Errorf("fal: realtime %s: the token provider failed: %w", rc.app, err)
		}
		if strings.TrimSpace(tok) == "" {
			return "", false, fmt.Errorf("fal: realtime %s: the token provider returned an empty token", rc.app)
		}
		rc.tok, rc.tokExp = tok, exp
		return tok, false, nil
	}
	ttl := DefaultRealtimeTokenExpiration
	if rc.opts.tokenTTLSet {
		ttl = rc.opts.tokenTTL
	}
	tok, exp, err := rc.c.realtimeToken(ctx, rc.cfg, rc.id, ttl)
	if err != nil {
		return "", false, err
	}
	rc.tok, rc.tokExp = tok, exp
	return tok, false, nil
}

// handshakeAuth returns what authorizes the next handshake: a token for
// the query (cached reports that it had been used before, so a 401 may
// only mean it was revoked or expired early), or with WithoutRealtimeToken
// an Authorization header value. secret is what must never appear in an
// error.
func (rc *RealtimeConn) handshakeAuth(ctx context.Context, freshToken bool) (tok string, cached bool, authz, secret string, err error) {
	if !rc.opts.noToken {
		tok, cached, err = rc.token(ctx, freshToken)
		return tok, cached, "", tok, err
	}
	// The URL is built from the run host, so this holds unless the hosts
	// are inconsistent; checked all the same, since this is where the key
	// would leave.
	target, perr := url.Parse(strings.Replace(strings.Replace(rc.url, "wss://", "https://", 1), "ws://", "http://", 1))
	if perr != nil || !rc.cfg.hosts.owns(target) {
		return "", false, "", "", fmt.Errorf("fal: realtime %s: refusing to send credentials to %s, which is not one of the client's hosts", rc.app, redactURL(rc.url))
	}
	creds, err := rc.c.credentials(ctx, rc.cfg)
	if err != nil {
		return "", false, "", "", err
	}
	return "", false, creds.HeaderValue(), creds.Token, nil
}

// dial runs one websocket handshake; register then starts the
// connection's reader. Every error it returns is a handshake error (see
// dialError).
func (rc *RealtimeConn) dial(ctx context.Context, tok, authz, secret string) (*rtSession, error) {
	cfg := rc.cfg
	u := rc.withQuery(tok)
	hdr := http.Header{}
	for k, vs := range cfg.headers {
		hdr[k] = append([]string(nil), vs...)
	}
	hdr.Set("User-Agent", cfg.userAgent)
	if authz != "" {
		hdr.Set("Authorization", authz)
	}

	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(rc.closeCtx, cancel) // Close aborts a handshake in progress
	defer stop()
	if cfg.timeout > 0 {
		var cancelTimeout context.CancelFunc
		dctx, cancelTimeout = context.WithTimeoutCause(dctx, cfg.timeout, errAttemptTimeout)
		defer cancelTimeout()
	}

	start := time.Now()
	ws, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: rc.hc, HTTPHeader: hdr})
	if err != nil {
		return nil, rc.dialError(ctx, dctx, u, resp, err, secret)
	}
	if cfg.logger != nil {
		cfg.logger.LogAttrs(ctx, slog.LevelDebug, "fal: realtime connected",
			slog.String("app", rc.app), slog.String("url", redactURL(u)), slog.Duration("took", time.Since(start)))
	}
	ws.SetReadLimit(rc.opts.readLimit)
	return newRTSession(ws), nil
}

// dialError turns a failed handshake into an error that holds neither the
// token nor the key: *HTTPError for an HTTP answer, *TimeoutError for the
// per-call timeout, the context's error, or the transport error.
func (rc *RealtimeConn) dialError(ctx, dctx context.Context, u string, resp *http.Response, err error, secret string) error {
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode != 0 {
		var body []byte
		if resp.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			resp.Body.Close()
		}
		he := newHTTPError(http.MethodGet, u, resp.StatusCode, resp.Header, body, secret)
		if he.Message == "" || he.Message == "empty response body" {
			he.Message = "the websocket handshake was refused"
		}
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			what := "token"
			if rc.opts.noToken {
				what = "credentials"
			}
			return fmt.Errorf("fal: realtime %s: the server refused the %s: %w", rc.app, what, he)
		}
		return he
	}
	if ctx.Err() != nil {
		return fmt.Errorf("fal: realtime %s: connecting: %w", rc.app, ctx.Err())
	}
	if rc.closeCtx.Err() != nil {
		return ErrRealtimeClosed
	}
	if errors.Is(context.Cause(dctx), errAttemptTimeout) {
		return &TimeoutError{Op: "realtime " + rc.app + ": opening the connection", Limit: rc.cfg.timeout}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its message holds the URL, token included
	}
	if msg := err.Error(); secret != "" && (strings.Contains(msg, secret) || strings.Contains(msg, url.QueryEscape(secret))) {
		msg = strings.ReplaceAll(msg, secret, "REDACTED")
		err = errors.New(strings.ReplaceAll(msg, url.QueryEscape(secret), "REDACTED"))
	}
	return fmt.Errorf("fal: realtime %s: connecting to %s: %w", rc.app, redactURL(u), err)
}

// quickSession: a connection that ended sooner than this after opening
// makes the next reconnection wait, increasingly, so that a server that
// closes every connection at once is not hammered.
const quickSession = 2 * time.Second

// connect opens a connection, retrying failures the retry policy allows
// (transport errors, 408, 429 and the ingress's 502/503/504, honouring
// Retry-After), and once at once with a new token when a reused token was
// refused. reconnect adds the pacing of quick reconnections. Guarded by
// sendSem.
func (rc *RealtimeConn) connect(ctx context.Context, reconnect bool) (*rtSession, error) {
	pol := rc.cfg.retry
	if reconnect && !rc.lastOpen.IsZero() {
		if now().Sub(rc.lastOpen) < quickSession {
			rc.quick++
			if err := rc.sleep(ctx, retry.Backoff(rc.quick, pol.BaseDelay, pol.MaxDelay)); err != nil {
				return nil, err
			}
		} else {
			rc.quick = 0
		}
	}
	attempts := max(pol.MaxAttempts, 1)
	fresh := false
	for attempt := 1; ; attempt++ {
		tok, cached, authz, secret, err := rc.handshakeAuth(ctx, fresh)
		if err != nil {
			return nil, err // token requests have retries of their own
		}
		s, err := rc.dial(ctx, tok, authz, secret)
		if err == nil {
			if err := rc.register(s); err != nil {
				return nil, err
			}
			return s, nil
		}
		if ctx.Err() != nil || errors.Is(err, ErrRealtimeClosed) {
			return nil, err
		}
		var he *HTTPError
		isHTTP := errors.As(err, &he)
		if isHTTP && cached && !fresh && (he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden) {
			fresh = true // the reused token was refused: try once with a new one
			attempt--
			continue
		}
		var wait time.Duration
		retryable := false
		var te *TimeoutError
		switch {
		case isHTTP:
			retryable = retryableStatus(he, idempotent)
			if ra, ok := retry.RetryAfter(he.Header, now()); ok && retryable {
				limit := pol.MaxRetryAfter
				if limit == 0 {
					limit = DefaultMaxRetryAfter
				}
				retryable = ra <= limit
				wait = ra
			}
		case errors.As(err, &te):
			retryable = true
		default:
			retryable = retryableTransport(err, idempotent)
		}
		if !retryable || attempt >= attempts {
			return nil, err
		}
		if wait == 0 {
			wait = retry.Backoff(attempt, pol.BaseDelay, pol.MaxDelay)
		}
		if dl, ok := ctx.Deadline(); ok && now().Add(wait).After(dl) {
			return nil, err
		}
		if rc.cfg.logger != nil {
			rc.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "fal: realtime: retrying the connection",
				slog.String("app", rc.app), slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", err.Error()))
		}
		if serr := rc.sleep(ctx, wait); serr != nil {
			return nil, serr
		}
	}
}

// sleep waits for d, or until ctx ends or Close is called.
func (rc *RealtimeConn) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("fal: realtime %s: waiting to reconnect: %w", rc.app, ctx.Err())
	case <-rc.closeCtx.Done():
		return ErrRealtimeClosed
	}
}
