package fal

import "testing"

// FuzzParseStatus checks that no status body makes the parser panic, and
// that what it accepts is one of the three states.
func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{
		`{"status":"IN_QUEUE","queue_position":3}`,
		`{"status":"IN_PROGRESS","logs":[{"message":"m","level":"INFO","source":"USER","timestamp":"2026-01-01T00:00:00.123Z"}]}`,
		`{"status":"COMPLETED","logs":null,"metrics":{"inference_time":1.5},"error":"Request timed out","error_type":"request_timeout"}`,
		`{"status":"COMPLETED","error":{"nested":true}}`,
		`{"status":"FOO"}`, `[]`, `null`, `{"status":"IN_QUEUE","queue_position":-5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		st, err := parseStatus(body, nil)
		if err != nil {
			if st != nil {
				t.Fatal("a status and an error")
			}
			return
		}
		switch s := st.(type) {
		case Queued:
			if s.Position < 0 {
				t.Fatalf("negative position %d", s.Position)
			}
		case InProgress, Completed:
		default:
			t.Fatalf("unexpected status type %T", st)
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
				if _, err := parseStatus(body, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
