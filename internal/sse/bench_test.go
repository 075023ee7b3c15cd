package sse

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// BenchmarkDecoder decodes two kinds of stream fal sends: queue status
// events (short JSON objects, keep-alive comments between them) and an
// LLM output stream (each event repeats the text so far, so data lines
// grow to kilobytes).
//
//	go test -run '^$' -bench . -benchmem ./internal/sse
func BenchmarkDecoder(b *testing.B) {
	var status bytes.Buffer
	for i := 0; i < 200; i++ {
		if i%20 == 0 {
			status.WriteString(": ping\n\n")
		}
		fmt.Fprintf(&status, "data: {\"status\":\"IN_PROGRESS\",\"request_id\":\"5e1f0c1a-9d4b-4c52-8a55-2b8f1c9e7d31\",\"logs\":[{\"message\":\"Step %d/200\",\"level\":\"INFO\",\"source\":\"user\",\"timestamp\":\"2026-01-02T03:04:05.678901\"}]}\n\n", i)
	}
	var llm bytes.Buffer
	var text strings.Builder
	for i := 0; i < 200; i++ {
		text.WriteString("word ")
		fmt.Fprintf(&llm, "data: {\"output\":%q,\"partial\":true}\n\n", text.String())
	}
	for _, tc := range []struct {
		name   string
		stream []byte
		events int
	}{
		{"status", status.Bytes(), 200},
		{"llm", llm.Bytes(), 200},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.stream)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				d := NewDecoder(bytes.NewReader(tc.stream))
				n := 0
				for {
					_, err := d.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != tc.events {
					b.Fatalf("decoded %d events, want %d", n, tc.events)
				}
			}
		})
	}
}
