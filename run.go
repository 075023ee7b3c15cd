package fal

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// Result is the output of a request: the raw JSON the app returned, the
// request id fal assigned (x-fal-request-id) and what fal billed for it.
type Result struct {
	RequestID string
	Data      json.RawMessage
	// BillableUnits is X-Fal-Billable-Units: the units fal billed for the
	// request (multiply by the endpoint's unit price, see package
	// platform), 0 when fal did not say.
	BillableUnits float64
}

// Decode unmarshals the output into v.
func (r *Result) Decode(v any) error {
	if r == nil {
		return falerr.New("Decode on a nil *Result")
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		return falerr.Wrap(err, "decoding the result of request %s into %T", r.RequestID, v)
	}
	return nil
}

// Run calls app on fal's synchronous endpoint (POST {run host}/{app}[/path])
// and waits for its output. input is encoded as JSON (nil sends {}); file
// inputs (LocalFile, FileBytes, FileReader) are uploaded first.
//
// The synchronous endpoint holds the connection for the whole run; for
// long jobs prefer Subscribe, which goes through the queue. Run is retried
// only when the server certainly did not start the app (see RetryPolicy).
func (c *Client) Run(ctx context.Context, app string, input any, opts ...RequestOption) (*Result, error) {
	cl, err := c.newCall(callRun, opts)
	if err != nil {
		return nil, err
	}
	req, err := c.jobRequest(ctx, cl, "run", app, cl.eng.Hosts.Run, input)
	if err != nil {
		return nil, err
	}
	if err := withMethod(req, cl.s.jobs().method, input); err != nil {
		return nil, err
	}
	resp, err := cl.eng.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	return &Result{RequestID: resp.RequestID, Data: resp.Body, BillableUnits: billableUnits(resp.Header)}, nil
}

// jobRequest builds the POST that starts a job of app on host (verb run,
// submit or stream): the input's files are uploaded, the input encoded,
// and the call's request settings become headers. The request's Op names
// the operation for errors ("run fal-ai/flux/dev").
func (c *Client) jobRequest(ctx context.Context, cl *call, verb, app string, host *url.URL, input any) (*engine.Request, error) {
	t, err := c.targets.target(targetKey{verb: verb, host: host, app: app, path: cl.s.jobs().path})
	if err != nil {
		return nil, err
	}
	op := t.op
	body, plain := encodePlainInput(input)
	if !plain {
		if err := c.uploadInputs(ctx, cl, input); err != nil {
			return nil, err
		}
		var err error
		if body, err = encodeInputJSON(op, input); err != nil {
			return nil, err
		}
	}
	return &engine.Request{
		Op: op, Method: http.MethodPost, URL: t.url,
		Body: body, Header: jobHeader(&cl.s), Class: retry.Once,
	}, nil
}

// withMethod makes req a PUT, or a GET with the input as its query
// (WithMethod).
func withMethod(req *engine.Request, method string, input any) error {
	switch method {
	case "", http.MethodPost:
		return nil
	case http.MethodPut:
		req.Method = method
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &fields); err != nil {
		return falerr.New("%s: WithMethod(GET) sends the input as query parameters, so it must be a JSON object, not %T", req.Op, input)
	}
	q := url.Values{}
	for k, raw := range fields {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			q.Set(k, s)
		} else {
			q.Set(k, string(raw))
		}
	}
	req.Method, req.Body = http.MethodGet, nil
	if len(q) > 0 {
		req.URL += "?" + q.Encode()
	}
	return nil
}

// jobHeader carries a job's request settings: the runner hint, the start
// timeout, the queue priority, fal's request controls (payload storage,
// server-side retries, fallbacks, tags), and the storage lifecycle of the
// files the app generates (X-Fal-Object-Lifecycle-Preference).
func jobHeader(s *settings) http.Header {
	lc := s.upload.lifecycle()
	j := s.jobs()
	if j.hint == nil && j.startTimeout == 0 && j.priority == "" && lc == "" && !j.noStore && !j.noRetry && !j.noFallback && j.tags == "" {
		return nil
	}
	h := http.Header{}
	if j.noStore {
		h.Set("X-Fal-Store-IO", "0")
	}
	if j.noRetry {
		h.Set("X-Fal-No-Retry", "1")
	}
	if j.noFallback {
		h.Set("X-App-Fal-Disable-Fallback", "true")
	}
	if j.tags != "" {
		h.Set("X-Fal-Tags", j.tags)
	}
	if j.hint != nil {
		h.Set("X-Fal-Runner-Hint", *j.hint)
	}
	if j.startTimeout > 0 {
		h.Set("X-Fal-Request-Timeout", formatSeconds(j.startTimeout))
	}
	if j.priority != "" {
		h.Set("X-Fal-Queue-Priority", string(j.priority))
	}
	if lc != "" {
		h.Set("X-Fal-Object-Lifecycle-Preference", lc)
	}
	return h
}

// formatSeconds renders d in seconds the way the Python client does:
// 30s → "30.0", 45.5s → "45.5".
func formatSeconds(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// encodeInput encodes an app input as compact UTF-8 JSON. Values that JSON
// cannot represent (NaN, channels, functions, cycles) are refused before
// any request, with the reason.
func encodeInput(op string, input any) ([]byte, error) {
	if body, ok := encodePlainInput(input); ok {
		return body, nil
	}
	return encodeInputJSON(op, input)
}

// encodePlainInput encodes the inputs made only of JSON-like values
// (nil, json.RawMessage, maps, slices, strings, numbers, booleans) without
// encoding/json; ok is false for any other input. Such inputs hold no
// file to upload.
func encodePlainInput(input any) ([]byte, bool) {
	switch input.(type) {
	case nil:
		return []byte("{}"), true
	case json.RawMessage:
		return nil, false // validated by encodeInputJSON
	}
	bp := plainBuffers.Get().(*[]byte)
	b, ok := appendFastJSON((*bp)[:0], input, 0)
	var body []byte
	if ok {
		// The body outlives the buffer (it is replayed on retries): copy it out.
		body = bytes.Clone(b)
	}
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		plainBuffers.Put(bp)
	}
	return body, ok
}

// plainBuffers recycles the buffers of encodePlainInput.
var plainBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// encodeInputJSON encodes input with encoding/json.
func encodeInputJSON(op string, input any) ([]byte, error) {
	switch v := input.(type) {
	case json.RawMessage:
		if !json.Valid(v) {
			return nil, falerr.New("%s: the input json.RawMessage is not valid JSON", op)
		}
		return v, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, falerr.New("%s: the input %v cannot be encoded as JSON", op, v)
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
		return nil, falerr.Wrap(err, "%s: the input cannot be encoded as JSON", op)
	}
	// The body outlives the buffer (it is replayed on retries): copy it out.
	return bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// encodeBuffers recycles the buffers inputs are encoded into.
var encodeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
