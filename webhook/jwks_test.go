package webhook_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falgo/fal/webhook"
)

// fetchingVerifier verifies against js's key set on clk.
func fetchingVerifier(t *testing.T, js *jwksServer, clk *fakeClock, opts ...webhook.Option) *webhook.Verifier {
	t.Helper()
	return newVerifier(t, append([]webhook.Option{webhook.WithJWKSURL(js.jwksURL()), webhook.WithClock(clk.Now)}, opts...)...)
}

func TestJWKSFetchedOnceAndCached(t *testing.T) {
	s, clk := newSigner(1), newClock()
	js := newJWKSServer(t, s.pub)
	v := fetchingVerifier(t, js, clk)
	if n := js.fetches.Load(); n != 0 {
		t.Fatalf("NewVerifier fetched the key set (%d fetches)", n)
	}
	body := okBody("req")
	for i := 0; i < 20; i++ {
		if err := verify(v, s.sign("req-"+strconv.Itoa(i), "u", clk.Now(), body), body); err != nil {
			t.Fatal(err)
		}
	}
	if n := js.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for 20 deliveries, want 1", n)
	}
	// After the cache TTL (24 h by default) the set is fetched again.
	clk.Advance(24*time.Hour + time.Second)
	if err := verify(v, s.sign("req-late", "u", clk.Now(), body), body); err != nil {
		t.Fatal(err)
	}
	if n := js.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after the TTL, want 2", n)
	}
}

func TestJWKSConcurrentColdStartFetchesOnce(t *testing.T) {
	s, clk := newSigner(1), newClock()
	js := newJWKSServer(t, s.pub)
	v := fetchingVerifier(t, js, clk)
	body := okBody("req")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- verify(v, s.sign("req-"+strconv.Itoa(i), "u", clk.Now(), body), body)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := js.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

func TestJWKSKeyRotation(t *testing.T) {
	oldKey, newKey, clk := newSigner(1), newSigner(2), newClock()
	js := newJWKSServer(t, oldKey.pub)
	v := fetchingVerifier(t, js, clk)
	body := okBody("req")
	if err := verify(v, oldKey.sign("req-1", "u", clk.Now(), body), body); err != nil {
		t.Fatal(err)
	}
	js.setKeys(newKey.pub)

	// Within a minute of the last fetch, a delivery with the unknown key is
	// refused without fetching.
	clk.Advance(30 * time.Second)
	wantErr(t, verify(v, newKey.sign("req-2", "u", clk.Now(), body), body), webhook.ErrBadSignature)
	if n := js.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
	// A minute after it, the unknown key makes the Verifier fetch again,
	// find the new key and accept the delivery.
	clk.Advance(31 * time.Second)
	if err := verify(v, newKey.sign("req-3", "u", clk.Now(), body), body); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if n := js.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// The retired key no longer verifies.
	wantErr(t, verify(v, oldKey.sign("req-4", "u", clk.Now(), body), body), webhook.ErrBadSignature)
}

func TestJWKSForgedTrafficDoesNotStorm(t *testing.T) {
	s, forger, clk := newSigner(1), newSigner(9), newClock()
	js := newJWKSServer(t, s.pub)
	v := fetchingVerifier(t, js, clk)
	body := okBody("req")
	forge := func(n int) {
		for i := 0; i < n; i++ {
			wantErr(t, verify(v, forger.sign("f-"+strconv.Itoa(i), "u", clk.Now(), body), body), webhook.ErrBadSignature)
		}
	}
	forge(100)
	if n := js.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for 100 forged deliveries, want 1", n)
	}
	clk.Advance(time.Minute)
	forge(100)
	if n := js.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches a minute later, want 2", n)
	}
	// A shorter refetch interval allows more frequent refreshes.
	v = fetchingVerifier(t, js, clk, webhook.WithRefetchInterval(time.Second))
	forge(1)
	clk.Advance(time.Second)
	forge(1)
	if n := js.fetches.Load(); n != 4 {
		t.Fatalf("%d fetches, want 4", n)
	}
}

func TestJWKSDown(t *testing.T) {
	s, clk := newSigner(1), newClock()
	body := okBody("req")
	h := s.sign("req-1", "u", clk.Now(), body)

	// Nothing listening: take a free loopback port and close it.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/.well-known/jwks.json"
	dead.Close()
	v := newVerifier(t, webhook.WithJWKSURL(deadURL), webhook.WithClock(clk.Now))
	err := verify(v, h, body)
	wantErr(t, err, webhook.ErrJWKSUnavailable)
	if errors.Is(err, webhook.ErrBadSignature) {
		t.Fatalf("an unreachable key set is reported as a bad signature: %v", err)
	}
	if !strings.Contains(err.Error(), "fetching the key set") {
		t.Errorf("unclear error: %v", err)
	}

	for _, c := range []struct {
		name   string
		status int
		raw    string
		want   string
	}{
		{"HTTP 500", http.StatusInternalServerError, "", "HTTP 500"},
		{"HTTP 404", http.StatusNotFound, "", "HTTP 404"},
		{"not JSON", 0, "<html>maintenance</html>", "not a JSON Web Key Set"},
		{"no keys", 0, `{"keys":[]}`, "no Ed25519 signing key"},
		{"only RSA keys", 0, `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`, "no Ed25519 signing key"},
		{"bad x", 0, `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"!!"}]}`, "no Ed25519 signing key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			js := newJWKSServer(t, s.pub)
			js.setStatus(c.status)
			js.setRaw(c.raw)
			clk := newClock()
			v := fetchingVerifier(t, js, clk)
			h := s.sign("req-1", "u", clk.Now(), body)
			err := verify(v, h, body)
			wantErr(t, err, webhook.ErrJWKSUnavailable)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			// A failed fetch is not retried on every delivery...
			for i := 0; i < 10; i++ {
				wantErr(t, verify(v, h, body), webhook.ErrJWKSUnavailable)
			}
			if n := js.fetches.Load(); n != 1 {
				t.Fatalf("%d fetches while down, want 1", n)
			}
			// ...but is once the refetch interval has passed.
			js.setStatus(0)
			js.setRaw("")
			clk.Advance(time.Minute)
			if err := verify(v, s.sign("req-2", "u", clk.Now(), body), body); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
			if n := js.fetches.Load(); n != 2 {
				t.Fatalf("%d fetches, want 2", n)
			}
		})
	}
}

func TestJWKSFailedRefreshKeepsOldKeys(t *testing.T) {
	s, clk := newSigner(1), newClock()
	js := newJWKSServer(t, s.pub)
	v := fetchingVerifier(t, js, clk, webhook.WithJWKSCacheTTL(time.Hour))
	body := okBody("req")
	if err := verify(v, s.sign("req-1", "u", clk.Now(), body), body); err != nil {
		t.Fatal(err)
	}
	js.setStatus(http.StatusServiceUnavailable)
	clk.Advance(2 * time.Hour)
	if err := verify(v, s.sign("req-2", "u", clk.Now(), body), body); err != nil {
		t.Fatalf("with the key server down and an expired cache: %v", err)
	}
	if n := js.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// An unknown signature now says both what failed and why it could not
	// be ruled out.
	clk.Advance(time.Minute)
	err := verify(v, newSigner(2).sign("req-3", "u", clk.Now(), body), body)
	wantErr(t, err, webhook.ErrBadSignature)
	wantErr(t, err, webhook.ErrJWKSUnavailable)
	if !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("unclear error: %v", err)
	}
}

func TestJWKSCallerGivesUpWithoutFailingTheFetch(t *testing.T) {
	s, clk := newSigner(1), newClock()
	js := newJWKSServer(t, s.pub)
	gate := make(chan struct{})
	js.setGate(gate)
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // runs before the server's Close, which waits for the handler
	v := fetchingVerifier(t, js, clk)
	body := okBody("req")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Verify(ctx, s.sign("req-1", "u", clk.Now(), body), body) }()
	for deadline := time.Now().Add(30 * time.Second); js.fetches.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the key set was not fetched within 30 s")
		}
		time.Sleep(time.Millisecond) // wait until the fetch has reached the server
	}
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Verify did not return after its context was cancelled")
	}
	wantErr(t, err, context.Canceled)
	wantErr(t, err, webhook.ErrJWKSUnavailable)

	// The fetch goes on in the background; the next delivery joins it and
	// succeeds without a second fetch.
	release()
	if err := verify(v, s.sign("req-2", "u", clk.Now(), body), body); err != nil {
		t.Fatal(err)
	}
	if n := js.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

func TestJWKSUsesGivenHTTPClient(t *testing.T) {
	s, clk := newSigner(1), newClock()
	js := newJWKSServer(t, s.pub)
	var seen []string
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Accept"))
		return http.DefaultTransport.RoundTrip(r)
	})}
	v := fetchingVerifier(t, js, clk, webhook.WithHTTPClient(client))
	body := okBody("req")
	if err := verify(v, s.sign("req-1", "u", clk.Now(), body), body); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "GET /.well-known/jwks.json application/json" {
		t.Fatalf("the client saw %q", seen)
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestParseJWKS(t *testing.T) {
	a, b := newSigner(1).pub, newSigner(2).pub
	x := func(k ed25519.PublicKey) string { return base64.RawURLEncoding.EncodeToString(k) }
	doc := `{"keys":[
		{"kty":"RSA","n":"AQAB","e":"AQAB"},
		{"kty":"OKP","crv":"X25519","x":"` + x(a) + `"},
		{"kty":"OKP","crv":"Ed25519","x":"` + x(a) + `","use":"enc"},
		{"kty":"OKP","crv":"Ed25519","x":"` + x(a) + `","alg":"RS256"},
		{"kty":"OKP","crv":"Ed25519","x":"AAAA"},
		{"kty":"OKP","crv":"Ed25519","x":"` + x(a) + `","kid":"k1","alg":"EdDSA","use":"sig"},
		{"kty":"OKP","crv":"Ed25519","x":"` + base64.URLEncoding.EncodeToString(b) + `"}
	]}`
	keys, err := webhook.ParseJWKS([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || !keys[0].Equal(a) || !keys[1].Equal(b) {
		t.Fatalf("got %d keys %x", len(keys), keys)
	}
	for _, bad := range []string{"", "null", "[]", `{"keys":{}}`, `{"keys":[]}`, `{"keys":[{"kty":"RSA"}]}`} {
		if keys, err := webhook.ParseJWKS([]byte(bad)); err == nil {
			t.Errorf("%q: got %d keys, want an error", bad, len(keys))
		}
	}
}
