package faltest_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
	"go.uber.org/goleak"
)

// delivery is one webhook POST as received.
type delivery struct {
	header http.Header
	body   []byte
}

// webhookReceiver is a loopback server recording deliveries; its first
// failFirst attempts answer 500.
func webhookReceiver(t *testing.T, failFirst int32) (*httptest.Server, chan delivery) {
	t.Helper()
	got := make(chan delivery, 10)
	var n atomic.Int32
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if n.Add(1) <= failFirst {
			w.WriteHeader(500)
			return
		}
		got <- delivery{header: r.Header.Clone(), body: b}
	}))
	t.Cleanup(rs.Close)
	return rs, got
}

// verifyWithJWKS checks a delivery's signature the way a receiver would:
// against the keys published at the server's JWKS URL.
func verifyWithJWKS(t *testing.T, srv *faltest.Server, d delivery) {
	t.Helper()
	r := call(t, srv, "GET", srv.JWKSURL(), "", noKey)
	if r.code != 200 {
		t.Fatalf("JWKS: %d %s", r.code, r.body)
	}
	var jwks struct {
		Keys []struct{ Kty, Crv, X, Kid string }
	}
	if err := json.Unmarshal(r.body, &jwks); err != nil || len(jwks.Keys) == 0 {
		t.Fatalf("JWKS %s: %v", r.body, err)
	}
	sig, err := hex.DecodeString(d.header.Get("X-Fal-Webhook-Signature"))
	if err != nil {
		t.Fatalf("signature is not hex: %v", err)
	}
	ts, err := strconv.ParseInt(d.header.Get("X-Fal-Webhook-Timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		t.Fatalf("timestamp %q", d.header.Get("X-Fal-Webhook-Timestamp"))
	}
	sum := sha256.Sum256(d.body)
	msg := d.header.Get("X-Fal-Webhook-Request-Id") + "\n" + d.header.Get("X-Fal-Webhook-User-Id") + "\n" +
		d.header.Get("X-Fal-Webhook-Timestamp") + "\n" + hex.EncodeToString(sum[:])
	for _, k := range jwks.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Kid == "" {
			t.Fatalf("key %+v", k)
		}
		pub, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			t.Fatalf("key x %q: %v", k.X, err)
		}
		if ed25519.Verify(pub, []byte(msg), sig) {
			if !ed25519.PublicKey(pub).Equal(srv.WebhookPublicKey()) {
				t.Fatal("JWKS key differs from WebhookPublicKey")
			}
			// A tampered body must not verify.
			bad := sha256.Sum256(append(d.body, ' '))
			badMsg := msg[:len(msg)-64] + hex.EncodeToString(bad[:])
			if ed25519.Verify(pub, []byte(badMsg), sig) {
				t.Fatal("the signature also verifies a different body")
			}
			return
		}
	}
	t.Fatal("the signature verifies against no JWKS key")
}

func TestWebhookDelivered(t *testing.T) {
	srv := newServer(t)
	rs, got := webhookReceiver(t, 0)
	hook := rs.URL + "/hook?a=b c"
	sub := submit(t, srv, "falgo/echo?fal_webhook="+url.QueryEscape(hook), `{"v":1}`)
	d := recv(t, got, "the webhook")
	var p struct {
		RequestID        string          `json:"request_id"`
		GatewayRequestID string          `json:"gateway_request_id"`
		Status           string          `json:"status"`
		Payload          json.RawMessage `json:"payload"`
		Error            *string         `json:"error"`
	}
	if err := json.Unmarshal(d.body, &p); err != nil {
		t.Fatal(err)
	}
	id := sub["request_id"].(string)
	if p.RequestID != id || p.GatewayRequestID != id || p.Status != "OK" || string(p.Payload) != `{"v":1}` || p.Error != nil {
		t.Fatalf("delivery %s", d.body)
	}
	if d.header.Get("X-Fal-Webhook-Request-Id") != id || d.header.Get("X-Fal-Webhook-User-Id") != faltest.WebhookUserID || d.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", d.header)
	}
	verifyWithJWKS(t, srv, d)
	// The receiver has the body before the server has read its answer and
	// counted the delivery: wait for the server's own count.
	waitFor(t, "the delivery to be counted", func() bool { return srv.Stats().WebhooksDelivered >= 1 })
	if st := srv.Stats(); st.WebhooksDelivered != 1 || st.WebhookAttempts != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestWebhookErrorAndRetry(t *testing.T) {
	srv := newServer(t, faltest.WithWebhookRetries(3, time.Millisecond))
	rs, got := webhookReceiver(t, 2)
	submit(t, srv, "falgo/echo?fal_webhook="+url.QueryEscape(rs.URL), `{"_error":{"status":422,"detail":"bad"}}`)
	d := recv(t, got, "the webhook after two failed attempts")
	var p struct {
		Status  string          `json:"status"`
		Error   string          `json:"error"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(d.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != "ERROR" || p.Error != "Invalid status code: 422" || string(p.Payload) != `{"detail":"bad"}` {
		t.Fatalf("delivery %s", d.body)
	}
	verifyWithJWKS(t, srv, d)
	waitFor(t, "stats", func() bool { return srv.Stats().WebhooksDelivered == 1 })
	if st := srv.Stats(); st.WebhookAttempts != 3 {
		t.Fatalf("attempts %d, want 3", st.WebhookAttempts)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	srv := newServer(t, faltest.WithWebhookRetries(1, time.Millisecond))
	rs, _ := webhookReceiver(t, 100)
	submit(t, srv, "falgo/echo?fal_webhook="+url.QueryEscape(rs.URL), `{}`)
	waitFor(t, "two attempts", func() bool { return srv.Stats().WebhookAttempts == 2 })
	time.Sleep(20 * time.Millisecond)
	if st := srv.Stats(); st.WebhookAttempts != 2 || st.WebhooksDelivered != 0 {
		t.Fatalf("stats %+v, want 2 attempts and no delivery", st)
	}
}

func TestWebhookCancelledJob(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("t/one", g.handler, faltest.Concurrency(1)))
	rs, got := webhookReceiver(t, 0)
	submit(t, srv, "t/one", `{}`)
	recv(t, g.started, "blocker")
	sub := submit(t, srv, "t/one?fal_webhook="+url.QueryEscape(rs.URL), `{}`)
	if r := call(t, srv, "PUT", sub["cancel_url"].(string), ""); r.code != 200 {
		t.Fatalf("cancel: %d", r.code)
	}
	d := recv(t, got, "the webhook of the cancelled job")
	if !json.Valid(d.body) || !contains(d.body, `"status":"ERROR"`) || !contains(d.body, "Request was cancelled") {
		t.Fatalf("delivery %s", d.body)
	}
	g.release <- struct{}{}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

func TestWebhookBadURL(t *testing.T) {
	srv := newServer(t)
	for _, hook := range []string{"ftp://example.com/x", "not a url", "/relative", "http://"} {
		r := call(t, srv, "POST", "/queue/falgo/echo?fal_webhook="+url.QueryEscape(hook), `{}`)
		if r.code != 422 {
			t.Fatalf("webhook %q: %d %s", hook, r.code, r.body)
		}
	}
	if n := srv.Executions("falgo/echo"); n != 0 {
		t.Fatalf("rejected submits ran the app %d times", n)
	}
}

func TestWebhookStopsOnClose(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	rs, _ := webhookReceiver(t, 1000)
	srv := faltest.NewServer(faltest.WithWebhookRetries(5, time.Hour))
	submit(t, srv, "falgo/echo?fal_webhook="+url.QueryEscape(rs.URL), `{}`)
	waitFor(t, "the first attempt", func() bool { return srv.Stats().WebhookAttempts == 1 })
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	recv(t, done, "Close to return while a delivery waits to retry")
	if n := srv.Stats().WebhookAttempts; n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
	testClient.CloseIdleConnections()
	rs.Close()
}
