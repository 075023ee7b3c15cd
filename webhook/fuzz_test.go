package webhook_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/falgo/fal/webhook"
)

// FuzzVerify feeds arbitrary headers and bodies to Verify, VerifyRequest
// (through Handler) and Parse. None may panic; every error must say which
// check failed; and whatever is accepted must really be signed by the
// key, recent and well-formed. The committed corpus in
// testdata/fuzz/FuzzVerify holds deliveries signed by newSigner(1) at t0.
func FuzzVerify(f *testing.F) {
	s := newSigner(1)
	body := okBody("req-1")
	h := s.sign("req-1", "user-1", t0, body)
	f.Add(h.Get(webhook.HeaderRequestID), h.Get(webhook.HeaderUserID), h.Get(webhook.HeaderTimestamp), h.Get(webhook.HeaderSignature), body)
	f.Add("", "", "", "", []byte(nil))
	f.Add("r", "u", "-1", "zz", []byte("{"))

	sentinels := []error{
		webhook.ErrMissingHeader, webhook.ErrMalformedHeader, webhook.ErrStaleTimestamp,
		webhook.ErrBadSignature, webhook.ErrReplayed, webhook.ErrUserNotAllowed,
		webhook.ErrJWKSUnavailable, webhook.ErrBodyTooLarge, webhook.ErrInvalidDelivery,
	}
	known := func(err error) bool {
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return true
			}
		}
		return false
	}

	f.Fuzz(func(t *testing.T, requestID, userID, ts, sig string, body []byte) {
		v, err := webhook.NewVerifier(webhook.WithPublicKeys(s.pub), webhook.WithClock(func() time.Time { return t0 }),
			webhook.WithReplayCache(0), webhook.WithMaxBodySize(1<<16))
		if err != nil {
			t.Fatal(err)
		}
		header := http.Header{}
		for name, val := range map[string]string{
			webhook.HeaderRequestID: requestID, webhook.HeaderUserID: userID,
			webhook.HeaderTimestamp: ts, webhook.HeaderSignature: sig,
		} {
			header[name] = []string{val}
		}

		err = verify(v, header, body)
		if err != nil && !known(err) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if err == nil {
			// Accepted: check independently that it is genuine.
			sec, perr := strconv.ParseInt(ts, 10, 64)
			if perr != nil || sec < t0.Unix()-300 || sec > t0.Unix()+300 {
				t.Fatalf("accepted timestamp %q", ts)
			}
			raw, herr := hex.DecodeString(sig)
			sum := sha256.Sum256(body)
			msg := requestID + "\n" + userID + "\n" + ts + "\n" + hex.EncodeToString(sum[:])
			if herr != nil || !ed25519.Verify(s.pub, []byte(msg), raw) {
				t.Fatalf("accepted a delivery the key did not sign")
			}
		}

		// The same through Handler: no panic, a sensible status, and next is
		// called exactly when Verify and Parse both accept.
		called := false
		hd := v.Handler(func(w http.ResponseWriter, r *http.Request, d *webhook.Delivery) {
			called = true
			if d == nil || d.RequestID == "" || d.Status == "" {
				t.Fatalf("next got delivery %+v", d)
			}
		})
		req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
		req.Header = header
		w := httptest.NewRecorder()
		hd.ServeHTTP(w, req)
		_, perr := webhook.Parse(body)
		if perr != nil && !errors.Is(perr, webhook.ErrInvalidDelivery) {
			t.Fatalf("Parse error %v does not wrap ErrInvalidDelivery", perr)
		}
		wantCalled := err == nil && perr == nil && len(body) <= 1<<16
		if called != wantCalled {
			t.Fatalf("next called: %v, want %v (Verify: %v, Parse: %v)", called, wantCalled, err, perr)
		}
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("Handler answered %d", w.Code)
		}
	})
}
