package faltest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Realtime tokens: POST /rest/tokens/ returns a JSON string that is a JWT
// (HS256, signed with a secret made per server) naming the apps it may
// connect to; the websocket handshake carries it as ?fal_jwt_token=.

const (
	defaultRealtimeTokenTTL = 120       // seconds, what both official clients ask for
	maxRealtimeTokenTTL     = 86400 * 7 // seconds
)

// realtimeClaims is the payload of a realtime token.
type realtimeClaims struct {
	Issuer      string   `json:"iss"`
	Subject     string   `json:"sub"`
	AllowedApps []string `json:"allowed_apps"`
	IssuedAt    int64    `json:"iat"`
	Expires     int64    `json:"exp"`
	ID          string   `json:"jti"`
}

// jwtHeader is the fixed header of every token the server issues.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// mountRealtime registers the realtime token endpoint (the websocket
// itself is reached through /run/, which calls serveRealtime).
func (s *Server) mountRealtime(mux *http.ServeMux) {
	h := s.route("realtime_token", s.handleRealtimeToken)
	mux.Handle("POST /rest/tokens/{$}", h)
	mux.Handle("POST /rest/tokens", h)
}

// handleRealtimeToken issues a realtime token: POST /rest/tokens/ with
// {"allowed_apps": [alias], "token_expiration": seconds}.
func (s *Server) handleRealtimeToken(w http.ResponseWriter, r *http.Request) {
	if !s.checkKey(r) {
		s.unauthorized(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the request body failed: "+err.Error(), "")
		return
	}
	var req struct {
		AllowedApps     json.RawMessage `json:"allowed_apps"`
		TokenExpiration json.RawMessage `json:"token_expiration"`
	}
	if err := json.Unmarshal(body, &req); err != nil || !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		writeError(w, http.StatusUnprocessableEntity, validationDetail("body", `the body must be a JSON object like {"allowed_apps": ["my-app"], "token_expiration": 120}`), "")
		return
	}
	var apps []string
	if err := json.Unmarshal(req.AllowedApps, &apps); err != nil || len(apps) == 0 || slices.Contains(apps, "") {
		writeError(w, http.StatusUnprocessableEntity, validationDetail("allowed_apps", "allowed_apps must be a non-empty list of app aliases (the part after the owner: \"flux\" for \"fal-ai/flux/dev\")"), "")
		return
	}
	ttl := int64(defaultRealtimeTokenTTL)
	if len(req.TokenExpiration) > 0 && string(req.TokenExpiration) != "null" {
		n, err := strconv.ParseFloat(string(req.TokenExpiration), 64)
		if err != nil || n != math.Trunc(n) || n < 1 || n > maxRealtimeTokenTTL {
			writeError(w, http.StatusUnprocessableEntity, validationDetail("token_expiration", fmt.Sprintf("token_expiration must be a whole number of seconds from 1 to %d", maxRealtimeTokenTTL)), "")
			return
		}
		ttl = int64(n)
	}
	writeJSON(w, http.StatusOK, s.realtime.issue(s.URL, apps, time.Duration(ttl)*time.Second))
}

// signingKey returns the server's token secret, making it on first use.
func (rs *realtimeState) signingKey() []byte {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.secret == nil {
		rs.secret = make([]byte, 32)
		_, _ = rand.Read(rs.secret)
	}
	return rs.secret
}

// issue makes a signed token for apps, valid for ttl.
func (rs *realtimeState) issue(issuer string, apps []string, ttl time.Duration) string {
	now := time.Now()
	payload, _ := json.Marshal(realtimeClaims{
		Issuer:      issuer,
		Subject:     "faltest",
		AllowedApps: apps,
		IssuedAt:    now.Unix(),
		Expires:     now.Add(ttl).Unix(),
		ID:          randomHex(8),
	})
	signed := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signed + "." + base64.RawURLEncoding.EncodeToString(rs.mac(signed))
}

// mac is the HS256 signature of signed.
func (rs *realtimeState) mac(signed string) []byte {
	m := hmac.New(sha256.New, rs.signingKey())
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// verify checks a token's form, signature and expiry and that it allows
// app ("owner/alias" or a namespaced id), returning a message for the
// client when it does not.
func (rs *realtimeState) verify(token, app string, now time.Time) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("the realtime token is not a JWT: use the string POST /rest/tokens/ returned")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || parts[0] != jwtHeader || !hmac.Equal(sig, rs.mac(parts[0]+"."+parts[1])) {
		return errors.New("the realtime token's signature is not valid: it was not issued by this server; get one from POST /rest/tokens/")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c realtimeClaims
	if err == nil {
		err = json.Unmarshal(payload, &c)
	}
	if err != nil {
		return errors.New("the realtime token's payload is not readable: get a new one from POST /rest/tokens/")
	}
	if now.Unix() >= c.Expires {
		return fmt.Errorf("the realtime token expired at %s: get a new one from POST /rest/tokens/", time.Unix(c.Expires, 0).UTC().Format(time.RFC3339))
	}
	alias := appAlias(app)
	if !slices.Contains(c.AllowedApps, alias) && !slices.Contains(c.AllowedApps, app) {
		return fmt.Errorf("the realtime token does not allow app %q: its allowed_apps are %q; ask for a token with allowed_apps [%q]", app, c.AllowedApps, alias)
	}
	return nil
}

// appAlias is the alias part of an app id: "flux" for "fal-ai/flux" and
// for "workflows/fal-ai/flux".
func appAlias(app string) string {
	segs := strings.Split(app, "/")
	if len(segs) >= 3 && (segs[0] == "workflows" || segs[0] == "comfy") {
		return segs[2]
	}
	if len(segs) >= 2 {
		return segs[1]
	}
	return app
}
