package realtime

import "testing"

// BenchmarkRealtimeFrames encodes a realtime input as msgpack and decodes
// and classifies an output frame the size of a small image result.
func BenchmarkRealtimeFrames(b *testing.B) {
	input := map[string]any{"prompt": "a lighthouse at dusk", "seed": 42, "num_inference_steps": 4, "image_size": "square"}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := encode(input); err != nil {
				b.Fatal(err)
			}
		}
	})
	image := make([]byte, 32<<10)
	for i := range image {
		image[i] = byte(i * 7)
	}
	frame, err := encode(map[string]any{
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
			kind, _, err := classify("fal-ai/fast-lcm-diffusion", rawFrame{data: frame})
			if err != nil || kind != frameOutput {
				b.Fatalf("classify: kind %v, err %v", kind, err)
			}
		}
	})
}
