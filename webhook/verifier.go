package webhook

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The headers fal signs every delivery with.
const (
	HeaderRequestID = "X-Fal-Webhook-Request-Id" // the request id
	HeaderUserID    = "X-Fal-Webhook-User-Id"    // the fal user the request belongs to
	HeaderTimestamp = "X-Fal-Webhook-Timestamp"  // Unix time of signing, in seconds
	HeaderSignature = "X-Fal-Webhook-Signature"  // hex Ed25519 signature
)

// A Verifier checks that webhook deliveries were signed by fal, are recent
// and have not been accepted before. Create one with NewVerifier and share
// it: it caches the key set and remembers accepted deliveries, and is safe
// for concurrent use.
type Verifier struct {
	keys    *keySource
	replay  *replayCache // nil when replay detection is off
	tolSec  int64
	userIDs map[string]bool
	maxBody int64
	now     func() time.Time
}

// NewVerifier returns a Verifier configured by opts. By default it fetches
// fal's keys from DefaultJWKSURL on first use, accepts timestamps within
// DefaultTolerance of the local clock, and rejects replays. It fails only
// on an invalid option; it does not fetch anything.
func NewVerifier(opts ...Option) (*Verifier, error) {
	s := defaultSettings()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&s); err != nil {
			return nil, fmt.Errorf("webhook: NewVerifier: %w", err)
		}
	}
	if s.staticKeys != nil && s.jwksURLSet {
		return nil, errors.New("webhook: NewVerifier: WithPublicKeys and WithJWKSURL both given; use one: static keys are never fetched")
	}
	v := &Verifier{
		keys: &keySource{
			static:   s.staticKeys,
			url:      s.jwksURL,
			client:   s.httpClient,
			ttl:      s.cacheTTL,
			interval: s.refetchInterval,
		},
		tolSec:  int64(s.tolerance / time.Second),
		userIDs: s.userIDs,
		maxBody: s.maxBody,
		now:     s.now,
	}
	if s.replaySize > 0 {
		v.replay = newReplayCache(s.replaySize)
	}
	return v, nil
}

// Verify checks one delivery: header is the request's header (with
// canonical keys, as net/http provides them; build one with Header.Set)
// and body its raw, unmodified body. It returns nil if the delivery is genuine, and
// otherwise an error wrapping one of ErrMissingHeader, ErrMalformedHeader,
// ErrStaleTimestamp, ErrBadSignature, ErrUserNotAllowed, ErrReplayed or
// ErrJWKSUnavailable. ctx bounds how long Verify waits for the key set
// when it has to be fetched (the fetch itself is bounded to 10 seconds and
// finishes for later callers even if this one gives up).
//
// An accepted delivery is remembered (see WithReplayCache): verifying the
// same delivery again fails with ErrReplayed.
func (v *Verifier) Verify(ctx context.Context, header http.Header, body []byte) error {
	_, err := v.verify(ctx, header, body)
	return err
}

// VerifyRequest reads r's body (at most WithMaxBodySize bytes), verifies it
// as Verify does, and parses it with Parse. The body is put back, so r.Body
// can be read again. Use it in frameworks that hand you an *http.Request;
// Handler wraps it for net/http.
func (v *Verifier) VerifyRequest(r *http.Request) (*Delivery, error) {
	d, _, err := v.verifyRequest(r)
	return d, err
}

// verifyRequest is VerifyRequest, also returning the replay-cache key of
// an accepted delivery.
func (v *Verifier) verifyRequest(r *http.Request) (*Delivery, string, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, v.maxBody+1))
		_ = r.Body.Close()
		if err != nil {
			return nil, "", fmt.Errorf("webhook: reading the request body: %w", err)
		}
		if int64(len(b)) > v.maxBody {
			return nil, "", fmt.Errorf("%w: more than %d bytes (see WithMaxBodySize)", ErrBodyTooLarge, v.maxBody)
		}
		body = b
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	key, err := v.verify(r.Context(), r.Header, body)
	if err != nil {
		return nil, "", err
	}
	d, err := Parse(body)
	if err != nil {
		return nil, key, err
	}
	return d, key, nil
}

// verify is Verify, returning the replay-cache key of an accepted
// delivery ("" when replay detection is off).
func (v *Verifier) verify(ctx context.Context, header http.Header, body []byte) (string, error) {
	requestID, err := headerValue(header, HeaderRequestID)
	if err != nil {
		return "", err
	}
	userID, err := headerValue(header, HeaderUserID)
	if err != nil {
		return "", err
	}
	tsText, err := headerValue(header, HeaderTimestamp)
	if err != nil {
		return "", err
	}
	sigText, err := headerValue(header, HeaderSignature)
	if err != nil {
		return "", err
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: %s is %q, not a Unix time in seconds", ErrMalformedHeader, HeaderTimestamp, clip(tsText))
	}
	if len(sigText) != 2*ed25519.SignatureSize {
		return "", fmt.Errorf("%w: %s has %d characters; an Ed25519 signature is %d hex digits", ErrMalformedHeader, HeaderSignature, len(sigText), 2*ed25519.SignatureSize)
	}
	sig, err := hex.DecodeString(sigText)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not hex: %v", ErrMalformedHeader, HeaderSignature, err)
	}

	now := v.now()
	nowSec := now.Unix()
	// Bounds rather than a difference, so that no timestamp can overflow.
	if ts < nowSec-v.tolSec {
		return "", fmt.Errorf("%w: %s %d is %d s in the past; the tolerance is %d s (if every delivery fails this way, check this machine's clock)", ErrStaleTimestamp, HeaderTimestamp, ts, nowSec-ts, v.tolSec)
	}
	if ts > nowSec+v.tolSec {
		return "", fmt.Errorf("%w: %s %d is %d s in the future; the tolerance is %d s (if every delivery fails this way, check this machine's clock)", ErrStaleTimestamp, HeaderTimestamp, ts, ts-nowSec, v.tolSec)
	}

	sum := sha256.Sum256(body)
	msg := []byte(requestID + "\n" + userID + "\n" + tsText + "\n" + hex.EncodeToString(sum[:]))
	keys, gen, err := v.keys.get(ctx, now)
	if err != nil {
		return "", err
	}
	if !verifiesWithAny(keys, msg, sig) {
		// The key may have rotated since the set was fetched.
		fresh, ferr := v.keys.refresh(ctx, now, gen)
		if fresh == nil || !verifiesWithAny(fresh, msg, sig) {
			if ferr == nil {
				// No refresh now; but if the last one failed, the keys may
				// be out of date, which the caller should know.
				ferr = v.keys.lastError()
			}
			if ferr != nil {
				return "", fmt.Errorf("%w for request %q, and fetching the key set again failed: %w", ErrBadSignature, clip(requestID), ferr)
			}
			return "", fmt.Errorf("%w for request %q: no key in the key set verifies it (the body or a signed header was changed, or fal did not send it)", ErrBadSignature, clip(requestID))
		}
	}

	if v.userIDs != nil && !v.userIDs[userID] {
		return "", fmt.Errorf("%w: %s is %q (see WithUserIDs)", ErrUserNotAllowed, HeaderUserID, clip(userID))
	}

	if v.replay == nil {
		return "", nil
	}
	// The decoded signature, not its text, so a resend with the hex in
	// another case is still the same delivery.
	key := requestID + "\x00" + tsText + "\x00" + string(sig)
	if !v.replay.add(key, ts+v.tolSec, nowSec) {
		return "", fmt.Errorf("%w: request %q, timestamp %s", ErrReplayed, clip(requestID), tsText)
	}
	return key, nil
}

// forget drops an accepted delivery from the replay cache, so that the
// sender's retry of it is accepted.
func (v *Verifier) forget(key string) {
	if v.replay != nil && key != "" {
		v.replay.forget(key)
	}
}

// headerValue returns the first value of the named header, or an error
// wrapping ErrMissingHeader.
func headerValue(h http.Header, name string) (string, error) {
	vals := h.Values(name)
	if len(vals) == 0 || vals[0] == "" {
		return "", fmt.Errorf("%w: %s (is the request from fal? does a proxy drop X-Fal-* headers?)", ErrMissingHeader, name)
	}
	return vals[0], nil
}

// verifiesWithAny reports whether any of keys verifies sig over msg. The
// keys and signature sizes were checked when they were parsed.
func verifiesWithAny(keys []ed25519.PublicKey, msg, sig []byte) bool {
	for _, k := range keys {
		if ed25519.Verify(k, msg, sig) {
			return true
		}
	}
	return false
}

// clip shortens an untrusted value for an error message.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
