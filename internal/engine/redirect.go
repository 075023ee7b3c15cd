package engine

import (
	"fmt"
	"net/http"
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
		case first.Method != http.MethodGet && first.Method != http.MethodHead:
			return &redirectRefused{fmt.Sprintf("refusing to follow a redirect of a %s request (to %s): its body would be re-sent or dropped", first.Method, RedactURL(req.URL.String()))}
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
