package engine

import (
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
)

// streamHeaders is the header map the streams of a client share. A stream
// keeps its request, header map included, for as long as it is open (for
// a status stream, the whole job), and the streams of one client send the
// same header: thousands of waits in flight need one map, not one each.
type streamHeaders struct{ last atomic.Pointer[http.Header] }

// share returns a header equal to h that earlier streams already share,
// or makes h the one to share. It returns h itself when the HTTP client
// could change a request's header after it was built: with a cookie jar
// (http.Client adds the cookies to it), or through a RoundTripper other
// than *http.Transport (one of the caller's, which may not follow the
// rule that a RoundTripper leaves the request alone).
func (s *streamHeaders) share(hc *http.Client, h http.Header) http.Header {
	if s == nil || hc.Jar != nil || !plainTransport(hc.Transport) {
		return h
	}
	if old := s.last.Load(); old != nil && maps.EqualFunc(*old, h, slices.Equal[[]string]) {
		return *old
	}
	s.last.Store(&h)
	return h
}

// plainTransport reports whether rt is net/http's own transport.
func plainTransport(rt http.RoundTripper) bool {
	if rt == nil {
		rt = http.DefaultTransport
	}
	_, ok := rt.(*http.Transport)
	return ok
}
