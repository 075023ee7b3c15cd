package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"time"

	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// RequestStatus is the outcome of a request in fal's history.
type RequestStatus string

// The request statuses fal documents.
const (
	StatusSuccess   RequestStatus = "success"
	StatusError     RequestStatus = "error"      // the app failed (5xx)
	StatusUserError RequestStatus = "user_error" // the input was refused (4xx)
)

// SortBy orders the request history.
type SortBy string

// The orders fal documents.
const (
	SortByEndedAt  SortBy = "ended_at" // fal's default
	SortByDuration SortBy = "duration"
)

// MaxRequestsLimit is fal's largest page size of the request history.
const MaxRequestsLimit = 100

// RequestsParams selects the requests Requests lists.
type RequestsParams struct {
	// EndpointID is the endpoint whose requests are listed (required).
	EndpointID string
	// Start and End bound the range; End is exclusive. Zero values take
	// fal's defaults: 24 hours ago, and now.
	Start, End time.Time
	// Status keeps the requests with this outcome.
	Status RequestStatus
	// RequestID keeps the one request with this id.
	RequestID string
	// Expand: ExpandPayloads adds each request's input and output.
	Expand []string
	// SortBy orders the list (fal's default: by end time).
	SortBy SortBy
	// Limit is the page size, at most 100 (fal's default: 50).
	Limit int
	// Cursor resumes a listing at a cursor fal returned earlier.
	Cursor string
}

// RequestRecord is one request of fal's history.
type RequestRecord struct {
	RequestID  string `json:"request_id"`
	EndpointID string `json:"endpoint_id"`
	// RunnerID is the runner that served the request, when fal says.
	RunnerID string `json:"runner_id,omitempty"`
	// SentAt is when the request was sent, StartedAt when a runner
	// started it, EndedAt when it ended (zero while it has not).
	SentAt    time.Time `json:"sent_at"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	// StatusCode is the HTTP status of the request's answer; 0 if none.
	StatusCode int `json:"status_code,omitempty"`
	// Duration is how long it ran, in seconds (fal's unit); see Elapsed.
	Duration float64 `json:"duration,omitempty"`
	// JSONInput and JSONOutput are the payloads, with ExpandPayloads
	// (nil otherwise, or when the request was made with payload storage
	// off).
	JSONInput  json.RawMessage `json:"json_input,omitempty"`
	JSONOutput json.RawMessage `json:"json_output,omitempty"`
}

// Elapsed is Duration as a time.Duration.
func (r RequestRecord) Elapsed() time.Duration {
	return time.Duration(r.Duration * float64(time.Second))
}

// UnmarshalJSON reads a record with tolerant times.
func (r *RequestRecord) UnmarshalJSON(b []byte) error {
	type plain RequestRecord
	aux := struct {
		*plain
		SentAt    jsonTime `json:"sent_at"`
		StartedAt jsonTime `json:"started_at"`
		EndedAt   jsonTime `json:"ended_at"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	r.SentAt, r.StartedAt, r.EndedAt = time.Time(aux.SentAt), time.Time(aux.StartedAt), time.Time(aux.EndedAt)
	return nil
}

// MarshalJSON writes fal's shape (zero times as null).
func (r RequestRecord) MarshalJSON() ([]byte, error) {
	type plain RequestRecord
	return json.Marshal(struct {
		plain
		SentAt    jsonTime `json:"sent_at"`
		StartedAt jsonTime `json:"started_at"`
		EndedAt   jsonTime `json:"ended_at"`
	}{plain(r), jsonTime(r.SentAt), jsonTime(r.StartedAt), jsonTime(r.EndedAt)})
}

type requestsPage struct {
	pageInfo
	Items []RequestRecord `json:"items"`
}

var requestsExpand = []string{ExpandPayloads}

func (p RequestsParams) check(op string) error {
	if p.EndpointID == "" {
		return falerr.New("%s: EndpointID is required", op)
	}
	if err := checkEndpointID(op, p.EndpointID); err != nil {
		return err
	}
	if err := checkRange(op, p.Start, p.End); err != nil {
		return err
	}
	switch p.Status {
	case "", StatusSuccess, StatusError, StatusUserError:
	default:
		return falerr.New("%s: unknown status %q (known: success, error, user_error)", op, string(p.Status))
	}
	switch p.SortBy {
	case "", SortByEndedAt, SortByDuration:
	default:
		return falerr.New("%s: unknown SortBy %q (known: ended_at, duration)", op, string(p.SortBy))
	}
	if hasControl(p.RequestID) {
		return falerr.New("%s: RequestID %q contains control characters", op, p.RequestID)
	}
	if err := checkExpand(op, p.Expand, requestsExpand); err != nil {
		return err
	}
	return checkLimit(op, p.Limit, MaxRequestsLimit)
}

// Requests lists the request history of an endpoint (GET
// /v1/models/requests/by-endpoint), following cursors from page to page;
// breaking out of the loop stops it.
func (c *Client) Requests(ctx context.Context, p RequestsParams) iter.Seq2[RequestRecord, error] {
	op := "requests"
	invalid := p.check(op)
	if invalid == nil {
		op += " of " + p.EndpointID
	}
	return seq(op, p.Cursor, invalid, func(cursor string) ([]RequestRecord, string, error) {
		q := url.Values{"endpoint_id": {p.EndpointID}}
		setTime(q, "start", p.Start)
		setTime(q, "end", p.End)
		setString(q, "status", string(p.Status))
		setString(q, "request_id", p.RequestID)
		for _, e := range p.Expand {
			q.Add("expand", e)
		}
		setString(q, "sort_by", string(p.SortBy))
		setInt(q, "limit", p.Limit)
		setString(q, "cursor", cursor)
		resp, err := c.send(ctx, &request{op: op, path: []string{"models", "requests", "by-endpoint"}, query: q, class: retry.Idempotent})
		if err != nil {
			return nil, "", err
		}
		var page requestsPage
		if err := decode(resp, &page, op, true); err != nil {
			return nil, "", err
		}
		return page.Items, page.next(), nil
	})
}

// CDNDeleteResult is the outcome of deleting one stored file.
type CDNDeleteResult struct {
	// Link is the file's URL.
	Link string `json:"link"`
	// Exception is why the file could not be deleted; empty when it was.
	Exception string `json:"exception,omitempty"`
}

// DeletePayloads deletes a request's stored input and output, and the
// files of its output on fal's CDN (DELETE
// /v1/models/requests/{request_id}/payloads; needs an admin key). It
// returns one result per file: check each Exception. idempotencyKey, when
// not empty, is sent as the Idempotency-Key header, so that repeating the
// call (after a lost answer, say) is recognised as the same deletion.
func (c *Client) DeletePayloads(ctx context.Context, requestID, idempotencyKey string) ([]CDNDeleteResult, error) {
	op := "delete payloads of " + requestID
	seg, err := pathSegment("the request id", requestID)
	if err != nil {
		return nil, falerr.Wrap(err, "delete payloads")
	}
	var h http.Header
	if idempotencyKey != "" {
		if hasControl(idempotencyKey) {
			return nil, falerr.New("%s: the idempotency key contains control characters", op)
		}
		h = http.Header{"Idempotency-Key": {idempotencyKey}}
	}
	resp, err := c.send(ctx, &request{op: op, method: http.MethodDelete, path: []string{"models", "requests", seg, "payloads"}, header: h, class: retry.Once, admin: true})
	if err != nil {
		return nil, err
	}
	var out struct {
		Results []CDNDeleteResult `json:"cdn_delete_results"`
	}
	if len(bytes.TrimSpace(resp.Body)) == 0 {
		return nil, nil // an answer without a body (204) lists no files
	}
	if err := decode(resp, &out, op, true); err != nil {
		return nil, err
	}
	return out.Results, nil
}
