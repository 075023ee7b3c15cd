package faltest_test

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/falgo/fal/faltest"
)

var demoIDs = []string{
	faltest.DemoAnyLLM, faltest.DemoFastSDXL, faltest.DemoRealtimeLCM,
	faltest.DemoFluxDev, faltest.DemoFluxSchnell, faltest.DemoEcho,
}

func TestPlatformModelsList(t *testing.T) {
	srv := newServer(t)
	// The key is optional: without one, is_favorited is null.
	m := apiOK(t, srv, "GET", "/models", "", noKey, 200)
	got := ids(t, list(t, m, "models"), "endpoint_id")
	want := []string{"fal-ai/any-llm", "fal-ai/fast-lcm-diffusion", "fal-ai/fast-sdxl", "fal-ai/fast-sdxl/image-to-image", "fal-ai/fast-sdxl/inpainting", "fal-ai/flux/dev", "fal-ai/flux/dev/image-to-image", "fal-ai/flux/schnell", "falgo/echo"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("models %v, want %v", got, want)
	}
	if dig(t, m, "has_more") != false || dig(t, m, "next_cursor") != nil {
		t.Errorf("one page expected: %v", m)
	}
	meta := dig(t, m, "models", 7, "metadata").(map[string]any)
	if meta["display_name"] != "FLUX.1 [schnell]" || meta["category"] != "text-to-image" || meta["status"] != "active" || meta["kind"] != "inference" {
		t.Errorf("flux/schnell metadata: %v", meta)
	}
	if meta["model_url"] != srv.URL+"/run/fal-ai/flux/schnell" {
		t.Errorf("model_url %v", meta["model_url"])
	}
	if v, ok := meta["is_favorited"]; !ok || v != nil {
		t.Errorf("is_favorited without a key: %v, want null", v)
	}
	for _, k := range []string{"description", "tags", "updated_at", "thumbnail_url", "date", "highlighted", "pinned"} {
		if _, ok := meta[k]; !ok {
			t.Errorf("metadata lacks %s: %v", k, meta)
		}
	}
	if _, has := dig(t, m, "models", 4).(map[string]any)["openapi"]; has {
		t.Error("openapi present without expand=openapi-3.0")
	}
	// With a key, is_favorited is false.
	m = apiOK(t, srv, "GET", "/models?endpoint_id=falgo/echo", "", "", 200)
	if v := dig(t, m, "models", 0, "metadata", "is_favorited"); v != false {
		t.Errorf("is_favorited with a key: %v", v)
	}
}

func TestPlatformModelsFindAndSearch(t *testing.T) {
	srv := newServer(t,
		faltest.WithApp("me/old-thing", echoHandler, faltest.Info(faltest.ModelInfo{
			DisplayName: "Old Thing", Category: "text-to-image", Status: "deprecated", Tags: []string{"legacy"}, EnterpriseStatus: "pending",
		})),
	)
	cases := []struct {
		query string
		want  []string
	}{
		// Find: repeated and comma-separated ids, in the order given, unknown ones left out.
		{"endpoint_id=falgo/echo&endpoint_id=fal-ai/flux/dev,nobody/nothing,falgo/echo", []string{"falgo/echo", "fal-ai/flux/dev"}},
		// Search in id, display name, description, tags; every term must match.
		{"q=flux", []string{"fal-ai/flux/dev", "fal-ai/flux/dev/image-to-image", "fal-ai/flux/schnell"}},
		{"q=FLUX%20schnell", []string{"fal-ai/flux/schnell"}},
		{"q=12%20billion", []string{"fal-ai/flux/dev", "fal-ai/flux/schnell"}},
		{"q=real-time", []string{"fal-ai/fast-lcm-diffusion"}},
		{"q=legacy", []string{"me/old-thing"}},
		{"q=nothing-matches-this", nil},
		{"category=llm", []string{"fal-ai/any-llm"}},
		{"category=text-to-image&status=deprecated", []string{"me/old-thing"}},
		{"category=text-to-image&status=active&q=sdxl", []string{"fal-ai/fast-lcm-diffusion", "fal-ai/fast-sdxl"}}, // LCM: "Run SDXL at the speed of light"
		{"q=diffusion%20lora", []string{"fal-ai/fast-sdxl", "fal-ai/fast-sdxl/image-to-image", "fal-ai/fast-sdxl/inpainting"}},
		{"endpoint_id=fal-ai/flux/dev,fal-ai/any-llm&category=llm", []string{"fal-ai/any-llm"}},
	}
	for _, c := range cases {
		m := apiOK(t, srv, "GET", "/models?"+c.query, "", "", 200)
		if got := ids(t, list(t, m, "models"), "endpoint_id"); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.query, got, c.want)
		}
	}
	m := apiOK(t, srv, "GET", "/models?endpoint_id=me/old-thing,falgo/echo&expand=enterprise_status", "", "", 200)
	if s := dig(t, m, "models", 0, "enterprise_status"); s != "pending" {
		t.Errorf("enterprise_status %v", s)
	}
	if s := dig(t, m, "models", 1, "enterprise_status"); s != "ready" {
		t.Errorf("default enterprise_status %v", s)
	}
}

func TestPlatformModelsPagination(t *testing.T) {
	srv := newServer(t)
	var seen []string
	path := "/models?limit=4"
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("the cursors never end")
		}
		m := apiOK(t, srv, "GET", path, "", "", 200)
		seen = append(seen, ids(t, list(t, m, "models"), "endpoint_id")...)
		next, _ := m["next_cursor"].(string)
		if (next != "") != (m["has_more"] == true) {
			t.Fatalf("has_more %v disagrees with next_cursor %q", m["has_more"], next)
		}
		if next == "" {
			break
		}
		path = "/models?limit=4&cursor=" + url.QueryEscape(next)
	}
	if len(seen) != len(faltest.DemoApps()) {
		t.Fatalf("pages gave %v, want each of the %d demo apps once", seen, len(faltest.DemoApps()))
	}
	for _, bad := range []string{"/models?limit=0", "/models?limit=101", "/models?limit=x", "/models?cursor=%21%21", "/models?cursor=MA=="} {
		platformError(t, api(t, srv, "GET", bad, "", ""), 400, "validation_error")
	}
}

func TestPlatformModelsValidation(t *testing.T) {
	srv := newServer(t)
	platformError(t, api(t, srv, "GET", "/models?status=gone", "", ""), 400, "validation_error", "status", "active or deprecated")
	platformError(t, api(t, srv, "GET", "/models?expand=openapi-3.1", "", ""), 400, "validation_error", "expand", "openapi-3.0")
	many := strings.Repeat("endpoint_id=a/b&", 0)
	for i := 0; i < 51; i++ {
		many += "endpoint_id=o/a" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "&"
	}
	platformError(t, api(t, srv, "GET", "/models?"+many, "", ""), 400, "validation_error", "51", "50")
	// A wrong key is refused even where a key is optional.
	platformError(t, api(t, srv, "GET", "/models", "", "wrong-key"), 401, "authorization_error", "not valid")
	platformError(t, api(t, srv, "DELETE", "/models", "", ""), 405, "validation_error", "GET")
	platformError(t, api(t, srv, "GET", "/nothing/here", "", ""), 404, "not_found")
	platformError(t, call(t, srv, "GET", "/api/v2/models", ""), 404, "not_found", "/api/v1")
}

// schemaOf fetches the app's OpenAPI document.
func schemaOf(t *testing.T, srv *faltest.Server, app string) map[string]any {
	t.Helper()
	m := apiOK(t, srv, "GET", "/models?expand=openapi-3.0&endpoint_id="+app, "", "", 200)
	doc, ok := dig(t, m, "models", 0, "openapi").(map[string]any)
	if !ok {
		t.Fatalf("no openapi object: %v", m)
	}
	return doc
}

func TestPlatformDemoOpenAPI(t *testing.T) {
	srv := newServer(t)
	doc := schemaOf(t, srv, "fal-ai/flux/schnell")
	if doc["openapi"] != "3.0.4" {
		t.Errorf("openapi %v", doc["openapi"])
	}
	if u := dig(t, doc, "servers", 0, "url"); u != "https://queue.fal.run" {
		t.Errorf("servers %v", u)
	}
	if id := dig(t, doc, "info", "x-fal-metadata", "endpointId"); id != "fal-ai/flux/schnell" {
		t.Errorf("x-fal-metadata.endpointId %v", id)
	}
	if dig(t, doc, "components", "securitySchemes", "apiKeyAuth", "name") != "Authorization" {
		t.Error("no apiKeyAuth security scheme")
	}
	schemas := dig(t, doc, "components", "schemas").(map[string]any)
	for _, n := range []string{"QueueStatus", "FluxSchnellInput", "FluxSchnellOutput", "ImageSize", "Image"} {
		if _, ok := schemas[n]; !ok {
			t.Errorf("components.schemas lacks %s (has %v)", n, keysOf(schemas))
		}
	}
	in := schemas["FluxSchnellInput"]
	if r := list(t, in, "required"); len(r) != 1 || r[0] != "prompt" {
		t.Errorf("required %v, want [prompt]", r)
	}
	order := list(t, in, "x-fal-order-properties")
	if len(order) != 10 || order[0] != "num_inference_steps" || order[1] != "prompt" {
		t.Errorf("x-fal-order-properties %v (fal's order starts num_inference_steps, prompt)", order)
	}
	steps := dig(t, in, "properties", "num_inference_steps")
	if dig(t, steps, "minimum") != 1.0 || dig(t, steps, "maximum") != 12.0 || dig(t, steps, "default") != 4.0 || dig(t, steps, "type") != "integer" {
		t.Errorf("num_inference_steps %v", steps)
	}
	size := dig(t, in, "properties", "image_size")
	if dig(t, size, "default") != "landscape_4_3" || dig(t, size, "anyOf", 0, "$ref") != "#/components/schemas/ImageSize" {
		t.Errorf("image_size %v", size)
	}
	if presets := list(t, size, "anyOf", 1, "enum"); len(presets) != 6 || presets[0] != "square_hd" {
		t.Errorf("image_size presets %v", presets)
	}
	if dig(t, in, "properties", "seed", "anyOf", 1, "type") != "null" {
		t.Errorf("seed is not optional: %v", dig(t, in, "properties", "seed"))
	}
	if e := list(t, in, "properties", "output_format", "enum"); len(e) != 2 {
		t.Errorf("output_format enum %v", e)
	}
	if dig(t, schemas, "FluxSchnellOutput", "properties", "images", "items", "$ref") != "#/components/schemas/Image" {
		t.Error("output images do not reference Image")
	}
	paths := dig(t, doc, "paths").(map[string]any)
	for p, method := range map[string]string{
		"/fal-ai/flux/schnell":                              "post",
		"/fal-ai/flux/schnell/requests/{request_id}/status": "get",
		"/fal-ai/flux/schnell/requests/{request_id}/cancel": "put",
		"/fal-ai/flux/schnell/requests/{request_id}":        "get",
	} {
		if _, ok := dig(t, paths, p).(map[string]any)[method]; !ok {
			t.Errorf("paths[%s] has no %s", p, method)
		}
	}
	if dig(t, paths, "/fal-ai/flux/schnell", "post", "requestBody", "content", "application/json", "schema", "$ref") != "#/components/schemas/FluxSchnellInput" {
		t.Error("submit body is not the input schema")
	}
	if dig(t, paths, "/fal-ai/flux/schnell/requests/{request_id}", "get", "responses", "200", "content", "application/json", "schema", "$ref") != "#/components/schemas/FluxSchnellOutput" {
		t.Error("result is not the output schema")
	}

	// Every demo has a document whose input requires what its app requires.
	for _, id := range demoIDs {
		doc := schemaOf(t, srv, id)
		schemas := dig(t, doc, "components", "schemas").(map[string]any)
		var input map[string]any
		for name, s := range schemas {
			if strings.HasSuffix(name, "Input") {
				input = s.(map[string]any)
			}
		}
		if input == nil {
			t.Errorf("%s: no <Name>Input schema in %v", id, keysOf(schemas))
			continue
		}
		if id == faltest.DemoEcho {
			if input["additionalProperties"] != true {
				t.Errorf("echo takes any object: %v", input)
			}
			continue
		}
		if r, _ := input["required"].([]any); len(r) != 1 || r[0] != "prompt" {
			t.Errorf("%s: required %v, want [prompt]", id, input["required"])
		}
	}
}

// The demo apps enforce the limits their documents declare.
func TestDemoLimitsMatchSchema(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	for _, c := range []struct {
		app, in string
		code    int
	}{
		{"fal-ai/flux/schnell", `{"prompt":"p","num_inference_steps":12,"image_size":"square"}`, 200},
		{"fal-ai/flux/schnell", `{"prompt":"p","num_inference_steps":13}`, 422},
		{"fal-ai/flux/dev", `{"prompt":"p","num_inference_steps":13,"image_size":"square"}`, 200},
		{"fal-ai/flux/dev", `{"prompt":"p","guidance_scale":0.5}`, 422},
		{"fal-ai/fast-sdxl", `{"prompt":"p","num_images":8,"image_size":{"width":8,"height":8}}`, 200},
		{"fal-ai/fast-sdxl", `{"prompt":"p","num_images":9}`, 422},
		{"fal-ai/fast-lcm-diffusion", `{"prompt":"p","num_inference_steps":33}`, 422},
	} {
		if r := runApp(t, srv, c.app, c.in); r.code != c.code {
			t.Errorf("%s %s: %d, want %d: %s", c.app, c.in, r.code, c.code, r.body)
		}
	}
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func echoHandler(_ context.Context, req *faltest.Request) (any, error) {
	return json.RawMessage(req.Input), nil
}

type shared struct {
	URL  string `json:"url" description:"Where the file is."`
	Size int64  `json:"size,omitempty"`
}

type base struct {
	Seed *int `json:"seed,omitempty" description:"Random seed."`
}

type schemaInput struct {
	_      struct{}        `title:"CaptionInput" description:"What the captioner takes."`
	Prompt string          `json:"prompt" description:"What to say." examples:"a cat"`
	Style  string          `json:"style,omitempty" enum:"plain,fancy" default:"plain"`
	Steps  int             `json:"steps" minimum:"1" maximum:"8" default:"2"`
	Scale  float64         `json:"scale,omitempty" exclusiveMinimum:"0" maximum:"1.5" title:"Scale (CFG)"`
	Image  shared          `json:"image"`
	Extra  []shared        `json:"extra,omitempty"`
	Labels map[string]int  `json:"labels,omitempty"`
	Raw    json.RawMessage `json:"raw,omitempty"`
	Hidden string          `json:"-"`
	base
	private int
}

type schemaOutput struct {
	Caption string  `json:"caption"`
	File    *shared `json:"file,omitempty"`
}

func TestSchemaFromGoTypes(t *testing.T) {
	srv := newServer(t, faltest.WithoutDemoApps(),
		faltest.WithApp("me/captioner", echoHandler, faltest.Schema(schemaInput{}, (*schemaOutput)(nil))),
		faltest.WithApp("me/free", echoHandler, faltest.Schema(map[string]any{}, nil)),
		faltest.WithApp("me/plain", echoHandler),
	)
	doc := schemaOf(t, srv, "me/captioner")
	schemas := dig(t, doc, "components", "schemas").(map[string]any)
	in := schemas["MeCaptionerInput"]
	if in == nil {
		t.Fatalf("no MeCaptionerInput in %v", keysOf(schemas))
	}
	if dig(t, in, "title") != "CaptionInput" || dig(t, in, "description") != "What the captioner takes." {
		t.Errorf("title/description %v / %v", dig(t, in, "title"), dig(t, in, "description"))
	}
	wantOrder := []any{"prompt", "style", "steps", "scale", "image", "extra", "labels", "raw", "seed"}
	if got := list(t, in, "x-fal-order-properties"); !reflect.DeepEqual(got, wantOrder) {
		t.Errorf("order %v, want %v", got, wantOrder)
	}
	// Required: not omitempty, not a pointer, no default.
	if got := list(t, in, "required"); !reflect.DeepEqual(got, []any{"prompt", "image"}) {
		t.Errorf("required %v, want [prompt image]", got)
	}
	props := dig(t, in, "properties")
	check := func(path []any, want any) {
		t.Helper()
		if got := dig(t, props, path...); !reflect.DeepEqual(got, want) {
			t.Errorf("%v = %#v, want %#v", path, got, want)
		}
	}
	check([]any{"prompt", "type"}, "string")
	check([]any{"prompt", "title"}, "Prompt")
	check([]any{"prompt", "description"}, "What to say.")
	check([]any{"prompt", "examples"}, []any{"a cat"})
	check([]any{"style", "enum"}, []any{"plain", "fancy"})
	check([]any{"style", "default"}, "plain")
	check([]any{"steps", "type"}, "integer")
	check([]any{"steps", "minimum"}, 1.0)
	check([]any{"steps", "maximum"}, 8.0)
	check([]any{"steps", "default"}, 2.0)
	check([]any{"scale", "type"}, "number")
	check([]any{"scale", "title"}, "Scale (CFG)")
	check([]any{"scale", "exclusiveMinimum"}, 0.0)
	check([]any{"image", "allOf", 0, "$ref"}, "#/components/schemas/Shared")
	check([]any{"extra", "items", "$ref"}, "#/components/schemas/Shared")
	check([]any{"labels", "additionalProperties", "type"}, "integer")
	check([]any{"seed", "anyOf", 1, "type"}, "null")
	check([]any{"seed", "description"}, "Random seed.")
	if _, ok := dig(t, props).(map[string]any)["Hidden"]; ok {
		t.Error("json:\"-\" field present")
	}
	if dig(t, schemas, "Shared", "properties", "url", "description") != "Where the file is." {
		t.Errorf("shared schema %v", schemas["Shared"])
	}
	if dig(t, schemas, "MeCaptionerOutput", "properties", "file", "anyOf", 0, "$ref") != "#/components/schemas/Shared" {
		t.Errorf("output %v", schemas["MeCaptionerOutput"])
	}
	if dig(t, doc, "paths", "/me/captioner", "post", "requestBody", "content", "application/json", "schema", "$ref") != "#/components/schemas/MeCaptionerInput" {
		t.Error("submit path does not take the input")
	}

	free := dig(t, schemaOf(t, srv, "me/free"), "components", "schemas", "MeFreeInput")
	if dig(t, free, "type") != "object" || dig(t, free, "additionalProperties") != true {
		t.Errorf("a map input: %v", free)
	}
	// An app without a declared schema: the expansion fails, as fal reports it.
	m := apiOK(t, srv, "GET", "/models?expand=openapi-3.0&endpoint_id=me/plain", "", "", 200)
	if dig(t, m, "models", 0, "openapi", "error", "code") != "expansion_failed" {
		t.Errorf("openapi of an app without a schema: %v", dig(t, m, "models", 0))
	}
	if msg, _ := dig(t, m, "models", 0, "openapi", "error", "message").(string); !strings.Contains(msg, "faltest.Schema") {
		t.Errorf("the message does not say how to declare one: %q", msg)
	}
}

func TestOpenAPIGivenVerbatim(t *testing.T) {
	doc := `{"openapi": "3.0.4", "info": {"title": "mine"}, "x-custom": [1, 2]}`
	srv := newServer(t, faltest.WithoutDemoApps(), faltest.WithApp("me/given", echoHandler, faltest.OpenAPI([]byte(doc))))
	got := schemaOf(t, srv, "me/given")
	want := map[string]any{"openapi": "3.0.4", "info": map[string]any{"title": "mine"}, "x-custom": []any{1.0, 2.0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("document %v, want %v", got, want)
	}
	for _, bad := range []faltest.AppOption{
		faltest.OpenAPI([]byte(`not json`)),
		faltest.OpenAPI([]byte(`{"info": {}}`)),
		faltest.Schema(struct{ C chan int }{}, nil),
		faltest.Schema(nil, nil),
		faltest.Schema(struct {
			N int `json:"n" minimum:"low"`
		}{}, nil),
		faltest.Schema(struct {
			N int `json:"n" default:"x"`
		}{}, nil),
		faltest.Schema(struct {
			N int `json:"n" default:"1.5"`
		}{}, nil),
		faltest.Schema(struct {
			B bool `json:"b" enum:"yes,no"`
		}{}, nil),
		faltest.Price(-1, "images"),
		faltest.Price(1, ""),
		faltest.Info(faltest.ModelInfo{Status: "retired"}),
		faltest.Info(faltest.ModelInfo{LicenseType: "gpl"}),
	} {
		if _, err := faltest.Start(faltest.WithoutDemoApps(), faltest.WithApp("me/bad", echoHandler, bad)); err == nil {
			t.Errorf("Start accepted a bad option")
		}
	}
}

func TestPlatformPricing(t *testing.T) {
	srv := newServer(t, faltest.WithApp("me/free", echoHandler))
	m := apiOK(t, srv, "GET", "/models/pricing?endpoint_id=fal-ai/flux/schnell&endpoint_id=fal-ai/flux/dev,fal-ai/fast-sdxl,me/free", "", "", 200)
	type price struct {
		unit  string
		price float64
	}
	want := []price{{"megapixels", 0.003}, {"megapixels", 0.025}, {"images", 0.0025}, {"requests", 0}}
	prices := list(t, m, "prices")
	if len(prices) != len(want) {
		t.Fatalf("prices %v", prices)
	}
	for i, p := range prices {
		if dig(t, p, "unit") != want[i].unit || dig(t, p, "unit_price") != want[i].price || dig(t, p, "currency") != "USD" {
			t.Errorf("price %d: %v, want %v", i, p, want[i])
		}
	}
	if dig(t, m, "has_more") != false {
		t.Error("has_more")
	}
	platformError(t, api(t, srv, "GET", "/models/pricing", "", ""), 400, "validation_error", "endpoint_id is required")
	platformError(t, api(t, srv, "GET", "/models/pricing?endpoint_id=fal-ai/flux/dev,no/such", "", ""), 404, "not_found", `"no/such"`)
	platformError(t, api(t, srv, "GET", "/models/pricing?endpoint_id=fal-ai/flux/dev", "", noKey), 401, "authorization_error", "Authorization: Key")
}

func TestPlatformEstimate(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	est := func(body string) float64 {
		t.Helper()
		m := apiOK(t, srv, "POST", "/models/pricing/estimate", body, "", 200)
		if dig(t, m, "currency") != "USD" {
			t.Errorf("currency %v", m)
		}
		return dig(t, m, "total_cost").(float64)
	}
	if got := est(`{"estimate_type":"unit_price","endpoints":{"fal-ai/flux/dev":{"unit_quantity":4},"fal-ai/flux/schnell":{"unit_quantity":0.5}}}`); !near(got, 4*0.025+0.5*0.003) {
		t.Errorf("unit_price total %v", got)
	}
	// Without history, a call costs one unit.
	if got := est(`{"estimate_type":"historical_api_price","endpoints":{"falgo/echo":{"call_quantity":10}}}`); !near(got, 10*0.001) {
		t.Errorf("historical total without history %v", got)
	}
	// With history, the average successful call: (3 + 1) / 2 units.
	runApp(t, srv, "falgo/echo", `{"_billable_units":3}`)
	runApp(t, srv, "falgo/echo", `{}`)
	runApp(t, srv, "falgo/echo", `{"_error":{"status":500,"detail":"x"}}`)
	if got := est(`{"estimate_type":"historical_api_price","endpoints":{"falgo/echo":{"call_quantity":10}}}`); !near(got, 10*0.002) {
		t.Errorf("historical total %v, want %v", got, 10*0.002)
	}
	for _, c := range []struct{ body, msg string }{
		{`{}`, "estimate_type is required"},
		{`{"estimate_type":"guess","endpoints":{"falgo/echo":{"call_quantity":1}}}`, "historical_api_price"},
		{`{"estimate_type":"unit_price"}`, "endpoints is required"},
		{`{"estimate_type":"unit_price","endpoints":{"falgo/echo":{"call_quantity":1}}}`, "unit_quantity"},
		{`{"estimate_type":"historical_api_price","endpoints":{"falgo/echo":{"unit_quantity":1}}}`, "call_quantity"},
		{`{"estimate_type":"historical_api_price","endpoints":{"falgo/echo":{"call_quantity":0}}}`, "1 or more"},
		{`{"estimate_type":"historical_api_price","endpoints":{"falgo/echo":{"call_quantity":1.5}}}`, "whole number"},
		{`{"estimate_type":"unit_price","endpoints":{"falgo/echo":{"unit_quantity":0}}}`, "0.000001"},
		{`{"estimate_type":"unit_price","endpoints":{"falgo/echo":{"unit_quantity":1,"x":2}}}`, "unknown field"},
		{`[1]`, "JSON object"},
		{`{"estimate_type":"unit_price","endpoints":{},"extra":1}`, "unknown field"},
	} {
		platformError(t, api(t, srv, "POST", "/models/pricing/estimate", c.body, ""), 400, "validation_error", c.msg)
	}
	platformError(t, api(t, srv, "POST", "/models/pricing/estimate", `{"estimate_type":"unit_price","endpoints":{"no/such":{"unit_quantity":1}}}`, ""), 404, "not_found", "no/such")
	platformError(t, api(t, srv, "GET", "/models/pricing/estimate", "", ""), 405, "validation_error", "POST")
}
