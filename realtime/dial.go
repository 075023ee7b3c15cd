package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/falgo/fal/internal/appid"
	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// Opening connections: the temporary token (spec §7.1), the URL and
// handshake (§7.2), and the retry and pacing of (re)connections.

// Dial opens a connection to app with a fal client's settings. Programs
// open connections with fal.Client.Realtime, which calls Dial with the
// client's settings (a type internal to falgo). It is an exported
// function, rather than a hook package fal sets up, so that a program
// which never opens a connection does not link this package's code.
func Dial(ctx context.Context, settings *engine.Config, app string, opts ...Option) (*Conn, error) {
	if settings == nil {
		return nil, falerr.New("realtime: open connections with fal.Client.Realtime")
	}
	return open(ctx, settings, app, opts)
}

// Token mints a realtime token for app, valid for ttl (0 for 120 seconds),
// with a fal client's settings; programs call it through
// fal.Client.RealtimeToken (see Dial).
func Token(ctx context.Context, settings *engine.Config, app string, ttl time.Duration) (string, time.Time, error) {
	if settings == nil {
		return "", time.Time{}, falerr.New("realtime: mint tokens with fal.Client.RealtimeToken")
	}
	return tokenFor(ctx, settings, app, ttl)
}

// tokenFor is fal.Client.RealtimeToken: it mints a token for app valid for
// ttl (0 for 120 seconds) with the client's settings e.
func tokenFor(ctx context.Context, e *engine.Config, app string, ttl time.Duration) (string, time.Time, error) {
	id, err := appid.Parse(app)
	if err != nil {
		return "", time.Time{}, falerr.Wrap(err, "RealtimeToken")
	}
	if ttl == 0 {
		ttl = defaultTokenExpiration
	}
	if ttl < time.Second {
		return "", time.Time{}, falerr.New("RealtimeToken: %v is too short; the token expiration must be at least 1 second", ttl)
	}
	return mintToken(ctx, e, id, ttl)
}

// mintToken asks the REST API for a token for id (spec §7.1).
func mintToken(ctx context.Context, e *engine.Config, id appid.ID, ttl time.Duration) (string, time.Time, error) {
	op := "realtime token for " + id.String()
	secs := int64(math.Ceil(ttl.Seconds()))
	body, err := json.Marshal(map[string]any{
		"allowed_apps":     []string{id.Alias},
		"token_expiration": secs,
	})
	if err != nil {
		return "", time.Time{}, falerr.Wrap(err, "%s", op)
	}
	start := e.Clock()
	u := engine.Join(e.Hosts.Rest, "tokens") + "/"
	// Minting a token has no side effect worth guarding: retry like a read.
	resp, err := e.Do(ctx, &engine.Request{Op: op, Method: http.MethodPost, URL: u, Body: body, Class: retry.Idempotent})
	if err != nil {
		return "", time.Time{}, err
	}
	tok, err := parseToken(resp.Body)
	if err != nil {
		return "", time.Time{}, falerr.Wrap(err, "%s: unexpected answer from POST %s", op, u)
	}
	return tok, start.Add(time.Duration(secs) * time.Second), nil
}

// parseToken reads the token endpoint's answer: a JSON string, or an
// object with a string "token" or (old proxies) "detail". The error never
// quotes the body, which may hold a token.
func parseToken(body []byte) (string, error) {
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

// connURL is the connection URL without its query: the run host with a
// ws(s) scheme, the app id and the realtime path (WithPath's, or
// "/realtime" unless the id already ends with it).
func connURL(e *engine.Config, c *config, id appid.ID) string {
	base := *e.Hosts.Run
	switch base.Scheme {
	case "https":
		base.Scheme = "wss"
	case "http":
		base.Scheme = "ws"
	}
	u := engine.Join(&base, id.String())
	switch {
	case c.pathSet:
		if c.path != "" {
			u += "/" + c.path
		}
	case !strings.HasSuffix(u, "/realtime"):
		u += "/realtime"
	}
	return u
}

// httpURL is the connection URL with its http(s) scheme: the form the
// client's hosts are given in.
func (rc *Conn) httpURL() string {
	switch {
	case strings.HasPrefix(rc.url, "wss://"):
		return "https://" + rc.url[len("wss://"):]
	case strings.HasPrefix(rc.url, "ws://"):
		return "http://" + rc.url[len("ws://"):]
	}
	return rc.url
}

// withQuery adds the token and max_buffering, in the Python client's order.
func (rc *Conn) withQuery(token string) string {
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
// it expires within tokenMargin (or its expiry is unknown), or fresh is
// set. cached reports whether the token had been used before. Guarded by
// sendSem.
func (rc *Conn) token(ctx context.Context, fresh bool) (tok string, cached bool, err error) {
	if !fresh && rc.tok != "" && !rc.tokExp.IsZero() && rc.tokExp.Sub(rc.e.Clock()) > tokenMargin {
		return rc.tok, true, nil
	}
	rc.tok, rc.tokExp = "", time.Time{}
	if p := rc.opts.provider; p != nil {
		tok, exp, err := p(ctx, rc.id.String())
		if err != nil {
			if ctx.Err() != nil {
				return "", false, falerr.Wrap(ctx.Err(), "realtime %s: getting a token", rc.app)
			}
			return "", false, falerr.Wrap(err, "realtime %s: the token provider failed", rc.app)
		}
		if strings.TrimSpace(tok) == "" {
			return "", false, falerr.New("realtime %s: the token provider returned an empty token", rc.app)
		}
		rc.tok, rc.tokExp = tok, exp
		return tok, false, nil
	}
	ttl := defaultTokenExpiration
	if rc.opts.tokenTTLSet {
		ttl = rc.opts.tokenTTL
	}
	tok, exp, err := mintToken(ctx, rc.e, rc.id, ttl)
	if err != nil {
		return "", false, err
	}
	rc.tok, rc.tokExp = tok, exp
	return tok, false, nil
}

// handshake is what authorizes the next handshake: a token for the query
// (cached: it had been used before, so a 401 may only mean it was revoked
// or expired early), or with WithoutToken the client's Authorization.
type handshake struct {
	tok    string
	cached bool
	auth   engine.Auth
}

// secrets are what must never appear in an error or a log.
func (h handshake) secrets() []string {
	if h.tok == "" {
		return h.auth.Secrets
	}
	return append([]string{h.tok}, h.auth.Secrets...)
}

// authorize gets what authorizes the next handshake.
func (rc *Conn) authorize(ctx context.Context, freshToken bool) (handshake, error) {
	if !rc.opts.noToken {
		tok, cached, err := rc.token(ctx, freshToken)
		return handshake{tok: tok, cached: cached}, err
	}
	// The URL is built from the run host, so this holds unless the hosts
	// are inconsistent; checked all the same, since this is where the key
	// would leave.
	u := rc.httpURL()
	if !rc.e.Hosts.OwnsURL(u) {
		return handshake{}, falerr.New("realtime %s: refusing to send credentials to %s, which is not one of the client's hosts", rc.app, engine.RedactURL(rc.url))
	}
	a, err := rc.e.AuthFor(ctx, u)
	if err != nil {
		return handshake{}, err
	}
	return handshake{auth: a}, nil
}

// dialError is a failed handshake: what the retry decision is told, and
// the error the caller gets if it is final.
type dialError struct {
	f retry.Failure
	// refused is the caller's error for an HTTP answer (*fal.HTTPError,
	// built by e.Errors), given its context by final; nil otherwise.
	refused error
	err     error // the caller's error when there was no answer
}

func (d *dialError) Error() string {
	if d.refused != nil {
		return d.refused.Error()
	}
	return d.err.Error()
}

// dial runs one websocket handshake; register then starts the
// connection's reader. Its errors are *dialError, ErrClosed, or the
// context's error wrapped.
func (rc *Conn) dial(ctx context.Context, h handshake) (*session, error) {
	e := rc.e
	u := rc.withQuery(h.tok)
	// The engine's header rules: the User-Agent, the client's extra
	// headers, and credentials only when they go on the handshake.
	hdr := http.Header{}
	e.BaseHeader(hdr, h.auth)

	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(rc.closeCtx, cancel) // Close aborts a handshake in progress
	defer stop()
	dctx, cancelTimeout := e.AttemptContext(dctx)
	defer cancelTimeout()

	start := time.Now()
	ws, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: rc.hc, HTTPHeader: hdr})
	if err != nil {
		return nil, rc.dialError(ctx, dctx, u, resp, err, h.secrets())
	}
	e.Debug(ctx, "fal: realtime connected",
		slog.String("app", rc.app), slog.String("url", engine.RedactURL(u)), slog.Duration("took", time.Since(start)))
	ws.SetReadLimit(rc.opts.readLimit)
	return newSession(ws, h.secrets()), nil
}

// dialError describes a failed handshake without the token or the key:
// for an HTTP answer the client's *HTTPError (built from a bounded,
// scrubbed Failure), for the per-attempt timeout its *TimeoutError, else
// the transport error; the context's end and Close are final at once.
func (rc *Conn) dialError(ctx, dctx context.Context, u string, resp *http.Response, err error, secrets []string) error {
	e := rc.e
	op := "realtime " + rc.app + ": opening the connection"
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode != 0 {
		f := engine.NewFailure(op, http.MethodGet, u, resp, secrets)
		if resp.Body != nil {
			resp.Body.Close()
		}
		e.Debug(ctx, "fal: realtime handshake refused", slog.String("app", rc.app), slog.String("url", f.URL), slog.Int("status", f.Status),
			slog.String("request_id", f.Header.Get("X-Fal-Request-Id")))
		return &dialError{f: retry.Failure{Status: f.Status, Header: f.Header}, refused: e.Errors.HTTP(f)}
	}
	if ctx.Err() != nil {
		return falerr.Wrap(ctx.Err(), "realtime %s: connecting", rc.app)
	}
	if rc.closeCtx.Err() != nil {
		return ErrClosed
	}
	if engine.AttemptTimedOut(dctx) {
		return &dialError{f: retry.Failure{AttemptTimeout: true}, err: e.Errors.Timeout(op, e.Timeout)}
	}
	err = engine.TransportCause(err, secrets)
	return &dialError{f: retry.Failure{Err: err}, err: falerr.Wrap(err, "realtime %s: connecting to %s", rc.app, engine.RedactURL(u))}
}

// final is the caller's error for a handshake that is not tried again,
// after decision d.
func (rc *Conn) final(de *dialError, d retry.Decision) error {
	if de.refused == nil {
		return de.err
	}
	switch {
	case d.TooLong:
		return engine.TooLong(de.refused, "realtime "+rc.app, d)
	case de.f.Status == http.StatusUnauthorized || de.f.Status == http.StatusForbidden:
		what := "token"
		if rc.opts.noToken {
			what = "credentials"
		}
		return falerr.Wrap(de.refused, "realtime %s: the server refused the %s", rc.app, what)
	}
	return falerr.Wrap(de.refused, "realtime %s: the websocket handshake was refused", rc.app)
}

// quickSession: a connection that ended sooner than this after opening
// makes the next reconnection wait, increasingly, so that a server that
// closes every connection at once is not hammered.
const quickSession = 2 * time.Second

// connect opens a connection. A failed handshake is tried again when the
// client's retry policy says so (retry.Policy.Next, as for every request
// of the client: class idempotent, Retry-After within MaxRetryAfter, the
// caller's deadline), and once at once with a new token when a reused
// token was refused. reconnect adds the pacing of quick reconnections.
// Guarded by sendSem.
func (rc *Conn) connect(ctx context.Context, reconnect bool) (*session, error) {
	pol := rc.e.Retry
	if reconnect && !rc.lastOpen.IsZero() {
		if rc.e.Clock().Sub(rc.lastOpen) < quickSession {
			rc.quick++
			if err := rc.sleep(ctx, retry.Backoff(rc.quick, pol.BaseDelay, pol.MaxDelay)); err != nil {
				return nil, err
			}
		} else {
			rc.quick = 0
		}
	}
	fresh := false
	for attempt := 1; ; attempt++ {
		h, err := rc.authorize(ctx, fresh)
		if err != nil {
			return nil, err // token requests have retries of their own
		}
		s, err := rc.dial(ctx, h)
		if err == nil {
			if err := rc.register(s); err != nil {
				return nil, err
			}
			return s, nil
		}
		var de *dialError
		if !errors.As(err, &de) {
			return nil, err // the context ended, or Close
		}
		if ctx.Err() != nil {
			return nil, rc.final(de, retry.Decision{})
		}
		if h.cached && !fresh && (de.f.Status == http.StatusUnauthorized || de.f.Status == http.StatusForbidden) {
			fresh = true // the reused token was refused: try once with a new one
			attempt--
			continue
		}
		d := rc.e.Decide(ctx, de.f, retry.Idempotent, attempt)
		if !d.Retry {
			return nil, rc.final(de, d)
		}
		rc.e.Debug(ctx, "fal: realtime: retrying the connection", slog.String("app", rc.app), slog.Int("attempt", attempt),
			slog.Duration("wait", d.Wait), slog.String("error", rc.final(de, d).Error()))
		if serr := rc.sleep(ctx, d.Wait); serr != nil {
			return nil, serr
		}
	}
}

// sleep waits for d, or until ctx ends or Close is called.
func (rc *Conn) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return falerr.Wrap(ctx.Err(), "realtime %s: waiting to reconnect", rc.app)
	case <-rc.closeCtx.Done():
		return ErrClosed
	}
}
