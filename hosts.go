package fal

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// Default hosts of the fal service.
const (
	DefaultRunHost  = "fal.run"
	DefaultRestHost = "rest.fal.ai"
	DefaultCDNHost  = "v3.fal.media"
)

// hosts are the base URLs of fal's four services, without a trailing slash.
type hosts struct {
	run, queue, rest, cdn *url.URL
	queueExplicit         bool
}

// parseHost accepts a bare host[:port] (reached over https, like the Python
// client) or an absolute http(s) URL with an optional path prefix.
func parseHost(opt, v string) (*url.URL, error) {
	s := strings.TrimSpace(v)
	if s == "" {
		return nil, fmt.Errorf("fal: %s: empty host", opt)
	}
	if !strings.Contains(s, "://") {
		if strings.ContainsAny(s, "/?#@ ") {
			return nil, fmt.Errorf("fal: %s: %q is neither a host[:port] nor a URL with a scheme (e.g. http://127.0.0.1:8080/run)", opt, v)
		}
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("fal: %s: %q is not a valid host or URL: %v", opt, v, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("fal: %s: unsupported scheme %q in %q; use http or https", opt, u.Scheme, v)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("fal: %s: %q must be scheme://host[:port][/path] with no user, query or fragment", opt, v)
	}
	if _, port, err := net.SplitHostPort(u.Host); err == nil && port == "" {
		return nil, fmt.Errorf("fal: %s: %q has an empty port", opt, v)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// queueFromRun derives the default queue host: queue.<run host>, keeping the
// scheme, port and path. An IP address or localhost has no subdomains: the
// queue is then assumed to be served by the same host.
func queueFromRun(run *url.URL) *url.URL {
	q := *run
	if h := run.Hostname(); h != "localhost" && net.ParseIP(h) == nil {
		q.Host = "queue." + run.Host
	}
	return &q
}

// defaultHosts reads FAL_RUN_HOST, FAL_QUEUE_RUN_HOST, FAL_REST_HOST and
// FAL_CDN_HOST. An invalid value is an error naming the variable.
func defaultHosts() (hosts, error) {
	var h hosts
	// get parses the variable env, or def when env is unset or blank.
	get := func(env, def string) (*url.URL, error) {
		v := os.Getenv(env)
		if strings.TrimSpace(v) == "" {
			return parseHost(env, def)
		}
		u, err := parseHost(env, v)
		if err != nil {
			return nil, fmt.Errorf("%w (from the environment variable %s)", err, env)
		}
		return u, nil
	}
	var err error
	if h.run, err = get("FAL_RUN_HOST", DefaultRunHost); err != nil {
		return h, err
	}
	if strings.TrimSpace(os.Getenv("FAL_QUEUE_RUN_HOST")) == "" {
		h.queue = queueFromRun(h.run)
	} else if h.queue, err = get("FAL_QUEUE_RUN_HOST", ""); err != nil {
		return h, err
	} else {
		h.queueExplicit = true
	}
	if h.rest, err = get("FAL_REST_HOST", DefaultRestHost); err != nil {
		return h, err
	}
	if h.cdn, err = get("FAL_CDN_HOST", DefaultCDNHost); err != nil {
		return h, err
	}
	return h, nil
}

// owns reports whether u is served by one of the client's fal hosts
// (same scheme and host). Credentials are sent only to such URLs.
func (h hosts) owns(u *url.URL) bool {
	for _, b := range []*url.URL{h.run, h.queue, h.rest, h.cdn} {
		if b != nil && strings.EqualFold(b.Scheme, u.Scheme) && strings.EqualFold(b.Host, u.Host) {
			return true
		}
	}
	return false
}

// ownsURL is owns for a URL string, without parsing it: the URL must start
// with the scheme and host of one of the client's hosts, followed by a
// path, a query or nothing.
func (h hosts) ownsURL(raw string) bool {
	for _, b := range []*url.URL{h.run, h.queue, h.rest, h.cdn} {
		if b == nil {
			continue
		}
		origin := len(b.Scheme) + len("://") + len(b.Host)
		if len(raw) < origin || !strings.EqualFold(raw[:len(b.Scheme)], b.Scheme) ||
			raw[len(b.Scheme):len(b.Scheme)+3] != "://" || !strings.EqualFold(raw[len(b.Scheme)+3:origin], b.Host) {
			continue
		}
		if len(raw) == origin || raw[origin] == '/' || raw[origin] == '?' {
			return true
		}
	}
	return false
}

// join builds base + "/" + the given path segments (already validated).
func join(base *url.URL, parts ...string) string {
	var b strings.Builder
	b.WriteString(base.String())
	for _, p := range parts {
		p = strings.Trim(p, "/")
		if p == "" {
			continue
		}
		b.WriteByte('/')
		b.WriteString(p)
	}
	return b.String()
}
