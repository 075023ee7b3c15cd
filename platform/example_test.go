package platform_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/platform"
)

// exampleAPI is a small stand-in for https://api.fal.ai that answers
// with the shapes fal documents.
func exampleAPI() *httptest.Server {
	mux := http.NewServeMux()
	answer := func(w http.ResponseWriter, status int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case q.Get("endpoint_id") == "fal-ai/flux/dev":
			answer(w, 200, `{"models":[{"endpoint_id":"fal-ai/flux/dev",
				"metadata":{"display_name":"FLUX.1 [dev]","category":"text-to-image","status":"active","tags":["flux"],
				"updated_at":"2025-01-15T10:30:00Z","model_url":"https://fal.ai/models/fal-ai/flux/dev","license_type":"commercial"},
				"openapi":{"openapi":"3.0.4","info":{"title":"FLUX.1 [dev]"},"paths":{}}}],
				"next_cursor":null,"has_more":false}`)
		case q.Get("cursor") == "":
			answer(w, 200, `{"models":[{"endpoint_id":"fal-ai/flux/dev","metadata":{"display_name":"FLUX.1 [dev]","category":"text-to-image"}},
				{"endpoint_id":"fal-ai/flux/schnell","metadata":{"display_name":"FLUX.1 [schnell]","category":"text-to-image"}}],
				"next_cursor":"Mg==","has_more":true}`)
		default:
			answer(w, 200, `{"models":[{"endpoint_id":"fal-ai/flux-pro","metadata":{"display_name":"FLUX.1 [pro]","category":"text-to-image"}}],
				"next_cursor":null,"has_more":false}`)
		}
	})
	mux.HandleFunc("GET /v1/models/pricing", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, `{"prices":[{"endpoint_id":"fal-ai/flux/dev","unit_price":0.025,"unit":"image","currency":"USD"},
			{"endpoint_id":"fal-ai/kling-video/v2.1/pro","unit_price":0.5,"unit":"second","currency":"USD"}],
			"next_cursor":null,"has_more":false}`)
	})
	mux.HandleFunc("POST /v1/models/pricing/estimate", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, `{"estimate_type":"historical_api_price","total_cost":3.75,"currency":"USD"}`)
	})
	mux.HandleFunc("GET /v1/models/usage", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, `{"time_series":[{"bucket":"2025-01-15T00:00:00-05:00","results":[
			{"endpoint_id":"fal-ai/flux/dev","unit":"image","quantity":4,"unit_price":0.1,"cost":0.4,"currency":"USD","auth_method":"Production Key"}]}],
			"summary":[{"endpoint_id":"fal-ai/flux/dev","unit":"image","quantity":4,"unit_price":0.1,"cost":0.4,"currency":"USD"}],
			"next_cursor":null,"has_more":false}`)
	})
	mux.HandleFunc("GET /v1/models/analytics", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, `{"time_series":[{"bucket":"2025-01-15T00:00:00Z","results":[
			{"endpoint_id":"fal-ai/flux/dev","request_count":120,"success_count":117,"p90_duration":2.4}]}],
			"next_cursor":null,"has_more":false}`)
	})
	mux.HandleFunc("GET /v1/models/requests/by-endpoint", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, `{"items":[{"request_id":"a1b2c3d4-e5f6-7890-abcd-ef1234567890","endpoint_id":"fal-ai/flux/dev",
			"started_at":"2025-01-01T00:00:05Z","sent_at":"2025-01-01T00:00:01Z","ended_at":"2025-01-01T00:00:08Z",
			"status_code":200,"duration":7.8,"json_input":{"prompt":"cat astronaut"},"json_output":{"status":"ok"}}],
			"next_cursor":null,"has_more":false}`)
	})
	mux.HandleFunc("DELETE /v1/models/requests/{id}/payloads", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, `{"cdn_delete_results":[{"link":"https://v3.fal.media/files/cat.png","exception":null},
			{"link":"https://v3.fal.media/files/gone.png","exception":"file not found"}]}`)
	})
	mux.HandleFunc("GET /v1/account/billing", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, `{"username":"my-team","credits":{"current_balance":24.5,"currency":"USD"}}`)
	})
	mux.HandleFunc("GET /v1/keys", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, `{"keys":[{"key_id":"abc123def456","alias":"Production Key","scope":"API","created_at":"2025-01-10T09:00:00Z"}],
			"next_cursor":null,"has_more":false}`)
	})
	mux.HandleFunc("POST /v1/keys", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 201, `{"key_id":"new456","key_secret":"sk_live_example_secret","key":"new456:sk_live_example_secret"}`)
	})
	mux.HandleFunc("DELETE /v1/keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	return httptest.NewServer(mux)
}

// exampleClient returns a platform client for the example API.
func exampleClient(api *httptest.Server) *platform.Client {
	fc, err := fal.NewClient(fal.WithKey("example-id:example-secret"), fal.WithAPIHost(api.URL))
	if err != nil {
		panic(err)
	}
	pc, err := platform.New(fc)
	if err != nil {
		panic(err)
	}
	return pc
}

func ExampleNew() {
	api := exampleAPI()
	defer api.Close()

	// In a program: fal.NewClient() reads FAL_KEY and FAL_API_HOST.
	fc, err := fal.NewClient(fal.WithKey("example-id:example-secret"), fal.WithAPIHost(api.URL))
	if err != nil {
		fmt.Println(err)
		return
	}
	pc, err := platform.New(fc)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := pc.Billing(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.Username)
	// Output: my-team
}

func ExampleClient_Models() {
	api := exampleAPI()
	defer api.Close()
	pc := exampleClient(api)

	// Every page is read in turn; break out of the loop to stop early.
	for m, err := range pc.Models(context.Background(), platform.ModelsParams{Category: "text-to-image"}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(m.EndpointID, "-", m.Metadata.DisplayName)
	}
	// Output:
	// fal-ai/flux/dev - FLUX.1 [dev]
	// fal-ai/flux/schnell - FLUX.1 [schnell]
	// fal-ai/flux-pro - FLUX.1 [pro]
}

func ExampleClient_Model() {
	api := exampleAPI()
	defer api.Close()
	pc := exampleClient(api)

	m, err := pc.Model(context.Background(), "fal-ai/flux/dev", platform.ExpandOpenAPI)
	if err != nil {
		fmt.Println(err)
		return
	}
	if m.OpenAPIError != nil {
		fmt.Println("no schema:", m.OpenAPIError)
		return
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(m.OpenAPI, &doc); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Metadata.DisplayName, m.Metadata.Status, m.Metadata.UpdatedAt.Format(time.DateOnly))
	fmt.Println("OpenAPI", doc.OpenAPI)
	// Output:
	// FLUX.1 [dev] active 2025-01-15
	// OpenAPI 3.0.4
}

func ExampleClient_Pricing() {
	api := exampleAPI()
	defer api.Close()
	pc := exampleClient(api)

	prices, err := pc.Pricing(context.Background(), "fal-ai/flux/dev", "fal-ai/kling-video/v2.1/pro")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range prices {
		fmt.Printf("%s: %s %s per %s\n", p.EndpointID, p.UnitPrice, p.Currency, p.Unit)
	}
	// Output:
	// fal-ai/flux/dev: 0.025 USD per image
	// fal-ai/kling-video/v2.1/pro: 0.5 USD per second
}

func ExampleClient_Estimate() {
	api := exampleAPI()
	defer api.Close()
	pc := exampleClient(api)

	// Calls: from the historical price per call. Units: from the unit
	// price, e.g. Units: map[string]float64{"fal-ai/flux/dev": 50}.
	est, err := pc.Estimate(context.Background(), platform.EstimateRequest{
		Calls: map[string]int{"fal-ai/flux/dev": 100, "fal-ai/flux/schnell": 50},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(est.Type, est.TotalCost, est.Currency)
	// Output: historical_api_price 3.75 USD
}

func ExampleClient_Usage() {
	api := exampleAPI()
	defer api.Close()
	pc := exampleClient(api)

	u, err := pc.Usage(context.Background(), platform.UsageParams{
		Start:     time.Date(2025, 1, 15, 5, 0, 0, 0, time.UTC),
		End:       time.Date(2025, 1, 16, 5, 0, 0, 0, time.UTC),
		Timezone:  "America/New_York",
		Timeframe: platform.Day,
		Expand:    []string{platform.ExpandTimeSeries, platform.ExpandSummary, platform.ExpandAuthMethod},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range u.TimeSeries {
		for _, l := range b.Results {
			fmt.Println(b.Bucket.Format(time.RFC3339), l.EndpointID, l.Quantity, l.Unit, l.Cost, l.Currency, l.AuthMethod)
		}
	}
	for _, l := range u.Summary {
		fmt.Println("total", l.EndpointID, l.Cost, l.Currency)
	}
	// Output:
	// 2025-01-15T00:00:00-05:00 fal-ai/flux/dev 4 image 0.4 USD Production Key
	// total fal-ai/flux/dev 0.4 USD
}

func ExampleClient_Analytics() {
	api := exampleAPI()
	defer api.Close()
	pc := exampleClient(api)

	a, err := pc.Analytics(context.Background(), platform.AnalyticsParams{
		EndpointIDs: []string{"fal-ai/flux/dev"},
		Expand:      []string{"request_count", "success_count", "p90_duration"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range a.TimeSeries {
		for _, r := range b.Results {
			fmt.Printf("%s %s: %.0f requests, %.0f succeeded, p90 %.1f s\n", b.Bucket.Format(time.DateOnly), r.EndpointID,
				r.Metrics["request_count"], r.Metrics["success_count"], r.Metrics["p90_duration"])
		}
	}
	// Output: 2025-01-15 fal-ai/flux/dev: 120 requests, 117 succeeded, p90 2.4 s
}

func ExampleClient_Requests() {
	api := exampleAPI()
	defer api.Close()
	pc := exampleClient(api)

	p := platform.RequestsParams{
		EndpointID: "fal-ai/flux/dev",
		Start:      time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Status:     platform.StatusSuccess,
		Expand:     []string{platform.ExpandPayloads},
	}
	for r, err := range pc.Requests(context.Background(), p) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(r.RequestID, r.StatusCode, r.Elapsed(), r.EndedAt.Format(time.TimeOnly), string(r.JSONInput))
	}
	// Output: a1b2c3d4-e5f6-7890-abcd-ef1234567890 200 7.8s 00:00:08 {"prompt":"cat astronaut"}
}

func ExampleClient_DeletePayloads() {
	api := exampleAPI()
	defer api.Close()
	pc := exampleClient(api)

	// The idempotency key lets fal recognise a repeated deletion.
	results, err := pc.DeletePayloads(context.Background(), "a1b2c3d4-e5f6-7890-abcd-ef1234567890", "cleanup-2025-01-01")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		if r.Exception != "" {
			fmt.Println("kept:", r.Link, "-", r.Exception)
			continue
		}
		fmt.Println("deleted:", r.Link)
	}
	// Output:
	// deleted: https://v3.fal.media/files/cat.png
	// kept: https://v3.fal.media/files/gone.png - file not found
}

func ExampleClient_Billing() {
	api := exampleAPI()
	defer api.Close()
	pc := exampleClient(api)

	b, err := pc.Billing(context.Background())
	if errors.Is(err, platform.ErrAdminKeyRequired) {
		fmt.Println("use an admin key:", err)
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.Username, b.Credits.CurrentBalance, b.Credits.Currency)
	// Output: my-team 24.5 USD
}

func ExampleClient_Keys() {
	api := exampleAPI()
	defer api.Close()
	pc := exampleClient(api)

	keys, err := pc.Keys(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range keys {
		fmt.Println(k.KeyID, k.Alias, k.Scope, k.CreatedAt.Format(time.DateOnly))
	}
	// Output: abc123def456 Production Key API 2025-01-10
}

func ExampleClient_CreateKey() {
	api := exampleAPI()
	defer api.Close()
	pc := exampleClient(api)

	k, err := pc.CreateKey(context.Background(), "ci-pipeline")
	if err != nil {
		fmt.Println(err)
		return
	}
	// Printing the key never shows its secret; store k.Key (id:secret)
	// somewhere safe: fal shows it only once.
	fmt.Println(k)
	// Output: NewKey{KeyID: "new456", KeySecret: [redacted, 22 chars], Key: [redacted, 29 chars]}
}

func ExampleClient_DeleteKey() {
	api := exampleAPI()
	defer api.Close()
	pc := exampleClient(api)

	if err := pc.DeleteKey(context.Background(), "abc123def456"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("deleted")
	// Output: deleted
}
