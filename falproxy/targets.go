package falproxy

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The default allowlist, one pattern per route the JavaScript client sends
// through a proxy (see DefaultTargets and the package documentation for the
// pattern syntax).
const (
	// TargetRun covers synchronous runs, output streams (POST
	// https://fal.run/<app>/stream) and GET-method apps.
	TargetRun = "fal.run/**"
	// TargetQueue covers queue submit, status, status stream, result and
	// cancel.
	TargetQueue = "queue.fal.run/**"
	// TargetUploadInitiate is the single-upload initiation of
	// fal.storage.upload (files up to 90 MiB).
	TargetUploadInitiate = "POST rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3"
	// TargetUploadInitiateMultipart is the multipart-upload initiation of
	// fal.storage.upload (files above 90 MiB). @fal-ai/server-proxy leaves it
	// out of its defaults, so large uploads fail through it.
	TargetUploadInitiateMultipart = "POST rest.fal.ai/storage/upload/initiate-multipart?storage_type=fal-cdn-v3"
	// TargetUploadCompleteMultipart is the REST multipart completion that
	// @fal-ai/server-proxy allows; @fal-ai/client 1.10 completes multipart
	// uploads on the signed upload URL instead, but older and newer clients
	// may call it.
	TargetUploadCompleteMultipart = "POST rest.fal.ai/storage/upload/complete-multipart?storage_type=fal-cdn-v3"
	// TargetRealtimeTokens mints the short-lived tokens the JavaScript
	// client uses for realtime websockets and client-mode streams. It is
	// allowed by default (see WithoutRealtimeTokens).
	TargetRealtimeTokens = "POST rest.fal.ai/tokens/"
)

// DefaultTargets returns the allowlist a Handler uses unless WithTargets
// replaces it: every request the JavaScript client (@fal-ai/client 1.x)
// sends through a proxy, and nothing else.
func DefaultTargets() []string {
	return []string{
		TargetRun,
		TargetQueue,
		TargetUploadInitiate,
		TargetUploadInitiateMultipart,
		TargetUploadCompleteMultipart,
		TargetRealtimeTokens,
	}
}

// headerName is TargetURLHeader as the JavaScript client spells it, for
// error messages.
const headerName = "x-fal-target-url"

// maxTargetLen bounds the x-fal-target-url header a Handler parses.
const maxTargetLen = 16 << 10

// proxiedMethods are the methods a Handler forwards; others answer 405.
var proxiedMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost,
	http.MethodPut, http.MethodPatch, http.MethodDelete,
}

// rule is one parsed allowlist pattern.
type rule struct {
	pattern string     // as given, for error messages
	method  string     // "" matches every proxied method
	scheme  string     // "https", or "http" for a loopback host
	host    string     // lower case, with the port if the pattern has one
	segs    []string   // path segments; "*" is one segment, a last "**" any rest
	query   url.Values // nil: any query; otherwise exactly these parameters
}

// parseRule parses "[METHOD ][http://|https://]host[/path][?query]".
func parseRule(pattern string) (rule, error) {
	s := strings.TrimSpace(pattern)
	r := rule{pattern: s, scheme: "https"}
	if s == "" {
		return r, fmt.Errorf("empty target pattern")
	}
	if m, rest, ok := strings.Cut(s, " "); ok {
		if !slices.Contains(proxiedMethods, m) {
			return r, fmt.Errorf("target pattern %q: %q is not a method the proxy forwards (use one of %s, upper case, or no method for all)", pattern, m, strings.Join(proxiedMethods, ", "))
		}
		r.method, s = m, strings.TrimSpace(rest)
	}
	if rest, ok := strings.CutPrefix(s, "https://"); ok {
		s = rest
	} else if rest, ok := strings.CutPrefix(s, "http://"); ok {
		r.scheme, s = "http", rest
	} else if strings.Contains(s, "://") {
		return r, fmt.Errorf("target pattern %q: only https:// (the default) and http:// (loopback hosts only) are supported", pattern)
	}
	if strings.Contains(s, "#") {
		return r, fmt.Errorf("target pattern %q: a fragment (#) never reaches a server; remove it", pattern)
	}
	hostPath, query, hasQuery := strings.Cut(s, "?")
	host, p, _ := strings.Cut(hostPath, "/")
	host = strings.ToLower(host)
	if host == "" || strings.ContainsAny(host, "*@ \\%") {
		return r, fmt.Errorf("target pattern %q: the host must be spelled out exactly (no wildcards, user info or spaces), e.g. fal.run/**", pattern)
	}
	if _, port, err := net.SplitHostPort(host); err == nil && port == "" {
		return r, fmt.Errorf("target pattern %q: empty port", pattern)
	}
	if r.scheme == "http" && !isLoopback(hostname(host)) {
		return r, fmt.Errorf("target pattern %q: plain http is allowed only for loopback hosts (localhost, 127.0.0.1, ::1); fal's hosts use https", pattern)
	}
	r.host = host
	if p != "" {
		r.segs = strings.Split(p, "/")
	}
	for i, seg := range r.segs {
		switch {
		case seg == "**" && i != len(r.segs)-1:
			return r, fmt.Errorf("target pattern %q: ** may only be the last path segment", pattern)
		case strings.Contains(seg, "*") && seg != "*" && seg != "**":
			return r, fmt.Errorf("target pattern %q: * and ** must be whole path segments", pattern)
		case seg == "." || seg == "..":
			return r, fmt.Errorf("target pattern %q: . and .. path segments are not allowed", pattern)
		}
	}
	if hasQuery {
		if strings.Contains(query, "*") {
			return r, fmt.Errorf("target pattern %q: the query is matched exactly; wildcards are not supported there", pattern)
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return r, fmt.Errorf("target pattern %q: invalid query: %v", pattern, err)
		}
		r.query = q
	}
	return r, nil
}

// match reports whether a request with this method for target u (already
// checked by parseTarget) is allowed by r. segs are u's escaped path
// segments.
func (r *rule) match(method string, u *url.URL, segs []string) bool {
	if r.method != "" && r.method != method {
		return false
	}
	if r.scheme != u.Scheme || r.host != u.Host {
		return false
	}
	if !matchSegments(r.segs, segs) {
		return false
	}
	if r.query == nil {
		return true
	}
	q, err := url.ParseQuery(u.RawQuery)
	return err == nil && maps.EqualFunc(q, r.query, slices.Equal)
}

// matchSegments matches path segments against a pattern's: literal
// segments match exactly, "*" matches one non-empty segment and a last
// "**" matches whatever is left, including nothing.
func matchSegments(pattern, segs []string) bool {
	for i, p := range pattern {
		if p == "**" {
			return true
		}
		if i >= len(segs) {
			return false
		}
		if p == "*" {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if p != segs[i] {
			return false
		}
	}
	return len(segs) == len(pattern)
}

// pathSegments splits u's escaped path into segments; the root ("" or "/")
// has none.
func pathSegments(u *url.URL) []string {
	p := strings.TrimPrefix(u.EscapedPath(), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// parseTarget checks the x-fal-target-url value: an absolute https URL (or
// http for a host in httpHosts) without user info or fragment, whose path
// has no dot segments. The host is lower-cased. The error is for the caller.
func parseTarget(raw string, httpHosts map[string]bool) (*url.URL, error) {
	if len(raw) > maxTargetLen {
		return nil, fmt.Errorf("the %s header is %d bytes long, more than the %d this proxy accepts", headerName, len(raw), maxTargetLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("the %s header is not a valid URL; it must be an absolute https URL such as https://fal.run/fal-ai/flux/dev", headerName)
	}
	if !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("the %s header must be an absolute https URL such as https://fal.run/fal-ai/flux/dev", headerName)
	}
	u.Host = strings.ToLower(u.Host)
	switch u.Scheme {
	case "https":
	case "http":
		if !httpHosts[u.Host] {
			return nil, fmt.Errorf("the %s header must be an https URL: plain http is not allowed for %s", headerName, u.Host)
		}
	default:
		return nil, fmt.Errorf("the %s header must be an https URL, not %s:", headerName, u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("the %s header must not contain user information (user@host)", headerName)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Errorf("the %s header must not contain a fragment (#...)", headerName)
	}
	if strings.Contains(u.Path, `\`) {
		return nil, fmt.Errorf("the %s header's path must not contain a backslash", headerName)
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return nil, fmt.Errorf("the %s header's path must not contain . or .. segments", headerName)
		}
	}
	return u, nil
}

// hostname is host without its port.
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.Trim(host, "[]")
}

// isLoopback reports whether host is "localhost" or a loopback IP address.
// Other names are not resolved: a name may resolve elsewhere later.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactedTarget is u without its query, for logs and error messages: the
// query may carry a webhook URL with its own secrets.
func redactedTarget(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}
