package fal

import (
	"context"
	"encoding/json"
	"testing"
)

// Benchmarks of the hot paths inside one call, without the network:
//
//	go test -run '^$' -bench 'EncodeInput|BuildRunRequest' -benchmem .

// benchInputMap is a typical input as a map, the way most callers write it.
var benchInputMap = map[string]any{
	"prompt":                "a lighthouse on a cliff at dusk, oil painting, dramatic light",
	"image_size":            "landscape_4_3",
	"num_inference_steps":   4,
	"seed":                  42,
	"num_images":            1,
	"enable_safety_checker": true,
}

// benchInputStruct is the same input as a struct.
type benchInputStruct struct {
	Prompt              string `json:"prompt"`
	ImageSize           string `json:"image_size"`
	NumInferenceSteps   int    `json:"num_inference_steps"`
	Seed                int    `json:"seed"`
	NumImages           int    `json:"num_images"`
	EnableSafetyChecker bool   `json:"enable_safety_checker"`
}

var benchInputValue = benchInputStruct{
	Prompt: "a lighthouse on a cliff at dusk, oil painting, dramatic light", ImageSize: "landscape_4_3",
	NumInferenceSteps: 4, Seed: 42, NumImages: 1, EnableSafetyChecker: true,
}

// BenchmarkEncodeInput is the JSON encoding of an input: a map (keys are
// sorted), a struct, and a json.RawMessage (validated, not re-encoded).
func BenchmarkEncodeInput(b *testing.B) {
	raw, err := json.Marshal(benchInputMap)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		input any
	}{
		{"map", benchInputMap},
		{"struct", benchInputValue},
		{"rawmessage", json.RawMessage(raw)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := encodeInput("run", tc.input); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBuildRunRequest is everything a sync Run does before the
// request engine takes over: per-call options, scanning the input for files
// to upload, encoding it, the URL and the job headers. The "nethttp"
// sub-benchmark is the encoding a hand-written client does, the floor this
// overhead is measured against.
func BenchmarkBuildRunRequest(b *testing.B) {
	c, err := NewClient(WithKey("bench-key"), WithRunHost("http://127.0.0.1:9/run"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("falgo", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			cl, err := c.newCall(callRun, nil)
			if err != nil {
				b.Fatal(err)
			}
			req, err := c.jobRequest(ctx, cl, "run", "falgo/echo", cl.eng.Hosts.Run, benchInputMap)
			if err != nil {
				b.Fatal(err)
			}
			if !cl.eng.Hosts.OwnsURL(req.URL) {
				b.Fatal("the run URL is not on the client's hosts")
			}
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := json.Marshal(benchInputMap); err != nil {
				b.Fatal(err)
			}
		}
	})
}
