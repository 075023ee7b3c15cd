package fal

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/falgo/fal/internal/engine"
)

// Credentials is what a request is authorized with: the Authorization header
// value is Scheme + " " + Token ("Key id:secret" or "Bearer <jwt>").
//
// Its String, GoString and LogValue methods redact the token, so printing a
// Credentials value with fmt or slog never reveals the secret.
type Credentials struct {
	Scheme string // "Key" or "Bearer"
	Token  string
}

// String returns the scheme and a redacted token.
func (c Credentials) String() string {
	if c.Token == "" {
		return "Credentials{}"
	}
	return fmt.Sprintf("Credentials{Scheme: %q, Token: %s}", c.Scheme, redact(c.Token))
}

// GoString is String, so %#v redacts too.
func (c Credentials) GoString() string { return "fal." + c.String() }

// Format redacts for every verb (%v, %+v, %#v, %s, %q ...).
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(c.GoString()))
		return
	}
	_, _ = f.Write([]byte(c.String()))
}

// LogValue redacts the token in structured logs.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("scheme", c.Scheme), slog.String("token", redact(c.Token)))
}

// redact shows only the length of a secret, never any of its characters.
func redact(secret string) string {
	if secret == "" {
		return `""`
	}
	return fmt.Sprintf("[redacted, %d chars]", len(secret))
}

// CredentialsProvider supplies credentials for a request. Implementations
// must be safe for concurrent use; a provider whose credentials expire
// refreshes them itself (see the fal CLI token source), so the client calls
// Credentials before every request.
type CredentialsProvider interface {
	Credentials(ctx context.Context) (Credentials, error)
}

// CredentialsProviderFunc adapts a function to CredentialsProvider.
type CredentialsProviderFunc func(ctx context.Context) (Credentials, error)

// Credentials calls f.
func (f CredentialsProviderFunc) Credentials(ctx context.Context) (Credentials, error) { return f(ctx) }

// providerAuth adapts a CredentialsProvider to the engine, reusing the
// last Auth built while the credentials stay the same.
type providerAuth struct {
	p    CredentialsProvider
	last atomic.Pointer[authEntry]
}

type authEntry struct {
	creds Credentials
	auth  engine.Auth
}

func (a *providerAuth) Auth(ctx context.Context) (engine.Auth, error) {
	cr, err := a.p.Credentials(ctx)
	if err != nil || cr.Token == "" {
		return engine.Auth{}, err
	}
	if e := a.last.Load(); e != nil && e.creds == cr {
		return e.auth, nil
	}
	e := &authEntry{creds: cr, auth: engine.NewAuth(cr.Scheme, cr.Token)}
	a.last.Store(e)
	return e.auth, nil
}

// staticAuth is the Auth of WithKey.
type staticAuth engine.Auth

func (a staticAuth) Auth(context.Context) (engine.Auth, error) { return engine.Auth(a), nil }

// describeAuth names a client's credential source without revealing it.
func describeAuth(a engine.AuthSource) string {
	switch v := a.(type) {
	case staticAuth:
		return "key (" + chars(v.Secrets[0]) + ")"
	case *providerAuth:
		if _, ok := v.p.(*defaultChain); ok {
			return "default chain"
		}
		return fmt.Sprintf("%T", v.p)
	}
	return "none"
}
