package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"time"

	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// ModelStatus is a model's lifecycle status.
type ModelStatus string

// The model statuses fal documents.
const (
	ModelActive     ModelStatus = "active"
	ModelDeprecated ModelStatus = "deprecated"
)

// ModelsParams selects the models Models lists. The zero value lists
// every model.
type ModelsParams struct {
	// EndpointIDs narrows the list to these endpoints (at most 50).
	EndpointIDs []string
	// Query is a free-text search over names, descriptions and
	// categories (fal's q).
	Query string
	// Category filters by category, e.g. "text-to-image".
	Category string
	// Status filters by status; empty lists every status.
	Status ModelStatus
	// Expand adds data to each model: ExpandOpenAPI, ExpandEnterpriseStatus.
	Expand []string
	// Limit is the page size (fal's default when 0); the iterator still
	// yields every model, page after page.
	Limit int
	// Cursor resumes a listing at a cursor fal returned earlier.
	Cursor string
}

// Model is one model endpoint of fal's catalogue.
type Model struct {
	// EndpointID is the id to call it with, e.g. "fal-ai/flux/dev".
	EndpointID string `json:"endpoint_id"`
	// Metadata describes the model; nil when fal sent none.
	Metadata *ModelMetadata `json:"metadata,omitempty"`
	// OpenAPI is the endpoint's OpenAPI 3.0 document (with
	// ExpandOpenAPI), as fal sent it.
	OpenAPI json.RawMessage `json:"-"`
	// OpenAPIError is set instead of OpenAPI when fal could not expand
	// the document (fal's openapi: {"error": {code, message}}).
	OpenAPIError *ExpandError `json:"-"`
	// EnterpriseStatus is "ready" or "pending" (with
	// ExpandEnterpriseStatus).
	EnterpriseStatus string `json:"-"`
	// EnterpriseStatusError is set instead when fal could not expand it.
	EnterpriseStatusError *ExpandError `json:"-"`
}

// ExpandError is fal's answer for an expansion it could not make.
type ExpandError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *ExpandError) Error() string {
	return fmt.Sprintf("%sthe expansion failed: %s (code %s)", falerr.Prefix, oneLine(e.Message), e.Code)
}

// ModelMetadata is what fal's catalogue says about a model.
type ModelMetadata struct {
	DisplayName string `json:"display_name"`
	// Category is e.g. "text-to-image", "image-to-video", "training".
	Category    string      `json:"category"`
	Description string      `json:"description"`
	Status      ModelStatus `json:"status"`
	Tags        []string    `json:"tags"`
	// UpdatedAt is when the model was last updated; zero if unknown.
	UpdatedAt            time.Time `json:"updated_at"`
	ThumbnailURL         string    `json:"thumbnail_url"`
	ThumbnailAnimatedURL string    `json:"thumbnail_animated_url,omitempty"`
	// ModelURL is the model's page on fal.ai.
	ModelURL  string `json:"model_url"`
	GithubURL string `json:"github_url,omitempty"`
	// LicenseType is "commercial", "research" or "private".
	LicenseType string `json:"license_type,omitempty"`
	// Date is the model's date as fal writes it (format undocumented).
	Date  string      `json:"date"`
	Group *ModelGroup `json:"group,omitempty"`
	// Highlighted and Pinned are fal's gallery flags; IsFavorited is
	// whether the caller marked the model as a favourite.
	Highlighted bool `json:"highlighted"`
	Pinned      bool `json:"pinned"`
	IsFavorited bool `json:"is_favorited"`
	// Kind is "inference" or "training".
	Kind string `json:"kind,omitempty"`
	// TrainingEndpointIDs and InferenceEndpointIDs link a model to its
	// trainer or to the models it trains.
	TrainingEndpointIDs  []string `json:"training_endpoint_ids,omitempty"`
	InferenceEndpointIDs []string `json:"inference_endpoint_ids,omitempty"`
	StreamURL            string   `json:"stream_url,omitempty"`
	// DurationEstimate is fal's estimate of a run's duration (its unit
	// is not documented); 0 when fal gives none.
	DurationEstimate float64 `json:"duration_estimate,omitempty"`
}

// ModelGroup is the family a model belongs to in fal's gallery.
type ModelGroup struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

// UnmarshalJSON reads fal's metadata, with a tolerant updated_at.
func (m *ModelMetadata) UnmarshalJSON(b []byte) error {
	type plain ModelMetadata
	aux := struct {
		*plain
		UpdatedAt jsonTime `json:"updated_at"`
	}{plain: (*plain)(m)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	m.UpdatedAt = time.Time(aux.UpdatedAt)
	return nil
}

// MarshalJSON writes fal's shape (a zero UpdatedAt as null).
func (m ModelMetadata) MarshalJSON() ([]byte, error) {
	type plain ModelMetadata
	return json.Marshal(struct {
		plain
		UpdatedAt jsonTime `json:"updated_at"`
	}{plain(m), jsonTime(m.UpdatedAt)})
}

// modelWire is a model as fal sends it.
type modelWire struct {
	EndpointID       string          `json:"endpoint_id"`
	Metadata         *ModelMetadata  `json:"metadata,omitempty"`
	OpenAPI          json.RawMessage `json:"openapi,omitempty"`
	EnterpriseStatus json.RawMessage `json:"enterprise_status,omitempty"`
}

// UnmarshalJSON reads a model, telling an expanded document from fal's
// failed-expansion form {"error": {code, message}}.
func (m *Model) UnmarshalJSON(b []byte) error {
	var w modelWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*m = Model{EndpointID: w.EndpointID, Metadata: w.Metadata}
	if raw := bytes.TrimSpace(w.OpenAPI); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if ee := expandError(raw); ee != nil {
			m.OpenAPIError = ee
		} else {
			m.OpenAPI = unquoteDocument(raw)
		}
	}
	if raw := bytes.TrimSpace(w.EnterpriseStatus); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if ee := expandError(raw); ee != nil {
			m.EnterpriseStatusError = ee
		} else if err := json.Unmarshal(raw, &m.EnterpriseStatus); err != nil {
			return fmt.Errorf("enterprise_status: %w", err)
		}
	}
	return nil
}

// MarshalJSON writes the model in fal's shape.
func (m Model) MarshalJSON() ([]byte, error) {
	w := modelWire{EndpointID: m.EndpointID, Metadata: m.Metadata, OpenAPI: m.OpenAPI}
	var err error
	if m.OpenAPIError != nil {
		if w.OpenAPI, err = json.Marshal(map[string]*ExpandError{"error": m.OpenAPIError}); err != nil {
			return nil, err
		}
	}
	switch {
	case m.EnterpriseStatusError != nil:
		w.EnterpriseStatus, err = json.Marshal(map[string]*ExpandError{"error": m.EnterpriseStatusError})
	case m.EnterpriseStatus != "":
		w.EnterpriseStatus, err = json.Marshal(m.EnterpriseStatus)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// expandError recognises {"error": {...}} without an OpenAPI document
// beside it.
func expandError(raw []byte) *ExpandError {
	if raw[0] != '{' {
		return nil
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(raw, &probe) != nil {
		return nil
	}
	inner, ok := probe["error"]
	if !ok || len(probe) != 1 {
		return nil
	}
	ee := &ExpandError{}
	if json.Unmarshal(inner, ee) != nil {
		// {"error": "text"}: the message without a code.
		var s string
		if json.Unmarshal(inner, &s) != nil {
			return nil
		}
		ee.Message = s
	}
	return ee
}

// unquoteDocument returns a document fal sent as a JSON string (an
// encoded document) as the document itself; anything else as is.
func unquoteDocument(raw []byte) json.RawMessage {
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil && json.Valid([]byte(s)) {
			return json.RawMessage(s)
		}
	}
	return json.RawMessage(raw)
}

// modelsPage is one page of GET /models.
type modelsPage struct {
	pageInfo
	Models []Model `json:"models"`
}

var modelsExpand = []string{ExpandOpenAPI, ExpandEnterpriseStatus}

func (p ModelsParams) check(op string) error {
	if err := checkEndpointIDs(op, p.EndpointIDs, 0, MaxEndpointIDs); err != nil {
		return err
	}
	switch p.Status {
	case "", ModelActive, ModelDeprecated:
	default:
		return falerr.New("%s: unknown status %q (known: active, deprecated)", op, string(p.Status))
	}
	if err := checkExpand(op, p.Expand, modelsExpand); err != nil {
		return err
	}
	return checkLimit(op, p.Limit, 0)
}

func (p ModelsParams) query() url.Values {
	q := url.Values{}
	for _, id := range p.EndpointIDs {
		q.Add("endpoint_id", id)
	}
	setString(q, "q", p.Query)
	setString(q, "category", p.Category)
	setString(q, "status", string(p.Status))
	for _, e := range p.Expand {
		q.Add("expand", e)
	}
	setInt(q, "limit", p.Limit)
	return q
}

// Models lists fal's model endpoints (GET /v1/models), following cursors
// from page to page; breaking out of the loop stops it. It works without
// credentials (fal then applies lower rate limits) and uses the client's
// key when it has one.
func (c *Client) Models(ctx context.Context, p ModelsParams) iter.Seq2[Model, error] {
	const op = "list models"
	return seq(op, p.Cursor, p.check(op), func(cursor string) ([]Model, string, error) {
		q := p.query()
		setString(q, "cursor", cursor)
		page, err := c.modelsPage(ctx, op, q)
		if err != nil {
			return nil, "", err
		}
		return page.Models, page.next(), nil
	})
}

func (c *Client) modelsPage(ctx context.Context, op string, q url.Values) (*modelsPage, error) {
	resp, err := c.send(ctx, &request{op: op, path: []string{"models"}, query: q, class: retry.Idempotent, anonymous: true})
	if err != nil {
		return nil, err
	}
	var page modelsPage
	if err := decode(resp, &page, op, true); err != nil {
		return nil, err
	}
	return &page, nil
}

// Model returns one model endpoint with the given expansions (e.g.
// ExpandOpenAPI for its schema): Models with a single endpoint_id. An
// unknown id gives an error matching ErrNotFound.
func (c *Client) Model(ctx context.Context, endpointID string, expand ...string) (*Model, error) {
	p := ModelsParams{EndpointIDs: []string{endpointID}, Expand: expand}
	if err := p.check("model"); err != nil {
		return nil, err
	}
	op := "model " + endpointID
	page, err := c.modelsPage(ctx, op, p.query())
	if err != nil {
		return nil, err
	}
	for i := range page.Models {
		if page.Models[i].EndpointID == endpointID {
			return &page.Models[i], nil
		}
	}
	return nil, falerr.Wrap(ErrNotFound, "model %q is not in fal's catalogue", endpointID)
}
