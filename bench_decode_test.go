package fal_test

import (
	"encoding/json"
	"testing"

	"github.com/falgo/fal"
)

// benchOutput is a text-to-image output the size of a real fal answer
// (two images, timings, the prompt echoed back).
var benchOutput = json.RawMessage(`{"images":[{"url":"https://v3.fal.media/files/lion/8dBq0cP4oX1a7nKz3sYt2_image-0.png","width":1024,"height":768,"content_type":"image/png"},{"url":"https://v3.fal.media/files/zebra/Qm2vT9xLr5Hh0pWc1dJk8_image-1.png","width":1024,"height":768,"content_type":"image/png"}],"timings":{"inference":2.4816},"seed":1234567890,"has_nsfw_concepts":[false,false],"prompt":"a lighthouse on a cliff at dusk, oil painting, dramatic light, highly detailed, golden hour"}`)

// benchOutputStruct is how a caller declares that output.
type benchOutputStruct struct {
	Images          []fal.File         `json:"images"`
	Timings         map[string]float64 `json:"timings"`
	Seed            int64              `json:"seed"`
	HasNSFWConcepts []bool             `json:"has_nsfw_concepts"`
	Prompt          string             `json:"prompt"`
}

// BenchmarkResultDecode decodes a result the ways a caller reads it: into
// a struct with fal.File fields, into a generic map, and with FindFiles.
//
//	go test -run '^$' -bench ResultDecode -benchmem .
func BenchmarkResultDecode(b *testing.B) {
	res := &fal.Result{RequestID: "5e1f0c1a-9d4b-4c52-8a55-2b8f1c9e7d31", Data: benchOutput}
	b.Run("struct", func(b *testing.B) {
		b.SetBytes(int64(len(benchOutput)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var out benchOutputStruct
			if err := res.Decode(&out); err != nil {
				b.Fatal(err)
			}
			if len(out.Images) != 2 {
				b.Fatalf("decoded %d images, want 2", len(out.Images))
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		b.SetBytes(int64(len(benchOutput)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var out map[string]any
			if err := res.Decode(&out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("findfiles", func(b *testing.B) {
		b.SetBytes(int64(len(benchOutput)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if files := fal.FindFiles(res.Data); len(files) != 2 {
				b.Fatalf("found %d files, want 2", len(files))
			}
		}
	})
}
