package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/falgo/fal/falproxy"
)

// sessionCookie names the cookie that stands in for the demo's login.
const sessionCookie = "webapp_session"

// sessions hands every visitor of the page a session cookie and lets only
// holders of one, on this origin, use the fal proxy. It stands in for a real
// app's login: a real app would check its own users there (and rate-limit
// them), since here anyone who can load the page gets a session.
//
// A cookie is a random id and its HMAC under a key made at start-up, so no
// state grows with visitors and a restart ends every session.
type sessions struct {
	key []byte
}

// newSessions makes a session keeper with a fresh random key.
func newSessions() (*sessions, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return &sessions{key: key}, nil
}

// sign returns the cookie value for a session id.
func (s *sessions) sign(id []byte) string {
	m := hmac.New(sha256.New, s.key)
	m.Write(id)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(id) + "." + enc.EncodeToString(m.Sum(nil))
}

// valid reports whether r carries a session cookie this process issued.
func (s *sessions) valid(r *http.Request) bool {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return false
	}
	idPart, _, ok := strings.Cut(c.Value, ".")
	if !ok {
		return false
	}
	id, err := base64.RawURLEncoding.DecodeString(idPart)
	if err != nil || len(id) != 16 {
		return false
	}
	return hmac.Equal([]byte(s.sign(id)), []byte(c.Value))
}

// issue gives the visitor a session cookie unless it already has a valid one.
// The cookie is HttpOnly (the page's script never reads it) and SameSite
// Strict (other sites cannot make the browser send it).
func (s *sessions) issue(w http.ResponseWriter, r *http.Request) error {
	if s.valid(r) {
		return nil
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    s.sign(id),
		Path:     "/",
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	return nil
}

// errCrossSite and errNoSession are the proxy's refusals.
var (
	errCrossSite = errors.New("cross-site request")
	errNoSession = errors.New("no valid session cookie")
)

// authorize is the fal proxy's Authorize hook: the request must come from
// this origin's page (Sec-Fetch-Site or Origin, which browsers set and
// scripts cannot forge) and carry a session cookie.
func (s *sessions) authorize(r *http.Request) error {
	if err := sameOrigin(r); err != nil {
		return &falproxy.AuthError{Status: http.StatusForbidden, Message: "requests to the fal proxy must come from this site's page", Err: err}
	}
	if !s.valid(r) {
		return &falproxy.AuthError{Status: http.StatusUnauthorized, Message: "no session: reload the page to start one", Err: errNoSession}
	}
	return nil
}

// sameOrigin refuses requests a browser marks as coming from another site.
// Requests without the headers (curl, tests) are left to the cookie check.
func sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return errCrossSite
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		scheme := "http://"
		if r.TLS != nil {
			scheme = "https://"
		}
		if !strings.EqualFold(origin, scheme+r.Host) {
			return errCrossSite
		}
	}
	return nil
}
