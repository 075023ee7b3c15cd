package fal_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/falgo/fal"
)

// TestLogTimestamps: fal sends log timestamps as RFC 3339 with or without
// a zone, with a space instead of the T, or as a float of Unix seconds;
// each decodes to its instant (UTC when no zone is given).
func TestLogTimestamps(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 1, 1, 0, 0, 0, 500_000_000, time.UTC)
	for _, tc := range []struct {
		ts   string
		want time.Time
		tol  time.Duration
	}{
		{`1767225600.5`, want, 0},
		{`1767225600`, want.Add(-500 * time.Millisecond), 0},
		{`1767225600.123456`, time.Date(2026, 1, 1, 0, 0, 0, 123_456_000, time.UTC), time.Microsecond},
		{`"2026-01-01T00:00:00.5Z"`, want, 0},
		{`"2026-01-01T01:00:00.5+01:00"`, want, 0},
		{`"2026-01-01T00:00:00.5"`, want, 0},
		{`"2026-01-01 00:00:00.5"`, want, 0},
	} {
		var l fal.Log
		if err := json.Unmarshal([]byte(`{"message":"m","level":"INFO","source":"USER","timestamp":`+tc.ts+`}`), &l); err != nil {
			t.Fatalf("%s: %v", tc.ts, err)
		}
		if d := l.Timestamp.Sub(tc.want); d < -tc.tol || d > tc.tol {
			t.Errorf("timestamp %s decoded to %v, want %v", tc.ts, l.Timestamp, tc.want)
		}
		if tc.ts[0] != '"' && l.Timestamp.Location() != time.UTC {
			t.Errorf("timestamp %s decoded in %v, want UTC", tc.ts, l.Timestamp.Location())
		}
		if l.Message != "m" || l.Level != "INFO" || l.Source != "USER" {
			t.Errorf("log %+v", l)
		}
	}
	// An unreadable timestamp is left zero rather than failing the status.
	var l fal.Log
	if err := json.Unmarshal([]byte(`{"message":"m","timestamp":"yesterday"}`), &l); err != nil || !l.Timestamp.IsZero() || l.Message != "m" {
		t.Errorf("unreadable timestamp: %v %+v", err, l)
	}
}

// TestStatusLogsWithFloatTimestamps reads a status answer whose logs carry
// float timestamps.
func TestStatusLogsWithFloatTimestamps(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, jsonReply(202, `{"status":"IN_PROGRESS","logs":[{"message":"a","level":"INFO","source":"USER","timestamp":1767225600.5},{"message":"b","level":"INFO","source":"USER","timestamp":1767225601}]}`))
	st, err := srv.client(t).Status(bg(t), "fal-ai/x", "r1", fal.WithLogs(true))
	if err != nil {
		t.Fatal(err)
	}
	ip, ok := st.(fal.InProgress)
	if !ok || len(ip.Logs) != 2 {
		t.Fatalf("status %#v", st)
	}
	if got, want := ip.Logs[0].Timestamp, time.Date(2026, 1, 1, 0, 0, 0, 500_000_000, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("first log at %v, want %v", got, want)
	}
	if got := ip.Logs[1].Timestamp; !got.Equal(time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)) {
		t.Errorf("second log at %v", got)
	}
	if r := srv.requests(); r[0].Query != "logs=1" {
		t.Errorf("status query %q, want logs=1", r[0].Query)
	}
}

func TestMetricsInferenceTime(t *testing.T) {
	t.Parallel()
	if d, ok := (fal.Metrics{"inference_time": 1.5}).InferenceTime(); !ok || d != 1500*time.Millisecond {
		t.Errorf("InferenceTime = %v, %v", d, ok)
	}
	if _, ok := (fal.Metrics{"inference_time": nil}).InferenceTime(); ok {
		t.Error("a null inference time is reported")
	}
}
