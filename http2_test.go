package fal_test

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// h2cClient is a client of srv with WithHTTP2Cleartext whose debug log
// goes to logs.
func h2cClient(t *testing.T, srv *faltest.Server, logs *syncBuffer) *fal.Client {
	t.Helper()
	t.Cleanup(fal.CloseCleartextIdle)
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return srv.Client(fal.WithHTTP2Cleartext(), fal.WithLogger(logger))
}

// TestHTTP2Cleartext checks that WithHTTP2Cleartext sends a sync run, a
// submit, the status stream and the result over HTTP/2 to a plain-http
// host, and that without it the client speaks HTTP/1.1.
func TestHTTP2Cleartext(t *testing.T) {
	srv := faltest.NewServer()
	t.Cleanup(srv.Close)
	var logs syncBuffer
	c := h2cClient(t, srv, &logs)
	ctx := bg(t)
	if _, err := c.Run(ctx, "falgo/echo", map[string]any{"x": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, "falgo/echo", map[string]any{"x": 2}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) < 3 {
		t.Fatalf("want a debug line per exchange, got:\n%s", logs.String())
	}
	for _, l := range lines {
		if strings.Contains(l, `msg="fal: http"`) && !strings.Contains(l, "proto=HTTP/2.0") {
			t.Errorf("an exchange did not use HTTP/2: %s", l)
		}
	}
	var plain syncBuffer
	p := srv.Client(fal.WithLogger(slog.New(slog.NewTextHandler(&plain, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if _, err := p.Run(ctx, "falgo/echo", map[string]any{"x": 3}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plain.String(), "proto=HTTP/1.1") {
		t.Errorf("without WithHTTP2Cleartext the run should use HTTP/1.1; log:\n%s", plain.String())
	}
}

// TestHTTP2CleartextRefusesHTTPClient checks that WithHTTP2Cleartext,
// which uses falgo's own transport, is refused with WithHTTPClient, on a
// client and on one call.
func TestHTTP2CleartextRefusesHTTPClient(t *testing.T) {
	hc := &http.Client{}
	if _, err := fal.NewClient(fal.WithKey("k"), fal.WithHTTPClient(hc), fal.WithHTTP2Cleartext()); err == nil || !strings.Contains(err.Error(), "WithHTTPClient") {
		t.Errorf("NewClient: err = %v, want the combination refused", err)
	}
	c, err := fal.NewClient(fal.WithKey("k"), fal.WithHTTPClient(hc), fal.WithRunHost("http://127.0.0.1:9/run"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(bg(t), "falgo/echo", nil, fal.WithHTTP2Cleartext()); err == nil || !strings.Contains(err.Error(), "WithHTTPClient") {
		t.Errorf("Run: err = %v, want the combination refused", err)
	}
}

// TestLogsTransportWithoutHTTP2 checks that a transport that net/http
// keeps on HTTP/1.1 for TLS hosts (a TLSClientConfig or a dialer of its
// own, without ForceAttemptHTTP2) is logged, and that one that allows
// HTTP/2 is not.
func TestLogsTransportWithoutHTTP2(t *testing.T) {
	h2 := new(http.Protocols)
	h2.SetHTTP1(true)
	h2.SetHTTP2(true)
	for _, tc := range []struct {
		name   string
		tr     *http.Transport
		logged bool
	}{
		{"custom TLS config", &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}, true},
		{"custom dialer", &http.Transport{DialContext: (&net.Dialer{}).DialContext}, true},
		{"empty TLSNextProto", &http.Transport{TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}, true},
		{"ForceAttemptHTTP2", &http.Transport{TLSClientConfig: &tls.Config{}, ForceAttemptHTTP2: true}, false},
		{"Protocols with HTTP2", &http.Transport{TLSClientConfig: &tls.Config{}, Protocols: h2}, false},
		{"plain transport", &http.Transport{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			if _, err := fal.NewClient(fal.WithKey("k"), fal.WithLogger(logger), fal.WithHTTPClient(&http.Client{Transport: tc.tr})); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(logs.String(), "HTTP/1.1 only"); got != tc.logged {
				t.Errorf("logged = %v, want %v; log:\n%s", got, tc.logged, logs.String())
			}
		})
	}
}
