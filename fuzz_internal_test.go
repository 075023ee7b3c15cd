package fal

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

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
		st, err := parseStatus(body)
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

// FuzzHTTPErrorBody checks that any error body gives a readable one-line
// message without panicking, and that a secret in the body never survives.
func FuzzHTTPErrorBody(f *testing.F) {
	for _, s := range []string{
		`{"detail":"not found","error_type":"bad_request"}`,
		`{"detail":[{"loc":["body","prompt"],"msg":"field required","type":"missing"}]}`,
		`{"detail":[{"loc":["body","loras",0,"scale"],"msg":"x"}]}`,
		`{"detail":{"message":"m"}}`, `{"message":"m"}`, `<html><title>502 Bad Gateway</title>nginx</html>`,
		``, `[1,2]`, `{"detail":[]}`, `{"detail":[{"loc":null}]}`, "\xff\xfe",
	} {
		f.Add([]byte(s), 422)
	}
	const secret = "SECRET-abc123"
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		if status < 100 || status > 999 {
			status = 500
		}
		withSecret := append(append([]byte{}, body...), []byte(" "+secret)...)
		e := newHTTPError("POST", "https://fal.run/a/b", status, http.Header{}, withSecret, secret)
		msg := e.Error()
		if strings.Contains(msg, secret) || strings.Contains(string(e.Body), secret) {
			t.Fatalf("secret survived: %q", msg)
		}
		_ = e.FieldErrors
		for _, fe := range e.FieldErrors {
			_ = fe.Field()
		}
		if utf8.ValidString(string(body)) && strings.ContainsAny(e.Message, "\r\n") && !strings.ContainsAny(string(body), "\r\n") {
			t.Fatalf("message gained a line break: %q", e.Message)
		}
	})
}
