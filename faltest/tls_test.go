package faltest_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// tlsClient is an HTTP client that trusts srv's certificate.
func tlsClient(t *testing.T, srv *faltest.Server) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CertPEM) {
		t.Fatalf("CertPEM is not a PEM certificate: %q", srv.CertPEM)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	tr.ForceAttemptHTTP2 = true
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// post sends body to url with the server's key and decodes the JSON answer.
func post(t *testing.T, hc *http.Client, srv *faltest.Server, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Key "+srv.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d %q", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// The bare hosts of WithTLS serve fal.run's and queue.fal.run's paths at
// their root, over HTTPS, as a client that builds https://{host}/{app}
// calls them; every URL the server hands out is HTTPS under Server.URL.
func TestTLSBareHostsServeRunAndQueue(t *testing.T) {
	srv := faltest.NewServer(faltest.WithTLS())
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") || srv.RunHost == "" || srv.QueueHost == "" || srv.RunHost == srv.QueueHost {
		t.Fatalf("URL %q, RunHost %q, QueueHost %q", srv.URL, srv.RunHost, srv.QueueHost)
	}
	hc := tlsClient(t, srv)

	code, out := post(t, hc, srv, http.MethodPost, "https://"+srv.RunHost+"/falgo/echo", `{"x": 1}`)
	if code != http.StatusOK || out["x"] != 1.0 {
		t.Fatalf("run on RunHost: %d %v", code, out)
	}
	code, out = post(t, hc, srv, http.MethodPost, "https://"+srv.QueueHost+"/falgo/echo", `{"y": 2}`)
	if code != http.StatusOK {
		t.Fatalf("submit on QueueHost: %d %v", code, out)
	}
	for _, k := range []string{"status_url", "response_url", "cancel_url"} {
		if u, _ := out[k].(string); !strings.HasPrefix(u, srv.URL+"/queue/") {
			t.Fatalf("%s = %q, want it under %s/queue/", k, u, srv.URL)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		code, st := post(t, hc, srv, http.MethodGet, out["status_url"].(string), "")
		if code != http.StatusOK && code != http.StatusAccepted {
			t.Fatalf("status: %d %v", code, st)
		}
		if st["status"] == "COMPLETED" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the job never completed: %v", st)
		case <-time.After(20 * time.Millisecond):
		}
	}
	code, res := post(t, hc, srv, http.MethodGet, out["response_url"].(string), "")
	if code != http.StatusOK || res["y"] != 2.0 {
		t.Fatalf("result: %d %v", code, res)
	}

	// An unknown prefix on a bare host is not the other host's route.
	if code, _ := post(t, hc, srv, http.MethodGet, "https://"+srv.RunHost+"/rest/.well-known/jwks.json", ""); code != http.StatusNotFound {
		t.Fatalf("RunHost served /rest: %d", code)
	}
}

// It is real TLS: a client that does not trust the certificate is refused,
// and plain HTTP gets no fal answer.
func TestTLSRefusesUntrustedClients(t *testing.T) {
	srv := faltest.NewServer(faltest.WithTLS())
	defer srv.Close()
	hc := &http.Client{Timeout: 10 * time.Second}
	_, err := hc.Get("https://" + srv.RunHost + "/falgo/echo")
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) {
		t.Fatalf("an untrusting client: err = %v, want x509.UnknownAuthorityError", err)
	}
	resp, err := hc.Post(strings.Replace(srv.URL, "https://", "http://", 1)+"/run/falgo/echo", "application/json", strings.NewReader(`{}`))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP was answered 200 on the TLS listener")
		}
	}
}

// Client and Env work as they are: the fal client from Client trusts the
// certificate, over HTTP/2 on the main listener and on the bare hosts, for
// runs, the queue, uploads and realtime; Env names the bare hosts.
func TestTLSClientAndEnv(t *testing.T) {
	srv := faltest.NewServer(faltest.WithTLS())
	defer srv.Close()
	env := strings.Join(srv.Env(), "\n")
	for _, want := range []string{"FAL_RUN_HOST=" + srv.RunHost + "\n", "FAL_QUEUE_RUN_HOST=" + srv.QueueHost + "\n", "FAL_REST_HOST=" + srv.URL + "/rest\n", "FAL_API_HOST=" + srv.URL + "/api"} {
		if !strings.Contains(env, want) {
			t.Fatalf("Env() lacks %q:\n%s", want, env)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := srv.Client()
	res, err := c.Subscribe(ctx, "falgo/echo", map[string]any{"hello": "tls"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(res.Data, []byte(`"tls"`)) {
		t.Fatalf("Subscribe: %s", res.Data)
	}
	if _, err := c.Run(ctx, "falgo/echo", map[string]any{"a": 1}); err != nil {
		t.Fatal(err)
	}
	url, err := c.Upload(ctx, strings.NewReader("some bytes"), fal.WithContentType("text/plain"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, srv.URL+"/cdn/") {
		t.Fatalf("upload URL %q is not under %s/cdn/", url, srv.URL)
	}

	conn, err := c.Realtime(ctx, faltest.DemoRealtimeLCM)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Send(ctx, map[string]any{"prompt": "a lighthouse", "seed": 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Recv(ctx); err != nil {
		t.Fatalf("realtime over TLS: %v", err)
	}
}
