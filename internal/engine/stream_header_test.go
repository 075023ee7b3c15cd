package engine

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
)

// TestStreamsShareTheirHeader checks that streams of one client that send
// the same header share one map (each open stream keeps its request for
// its life), and that none is shared when the client could change it: a
// cookie jar, or a RoundTripper of the caller's. Open also lets go of the
// answer's header, which net/http keeps with the response.
func TestStreamsShareTheirHeader(t *testing.T) {
	var got []*http.Request
	var answers []*http.Response
	record := func(next http.RoundTripper) roundTripFunc {
		return func(r *http.Request) (*http.Response, error) {
			got = append(got, r)
			res, err := next.RoundTrip(r)
			if res != nil {
				answers = append(answers, res)
			}
			return res, err
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Extra", "1")
	}))
	defer srv.Close()
	open := func(c *Config, accept string) *Stream {
		t.Helper()
		st, err := c.Open(context.Background(), &Request{Op: "stream", Method: http.MethodGet, URL: srv.URL + "/s", Accept: accept}, 0)
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		return st
	}
	mapOf := func(h http.Header) uintptr { return reflect.ValueOf(h).Pointer() }

	// Requests are recorded through the plain transport's own hook: the
	// client's transport stays an *http.Transport.
	plain := newConfig(t, srv)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	var sent []http.Header
	tr.Proxy = func(r *http.Request) (*url.URL, error) { sent = append(sent, r.Header); return nil, nil }
	plain.HTTPClient = &http.Client{Transport: tr}
	if err := plain.Prepare(); err != nil {
		t.Fatal(err)
	}
	st := open(plain, "text/event-stream")
	open(plain, "text/event-stream")
	open(plain, "application/x-other")
	if len(sent) != 3 || mapOf(sent[0]) != mapOf(sent[1]) || mapOf(sent[0]) == mapOf(sent[2]) {
		t.Fatalf("plain transport: headers %v; want the first two shared, the third its own", sent)
	}
	if st.Header.Get("X-Extra") != "1" {
		t.Fatalf("the stream lost its header: %v", st.Header)
	}

	for name, hc := range map[string]*http.Client{
		"jar":          {Transport: tr, Jar: mustJar(t)},
		"roundtripper": {Transport: record(tr)},
	} {
		c := newConfig(t, srv)
		c.HTTPClient = hc
		if err := c.Prepare(); err != nil {
			t.Fatal(err)
		}
		got, sent = nil, nil
		open(c, "text/event-stream")
		open(c, "text/event-stream")
		if len(sent) != 2 || mapOf(sent[0]) == mapOf(sent[1]) {
			t.Fatalf("%s: the two streams shared a header the client may change", name)
		}
	}
	if len(answers) == 0 {
		t.Fatal("no answer recorded")
	}
	for _, res := range answers {
		if res.Header != nil {
			t.Fatalf("the response kept its header: %v", res.Header)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func mustJar(t *testing.T) http.CookieJar {
	j, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
