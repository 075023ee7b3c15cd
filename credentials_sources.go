package fal

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
