package faltest

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"
)

// ModelInfo is the metadata GET /api/v1/models reports for an app (the
// "metadata" object of fal's model search). Pass it to Info. Empty fields
// get defaults: DisplayName the app id's last segment, Category
// "uncategorized", Status "active", Kind "inference", EnterpriseStatus
// "ready", Date the registration time.
type ModelInfo struct {
	DisplayName string
	// Category is fal's category, e.g. "text-to-image", "llm".
	Category    string
	Description string
	// Status is "active" or "deprecated".
	Status string
	Tags   []string
	// Kind is "inference" or "training".
	Kind string
	// LicenseType is "commercial", "research" or "private" ("" for none).
	LicenseType  string
	ThumbnailURL string
	GithubURL    string
	// Group, if set, groups related endpoints ({key, label}).
	GroupKey, GroupLabel string
	// Streaming adds stream_url (the app's /stream URL on this server).
	Streaming bool
	// DurationEstimate is the expected run time in minutes (0: none).
	DurationEstimate float64
	// EnterpriseStatus is "ready" or "pending" (expand=enterprise_status).
	EnterpriseStatus string
	// TrainingEndpointIDs and InferenceEndpointIDs link related endpoints.
	TrainingEndpointIDs, InferenceEndpointIDs []string
	// Date is when the model was published.
	Date time.Time
}

// Info sets the metadata of the app reported by GET /api/v1/models.
func Info(m ModelInfo) AppOption {
	return func(c *appConfig) {
		switch m.Status {
		case "", "active", "deprecated":
		default:
			c.errs = append(c.errs, fmt.Errorf("Info: Status %q: use \"active\" or \"deprecated\"", m.Status))
			return
		}
		switch m.Kind {
		case "", "inference", "training":
		default:
			c.errs = append(c.errs, fmt.Errorf("Info: Kind %q: use \"inference\" or \"training\"", m.Kind))
			return
		}
		switch m.LicenseType {
		case "", "commercial", "research", "private":
		default:
			c.errs = append(c.errs, fmt.Errorf("Info: LicenseType %q: use \"commercial\", \"research\" or \"private\"", m.LicenseType))
			return
		}
		switch m.EnterpriseStatus {
		case "", "ready", "pending":
		default:
			c.errs = append(c.errs, fmt.Errorf("Info: EnterpriseStatus %q: use \"ready\" or \"pending\"", m.EnterpriseStatus))
			return
		}
		m.Tags = append([]string(nil), m.Tags...)
		m.TrainingEndpointIDs = append([]string(nil), m.TrainingEndpointIDs...)
		m.InferenceEndpointIDs = append([]string(nil), m.InferenceEndpointIDs...)
		c.info = &m
	}
}

// Price sets what the app costs: unitPrice USD per billing unit (e.g.
// 0.003 per "megapixels", 0.025 per "images", 0.001 per "requests"). A
// request bills the units its handler set with Request.SetBillableUnits,
// or 1 unit if it succeeded without setting any (see the package
// documentation). Apps without a price cost nothing: 0 USD per "requests".
func Price(unitPrice float64, unit string) AppOption {
	return func(c *appConfig) {
		if math.IsNaN(unitPrice) || math.IsInf(unitPrice, 0) || unitPrice < 0 {
			c.errs = append(c.errs, fmt.Errorf("Price(%v, %q): the unit price must be a finite number >= 0", unitPrice, unit))
			return
		}
		if strings.TrimSpace(unit) == "" {
			c.errs = append(c.errs, fmt.Errorf("Price(%v, %q): name the billing unit, e.g. \"images\"", unitPrice, unit))
			return
		}
		c.price, c.unit, c.priced = unitPrice, unit, true
	}
}

// Schema declares the app's input and output as Go types: GET
// /api/v1/models?expand=openapi-3.0 then serves an OpenAPI 3.0 document in
// fal's queue format for the app, generated from them. Pass values (or
// nil pointers) of the types, e.g. Schema(MyInput{}, (*MyOutput)(nil));
// output may be nil (any JSON).
//
// The types are walked as encoding/json sees them: json tags name the
// properties (in field order, which becomes x-fal-order-properties);
// fields are required unless they are pointers, omitempty, have a
// default, or say required:"false"; pointers become anyOf [X, null];
// named struct types become shared schemas under components.schemas.
// These struct tags refine a property: title, description, default,
// examples (one example), enum (comma-separated), minimum, maximum,
// exclusiveMinimum, exclusiveMaximum and format. For example:
//
//	type Input struct {
//		Prompt string `json:"prompt" description:"The prompt to generate an image from."`
//		Steps  int    `json:"num_inference_steps,omitempty" default:"4" minimum:"1" maximum:"12"`
//		Format string `json:"output_format,omitempty" enum:"jpeg,png" default:"png"`
//	}
//
// A blank field `_ struct{} title:"..." description:"..."` titles and
// describes the struct's own schema (default title: the Go type's name). A
// type that implements SchemaDescriber describes itself (for unions).
func Schema(input, output any) AppOption {
	return func(c *appConfig) {
		if input == nil {
			c.errs = append(c.errs, fmt.Errorf("Schema: the input is nil; pass a value of the input type, e.g. MyInput{}"))
			return
		}
		c.inType = reflect.TypeOf(input)
		c.outType = nil
		if output != nil {
			c.outType = reflect.TypeOf(output)
		}
		c.schemaSet, c.doc = true, nil
	}
}

// OpenAPI gives the app's OpenAPI document verbatim (a JSON object with
// an "openapi" version), served as is by GET
// /api/v1/models?expand=openapi-3.0. It replaces a document from Schema.
func OpenAPI(doc []byte) AppOption {
	return func(c *appConfig) {
		d, err := checkOpenAPIDocument(doc)
		if err != nil {
			c.errs = append(c.errs, fmt.Errorf("OpenAPI: %w", err))
			return
		}
		c.doc, c.schemaSet = d, false
	}
}

// platformApp is what the Platform API knows of a registered app,
// computed once by Register.
type platformApp struct {
	info       ModelInfo
	price      float64
	unit       string
	doc        json.RawMessage // nil: no document (expansion fails)
	registered time.Time
}

// buildPlatformApp fills in the defaults and generates the document.
func buildPlatformApp(id string, cfg *appConfig, now time.Time) (*platformApp, error) {
	p := &platformApp{registered: now, unit: "requests"}
	if cfg.info != nil {
		p.info = *cfg.info
	}
	if p.info.DisplayName == "" {
		p.info.DisplayName = id[strings.LastIndexByte(id, '/')+1:]
	}
	if p.info.Category == "" {
		p.info.Category = "uncategorized"
	}
	if p.info.Status == "" {
		p.info.Status = "active"
	}
	if p.info.Kind == "" {
		p.info.Kind = "inference"
	}
	if p.info.EnterpriseStatus == "" {
		p.info.EnterpriseStatus = "ready"
	}
	if p.info.Tags == nil {
		p.info.Tags = []string{}
	}
	if p.info.Date.IsZero() {
		p.info.Date = now
	}
	if cfg.priced {
		p.price, p.unit = cfg.price, cfg.unit
	}
	switch {
	case cfg.doc != nil:
		p.doc = cfg.doc
	case cfg.schemaSet:
		doc, err := queueDocument(id, p.info, cfg.inType, cfg.outType)
		if err != nil {
			return nil, fmt.Errorf("Schema: %w", err)
		}
		p.doc = doc
	}
	return p, nil
}

// searchText is what GET /models?q= searches: id, name, description and
// tags, lower-cased.
func (p *platformApp) searchText(id string) string {
	return strings.ToLower(id + "\n" + p.info.DisplayName + "\n" + p.info.Description + "\n" + strings.Join(p.info.Tags, "\n") + "\n" + p.info.Category)
}

// modelMetadata is the metadata object of GET /models, in fal's field
// order (from the Platform API's published OpenAPI document).
func (s *Server) modelMetadata(id string, p *platformApp, authenticated bool) obj {
	m := obj{
		{"display_name", p.info.DisplayName},
		{"category", p.info.Category},
		{"description", p.info.Description},
		{"status", p.info.Status},
		{"tags", p.info.Tags},
		{"updated_at", formatTime(p.registered)},
	}
	if authenticated {
		m.set("is_favorited", false)
	} else {
		m.set("is_favorited", nil)
	}
	m.set("thumbnail_url", p.info.ThumbnailURL)
	m.set("model_url", s.URL+"/run/"+id)
	if p.info.GithubURL != "" {
		m.set("github_url", p.info.GithubURL)
	}
	if p.info.LicenseType != "" {
		m.set("license_type", p.info.LicenseType)
	}
	m.set("date", formatTime(p.info.Date))
	if p.info.GroupKey != "" {
		m.set("group", obj{{"key", p.info.GroupKey}, {"label", p.info.GroupLabel}})
	}
	m.set("highlighted", false)
	m.set("kind", p.info.Kind)
	if len(p.info.TrainingEndpointIDs) > 0 {
		m.set("training_endpoint_ids", p.info.TrainingEndpointIDs)
	}
	if len(p.info.InferenceEndpointIDs) > 0 {
		m.set("inference_endpoint_ids", p.info.InferenceEndpointIDs)
	}
	if p.info.Streaming {
		m.set("stream_url", s.URL+"/run/"+id+"/stream")
	}
	if p.info.DurationEstimate > 0 {
		m.set("duration_estimate", p.info.DurationEstimate)
	}
	m.set("pinned", false)
	return m
}

// formatTime is the Platform API's timestamp form (UTC, milliseconds).
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
