package fal

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// Benchmarks of the hot paths inside one call, without the network:
//
//	go test -run '^$' -bench 'EncodeInput|BuildRunRequest|ParseStatus|RealtimeFrames' -benchmem .

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
// network: per-call options, scanning the input for files to upload,
// encoding it, building the URL and the *http.Request with its headers.
// The "nethttp" sub-benchmark is the same request built by hand, the
// floor this overhead is measured against.
func BenchmarkBuildRunRequest(b *testing.B) {
	c, err := NewClient(WithKey("bench-key"), WithRunHost("http://127.0.0.1:9/run"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	creds := Credentials{Scheme: "Key", Token: "bench-key"}
	b.Run("falgo", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			cfg, err := c.callConfig(nil)
			if err != nil {
				b.Fatal(err)
			}
			body, err := c.prepare(ctx, cfg, "run falgo/echo", benchInputMap)
			if err != nil {
				b.Fatal(err)
			}
			req := &apiRequest{op: "run falgo/echo", method: http.MethodPost, url: join(cfg.hosts.run, "falgo/echo", cfg.path),
				body: body, header: lifecycleHeader(cfg), class: once}
			if !cfg.hosts.ownsURL(req.url) {
				b.Fatal("the run URL is not on the client's hosts")
			}
			hr, err := http.NewRequestWithContext(ctx, req.method, req.url, nil)
			if err != nil {
				b.Fatal(err)
			}
			c.setHeaders(hr, cfg, req, creds)
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			body, err := json.Marshal(benchInputMap)
			if err != nil {
				b.Fatal(err)
			}
			hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:9/run/falgo/echo", nil)
			if err != nil {
				b.Fatal(err)
			}
			hr.Header.Set("Authorization", "Key bench-key")
			hr.Header.Set("Content-Type", "application/json")
			hr.Header.Set("Accept", "application/json")
			hr.Header.Set("User-Agent", DefaultUserAgent)
			_ = body
		}
	})
}

// BenchmarkParseStatus decodes queue status answers: one while running
// with log lines, and the final one with metrics.
func BenchmarkParseStatus(b *testing.B) {
	for _, tc := range []struct{ name, body string }{
		{"in_progress_logs", `{"status":"IN_PROGRESS","request_id":"5e1f0c1a-9d4b-4c52-8a55-2b8f1c9e7d31","response_url":"https://queue.fal.run/fal-ai/flux/requests/5e1f0c1a-9d4b-4c52-8a55-2b8f1c9e7d31","status_url":"https://queue.fal.run/fal-ai/flux/requests/5e1f0c1a-9d4b-4c52-8a55-2b8f1c9e7d31/status","cancel_url":"https://queue.fal.run/fal-ai/flux/requests/5e1f0c1a-9d4b-4c52-8a55-2b8f1c9e7d31/cancel","logs":[{"message":"Loading fal-ai/flux/dev","level":"INFO","source":"user","timestamp":"2026-01-02T03:04:05.678901"},{"message":"Step 1/28","level":"INFO","source":"user","timestamp":"2026-01-02T03:04:05.778901"},{"message":"Step 2/28","level":"INFO","source":"user","timestamp":"2026-01-02T03:04:05.878901"}]}`},
		{"completed", `{"status":"COMPLETED","request_id":"5e1f0c1a-9d4b-4c52-8a55-2b8f1c9e7d31","response_url":"https://queue.fal.run/fal-ai/flux/requests/5e1f0c1a-9d4b-4c52-8a55-2b8f1c9e7d31","status_url":"https://queue.fal.run/fal-ai/flux/requests/5e1f0c1a-9d4b-4c52-8a55-2b8f1c9e7d31/status","cancel_url":"https://queue.fal.run/fal-ai/flux/requests/5e1f0c1a-9d4b-4c52-8a55-2b8f1c9e7d31/cancel","logs":null,"metrics":{"inference_time":2.4816}}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			body := []byte(tc.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := parseStatus(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRealtimeFrames encodes a realtime input as msgpack and decodes
// and classifies an output frame the size of a small image result.
func BenchmarkRealtimeFrames(b *testing.B) {
	input := map[string]any{"prompt": "a lighthouse at dusk", "seed": 42, "num_inference_steps": 4, "image_size": "square"}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := encodeRealtime(input); err != nil {
				b.Fatal(err)
			}
		}
	})
	image := make([]byte, 32<<10)
	for i := range image {
		image[i] = byte(i * 7)
	}
	frame, err := encodeRealtime(map[string]any{
		"images":  []any{map[string]any{"content": image, "content_type": "image/jpeg", "width": 512, "height": 512}},
		"seed":    42,
		"timings": map[string]any{"inference": 0.061},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(frame)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			kind, _, err := classify("fal-ai/fast-lcm-diffusion", rtFrame{data: frame})
			if err != nil || kind != frameOutput {
				b.Fatalf("classify: kind %v, err %v", kind, err)
			}
		}
	})
}
