package falproxy

import (
	"net/http"
	"strings"

	fal "github.com/falgo/fal"
)

// forwardedRequestHeaders are the headers, besides X-Fal-*, that reach fal
// from the caller. Everything else stays with the proxy: in particular the
// caller's Authorization and Cookie headers, which belong to your app.
// Accept-Encoding is passed on so a compressed answer reaches the caller as
// it is, with its Content-Encoding.
var forwardedRequestHeaders = []string{"Accept", "Accept-Encoding", "Content-Type", "User-Agent"}

// hopByHopHeaders describe one connection, not the message (RFC 9110 §7.6.1).
var hopByHopHeaders = map[string]bool{
	"Connection":          true,
	"Proxy-Connection":    true,
	"Keep-Alive":          true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
}

// falOriginHeaders are response headers about fal's origin that must not be
// applied to yours: fal's cookies, its CORS policy, HSTS and alternative
// services. (Access-Control-* is handled by prefix.)
var falOriginHeaders = map[string]bool{
	"Set-Cookie":                true,
	"Set-Cookie2":               true,
	"Strict-Transport-Security": true,
	"Alt-Svc":                   true,
	"Public-Key-Pins":           true,
}

// connectionTokens returns the header names listed in h's Connection
// header, canonicalized: they are hop-by-hop too.
func connectionTokens(h http.Header) map[string]bool {
	var m map[string]bool
	for _, v := range h.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				if m == nil {
					m = make(map[string]bool)
				}
				m[http.CanonicalHeaderKey(tok)] = true
			}
		}
	}
	return m
}

// requestHeaders builds the upstream request's headers from the caller's:
// X-Fal-* (but not the target header), Accept, Accept-Encoding,
// Content-Type and User-Agent, plus X-Fal-Client-Proxy. Authorization is
// set by the caller of this function.
func requestHeaders(in http.Header) http.Header {
	out := make(http.Header, 8)
	conn := connectionTokens(in)
	for k, vv := range in {
		ck := http.CanonicalHeaderKey(k)
		if conn[ck] || hopByHopHeaders[ck] || ck == TargetURLHeader {
			continue
		}
		if strings.HasPrefix(ck, "X-Fal-") || isForwardedRequestHeader(ck) {
			out[ck] = append([]string(nil), vv...)
		}
	}
	out.Set(ClientProxyHeader, "falgo/"+fal.Version)
	if out.Get("User-Agent") == "" {
		out.Set("User-Agent", "falgo/"+fal.Version+" (falproxy)")
	}
	return out
}

// isForwardedRequestHeader reports whether a canonical header name is one
// of forwardedRequestHeaders.
func isForwardedRequestHeader(canonical string) bool {
	for _, h := range forwardedRequestHeaders {
		if h == canonical {
			return true
		}
	}
	return false
}

// copyResponseHeaders copies fal's response headers to dst, leaving out
// hop-by-hop headers and those about fal's origin (falOriginHeaders,
// Access-Control-*).
func copyResponseHeaders(dst, src http.Header) {
	conn := connectionTokens(src)
	for k, vv := range src {
		ck := http.CanonicalHeaderKey(k)
		if conn[ck] || hopByHopHeaders[ck] || falOriginHeaders[ck] || strings.HasPrefix(ck, "Access-Control-") {
			continue
		}
		dst[ck] = append([]string(nil), vv...)
	}
}
