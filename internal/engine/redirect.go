package engine

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// maxRedirects bounds the redirects one request follows.
const maxRedirects = 10

// safeClient wraps base with falgo's redirect policy for hosts:
//   - a request that carries a body (run, submit, uploads) is never
//     redirected: its body would be re-sent, or a POST silently turned
//     into a GET whose answer is taken as the result;
//   - a request to one of the client's hosts (credentials attached) is
//     redirected only within those hosts: an answer from elsewhere is not
//     fal's;
//   - any other request (downloads, signed URLs) may be redirected
//     anywhere, but never from https to http;
//   - credentials and the Referer (which may carry a query such as
//     fal_webhook) are removed when a redirect leaves the client's hosts.
//
// A CheckRedirect of base still runs after these rules.
func safeClient(base *http.Client, hosts Hosts) *http.Client {
	hc := *base
	user := base.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first := via[0]
		switch {
		case len(via) >= maxRedirects:
			return &redirectRefused{fmt.Sprintf("stopped after %d redirects", maxRedirects)}
		case !redirectable(first.Method):
			return methodRedirectRefused(first.Method, req.URL)
		case first.URL.Scheme == "https" && req.URL.Scheme != "https":
			return &redirectRefused{"refusing a redirect from https to " + req.URL.Scheme}
		}
		if !hosts.Owns(req.URL) {
			if hosts.Owns(first.URL) {
				return &redirectRefused{fmt.Sprintf("refusing a redirect from fal's %s to %s, which is not one of the client's hosts", first.URL.Host, req.URL.Host)}
			}
			req.Header.Del("Authorization")
			req.Header.Del("Referer")
		}
		if user != nil {
			return user(req, via)
		}
		return nil
	}
	return &hc
}

// redirectRefused is a redirect the policy did not follow: final, since
// another attempt would be redirected the same way.
type redirectRefused struct{ why string }

func (e *redirectRefused) Error() string { return e.why }

// redirectable reports whether the policy may follow a redirect of a
// request with method: only GET and HEAD carry no body to re-send.
func redirectable(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}

// methodRedirectRefused is the policy's refusal of a redirect of a
// request with a body.
func methodRedirectRefused(method string, to *url.URL) error {
	return &redirectRefused{fmt.Sprintf("refusing to follow a redirect of a %s request (to %s): its body would be re-sent or dropped", method, RedactURL(to.String()))}
}

// do sends hr through hc, a client from clientFor, with falgo's redirect
// policy. A request the policy never
// redirects (any method but GET and HEAD) goes straight to the transport
// when the client adds nothing else to it (no cookie jar, no timeout, no
// user info in the URL): http.Client copies the headers and the URL of
// every request it might redirect, a tenth of a sync Run's allocations.
// A redirect answer to such a request is refused here as http.Client
// would refuse it through the policy: with the same error, body closed.
func do(hc *http.Client, hr *http.Request) (*http.Response, error) {
	if redirectable(hr.Method) || hc.Jar != nil || hc.Timeout != 0 || hr.URL.User != nil {
		return hc.Do(hr)
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	res, err := rt.RoundTrip(hr)
	if err != nil {
		if res != nil && res.Body != nil {
			res.Body.Close()
		}
		return nil, err
	}
	if res == nil {
		return nil, errors.New("http: RoundTripper returned a nil *Response with a nil error")
	}
	if res.Body == nil {
		res.Body = http.NoBody
	}
	if loc := res.Header.Get("Location"); loc != "" && followsRedirect(res.StatusCode, hr) {
		res.Body.Close()
		to, perr := hr.URL.Parse(loc)
		if perr != nil {
			return nil, fmt.Errorf("failed to parse Location header %q: %w", RedactURL(loc), perr)
		}
		return nil, methodRedirectRefused(hr.Method, to)
	}
	return res, nil
}

// followsRedirect reports whether http.Client would try to follow an
// answer with status code to hr (and so ask the policy): 301, 302 and
// 303 always; 307 and 308 only when the body can be sent again.
func followsRedirect(code int, hr *http.Request) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		return true
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return hr.GetBody != nil || hr.Body == nil || hr.Body == http.NoBody
	}
	return false
}
