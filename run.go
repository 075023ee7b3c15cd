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

	"github.com/falgo/fal/internal/appid"
	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
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
	req, err := c.jobRequest(ctx, cl, "run "+app, app, cl.eng.Hosts.Run, input)
	if err != nil {
		return nil, err
	}
	resp, err := cl.eng.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	return &Result{RequestID: resp.RequestID, Data: resp.Body}, nil
}

// jobRequest builds the POST that starts a job of app on host (run,
// submit, stream): the input's files are uploaded, the input encoded, and
// the call's request settings become headers.
func (c *Client) jobRequest(ctx context.Context, cl *call, op, app string, host *url.URL, input any) (*engine.Request, error) {
	if err := appid.Validate(app); err != nil {
		return nil, falerr.Wrap(err, "%s", op)
	}
	if err := c.uploadInputs(ctx, cl, input); err != nil {
		return nil, err
	}
	body, err := encodeInput(op, input)
	if err != nil {
		return nil, err
	}
	return &engine.Request{
		Op: op, Method: http.MethodPost, URL: engine.Join(host, app, cl.s.path),
		Body: body, Header: jobHeader(&cl.s), Class: retry.Once,
	}, nil
}

// jobHeader carries a job's request settings: the runner hint, the start
// timeout, the queue priority, and the storage lifecycle of the files the
// app generates (X-Fal-Object-Lifecycle-Preference).
func jobHeader(s *settings) http.Header {
	lc := s.upload.lifecycle()
	if s.hint == nil && s.startTimeout == 0 && s.priority == "" && lc == "" {
		return nil
	}
	h := http.Header{}
	if s.hint != nil {
		h.Set("X-Fal-Runner-Hint", *s.hint)
	}
	if s.startTimeout > 0 {
		h.Set("X-Fal-Request-Timeout", formatSeconds(s.startTimeout))
	}
	if s.priority != "" {
		h.Set("X-Fal-Queue-Priority", string(s.priority))
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
	if input == nil {
		return []byte("{}"), nil
	}
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
