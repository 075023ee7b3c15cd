package engine

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/falgo/fal/internal/falerr"
)

// Default hosts of the fal service.
const (
	DefaultRunHost  = "fal.run"
	DefaultRestHost = "rest.fal.ai"
	DefaultCDNHost  = "v3.fal.media"
	DefaultAPIHost  = "api.fal.ai"
)

// Hosts are the base URLs of fal's services, without a trailing slash.
// Credentials go only to URLs on these hosts (Owns).
type Hosts struct {
	Run, Queue, Rest, CDN *url.URL
	API                   *url.URL // the Platform API (its paths start with /v1)
	queueExplicit         bool     // Queue was set, rather than derived from Run
}

// ParseHost accepts a bare host[:port] (reached over https, like the Python
// client) or an absolute http(s) URL with an optional path prefix. opt
// names the setting in errors.
func ParseHost(opt, v string) (*url.URL, error) {
	s := strings.TrimSpace(v)
	if s == "" {
		return nil, falerr.New("%s: empty host", opt)
	}
	if !strings.Contains(s, "://") {
		if strings.ContainsAny(s, "/?#@ ") {
			return nil, falerr.New("%s: %q is neither a host[:port] nor a URL with a scheme (e.g. http://127.0.0.1:8080/run)", opt, v)
		}
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, falerr.Wrap(err, "%s: %q is not a valid host or URL", opt, v)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, falerr.New("%s: unsupported scheme %q in %q; use http or https", opt, u.Scheme, v)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, falerr.New("%s: %q must be scheme://host[:port][/path] with no user, query or fragment", opt, v)
	}
	if _, port, err := net.SplitHostPort(u.Host); err == nil && port == "" {
		return nil, falerr.New("%s: %q has an empty port", opt, v)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// SetRun sets the run host; unless the queue host was set explicitly, the
// queue follows it (see QueueFromRun).
func (h *Hosts) SetRun(u *url.URL) {
	h.Run = u
	if !h.queueExplicit {
		h.Queue = QueueFromRun(u)
	}
}

// SetQueue sets the queue host explicitly.
func (h *Hosts) SetQueue(u *url.URL) {
	h.Queue = u
	h.queueExplicit = true
}

// QueueFromRun derives the default queue host: queue.<run host>, keeping the
// scheme, port and path. An IP address or localhost has no subdomains: the
// queue is then assumed to be served by the same host.
func QueueFromRun(run *url.URL) *url.URL {
	q := *run
	if h := run.Hostname(); h != "localhost" && net.ParseIP(h) == nil {
		q.Host = "queue." + run.Host
	}
	return &q
}

// HostsFromEnv reads FAL_RUN_HOST, FAL_QUEUE_RUN_HOST, FAL_REST_HOST,
// FAL_CDN_HOST and FAL_API_HOST, with fal's defaults for those unset or blank. An invalid
// value is an error naming the variable.
func HostsFromEnv() (Hosts, error) {
	var h Hosts
	get := func(env, def string) (*url.URL, error) {
		v := os.Getenv(env)
		if strings.TrimSpace(v) == "" {
			return ParseHost(env, def)
		}
		u, err := ParseHost(env, v)
		if err != nil {
			return nil, falerr.Wrap(err, "the environment variable %s", env)
		}
		return u, nil
	}
	run, err := get("FAL_RUN_HOST", DefaultRunHost)
	if err != nil {
		return h, err
	}
	h.SetRun(run)
	if strings.TrimSpace(os.Getenv("FAL_QUEUE_RUN_HOST")) != "" {
		q, err := get("FAL_QUEUE_RUN_HOST", "")
		if err != nil {
			return h, err
		}
		h.SetQueue(q)
	}
	if h.Rest, err = get("FAL_REST_HOST", DefaultRestHost); err != nil {
		return h, err
	}
	if h.CDN, err = get("FAL_CDN_HOST", DefaultCDNHost); err != nil {
		return h, err
	}
	if h.API, err = get("FAL_API_HOST", DefaultAPIHost); err != nil {
		return h, err
	}
	return h, nil
}

// all lists the hosts with their names, for checks and messages.
func (h Hosts) all() []struct {
	name string
	u    *url.URL
} {
	return []struct {
		name string
		u    *url.URL
	}{{"run", h.Run}, {"queue", h.Queue}, {"REST", h.Rest}, {"CDN", h.CDN}, {"API", h.API}}
}

// Validate refuses plain http to hosts that are not this machine unless
// allowHTTP: the key would cross the network in the clear.
func (h Hosts) Validate(allowHTTP bool) error {
	if allowHTTP {
		return nil
	}
	for _, e := range h.all() {
		if e.u != nil && e.u.Scheme == "http" && !IsLoopback(e.u.Hostname()) {
			return falerr.New("the %s host %s uses plain http to a host that is not this machine: the API key would travel unencrypted; use https, or WithInsecureHTTP() if you really mean it", e.name, e.u)
		}
	}
	return nil
}

// Owns reports whether u is served by one of the hosts (same scheme and
// host). Credentials are sent only to such URLs.
func (h Hosts) Owns(u *url.URL) bool {
	for _, e := range h.all() {
		if e.u != nil && strings.EqualFold(e.u.Scheme, u.Scheme) && strings.EqualFold(e.u.Host, u.Host) {
			return true
		}
	}
	return false
}

// OwnsURL is Owns for a URL string, without parsing it: the URL must start
// with the scheme and host of one of the hosts, followed by a path, a
// query or nothing.
func (h Hosts) OwnsURL(raw string) bool {
	for _, e := range h.all() {
		if e.u != nil && sameOrigin(raw, e.u) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether raw starts with b's scheme://host followed by
// a path, a query or nothing.
func sameOrigin(raw string, b *url.URL) bool {
	n := len(b.Scheme)
	origin := n + len("://") + len(b.Host)
	if len(raw) < origin || !strings.EqualFold(raw[:n], b.Scheme) || raw[n:n+3] != "://" || !strings.EqualFold(raw[n+3:origin], b.Host) {
		return false
	}
	return len(raw) == origin || raw[origin] == '/' || raw[origin] == '?'
}

// Under reports whether raw lies below base (same origin, and a path under
// base's path with no ".." segment).
func Under(raw string, base *url.URL) bool {
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
		return false
	}
	return strings.HasPrefix(u.Path, base.Path+"/") && !strings.Contains(u.Path, "/../") && !strings.HasSuffix(u.Path, "/..")
}

// Join builds base + "/" + the given path segments (already validated).
func Join(base *url.URL, parts ...string) string {
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

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String lists the hosts, for descriptions of a client.
func (h Hosts) String() string {
	return fmt.Sprintf("run: %s, queue: %s, rest: %s, cdn: %s, api: %s", h.Run, h.Queue, h.Rest, h.CDN, h.API)
}
