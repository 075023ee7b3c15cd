package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Delivery statuses.
const (
	StatusOK    = "OK"    // the request succeeded; Payload is its output
	StatusError = "ERROR" // the request failed; Error says why, Payload has the detail
)

// A Delivery is the body fal POSTs to a webhook when a queued request
// ends:
//
//	{"request_id": "...", "gateway_request_id": "...", "status": "OK", "payload": {...}}
//	{"request_id": "...", "gateway_request_id": "...", "status": "ERROR",
//	 "error": "Invalid status code: 422", "payload": {"detail": [...]}}
//
// When fal cannot serialize the output as JSON, Payload is nil and
// PayloadError says why.
type Delivery struct {
	// RequestID is the queue request id, the one Client.Submit returned.
	RequestID string `json:"request_id"`
	// GatewayRequestID is the id of the last attempt: the same as
	// RequestID unless fal retried the request.
	GatewayRequestID string `json:"gateway_request_id"`
	// Status is StatusOK or StatusError.
	Status string `json:"status"`
	// Payload is the request's output (status OK) or the error detail
	// (status ERROR), as raw JSON; nil when absent or null.
	Payload json.RawMessage `json:"payload"`
	// Error is the error message of a failed request, e.g. "Invalid
	// status code: 422".
	Error string `json:"error,omitempty"`
	// PayloadError says why Payload is missing when the output could not
	// be serialized as JSON.
	PayloadError string `json:"payload_error,omitempty"`
}

// Parse decodes a delivery body. It does not verify it: call
// Verifier.Verify on the same bytes first (or use Verifier.VerifyRequest or
// Verifier.Handler, which do both). The body must be a JSON object with a
// request_id and a status, else the error wraps ErrInvalidDelivery.
func Parse(body []byte) (*Delivery, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidDelivery)
	}
	var d Delivery
	if err := json.Unmarshal(trimmed, &d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidDelivery, err)
	}
	if d.RequestID == "" {
		return nil, fmt.Errorf("%w: no request_id", ErrInvalidDelivery)
	}
	if d.Status == "" {
		return nil, fmt.Errorf("%w: no status", ErrInvalidDelivery)
	}
	if string(d.Payload) == "null" {
		d.Payload = nil
	}
	return &d, nil
}

// OK reports whether the request succeeded (Status is StatusOK).
func (d *Delivery) OK() bool { return d.Status == StatusOK }

// Decode unmarshals Payload into v: the output of a successful request, or
// the error detail of a failed one. It fails when there is no payload,
// saying why if fal did.
func (d *Delivery) Decode(v any) error {
	if len(d.Payload) == 0 {
		if d.PayloadError != "" {
			return fmt.Errorf("webhook: request %s: fal could not send the payload: %s", d.RequestID, d.PayloadError)
		}
		return fmt.Errorf("webhook: request %s: the delivery has no payload", d.RequestID)
	}
	if err := json.Unmarshal(d.Payload, v); err != nil {
		return fmt.Errorf("webhook: request %s: decoding the payload: %w", d.RequestID, err)
	}
	return nil
}
