package webhook

import "errors"

// Sentinel errors returned (wrapped, with details) by Verifier.Verify and
// Verifier.VerifyRequest. Check them with errors.Is; the wrapping message
// says which header or value was wrong.
var (
	// ErrMissingHeader: one of the four X-Fal-Webhook-* headers is absent
	// or empty. The request did not come from fal, or a proxy stripped the
	// headers.
	ErrMissingHeader = errors.New("webhook: missing signature header")

	// ErrMalformedHeader: a header is present but cannot be what fal sends
	// (a timestamp that is not a Unix time in seconds, a signature that is
	// not 128 hex digits).
	ErrMalformedHeader = errors.New("webhook: malformed signature header")

	// ErrStaleTimestamp: the signed timestamp is further from the
	// Verifier's clock than the tolerance (WithTolerance), in the past or
	// in the future. Either the delivery is an old one sent again, or the
	// receiving machine's clock is wrong.
	ErrStaleTimestamp = errors.New("webhook: timestamp outside the tolerance window")

	// ErrBadSignature: no key in the key set verifies the signature over
	// the request id, user id, timestamp and body. The body or a signed
	// header was changed, or the delivery was not signed by fal.
	ErrBadSignature = errors.New("webhook: signature does not verify")

	// ErrReplayed: an identical delivery (same request id, timestamp and
	// signature) was already accepted within the tolerance window. fal
	// signs every retry afresh, so its own retries never trip this.
	ErrReplayed = errors.New("webhook: delivery already accepted (replay)")

	// ErrUserNotAllowed: the delivery is validly signed, but for a fal
	// user that WithUserIDs does not list. Anyone with a fal account can
	// point fal's webhooks at any URL, so a valid signature alone does not
	// mean the request was yours.
	ErrUserNotAllowed = errors.New("webhook: delivery is for a user id that is not allowed")

	// ErrJWKSUnavailable: the public keys could not be fetched or parsed
	// and no earlier copy is cached. The delivery may be genuine; answer
	// with a 5xx so that fal retries it later.
	ErrJWKSUnavailable = errors.New("webhook: public key set unavailable")

	// ErrBodyTooLarge: the request body is larger than WithMaxBodySize.
	ErrBodyTooLarge = errors.New("webhook: request body too large")

	// ErrInvalidDelivery: the body is validly signed but is not a fal
	// delivery (not a JSON object, or no request_id or status). Returned
	// by Parse.
	ErrInvalidDelivery = errors.New("webhook: invalid delivery body")
)
