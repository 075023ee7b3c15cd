package faltest_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// protoClient is an HTTP client that speaks only HTTP/1.1, or only HTTP/2
// without TLS (prior knowledge), to plain-http servers.
func protoClient(t *testing.T, h2c bool) *http.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	p := new(http.Protocols)
	if h2c {
		p.SetUnencryptedHTTP2(true)
	} else {
		p.SetHTTP1(true)
	}
	tr.Protocols = p
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// TestServerSpeaksH2CAndHTTP1 checks that one listener answers HTTP/2
// cleartext with prior knowledge (as the fal client with
// WithHTTP2Cleartext sends it) and HTTP/1.1, on a sync run and a submit.
func TestServerSpeaksH2CAndHTTP1(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for _, tc := range []struct {
		name  string
		h2c   bool
		major int
	}{{"h2c", true, 2}, {"http1", false, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			hc := protoClient(t, tc.h2c)
			post := func(url, body string) (*http.Response, string) {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Key "+srv.Key)
				req.Header.Set("Content-Type", "application/json")
				res, err := hc.Do(req)
				if err != nil {
					t.Fatalf("POST %s: %v", url, err)
				}
				defer res.Body.Close()
				b, err := io.ReadAll(res.Body)
				if err != nil {
					t.Fatal(err)
				}
				return res, string(b)
			}
			res, body := post(srv.URL+"/run/falgo/echo", `{"prompt":"over h2c"}`)
			if res.StatusCode != http.StatusOK || !strings.Contains(body, "over h2c") {
				t.Fatalf("run: HTTP %d %s", res.StatusCode, body)
			}
			if res.ProtoMajor != tc.major {
				t.Errorf("run answered over %s, want HTTP/%d", res.Proto, tc.major)
			}
			res, body = post(srv.URL+"/queue/falgo/echo", `{"x":1}`)
			if res.StatusCode != http.StatusOK || res.ProtoMajor != tc.major {
				t.Fatalf("submit: HTTP %d over %s: %s", res.StatusCode, res.Proto, body)
			}
		})
	}
}
