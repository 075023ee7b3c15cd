package webhook_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falgo/fal/webhook"
)

// t0 is the fake clock's starting time in tests that use one.
var t0 = time.Unix(1_760_000_000, 0)

// signer signs deliveries the way fal does, with its own key.
type signer struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

// newSigner returns a signer whose key is derived from seed, so runs are
// reproducible.
func newSigner(seed byte) *signer {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	priv := ed25519.NewKeyFromSeed(s)
	return &signer{priv: priv, pub: priv.Public().(ed25519.PublicKey)}
}

// sign returns the headers of a delivery of body for requestID, signed at
// time ts.
func (s *signer) sign(requestID, userID string, ts time.Time, body []byte) http.Header {
	tsText := strconv.FormatInt(ts.Unix(), 10)
	sum := sha256.Sum256(body)
	msg := requestID + "\n" + userID + "\n" + tsText + "\n" + hex.EncodeToString(sum[:])
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(webhook.HeaderRequestID, requestID)
	h.Set(webhook.HeaderUserID, userID)
	h.Set(webhook.HeaderTimestamp, tsText)
	h.Set(webhook.HeaderSignature, hex.EncodeToString(ed25519.Sign(s.priv, []byte(msg))))
	return h
}

// okBody is a successful delivery body for request id.
func okBody(id string) []byte {
	return []byte(`{"request_id":"` + id + `","gateway_request_id":"` + id + `","status":"OK","payload":{"n":1}}`)
}

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// jwksServer is a loopback key-set server whose keys and health the test
// controls, counting the fetches it answers.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	keys    []ed25519.PublicKey
	status  int    // answer with this status instead, when not 0
	raw     string // answer with this body instead, when not ""
	gate    chan struct{}
}

func newJWKSServer(t *testing.T, keys ...ed25519.PublicKey) *jwksServer {
	t.Helper()
	js := &jwksServer{keys: keys}
	js.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		js.fetches.Add(1)
		js.mu.Lock()
		keys, status, raw, gate := js.keys, js.status, js.raw, js.gate
		js.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if status != 0 {
			http.Error(w, "unavailable", status)
			return
		}
		if raw != "" {
			_, _ = w.Write([]byte(raw))
			return
		}
		type jwk struct {
			Kty string `json:"kty"`
			Crv string `json:"crv"`
			X   string `json:"x"`
		}
		doc := struct {
			Keys []jwk `json:"keys"`
		}{Keys: []jwk{}}
		for _, k := range keys {
			doc.Keys = append(doc.Keys, jwk{"OKP", "Ed25519", base64.RawURLEncoding.EncodeToString(k)})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(js.Close)
	return js
}

func (js *jwksServer) setKeys(keys ...ed25519.PublicKey) {
	js.mu.Lock()
	js.keys = keys
	js.mu.Unlock()
}

func (js *jwksServer) setStatus(code int) {
	js.mu.Lock()
	js.status = code
	js.mu.Unlock()
}

func (js *jwksServer) setRaw(body string) {
	js.mu.Lock()
	js.raw = body
	js.mu.Unlock()
}

// setGate makes fetches wait until gate is closed.
func (js *jwksServer) setGate(gate chan struct{}) {
	js.mu.Lock()
	js.gate = gate
	js.mu.Unlock()
}

func (js *jwksServer) jwksURL() string { return js.URL + "/.well-known/jwks.json" }

// newVerifier builds a Verifier or fails the test.
func newVerifier(t *testing.T, opts ...webhook.Option) *webhook.Verifier {
	t.Helper()
	v, err := webhook.NewVerifier(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantErr fails the test unless err wraps target.
func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

// verify calls v.Verify with a background context.
func verify(v *webhook.Verifier, h http.Header, body []byte) error {
	return v.Verify(context.Background(), h, body)
}
