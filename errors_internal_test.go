package fal

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/falgo/fal/internal/engine"
)

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
		e := newHTTPError(&engine.Failure{Method: "POST", URL: "https://fal.run/a/b", Status: status, Header: http.Header{},
			Body: engine.Scrub(withSecret, []string{secret})})
		msg := e.Error()
		if strings.Contains(msg, secret) || strings.Contains(string(e.Body), secret) {
			t.Fatalf("secret survived: %q", msg)
		}
		for _, fe := range e.FieldErrors {
			_ = fe.Field()
		}
		if strings.ContainsAny(msg, "\r\n") {
			t.Fatalf("Error() is not one line: %q", msg)
		}
		if utf8.ValidString(msg) != utf8.ValidString(string(body)) && utf8.ValidString(string(body)) {
			t.Fatalf("message lost UTF-8 validity: %q", msg)
		}
	})
}
