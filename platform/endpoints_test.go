package platform_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal/platform"
)

// TestEndpointRequests checks, for every endpoint, the request falgo
// sends (method, path, query, body, headers) and that the documented
// answer decodes.
func TestEndpointRequests(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2025, 2, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600))
	cases := []struct {
		name   string
		call   func(context.Context, *platform.Client) (any, error)
		method string
		path   string // as sent (escaped), below the API host
		query  url.Values
		body   string // JSON; "" for none
		header map[string]string
		status int
		answer string
		check  func(t *testing.T, got any)
	}{
		{
			name: "models",
			call: func(ctx context.Context, c *platform.Client) (any, error) {
				return collect(c.Models(ctx, platform.ModelsParams{
					EndpointIDs: []string{"fal-ai/flux/dev", "fal-ai/flux-pro"}, Query: "text to image", Category: "text-to-image",
					Status: platform.ModelActive, Expand: []string{platform.ExpandOpenAPI, platform.ExpandEnterpriseStatus}, Limit: 10,
				}))
			},
			method: "GET", path: "/v1/models",
			query: url.Values{"endpoint_id": {"fal-ai/flux/dev", "fal-ai/flux-pro"}, "q": {"text to image"}, "category": {"text-to-image"},
				"status": {"active"}, "expand": {"openapi-3.0", "enterprise_status"}, "limit": {"10"}},
			answer: `{"models":[
				{"endpoint_id":"fal-ai/flux/dev","metadata":{"display_name":"FLUX.1 [dev]","category":"text-to-image","description":"d",
				 "status":"active","tags":["a","b"],"updated_at":"2025-01-15T10:30:45.123Z","thumbnail_url":"https://x/t.png",
				 "thumbnail_animated_url":"https://x/t.gif","model_url":"https://fal.ai/models/fal-ai/flux/dev","github_url":"https://github.com/x",
				 "license_type":"commercial","date":"2024-08-01","group":{"key":"flux","label":"FLUX"},"highlighted":true,"kind":"inference",
				 "training_endpoint_ids":["fal-ai/flux-lora-trainer"],"inference_endpoint_ids":[],"stream_url":"https://x/stream",
				 "duration_estimate":4.5,"pinned":true,"is_favorited":false},
				 "openapi":{"openapi":"3.0.4","paths":{}},"enterprise_status":"ready"},
				{"endpoint_id":"fal-ai/flux-pro","openapi":{"error":{"code":"schema_unavailable","message":"no schema"}},
				 "enterprise_status":{"error":{"code":"unknown","message":"not known"}}}],
				"next_cursor":null,"has_more":false}`,
			check: func(t *testing.T, got any) {
				ms := got.([]platform.Model)
				if len(ms) != 2 {
					t.Fatalf("%d models", len(ms))
				}
				m := ms[0]
				md := m.Metadata
				want := platform.ModelMetadata{DisplayName: "FLUX.1 [dev]", Category: "text-to-image", Description: "d", Status: platform.ModelActive,
					Tags: []string{"a", "b"}, UpdatedAt: time.Date(2025, 1, 15, 10, 30, 45, 123e6, time.UTC), ThumbnailURL: "https://x/t.png",
					ThumbnailAnimatedURL: "https://x/t.gif", ModelURL: "https://fal.ai/models/fal-ai/flux/dev", GithubURL: "https://github.com/x",
					LicenseType: "commercial", Date: "2024-08-01", Group: &platform.ModelGroup{Key: "flux", Label: "FLUX"}, Highlighted: true,
					Kind: "inference", TrainingEndpointIDs: []string{"fal-ai/flux-lora-trainer"}, InferenceEndpointIDs: []string{},
					StreamURL: "https://x/stream", DurationEstimate: 4.5, Pinned: true}
				if md == nil || !reflect.DeepEqual(*md, want) {
					t.Errorf("metadata = %+v\nwant       %+v", md, want)
				}
				if !sameJSON(t, m.OpenAPI, []byte(`{"openapi":"3.0.4","paths":{}}`)) || m.OpenAPIError != nil || m.EnterpriseStatus != "ready" {
					t.Errorf("model 1 = %+v", m)
				}
				m = ms[1]
				if m.OpenAPI != nil || m.OpenAPIError == nil || m.OpenAPIError.Code != "schema_unavailable" || m.OpenAPIError.Message != "no schema" ||
					m.EnterpriseStatusError == nil || m.EnterpriseStatusError.Code != "unknown" || m.Metadata != nil {
					t.Errorf("model 2 = %+v", m)
				}
				if !strings.Contains(m.OpenAPIError.Error(), "no schema") {
					t.Errorf("ExpandError = %v", m.OpenAPIError)
				}
			},
		},
		{
			name: "model",
			call: func(ctx context.Context, c *platform.Client) (any, error) {
				return c.Model(ctx, "fal-ai/flux/dev", platform.ExpandOpenAPI)
			},
			method: "GET", path: "/v1/models",
			query:  url.Values{"endpoint_id": {"fal-ai/flux/dev"}, "expand": {"openapi-3.0"}},
			answer: `{"models":[{"endpoint_id":"fal-ai/flux/dev","openapi":"{\"openapi\":\"3.0.4\"}"}],"next_cursor":null,"has_more":false}`,
			check: func(t *testing.T, got any) {
				m := got.(*platform.Model)
				if m.EndpointID != "fal-ai/flux/dev" || !sameJSON(t, m.OpenAPI, []byte(`{"openapi":"3.0.4"}`)) {
					t.Errorf("model = %+v (%s)", m, m.OpenAPI)
				}
			},
		},
		{
			name: "pricing",
			call: func(ctx context.Context, c *platform.Client) (any, error) {
				return c.Pricing(ctx, "fal-ai/flux/dev", "fal-ai/kling", "fal-ai/flux/dev")
			},
			method: "GET", path: "/v1/models/pricing",
			query: url.Values{"endpoint_id": {"fal-ai/flux/dev", "fal-ai/kling"}},
			answer: `{"prices":[{"endpoint_id":"fal-ai/flux/dev","unit_price":0.025,"unit":"image","currency":"USD"},
				{"endpoint_id":"fal-ai/kling","unit_price":"0.0000125","unit":"second","currency":"EUR"}],"next_cursor":null,"has_more":false}`,
			check: func(t *testing.T, got any) {
				want := []platform.Price{{"fal-ai/flux/dev", "0.025", "image", "USD"}, {"fal-ai/kling", "0.0000125", "second", "EUR"}}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("prices = %+v", got)
				}
			},
		},
		{
			name: "estimate calls",
			call: func(ctx context.Context, c *platform.Client) (any, error) {
				return c.Estimate(ctx, platform.EstimateRequest{Calls: map[string]int{"fal-ai/flux/dev": 100, "fal-ai/flux/schnell": 50}})
			},
			method: "POST", path: "/v1/models/pricing/estimate",
			body:   `{"estimate_type":"historical_api_price","endpoints":{"fal-ai/flux/dev":{"call_quantity":100},"fal-ai/flux/schnell":{"call_quantity":50}}}`,
			header: map[string]string{"Content-Type": "application/json"},
			answer: `{"estimate_type":"historical_api_price","total_cost":3.75,"currency":"USD"}`,
			check: func(t *testing.T, got any) {
				if e := got.(*platform.Estimate); *e != (platform.Estimate{Type: platform.EstimateHistorical, TotalCost: "3.75", Currency: "USD"}) {
					t.Errorf("estimate = %+v", e)
				}
			},
		},
		{
			name: "estimate units",
			call: func(ctx context.Context, c *platform.Client) (any, error) {
				return c.Estimate(ctx, platform.EstimateRequest{Units: map[string]float64{"fal-ai/flux/dev": 2.5}})
			},
			method: "POST", path: "/v1/models/pricing/estimate",
			body:   `{"estimate_type":"unit_price","endpoints":{"fal-ai/flux/dev":{"unit_quantity":2.5}}}`,
			answer: `{"estimate_type":"unit_price","total_cost":0.0625,"currency":"USD"}`,
			check: func(t *testing.T, got any) {
				if e := got.(*platform.Estimate); e.TotalCost != "0.0625" || e.Type != platform.EstimateUnitPrice {
					t.Errorf("estimate = %+v", e)
				}
			},
		},
		{
			name: "usage",
			call: func(ctx context.Context, c *platform.Client) (any, error) {
				return c.Usage(ctx, platform.UsageParams{EndpointIDs: []string{"fal-ai/flux/dev"}, Start: start, End: end, Timezone: "America/New_York",
					Timeframe: platform.Day, ExactRange: true, Expand: []string{platform.ExpandTimeSeries, platform.ExpandSummary, platform.ExpandAuthMethod}, Limit: 20})
			},
			method: "GET", path: "/v1/models/usage",
			query: url.Values{"endpoint_id": {"fal-ai/flux/dev"}, "start": {"2025-01-01T00:00:00Z"}, "end": {"2025-01-31T23:00:00Z"},
				"timezone": {"America/New_York"}, "timeframe": {"day"}, "bound_to_timeframe": {"false"},
				"expand": {"time_series", "summary", "auth_method"}, "limit": {"20"}},
			answer: `{"time_series":[{"bucket":"2025-01-15T00:00:00-05:00","results":[{"endpoint_id":"fal-ai/flux/dev","unit":"image","quantity":4,
				"unit_price":0.1,"cost":0.4,"currency":"USD","auth_method":"Production Key"}]}],
				"summary":[{"endpoint_id":"fal-ai/flux/dev","unit":"image","quantity":4,"unit_price":0.1,"cost":0.4,"currency":"USD"}],
				"next_cursor":null,"has_more":false}`,
			check: func(t *testing.T, got any) {
				u := got.(*platform.Usage)
				line := platform.UsageLine{EndpointID: "fal-ai/flux/dev", Unit: "image", Quantity: "4", UnitPrice: "0.1", Cost: "0.4", Currency: "USD"}
				withAuth := line
				withAuth.AuthMethod = "Production Key"
				if len(u.TimeSeries) != 1 || !reflect.DeepEqual(u.TimeSeries[0].Results, []platform.UsageLine{withAuth}) || !reflect.DeepEqual(u.Summary, []platform.UsageLine{line}) {
					t.Fatalf("usage = %+v", u)
				}
				b := u.TimeSeries[0].Bucket
				if _, off := b.Zone(); off != -5*3600 || !b.Equal(time.Date(2025, 1, 15, 5, 0, 0, 0, time.UTC)) {
					t.Errorf("bucket = %v; want the instant with its -05:00 offset", b)
				}
			},
		},
		{
			name: "analytics",
			call: func(ctx context.Context, c *platform.Client) (any, error) {
				return c.Analytics(ctx, platform.AnalyticsParams{EndpointIDs: []string{"a/b", "c/d"}, Start: start, Timeframe: platform.Hour,
					Expand: []string{"request_count", "p90_duration", platform.ExpandSummary}})
			},
			method: "GET", path: "/v1/models/analytics",
			query: url.Values{"endpoint_id": {"a/b", "c/d"}, "start": {"2025-01-01T00:00:00Z"}, "timeframe": {"hour"},
				"expand": {"request_count", "p90_duration", "summary"}},
			answer: `{"time_series":[{"bucket":"2025-01-01T01:00:00Z","results":[{"endpoint_id":"a/b","request_count":3,"p90_duration":1.25,"p50_duration":null}]}],
				"summary":[{"endpoint_id":"a/b","request_count":3,"new_metric_from_fal":7}],"next_cursor":null,"has_more":false}`,
			check: func(t *testing.T, got any) {
				a := got.(*platform.Analytics)
				if len(a.TimeSeries) != 1 || !a.TimeSeries[0].Bucket.Equal(time.Date(2025, 1, 1, 1, 0, 0, 0, time.UTC)) {
					t.Fatalf("analytics = %+v", a)
				}
				if r := a.TimeSeries[0].Results; len(r) != 1 || r[0].EndpointID != "a/b" || !reflect.DeepEqual(r[0].Metrics, map[string]float64{"request_count": 3, "p90_duration": 1.25}) {
					t.Errorf("results = %+v", r)
				}
				if s := a.Summary; len(s) != 1 || s[0].Metrics["new_metric_from_fal"] != 7 {
					t.Errorf("summary = %+v", s)
				}
			},
		},
		{
			name: "requests",
			call: func(ctx context.Context, c *platform.Client) (any, error) {
				return collect(c.Requests(ctx, platform.RequestsParams{EndpointID: "fal-ai/flux/dev", Start: start, End: end, Status: platform.StatusUserError,
					RequestID: "a1b2", Expand: []string{platform.ExpandPayloads}, SortBy: platform.SortByDuration, Limit: 100}))
			},
			method: "GET", path: "/v1/models/requests/by-endpoint",
			query: url.Values{"endpoint_id": {"fal-ai/flux/dev"}, "start": {"2025-01-01T00:00:00Z"}, "end": {"2025-01-31T23:00:00Z"},
				"status": {"user_error"}, "request_id": {"a1b2"}, "expand": {"payloads"}, "sort_by": {"duration"}, "limit": {"100"}},
			answer: `{"items":[{"request_id":"a1b2","endpoint_id":"fal-ai/flux/dev","runner_id":"r-1","started_at":"2025-01-01T00:00:05Z",
				"sent_at":"2025-01-01T00:00:01.5","ended_at":null,"status_code":422,"duration":7.8,
				"json_input":{"prompt":"cat astronaut"},"json_output":null}],"next_cursor":null,"has_more":false}`,
			check: func(t *testing.T, got any) {
				rs := got.([]platform.RequestRecord)
				if len(rs) != 1 {
					t.Fatalf("%d records", len(rs))
				}
				r := rs[0]
				if r.RequestID != "a1b2" || r.EndpointID != "fal-ai/flux/dev" || r.RunnerID != "r-1" || r.StatusCode != 422 || r.Duration != 7.8 ||
					r.Elapsed() != 7800*time.Millisecond || !r.StartedAt.Equal(time.Date(2025, 1, 1, 0, 0, 5, 0, time.UTC)) ||
					!r.SentAt.Equal(time.Date(2025, 1, 1, 0, 0, 1, 5e8, time.UTC)) || !r.EndedAt.IsZero() {
					t.Errorf("record = %+v", r)
				}
				if string(r.JSONInput) != `{"prompt":"cat astronaut"}` || string(r.JSONOutput) != "null" && r.JSONOutput != nil {
					t.Errorf("payloads = %s / %s", r.JSONInput, r.JSONOutput)
				}
			},
		},
		{
			name: "delete payloads",
			call: func(ctx context.Context, c *platform.Client) (any, error) {
				return c.DeletePayloads(ctx, "req 1?x", "idem-1")
			},
			method: "DELETE", path: "/v1/models/requests/req%201%3Fx/payloads",
			header: map[string]string{"Idempotency-Key": "idem-1"},
			answer: `{"cdn_delete_results":[{"link":"https://v3.fal.media/a.png","exception":null},{"link":"https://v3.fal.media/b.png","exception":"gone"}]}`,
			check: func(t *testing.T, got any) {
				want := []platform.CDNDeleteResult{{Link: "https://v3.fal.media/a.png"}, {Link: "https://v3.fal.media/b.png", Exception: "gone"}}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("results = %+v", got)
				}
			},
		},
		{
			name: "delete payloads without idempotency key",
			call: func(ctx context.Context, c *platform.Client) (any, error) {
				return c.DeletePayloads(ctx, "req-2", "")
			},
			method: "DELETE", path: "/v1/models/requests/req-2/payloads",
			header: map[string]string{"Idempotency-Key": ""},
			answer: `{"cdn_delete_results":[]}`,
			check:  func(t *testing.T, got any) {},
		},
		{
			name:   "billing",
			call:   func(ctx context.Context, c *platform.Client) (any, error) { return c.Billing(ctx) },
			method: "GET", path: "/v1/account/billing", query: url.Values{"expand": {"credits"}},
			answer: `{"username":"my-team","credits":{"current_balance":24.5,"currency":"USD"}}`,
			check: func(t *testing.T, got any) {
				if b := got.(*platform.Billing); b.Username != "my-team" || b.Credits == nil || *b.Credits != (platform.Credits{CurrentBalance: "24.5", Currency: "USD"}) {
					t.Errorf("billing = %+v", b)
				}
			},
		},
		{
			name:   "keys",
			call:   func(ctx context.Context, c *platform.Client) (any, error) { return c.Keys(ctx) },
			method: "GET", path: "/v1/keys", query: url.Values{"expand": {"creator_info"}},
			answer: `{"keys":[{"key_id":"k1","alias":"Production Key","scope":"API","created_at":"2025-01-10 09:00:00","creator_nickname":"ann","creator_email":"a@x"}],
				"next_cursor":null,"has_more":false}`,
			check: func(t *testing.T, got any) {
				want := []platform.Key{{KeyID: "k1", Alias: "Production Key", Scope: "API", CreatedAt: time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC), CreatorNickname: "ann", CreatorEmail: "a@x"}}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("keys = %+v", got)
				}
			},
		},
		{
			name:   "create key",
			call:   func(ctx context.Context, c *platform.Client) (any, error) { return c.CreateKey(ctx, "ci pipeline") },
			method: "POST", path: "/v1/keys", body: `{"alias":"ci pipeline"}`,
			status: http.StatusCreated,
			answer: `{"key_id":"new1","key_secret":"sk_live_zzz","key":"new1:sk_live_zzz"}`,
			check: func(t *testing.T, got any) {
				if k := got.(*platform.NewKey); *k != (platform.NewKey{KeyID: "new1", KeySecret: "sk_live_zzz", Key: "new1:sk_live_zzz"}) {
					t.Errorf("key = %#v", k.KeyID)
				}
			},
		},
		{
			name: "delete key",
			call: func(ctx context.Context, c *platform.Client) (any, error) {
				return nil, c.DeleteKey(ctx, "k1")
			},
			method: "DELETE", path: "/v1/keys/k1", status: http.StatusNoContent,
			check: func(t *testing.T, got any) {},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, prefix := range []string{"", "/api"} {
				api := newAPI(t, func(w http.ResponseWriter, h hit, n int) {
					status := tc.status
					if status == 0 {
						status = http.StatusOK
					}
					if tc.answer == "" {
						w.WriteHeader(status)
						return
					}
					jsonAnswer(w, status, tc.answer)
				})
				c := newClient(t, api, apiHost(api.URL+prefix))
				got, err := tc.call(context.Background(), c)
				if err != nil {
					t.Fatalf("prefix %q: %v", prefix, err)
				}
				hits := api.Hits()
				if len(hits) != 1 {
					t.Fatalf("prefix %q: %d requests, want 1", prefix, len(hits))
				}
				h := hits[0]
				if h.Method != tc.method || h.RawPath != prefix+tc.path {
					t.Errorf("prefix %q: request %s %s, want %s %s", prefix, h.Method, h.RawPath, tc.method, prefix+tc.path)
				}
				if q := tc.query; q == nil && len(h.Query) > 0 || q != nil && !reflect.DeepEqual(h.Query, q) {
					t.Errorf("query = %v\nwant    %v", h.Query, q)
				}
				switch {
				case tc.body == "" && len(h.Body) > 0:
					t.Errorf("body %s, want none", h.Body)
				case tc.body != "" && !sameJSON(t, h.Body, []byte(tc.body)):
					t.Errorf("body = %s\nwant   %s", h.Body, tc.body)
				}
				if a := h.Header.Get("Authorization"); a != "Key "+testKey {
					t.Errorf("Authorization = %q", a)
				}
				if ua := h.Header.Get("User-Agent"); !strings.HasPrefix(ua, "falgo/") {
					t.Errorf("User-Agent = %q", ua)
				}
				if ct := h.Header.Get("Content-Type"); (tc.body != "") != (ct == "application/json") {
					t.Errorf("Content-Type = %q with body %q", ct, tc.body)
				}
				for k, v := range tc.header {
					if got := h.Header.Get(k); got != v {
						t.Errorf("header %s = %q, want %q", k, got, v)
					}
				}
				tc.check(t, got)
			}
		})
	}
}

// TestPricingBatches checks that a list longer than 50 ids is sent in
// batches of 50, in order, and the prices come back in order.
func TestPricingBatches(t *testing.T) {
	t.Parallel()
	api := newAPI(t, func(w http.ResponseWriter, h hit, n int) {
		var prices []string
		for _, id := range h.Query["endpoint_id"] {
			prices = append(prices, fmt.Sprintf(`{"endpoint_id":%q,"unit_price":0.01,"unit":"image","currency":"USD"}`, id))
		}
		jsonAnswer(w, 200, `{"prices":[`+strings.Join(prices, ",")+`],"next_cursor":null,"has_more":false}`)
	})
	c := newClient(t, api)
	var ids []string
	for i := range 120 {
		ids = append(ids, fmt.Sprintf("owner/app-%03d", i))
	}
	prices, err := c.Pricing(context.Background(), ids...)
	if err != nil {
		t.Fatal(err)
	}
	hits := api.Hits()
	if len(hits) != 3 || len(hits[0].Query["endpoint_id"]) != 50 || len(hits[1].Query["endpoint_id"]) != 50 || len(hits[2].Query["endpoint_id"]) != 20 {
		t.Fatalf("batches: %d requests", len(hits))
	}
	if len(prices) != 120 {
		t.Fatalf("%d prices", len(prices))
	}
	for i, p := range prices {
		if p.EndpointID != ids[i] {
			t.Fatalf("price %d is %s, want %s", i, p.EndpointID, ids[i])
		}
	}
}

// TestModelNotFound: an id fal does not know is ErrNotFound.
func TestModelNotFound(t *testing.T) {
	t.Parallel()
	api := newAPI(t, fixed(200, `{"models":[],"next_cursor":null,"has_more":false}`))
	_, err := newClient(t, api).Model(context.Background(), "fal-ai/nope")
	if !errors.Is(err, platform.ErrNotFound) || !strings.Contains(err.Error(), `"fal-ai/nope"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestTolerantTimes checks the time forms fal's answers may use.
func TestTolerantTimes(t *testing.T) {
	t.Parallel()
	want := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, v := range []string{
		`"2025-01-02T03:04:05Z"`, `"2025-01-02T03:04:05.000Z"`, `"2025-01-02T03:04:05+00:00"`, `"2025-01-02T04:04:05+01:00"`,
		`"2025-01-02T03:04:05"`, `"2025-01-02 03:04:05"`, `"2025-01-02 03:04:05+0000"`, `1735787045`,
	} {
		var r platform.RequestRecord
		if err := json.Unmarshal([]byte(`{"request_id":"x","started_at":`+v+`}`), &r); err != nil || !r.StartedAt.Equal(want) {
			t.Errorf("%s: %v, %v", v, r.StartedAt, err)
		}
	}
	var k platform.Key
	if err := json.Unmarshal([]byte(`{"created_at":"2025-01-02"}`), &k); err != nil || !k.CreatedAt.Equal(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date only: %v, %v", k.CreatedAt, err)
	}
	for _, v := range []string{`""`, `null`} {
		var r platform.RequestRecord
		if err := json.Unmarshal([]byte(`{"ended_at":`+v+`}`), &r); err != nil || !r.EndedAt.IsZero() {
			t.Errorf("%s: %v, %v", v, r.EndedAt, err)
		}
	}
	var r platform.RequestRecord
	if err := json.Unmarshal([]byte(`{"started_at":"yesterday"}`), &r); err == nil || !strings.Contains(err.Error(), `"yesterday"`) {
		t.Errorf("a time in no known form: err = %v", err)
	}
}

// TestRoundTrip checks that values encode back to fal's shapes.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"endpoint_id":"a/b","metadata":{"display_name":"A","category":"c","description":"","status":"active","tags":null,"updated_at":"2025-01-02T03:04:05Z","thumbnail_url":"","model_url":"","date":"","highlighted":false,"pinned":false,"is_favorited":false},"openapi":{"openapi":"3.0.4"},"enterprise_status":"pending"}`,
		`{"endpoint_id":"a/b","openapi":{"error":{"code":"x","message":"y"}},"enterprise_status":{"error":{"code":"p","message":"q"}}}`,
	} {
		var m platform.Model
		if err := json.Unmarshal([]byte(in), &m); err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(m)
		if err != nil || !sameJSON(t, out, []byte(in)) {
			t.Errorf("model: %s\nwant   %s (%v)", out, in, err)
		}
	}
	in := `{"request_id":"r","endpoint_id":"a/b","sent_at":"2025-01-02T03:04:05Z","started_at":"2025-01-02T03:04:06Z","ended_at":null,"status_code":200,"duration":1.5,"json_input":{"x":1}}`
	var r platform.RequestRecord
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if out, err := json.Marshal(r); err != nil || !sameJSON(t, out, []byte(in)) {
		t.Errorf("record: %s\nwant    %s (%v)", out, in, err)
	}
	ar := `{"endpoint_id":"a/b","request_count":3,"p50_duration":0.5}`
	var a platform.AnalyticsResult
	if err := json.Unmarshal([]byte(ar), &a); err != nil {
		t.Fatal(err)
	}
	if out, err := json.Marshal(a); err != nil || !sameJSON(t, out, []byte(ar)) {
		t.Errorf("analytics: %s (%v)", out, err)
	}
}
