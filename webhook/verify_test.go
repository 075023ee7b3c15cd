package webhook_test

import (
	"crypto/ed25519"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal/webhook"
)

// staticVerifier verifies with s's key on a fake clock.
func staticVerifier(t *testing.T, s *signer, clk *fakeClock, opts ...webhook.Option) *webhook.Verifier {
	t.Helper()
	return newVerifier(t, append([]webhook.Option{webhook.WithPublicKeys(s.pub), webhook.WithClock(clk.Now)}, opts...)...)
}

func TestVerifyAcceptsSignedDelivery(t *testing.T) {
	s, clk := newSigner(1), newClock()
	v := staticVerifier(t, s, clk)
	body := okBody("req-1")
	if err := verify(v, s.sign("req-1", "user-1", clk.Now(), body), body); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRejectsForgeries(t *testing.T) {
	s, clk := newSigner(1), newClock()
	body := okBody("req-1")
	good := s.sign("req-1", "user-1", clk.Now(), body)
	cases := []struct {
		name   string
		header func(h http.Header)
		body   []byte
	}{
		{"body changed", nil, []byte(strings.Replace(string(body), `"n":1`, `"n":2`, 1))},
		{"body extended", nil, append(append([]byte(nil), body...), ' ')},
		{"signature changed", func(h http.Header) {
			sig := []byte(h.Get(webhook.HeaderSignature))
			sig[10] = map[bool]byte{true: 'a', false: 'b'}[sig[10] != 'a']
			h.Set(webhook.HeaderSignature, string(sig))
		}, body},
		{"another request id", func(h http.Header) { h.Set(webhook.HeaderRequestID, "req-2") }, body},
		{"another user id", func(h http.Header) { h.Set(webhook.HeaderUserID, "user-2") }, body},
		{"another timestamp", func(h http.Header) {
			h.Set(webhook.HeaderTimestamp, strconv.FormatInt(clk.Now().Unix()+1, 10))
		}, body},
		{"signed by another key", func(h http.Header) {
			other := newSigner(2).sign("req-1", "user-1", clk.Now(), body)
			h.Set(webhook.HeaderSignature, other.Get(webhook.HeaderSignature))
		}, body},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := staticVerifier(t, s, clk)
			h := good.Clone()
			if c.header != nil {
				c.header(h)
			}
			wantErr(t, verify(v, h, c.body), webhook.ErrBadSignature)
			// The untouched delivery still verifies on the same Verifier.
			if err := verify(v, good, body); err != nil {
				t.Fatalf("the genuine delivery: %v", err)
			}
		})
	}
}

func TestVerifyTimestampWindow(t *testing.T) {
	s, clk := newSigner(1), newClock()
	body := okBody("req-1")
	for _, c := range []struct {
		offset time.Duration
		ok     bool
	}{
		{-10 * time.Minute, false},
		{-301 * time.Second, false},
		{-300 * time.Second, true},
		{0, true},
		{300 * time.Second, true},
		{301 * time.Second, false},
		{10 * time.Minute, false},
	} {
		v := staticVerifier(t, s, clk)
		err := verify(v, s.sign("req-1", "user-1", clk.Now().Add(c.offset), body), body)
		if c.ok && err != nil {
			t.Errorf("offset %v: %v", c.offset, err)
		}
		if !c.ok {
			if !errors.Is(err, webhook.ErrStaleTimestamp) {
				t.Errorf("offset %v: got %v, want ErrStaleTimestamp", c.offset, err)
			} else if !strings.Contains(err.Error(), "tolerance is 300 s") {
				t.Errorf("offset %v: the error does not state the tolerance: %v", c.offset, err)
			}
		}
	}
	// A wider tolerance accepts the 10-minute-old delivery.
	v := staticVerifier(t, s, clk, webhook.WithTolerance(15*time.Minute))
	if err := verify(v, s.sign("req-1", "user-1", clk.Now().Add(-10*time.Minute), body), body); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyMissingHeaders(t *testing.T) {
	s, clk := newSigner(1), newClock()
	body := okBody("req-1")
	for _, name := range []string{webhook.HeaderRequestID, webhook.HeaderUserID, webhook.HeaderTimestamp, webhook.HeaderSignature} {
		for _, empty := range []bool{false, true} {
			h := s.sign("req-1", "user-1", clk.Now(), body)
			if empty {
				h.Set(name, "")
			} else {
				h.Del(name)
			}
			err := verify(staticVerifier(t, s, clk), h, body)
			wantErr(t, err, webhook.ErrMissingHeader)
			if !strings.Contains(err.Error(), name) {
				t.Errorf("the error does not name %s: %v", name, err)
			}
		}
	}
	wantErr(t, verify(staticVerifier(t, s, clk), nil, body), webhook.ErrMissingHeader)
}

func TestVerifyGarbageHeaders(t *testing.T) {
	s, clk := newSigner(1), newClock()
	body := okBody("req-1")
	good := s.sign("req-1", "user-1", clk.Now(), body)
	sig := good.Get(webhook.HeaderSignature)
	cases := []struct {
		name, header, value string
		want                error
	}{
		{"signature not hex", webhook.HeaderSignature, strings.Repeat("zz", 64), webhook.ErrMalformedHeader},
		{"signature short", webhook.HeaderSignature, sig[:126], webhook.ErrMalformedHeader},
		{"signature odd length", webhook.HeaderSignature, sig[:127], webhook.ErrMalformedHeader},
		{"signature long", webhook.HeaderSignature, sig + "00", webhook.ErrMalformedHeader},
		{"signature huge", webhook.HeaderSignature, strings.Repeat("a", 1<<16), webhook.ErrMalformedHeader},
		{"signature zero", webhook.HeaderSignature, strings.Repeat("0", 128), webhook.ErrBadSignature},
		{"timestamp words", webhook.HeaderTimestamp, "yesterday", webhook.ErrMalformedHeader},
		{"timestamp float", webhook.HeaderTimestamp, "1760000000.5", webhook.ErrMalformedHeader},
		{"timestamp milliseconds", webhook.HeaderTimestamp, "1760000000000", webhook.ErrStaleTimestamp},
		{"timestamp overflow", webhook.HeaderTimestamp, "99999999999999999999999", webhook.ErrMalformedHeader},
		{"timestamp max int64", webhook.HeaderTimestamp, "9223372036854775807", webhook.ErrStaleTimestamp},
		{"timestamp min int64", webhook.HeaderTimestamp, "-9223372036854775808", webhook.ErrStaleTimestamp},
		{"timestamp negative", webhook.HeaderTimestamp, "-1", webhook.ErrStaleTimestamp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := good.Clone()
			h.Set(c.header, c.value)
			err := verify(staticVerifier(t, s, clk), h, body)
			wantErr(t, err, c.want)
			if len(err.Error()) > 400 {
				t.Errorf("the error echoes too much of the input: %d bytes", len(err.Error()))
			}
		})
	}
	// Uppercase hex is still hex: the genuine signature in capitals verifies.
	h := good.Clone()
	h.Set(webhook.HeaderSignature, strings.ToUpper(sig))
	if err := verify(staticVerifier(t, s, clk), h, body); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyTriesEveryKey(t *testing.T) {
	s, clk := newSigner(1), newClock()
	others := []ed25519.PublicKey{newSigner(2).pub, newSigner(3).pub}
	v := newVerifier(t, webhook.WithPublicKeys(others[0], others[1], s.pub), webhook.WithClock(clk.Now))
	body := okBody("req-1")
	if err := verify(v, s.sign("req-1", "user-1", clk.Now(), body), body); err != nil {
		t.Fatal(err)
	}
	v = newVerifier(t, webhook.WithPublicKeys(others...), webhook.WithClock(clk.Now))
	wantErr(t, verify(v, s.sign("req-2", "user-1", clk.Now(), body), body), webhook.ErrBadSignature)
}

func TestVerifyUserIDs(t *testing.T) {
	s, clk := newSigner(1), newClock()
	v := staticVerifier(t, s, clk, webhook.WithUserIDs("me", "my-team"))
	body := okBody("req-1")
	for _, u := range []string{"me", "my-team"} {
		if err := verify(v, s.sign("req-"+u, u, clk.Now(), body), body); err != nil {
			t.Fatalf("user %s: %v", u, err)
		}
	}
	err := verify(v, s.sign("req-x", "someone-else", clk.Now(), body), body)
	wantErr(t, err, webhook.ErrUserNotAllowed)
	if !strings.Contains(err.Error(), "someone-else") {
		t.Errorf("the error does not name the user: %v", err)
	}
	// A forged delivery is a bad signature, whatever its user.
	h := s.sign("req-y", "someone-else", clk.Now(), body)
	wantErr(t, verify(v, h, append(body, ' ')), webhook.ErrBadSignature)
}

func TestVerifyReplay(t *testing.T) {
	s, clk := newSigner(1), newClock()
	v := staticVerifier(t, s, clk)
	body := okBody("req-1")
	h := s.sign("req-1", "user-1", clk.Now(), body)
	if err := verify(v, h, body); err != nil {
		t.Fatal(err)
	}
	wantErr(t, verify(v, h, body), webhook.ErrReplayed)
	// The same signature in capitals is the same delivery.
	up := h.Clone()
	up.Set(webhook.HeaderSignature, strings.ToUpper(h.Get(webhook.HeaderSignature)))
	wantErr(t, verify(v, up, body), webhook.ErrReplayed)
	// fal's retry of the same request is signed at a new time: accepted.
	clk.Advance(30 * time.Second)
	if err := verify(v, s.sign("req-1", "user-1", clk.Now(), body), body); err != nil {
		t.Fatalf("a re-signed retry: %v", err)
	}
	// Once out of the window, the old delivery is stale rather than a replay.
	clk.Advance(10 * time.Minute)
	wantErr(t, verify(v, h, body), webhook.ErrStaleTimestamp)
	// A forged delivery that failed verification does not count as seen.
	h2 := s.sign("req-2", "user-1", clk.Now(), body)
	wantErr(t, verify(v, h2, append(body, ' ')), webhook.ErrBadSignature)
	if err := verify(v, h2, body); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyReplayCacheOff(t *testing.T) {
	s, clk := newSigner(1), newClock()
	v := staticVerifier(t, s, clk, webhook.WithReplayCache(0))
	body := okBody("req-1")
	h := s.sign("req-1", "user-1", clk.Now(), body)
	for i := 0; i < 3; i++ {
		if err := verify(v, h, body); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
}

func TestVerifyReplayCacheBounded(t *testing.T) {
	s, clk := newSigner(1), newClock()
	v := staticVerifier(t, s, clk, webhook.WithReplayCache(2))
	body := okBody("req")
	var hs []http.Header
	for i := 0; i < 3; i++ {
		h := s.sign("req-"+strconv.Itoa(i), "user-1", clk.Now().Add(time.Duration(i)*time.Second), body)
		hs = append(hs, h)
		if err := verify(v, h, body); err != nil {
			t.Fatal(err)
		}
	}
	// Three deliveries in a cache of two: the one closest to expiry (the
	// first) was dropped, the other two are still remembered.
	if err := verify(v, hs[0], body); err != nil {
		t.Fatalf("the evicted delivery: %v", err)
	}
	wantErr(t, verify(v, hs[2], body), webhook.ErrReplayed)
}

func TestNewVerifierRejectsBadOptions(t *testing.T) {
	cases := map[string][]webhook.Option{
		"relative JWKS URL":  {webhook.WithJWKSURL("/jwks.json")},
		"ftp JWKS URL":       {webhook.WithJWKSURL("ftp://example.com/jwks.json")},
		"nil HTTP client":    {webhook.WithHTTPClient(nil)},
		"no keys":            {webhook.WithPublicKeys()},
		"short key":          {webhook.WithPublicKeys(make(ed25519.PublicKey, 31))},
		"private key":        {webhook.WithPublicKeys(ed25519.PublicKey(newSigner(1).priv))},
		"keys and URL":       {webhook.WithPublicKeys(newSigner(1).pub), webhook.WithJWKSURL("https://example.com/jwks.json")},
		"tolerance too low":  {webhook.WithTolerance(500 * time.Millisecond)},
		"zero TTL":           {webhook.WithJWKSCacheTTL(0)},
		"negative refetch":   {webhook.WithRefetchInterval(-time.Second)},
		"negative replay":    {webhook.WithReplayCache(-1)},
		"zero body size":     {webhook.WithMaxBodySize(0)},
		"no user ids":        {webhook.WithUserIDs()},
		"empty user id":      {webhook.WithUserIDs("me", "")},
		"nil clock":          {webhook.WithClock(nil)},
		"bad after good one": {webhook.WithTolerance(time.Minute), webhook.WithReplayCache(-5)},
	}
	for name, opts := range cases {
		v, err := webhook.NewVerifier(opts...)
		if err == nil || v != nil {
			t.Errorf("%s: got %v, %v; want an error", name, v, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "webhook: NewVerifier: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
	if _, err := webhook.NewVerifier(nil, webhook.WithTolerance(time.Minute)); err != nil {
		t.Errorf("a nil option: %v", err)
	}
}
