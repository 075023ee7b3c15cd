package faltest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/falgo/fal/faltest"
)

// A test starts a Server with its own app, then calls it through the fal
// client (or any HTTP client) exactly as it would call fal.
func Example() {
	srv := faltest.NewServer(faltest.WithApp("me/shout", func(ctx context.Context, req *faltest.Request) (any, error) {
		var in struct {
			Text string `json:"text"`
		}
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		if in.Text == "" {
			return nil, faltest.ValidationError("text", "field required")
		}
		return map[string]string{"text": strings.ToUpper(in.Text)}, nil
	}))
	defer srv.Close()

	res, err := srv.Client().Run(context.Background(), "me/shout", map[string]string{"text": "hello"})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(string(res.Data))
	fmt.Println(srv.Executions("me/shout"))
	// Output:
	// {"text":"HELLO"}
	// 1
}

// The built-in falgo/echo app returns its input; fault rules make the
// server misbehave on purpose, here answering the first run with a 429.
func ExampleWithFaults() {
	srv := faltest.NewServer(faltest.WithFaults(1, faltest.FaultRule{
		Route: "run", Kind: faltest.TooManyRequests, Count: 1,
	}))
	defer srv.Close()

	res, err := srv.Client().Run(context.Background(), "falgo/echo", map[string]int{"n": 1})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(string(res.Data))
	st := srv.Stats()
	fmt.Println(st.Requests["run"], st.Faults["run"])
	// Output:
	// {"n":1}
	// 2 1
}

// An app declares its input and output Go types; the Platform API then
// serves its OpenAPI document, in fal's queue format.
func ExampleSchema() {
	type Input struct {
		Prompt string `json:"prompt" description:"What to draw."`
		Steps  int    `json:"num_inference_steps,omitempty" minimum:"1" maximum:"12" default:"4"`
		Format string `json:"output_format,omitempty" enum:"jpeg,png" default:"png"`
	}
	type Output struct {
		URL string `json:"url"`
	}
	srv := faltest.NewServer(faltest.WithoutDemoApps(), faltest.WithApp("me/draw",
		func(ctx context.Context, req *faltest.Request) (any, error) { return Output{URL: "x"}, nil },
		faltest.Schema(Input{}, Output{}), faltest.Price(0.002, "images")))
	defer srv.Close()

	// GET <FAL_API_HOST>/v1/models?endpoint_id=me/draw&expand=openapi-3.0
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/models?endpoint_id=me/draw&expand=openapi-3.0", nil)
	req.Header.Set("Authorization", "Key "+srv.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer resp.Body.Close()
	var page struct {
		Models []struct {
			OpenAPI struct {
				Components struct {
					Schemas map[string]struct {
						Order    []string `json:"x-fal-order-properties"`
						Required []string `json:"required"`
					} `json:"schemas"`
				} `json:"components"`
			} `json:"openapi"`
		} `json:"models"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		fmt.Println("error:", err)
		return
	}
	in := page.Models[0].OpenAPI.Components.Schemas["MeDrawInput"]
	fmt.Println(in.Order, in.Required)
	// Output:
	// [prompt num_inference_steps output_format] [prompt]
}

// A handler says what a request costs; the answer reports it, and the
// account's credits go down.
func ExampleRequest_SetBillableUnits() {
	srv := faltest.NewServer(faltest.WithoutDemoApps(), faltest.WithCredits(1),
		faltest.WithApp("me/upscale", func(ctx context.Context, req *faltest.Request) (any, error) {
			req.SetBillableUnits(4) // e.g. four megapixels made
			return map[string]bool{"ok": true}, nil
		}, faltest.Price(0.01, "megapixels")))
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/run/me/upscale", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Key "+srv.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Header.Get("X-Fal-Billable-Units"), srv.Credits())
	// Output:
	// 4 0.96
}
