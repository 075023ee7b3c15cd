package fal

import (
	"errors"
	"runtime"
	"strings"
)

// ErrMissingCredentials is matched by errors.Is for every error that means
// no usable credentials were found, in particular *MissingCredentialsError.
var ErrMissingCredentials = errors.New("fal: no credentials found")

// SourceState says what one credential source gave when it was tried.
type SourceState int

// The states of a credential source.
const (
	// SourceNotSet: the source is absent (variable unset or empty, no file).
	SourceNotSet SourceState = iota
	// SourcePartial: only half of it is there (one of FAL_KEY_ID and
	// FAL_KEY_SECRET). The chain goes on to the next source.
	SourcePartial
	// SourceInvalid: it is set but unusable (a key file that is too open,
	// unreadable or empty; a login token that could not be refreshed).
	SourceInvalid
	// SourceFound: it gave credentials.
	SourceFound
	// SourceSkipped: it was not tried (FAL_FORCE_AUTH_BY_USER=1, or an
	// earlier source that is set but unusable stopped the chain).
	SourceSkipped
)

// String returns "not set", "partial", "invalid", "found" or "skipped".
func (s SourceState) String() string {
	switch s {
	case SourceNotSet:
		return "not set"
	case SourcePartial:
		return "partial"
	case SourceInvalid:
		return "invalid"
	case SourceFound:
		return "found"
	case SourceSkipped:
		return "skipped"
	}
	return "unknown"
}

// CredentialSource is the outcome of one source of the credential chain.
// Detail explains the state; it never holds a secret, only lengths, paths
// and reasons (e.g. "set, 36 chars").
type CredentialSource struct {
	Name   string // "FAL_KEY", "FAL_KEY_ID/FAL_KEY_SECRET", "FAL_KEY_FILE", "fal CLI login" or "Google Colab"
	State  SourceState
	Detail string
}

// String is "Name: state (detail)".
func (s CredentialSource) String() string {
	if s.Detail == "" {
		return s.Name + ": " + s.State.String()
	}
	return s.Name + ": " + s.State.String() + " (" + s.Detail + ")"
}

// MissingCredentialsError is returned when no source of the credential
// chain gave usable credentials. It lists every source tried and why it gave
// nothing, followed by advice; errors.Is(err, ErrMissingCredentials) is true.
type MissingCredentialsError struct {
	// Sources are the sources in the order they were tried.
	Sources []CredentialSource
	// Colab is true when the process looks like a Google Colab runtime (see
	// IsGoogleColab); the message then explains how to pass a Colab secret
	// (unless a key source is set but unusable, which is the thing to fix).
	Colab bool
	// ColabEnterprise is true in Colab Enterprise (Vertex AI).
	ColabEnterprise bool
	// ForceAuthByUser is true when FAL_FORCE_AUTH_BY_USER=1 limited the chain
	// to the fal CLI login.
	ForceAuthByUser bool
	// KeyOnly is true when the caller (FetchCredentials) accepts API keys
	// only, so a fal CLI login does not count.
	KeyOnly bool
}

// Error lists the sources tried and what to do.
func (e *MissingCredentialsError) Error() string {
	var b strings.Builder
	switch {
	case e.KeyOnly:
		b.WriteString("fal: key credentials not found")
	case e.anyInvalid():
		b.WriteString("fal: no usable credentials found")
	default:
		b.WriteString("fal: no credentials found")
	}
	if len(e.Sources) > 0 {
		b.WriteString("; sources tried, in order:")
		for _, s := range e.Sources {
			b.WriteString("\n  - ")
			b.WriteString(s.String())
		}
	}
	b.WriteString("\n")
	switch {
	case e.KeyOnly:
		b.WriteString("Set FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET) to an API key from https://fal.ai/dashboard/keys; a fal CLI login is not an API key.")
	case e.ForceAuthByUser:
		b.WriteString("FAL_FORCE_AUTH_BY_USER=1 is set, so only the fal CLI login is used: run `fal auth login`, or unset FAL_FORCE_AUTH_BY_USER to use FAL_KEY.")
	default:
		b.WriteString("Set FAL_KEY to an API key from https://fal.ai/dashboard/keys (or FAL_KEY_ID and FAL_KEY_SECRET, or FAL_KEY_FILE naming a file that holds the key), pass fal.WithKey to NewClient, or log in with `fal auth login`.")
	}
	if runtime.GOOS == "windows" && !e.Colab {
		b.WriteString("\nOn Windows, `set FAL_KEY=...` only affects the current console; use `setx FAL_KEY ...` and open a new terminal.")
	}
	// In Colab the fix is to export FAL_KEY, unless a key source is already
	// set but broken: then its own detail says what to fix.
	if e.Colab && !e.ForceAuthByUser && !e.keySourceInvalid() {
		b.WriteString("\n")
		b.WriteString(colabAdvice(e.ColabEnterprise))
	}
	return b.String()
}

// Is makes errors.Is(err, ErrMissingCredentials) true.
func (e *MissingCredentialsError) Is(target error) bool { return target == ErrMissingCredentials }

func (e *MissingCredentialsError) keySourceInvalid() bool {
	for _, s := range e.Sources {
		if s.State == SourceInvalid && s.Name != srcCLI {
			return true
		}
	}
	return false
}

func (e *MissingCredentialsError) anyInvalid() bool {
	for _, s := range e.Sources {
		if s.State == SourceInvalid {
			return true
		}
	}
	return false
}
