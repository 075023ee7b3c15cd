package fal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sync"

	"github.com/falgo/fal/internal/appid"
)

// Result is the output of a request: the raw JSON the app returned and the
// request id fal assigned (x-fal-request-id).
type Result struct {
	RequestID string
	Data      json.RawMessage
}

// Decode unmarshals the output into v.
func (r *Result) Decode(v any) error {
	if r == nil {
		return fmt.Errorf("fal: Decode on a nil *Result")
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		return fmt.Errorf("fal: decoding the result of request %s into %T: %w", r.RequestID, v, err)
	}
	return nil
}

// Run calls app on fal's synchronous endpoint (POST {run host}/{app}[/path])
// and waits for its output. input is encoded as JSON (nil sends {}).
//
// The synchronous endpoint holds the connection for the whole run; for
// long jobs prefer Subscribe, which goes through the queue. Run is retried
// only when the server certainly did not start the app (see RetryPolicy).
func (c *Client) Run(ctx context.Context, app string, input any, opts ...RequestOption) (*Result, error) {
	op := "run " + app
	if err := validateApp(app); err != nil {
		return nil, err
	}
	cfg, err := c.callConfig(opts)
	if err != nil {
		return nil, err
	}
	body, err := c.prepare(ctx, cfg, op, input)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, cfg, &apiRequest{
		op:     op,
		method: http.MethodPost,
		url:    join(cfg.hosts.run, app, cfg.path),
		body:   body,
		header: lifecycleHeader(cfg),
		class:  once,
	})
	if err != nil {
		return nil, err
	}
	return &Result{RequestID: resp.requestID, Data: resp.body}, nil
}

// validateApp checks an app id used as given in a URL.
func validateApp(app string) error {
	if err := appid.Validate(app); err != nil {
		return fmt.Errorf("fal: %w", err)
	}
	return nil
}

// encodeInput encodes an app input as compact UTF-8 JSON. Values that JSON
// cannot represent (NaN, channels, functions, cycles) are refused before
// any request, with the reason.
func encodeInput(op string, input any) ([]byte, error) {
	if input == nil {
		return []byte("{}"), nil
	}
	switch v := input.(type) {
	case json.RawMessage:
		if !json.Valid(v) {
			return nil, fmt.Errorf("fal: %s: the input json.RawMessage is not valid JSON", op)
		}
		return v, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("fal: %s: the input %v cannot be encoded as JSON", op, v)
		}
	}
	buf := encodeBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			encodeBuffers.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(input); err != nil {
		return nil, fmt.Errorf("fal: %s: the input cannot be encoded as JSON: %w", op, err)
	}
	// The body outlives the buffer (it is replayed on retries): copy it out.
	return bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// encodeBuffers recycles the buffers inputs are encoded into.
var encodeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
