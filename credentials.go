package fal

import (
	"context"
	"fmt"
	"log/slog"
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

// HeaderValue is the Authorization header value for c.
func (c Credentials) HeaderValue() string { return c.Scheme + " " + c.Token }

// IsZero reports whether c holds no token.
func (c Credentials) IsZero() bool { return c.Token == "" }

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

// StaticCredentials always returns the same credentials.
type StaticCredentials Credentials

// Credentials returns c.
func (c StaticCredentials) Credentials(context.Context) (Credentials, error) {
	return Credentials(c), nil
}

// String redacts the token.
func (c StaticCredentials) String() string { return Credentials(c).String() }

// GoString redacts the token.
func (c StaticCredentials) GoString() string { return Credentials(c).GoString() }

// Format redacts the token for every verb.
func (c StaticCredentials) Format(f fmt.State, verb rune) { Credentials(c).Format(f, verb) }
