package fal

import (
	"context"
	"net/http"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
)

// WithHTTP2Cleartext makes the client speak HTTP/2 without TLS (h2c, with
// prior knowledge) to plain-http hosts, such as `falgo local` and faltest,
// which serve HTTP/2 cleartext and HTTP/1.1 on the same port. Many waits
// (Subscribes, status streams) then share a few connections, as they do
// with fal's own hosts, which speak HTTP/2 over TLS: the client negotiates
// it there on its own, with or without this option.
//
// It is not automatic for loopback hosts because a plain-http server that
// speaks only HTTP/1.1 (a proxy, a mock) cannot answer prior-knowledge
// HTTP/2 at all. It uses falgo's own transport, so it cannot be combined
// with WithHTTPClient: for a transport of your own, set its Protocols
// (SetUnencryptedHTTP2) instead. Realtime websockets keep HTTP/1.1.
func WithHTTP2Cleartext() Option {
	return clientOption(func(e *engine.Config) error {
		e.Cleartext = cleartextHTTPClient
		return nil
	})
}

// cleartextHTTPClient sends HTTP/2 without TLS to plain-http hosts, and
// HTTP/2 over TLS (it speaks only HTTP/2) should a redirect lead to https.
var cleartextHTTPClient = &http.Client{Transport: newCleartextTransport()}

func newCleartextTransport() *http.Transport {
	t := newTransport()
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	p.SetHTTP2(true)
	t.Protocols = p
	return t
}

// prepare checks the combination of options and prepares e.
func prepare(e *engine.Config) error {
	if e.Cleartext != nil && e.HTTPClient != defaultHTTPClient {
		return falerr.New("WithHTTP2Cleartext uses falgo's own transport and cannot be combined with WithHTTPClient; set Protocols.SetUnencryptedHTTP2(true) on your transport instead")
	}
	return e.Prepare()
}

// logHTTP1Only logs, at debug level, that a caller's transport will speak
// HTTP/1.1 to fal's TLS hosts without saying so: net/http does not offer
// HTTP/2 on a Transport with a TLSClientConfig, a dialer or a TLS dialer of
// its own unless ForceAttemptHTTP2 is set or Protocols says otherwise.
// Over HTTP/1.1 every wait holds a connection of its own.
func logHTTP1Only(e *engine.Config) {
	if e.Logger == nil || e.HTTPClient == nil {
		return
	}
	if t, ok := e.HTTPClient.Transport.(*http.Transport); ok && http1Only(t) {
		e.Debug(context.Background(), "fal: the HTTP client's transport has a TLSClientConfig or dialer of its own and neither ForceAttemptHTTP2 nor Protocols: net/http speaks HTTP/1.1 only to fal's hosts, one connection per request in flight; set ForceAttemptHTTP2 (or Protocols) for HTTP/2")
	}
}

// http1Only reports whether net/http will refuse to negotiate HTTP/2 over
// TLS on t (see Transport.Protocols in net/http).
func http1Only(t *http.Transport) bool {
	switch {
	case t.Protocols != nil:
		return !t.Protocols.HTTP2()
	case t.TLSNextProto != nil:
		return t.TLSNextProto["h2"] == nil
	case t.ForceAttemptHTTP2:
		return false
	}
	return t.TLSClientConfig != nil || t.Dial != nil || t.DialContext != nil || t.DialTLS != nil || t.DialTLSContext != nil
}
