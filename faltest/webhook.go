package faltest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// WebhookUserID is the user id a Server's webhook deliveries carry in the
// X-Fal-Webhook-User-Id header (and sign).
const WebhookUserID = "faltest-user"

// webhookPayload is the body fal POSTs to a webhook when a queue request
// ends.
type webhookPayload struct {
	RequestID        string          `json:"request_id"`
	GatewayRequestID string          `json:"gateway_request_id"`
	Status           string          `json:"status"` // "OK" or "ERROR"
	Payload          json.RawMessage `json:"payload"`
	Error            string          `json:"error,omitempty"`
}

// JWKSURL is where the server publishes the public keys its webhook
// signatures verify against (no key needed to fetch it).
func (s *Server) JWKSURL() string { return s.URL + "/rest/.well-known/jwks.json" }

// WebhookPublicKey is the Ed25519 public key the server signs webhook
// deliveries with (also published at JWKSURL).
func (s *Server) WebhookPublicKey() ed25519.PublicKey {
	return s.webhookKey.Public().(ed25519.PublicKey)
}

// serveJWKS serves GET /rest/.well-known/jwks.json.
func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, r, http.MethodGet)
		return
	}
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Kid string `json:"kid"`
		Alg string `json:"alg"`
		Use string `json:"use"`
	}
	w.Header().Set("Cache-Control", "max-age=86400")
	writeJSON(w, http.StatusOK, struct {
		Keys []jwk `json:"keys"`
	}{[]jwk{{
		Kty: "OKP",
		Crv: "Ed25519",
		X:   base64.RawURLEncoding.EncodeToString(s.WebhookPublicKey()),
		Kid: s.webhookKeyID,
		Alg: "EdDSA",
		Use: "sig",
	}}})
}

// webhookBody builds the delivery body of a completed job.
func webhookBody(j *job) []byte {
	j.mu.Lock()
	status, body := j.status, j.body
	j.mu.Unlock()
	p := webhookPayload{RequestID: j.id, GatewayRequestID: j.id, Status: "OK", Payload: body}
	if status < 200 || status > 299 {
		p.Status = "ERROR"
		p.Error = "Invalid status code: " + strconv.Itoa(status)
		// fal sends the error detail as the payload.
		var e struct {
			Detail json.RawMessage `json:"detail"`
		}
		if json.Unmarshal(body, &e) == nil && len(e.Detail) > 0 {
			p.Payload = json.RawMessage(`{"detail":` + string(e.Detail) + `}`)
		}
	}
	b, _ := json.Marshal(p)
	return b
}

// signWebhook returns the headers of a signed delivery: the signature is
// Ed25519 over request_id, user_id, timestamp and hex(sha256(body)), joined
// with newlines, hex-encoded.
func (s *Server) signWebhook(requestID string, body []byte, now time.Time) http.Header {
	ts := strconv.FormatInt(now.Unix(), 10)
	sum := sha256.Sum256(body)
	msg := requestID + "\n" + WebhookUserID + "\n" + ts + "\n" + hex.EncodeToString(sum[:])
	sig := ed25519.Sign(s.webhookKey, []byte(msg))
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "faltest-webhook/1")
	h.Set("X-Fal-Webhook-Request-Id", requestID)
	h.Set("X-Fal-Webhook-User-Id", WebhookUserID)
	h.Set("X-Fal-Webhook-Timestamp", ts)
	h.Set("X-Fal-Webhook-Signature", hex.EncodeToString(sig))
	return h
}

// deliverWebhook POSTs the job's outcome to its webhook, retrying failed
// attempts (transport errors, non-2xx) with doubling waits, until the
// retries run out or the server closes. Each attempt is signed afresh.
func (s *Server) deliverWebhook(j *job) {
	body := webhookBody(j)
	wait := s.cfg.webhookWait
	for attempt := 0; attempt < s.cfg.webhookTries; attempt++ {
		if attempt > 0 {
			if sleepCtx(s.ctx, wait) != nil {
				return
			}
			wait *= 2
		}
		req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, j.webhook, bytes.NewReader(body))
		if err != nil {
			return // the URL was checked at submit; nothing to retry
		}
		req.Header = s.signWebhook(j.id, body, time.Now())
		s.webhookAttempts.Add(1)
		resp, err := s.webhookHTTP.Do(req)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			s.webhooksDelivered.Add(1)
			return
		}
	}
}
