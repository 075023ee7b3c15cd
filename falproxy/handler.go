package falproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	fal "github.com/falgo/fal"
)

// TargetURLHeader is the request header in which @fal-ai/client's proxy
// middleware puts the URL it would have called.
const TargetURLHeader = "X-Fal-Target-Url"

// DefaultRoute is the path @fal-ai/server-proxy serves and the JavaScript
// client's documentation uses as proxyUrl.
const DefaultRoute = "/api/fal/proxy"

// ClientProxyHeader is the header the Handler adds to every upstream
// request, naming itself ("falgo/<version>"), as @fal-ai/server-proxy does
// with its own name.
const ClientProxyHeader = "X-Fal-Client-Proxy"

// Handler is an http.Handler that forwards requests from browser apps using
// @fal-ai/client's proxyUrl to fal, with the server's credentials. Build one
// with New; it is safe for concurrent use.
type Handler struct {
	rules     []rule
	httpHosts map[string]bool
	creds     fal.CredentialsProvider
	authorize func(*http.Request) error
	upstreams map[string]*url.URL
	transport http.RoundTripper
	maxBody   int64
	log       *slog.Logger
}

// New returns a Handler. It fails if an option is invalid, or if neither
// WithAuthorize nor AllowUnauthenticated is given: a proxy that spends your
// fal credits for anyone must be asked for explicitly.
func New(opts ...Option) (*Handler, error) {
	s := settings{maxBody: DefaultMaxBodyBytes}
	var errs []error
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&s); err != nil {
			errs = append(errs, err)
		}
	}
	rules, httpHosts, err := s.compileTargets()
	if err != nil {
		errs = append(errs, err)
	}
	switch {
	case s.authorize != nil && s.allowUnauth:
		errs = append(errs, errors.New("both WithAuthorize and AllowUnauthenticated given: pick one"))
	case s.authorize == nil && !s.allowUnauth:
		errs = append(errs, errors.New("no authorization: pass WithAuthorize(hook) to check your app's callers, or AllowUnauthenticated() to let anyone who can reach the handler use your fal credentials"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("falproxy.New: %w", errors.Join(errs...))
	}
	h := &Handler{
		rules:     rules,
		httpHosts: httpHosts,
		creds:     s.creds,
		authorize: s.authorize,
		upstreams: s.upstreams,
		transport: s.transport,
		maxBody:   s.maxBody,
		log:       s.logger,
	}
	if h.creds == nil {
		h.creds = fal.DefaultCredentialsChain()
	}
	if h.transport == nil {
		h.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h, nil
}

// targetKey is the context key under which ServeHTTP stores the target.
type targetKey struct{}

// Target returns the checked target URL of a request being served by a
// Handler (the fal URL, before any WithUpstream mapping), for use in an
// Authorize hook: for example to allow some apps only to some users. It
// reports false for other requests.
func Target(r *http.Request) (*url.URL, bool) {
	u, ok := r.Context().Value(targetKey{}).(*url.URL)
	if !ok {
		return nil, false
	}
	cp := *u
	return &cp, true
}

// ServeHTTP checks the request, then forwards it to its target and streams
// the answer back. See the package documentation for what is checked and
// forwarded.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isProxiedMethod(r.Method) {
		w.Header().Set("Allow", strings.Join(proxiedMethods, ", "))
		h.reject(w, r, http.StatusMethodNotAllowed, errTypeMethod, fmt.Sprintf("method %s is not forwarded by the fal proxy", r.Method))
		return
	}
	values := r.Header.Values(TargetURLHeader)
	switch {
	case len(values) == 0 || values[0] == "":
		h.reject(w, r, http.StatusBadRequest, errTypeBadTarget, "missing "+headerName+" header: this is a fal proxy; point @fal-ai/client at it with proxyUrl, which sets the header to the fal URL to call")
		return
	case len(values) > 1:
		h.reject(w, r, http.StatusBadRequest, errTypeBadTarget, "more than one "+headerName+" header: send exactly one")
		return
	}
	target, err := parseTarget(values[0], h.httpHosts)
	if err != nil {
		h.reject(w, r, http.StatusBadRequest, errTypeBadTarget, err.Error())
		return
	}
	if !h.allowed(r.Method, target) {
		h.reject(w, r, http.StatusForbidden, errTypeForbidden, fmt.Sprintf("%s %s is not allowed by this fal proxy (not in its target allowlist)", r.Method, redactedTarget(target)))
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), targetKey{}, target))

	if h.authorize != nil {
		if err := h.authorize(r); err != nil {
			h.unauthorized(w, r, target, err)
			return
		}
	}
	if h.maxBody > 0 && r.ContentLength > h.maxBody {
		h.reject(w, r, http.StatusRequestEntityTooLarge, errTypeTooLarge, fmt.Sprintf("the request body is %d bytes; this fal proxy accepts at most %d", r.ContentLength, h.maxBody))
		return
	}

	creds, ok := h.credentials(w, r, target)
	if !ok {
		return
	}
	h.forward(w, r, target, creds)
}

// isProxiedMethod reports whether the Handler forwards method.
func isProxiedMethod(method string) bool {
	for _, m := range proxiedMethods {
		if m == method {
			return true
		}
	}
	return false
}

// allowed reports whether some rule allows method on target.
func (h *Handler) allowed(method string, target *url.URL) bool {
	segs := pathSegments(target)
	for i := range h.rules {
		if h.rules[i].match(method, target, segs) {
			return true
		}
	}
	return false
}

// reject answers a request the proxy refuses, logging it at info level.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, status int, errType, msg string) {
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "falproxy: request refused",
		slog.String("method", r.Method), slog.Int("status", status), slog.String("reason", msg))
	writeError(w, status, errType, msg)
}

// unauthorized answers a request the Authorize hook refused.
func (h *Handler) unauthorized(w http.ResponseWriter, r *http.Request, target *url.URL, err error) {
	status, msg := http.StatusUnauthorized, "not authorized to use this fal proxy"
	var ae *AuthError
	if errors.As(err, &ae) {
		status = ae.status()
		if ae.Message != "" {
			msg = ae.Message
		}
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "falproxy: caller not authorized",
		slog.String("method", r.Method), slog.String("target", redactedTarget(target)),
		slog.Int("status", status), slog.String("error", err.Error()))
	writeError(w, status, errTypeUnauthorized, msg)
}

// credentials asks the provider for the upstream credentials. When there
// are none it answers the request itself (nothing is sent upstream) and
// reports false.
func (h *Handler) credentials(w http.ResponseWriter, r *http.Request, target *url.URL) (fal.Credentials, bool) {
	ctx := r.Context()
	creds, err := h.creds.Credentials(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		return creds, false // the caller went away; nobody to answer
	case errors.Is(err, fal.ErrMissingCredentials):
		h.log.LogAttrs(ctx, slog.LevelError, "falproxy: no fal credentials; refusing to forward",
			slog.String("target", redactedTarget(target)), slog.String("error", err.Error()))
		writeError(w, http.StatusInternalServerError, errTypeNoCredentials,
			"the fal proxy has no fal credentials: set FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET) in the server's environment, or configure falproxy.WithCredentials; see the server log")
		return creds, false
	case err != nil:
		h.log.LogAttrs(ctx, slog.LevelError, "falproxy: cannot get fal credentials; refusing to forward",
			slog.String("target", redactedTarget(target)), slog.String("error", err.Error()))
		writeError(w, http.StatusServiceUnavailable, errTypeCredentials,
			"the fal proxy could not get its fal credentials; see the server log")
		return creds, false
	case creds.Token == "" || creds.Scheme == "":
		h.log.LogAttrs(ctx, slog.LevelError, "falproxy: the credentials provider returned empty credentials; refusing to forward",
			slog.String("target", redactedTarget(target)))
		writeError(w, http.StatusInternalServerError, errTypeNoCredentials,
			"the fal proxy has no fal credentials (its provider returned an empty key); see the server log")
		return creds, false
	case !validHeaderValue(creds.Scheme + " " + creds.Token):
		h.log.LogAttrs(ctx, slog.LevelError, "falproxy: the credentials contain control characters; refusing to forward",
			slog.String("target", redactedTarget(target)))
		writeError(w, http.StatusInternalServerError, errTypeNoCredentials,
			"the fal proxy's fal credentials are malformed; see the server log")
		return creds, false
	}
	return creds, true
}

// upstreamURL is where a request for target goes: target itself, or its
// path and query under the host's WithUpstream base.
func (h *Handler) upstreamURL(target *url.URL) *url.URL {
	base, ok := h.upstreams[target.Host]
	if !ok {
		u := *target
		u.Fragment, u.RawFragment = "", ""
		return &u
	}
	u := *base
	u.Path = base.Path + target.Path
	if target.RawPath != "" {
		u.RawPath = base.EscapedPath() + target.EscapedPath()
	}
	u.RawQuery = target.RawQuery
	u.ForceQuery = false
	return &u
}

// forward sends the request upstream and streams the answer back.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, target *url.URL, creds fal.Credentials) {
	ctx := r.Context()
	up := h.upstreamURL(target)
	var body *limitedBody
	out, err := http.NewRequestWithContext(ctx, r.Method, up.String(), nil)
	if err != nil {
		// The URL was parsed and rebuilt from parsed parts, so this is a bug.
		h.reject(w, r, http.StatusBadRequest, errTypeBadTarget, "the target URL cannot be requested: "+err.Error())
		return
	}
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		rc := r.Body
		if h.maxBody > 0 {
			rc = http.MaxBytesReader(w, rc, h.maxBody)
		}
		body = &limitedBody{rc: rc}
		out.Body = body
		out.ContentLength = r.ContentLength // -1: streamed chunked, as it arrives
	}
	out.Header = requestHeaders(r.Header)
	out.Header.Set("Authorization", creds.Scheme+" "+creds.Token)

	resp, err := h.transport.RoundTrip(out)
	if err != nil {
		switch {
		case body != nil && body.tooLarge.Load():
			h.reject(w, r, http.StatusRequestEntityTooLarge, errTypeTooLarge, fmt.Sprintf("the request body is larger than the %d bytes this fal proxy accepts", h.maxBody))
		case ctx.Err() != nil:
			h.log.LogAttrs(ctx, slog.LevelDebug, "falproxy: caller went away before fal answered",
				slog.String("method", r.Method), slog.String("target", redactedTarget(target)))
		default:
			h.log.LogAttrs(ctx, slog.LevelWarn, "falproxy: upstream request failed",
				slog.String("method", r.Method), slog.String("target", redactedTarget(target)), slog.String("error", scrubURLError(err)))
			writeError(w, http.StatusBadGateway, errTypeUpstream, fmt.Sprintf("the fal proxy could not reach %s; see the server log", target.Host))
		}
		return
	}
	defer resp.Body.Close()
	if body != nil && body.tooLarge.Load() {
		// fal answered before the whole body arrived; whatever it said was
		// about a truncated request.
		h.reject(w, r, http.StatusRequestEntityTooLarge, errTypeTooLarge, fmt.Sprintf("the request body is larger than the %d bytes this fal proxy accepts", h.maxBody))
		return
	}
	if isRedirect(resp) {
		loc := resp.Header.Get("Location")
		locHost := "(unparsable)"
		if u, err := target.Parse(loc); err == nil {
			locHost = u.Host
		}
		h.log.LogAttrs(ctx, slog.LevelWarn, "falproxy: fal answered with a redirect, which the proxy does not follow",
			slog.String("method", r.Method), slog.String("target", redactedTarget(target)),
			slog.Int("status", resp.StatusCode), slog.String("location_host", locHost))
		writeError(w, http.StatusBadGateway, errTypeRedirect,
			fmt.Sprintf("fal answered %d with a redirect; the fal proxy does not follow redirects (they could take its credentials elsewhere)", resp.StatusCode))
		return
	}
	h.log.LogAttrs(ctx, slog.LevelDebug, "falproxy: forwarded",
		slog.String("method", r.Method), slog.String("target", redactedTarget(target)), slog.Int("status", resp.StatusCode))
	h.copyResponse(w, r, resp)
}

// copyResponse writes the upstream answer to w: status, filtered headers
// and the body, streamed as it arrives.
func (h *Handler) copyResponse(w http.ResponseWriter, r *http.Request, resp *http.Response) {
	copyResponseHeaders(w.Header(), resp.Header)
	streaming := resp.ContentLength < 0 || isEventStream(resp.Header)
	if isEventStream(resp.Header) {
		// SSE must not be held back by a buffering reverse proxy (nginx)
		// in front of this server.
		w.Header().Set("X-Accel-Buffering", "no")
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	if streaming {
		// Send the status now: the first event may be a long way off.
		_ = rc.Flush()
	}
	if r.Method == http.MethodHead {
		return
	}
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the caller went away; the deferred Close ends the upstream request
			}
			if streaming {
				if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
					return
				}
			}
		}
		if rerr == io.EOF {
			return
		}
		if rerr != nil {
			if r.Context().Err() != nil {
				return
			}
			h.log.LogAttrs(r.Context(), slog.LevelWarn, "falproxy: fal's answer broke off; aborting the response so the caller sees an error",
				slog.String("method", r.Method), slog.String("error", scrubURLError(rerr)))
			// The status is sent: aborting the connection is the only way to
			// tell the caller the body is incomplete (as httputil.ReverseProxy
			// does); net/http recovers this panic without logging it.
			panic(http.ErrAbortHandler)
		}
	}
}

// isRedirect reports whether resp is a redirect the browser would follow.
func isRedirect(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	case http.StatusMultipleChoices:
		return resp.Header.Get("Location") != ""
	}
	return false
}

// isEventStream reports whether h declares a server-sent event stream.
func isEventStream(h http.Header) bool {
	ct := strings.ToLower(strings.TrimSpace(h.Get("Content-Type")))
	return ct == "text/event-stream" || strings.HasPrefix(ct, "text/event-stream;")
}

// limitedBody wraps the request body (behind http.MaxBytesReader) and
// records whether reading it crossed the size limit: the transport may
// report that only as a generic write error.
type limitedBody struct {
	rc       io.ReadCloser
	tooLarge atomic.Bool
}

// Read reads from the body, noting a *http.MaxBytesError.
func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	var mbe *http.MaxBytesError
	if err != nil && errors.As(err, &mbe) {
		b.tooLarge.Store(true)
	}
	return n, err
}

// Close closes the body.
func (b *limitedBody) Close() error { return b.rc.Close() }

// scrubURLError is err's text without the request URL's query, which may
// hold a webhook URL with secrets of its own: a *url.Error names the URL.
func scrubURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			return fmt.Sprintf("%s %s: %v", ue.Op, redactedTarget(u), ue.Err)
		}
		return fmt.Sprintf("%s: %v", ue.Op, ue.Err)
	}
	return err.Error()
}
