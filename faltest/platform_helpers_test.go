package faltest_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/falgo/fal/faltest"
)

// api calls the Platform API (path below /api/v1) with the server's key,
// or with key when it is not "" (noKey sends none).
func api(t *testing.T, srv *faltest.Server, method, path, body, key string) reply {
	t.Helper()
	var pairs []string
	switch key {
	case "":
	case noKey:
		pairs = []string{noKey, ""}
	default:
		pairs = []string{"Authorization", "Key " + key}
	}
	return call(t, srv, method, "/api/v1"+path, body, pairs...)
}

// apiOK calls the Platform API and fails unless it answered want.
func apiOK(t *testing.T, srv *faltest.Server, method, path, body, key string, want int) map[string]any {
	t.Helper()
	r := api(t, srv, method, path, body, key)
	if r.code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.code, want, r.body)
	}
	if len(r.body) == 0 {
		return nil
	}
	return r.json(t)
}

// platformError checks the error envelope {"error": {type, message,
// docs_url, request_id}} of r: its status, type, and that the message
// holds each of msgParts.
func platformError(t *testing.T, r reply, code int, typ string, msgParts ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.body)
	}
	var env struct {
		Error *struct {
			Type      string `json:"type"`
			Message   string `json:"message"`
			DocsURL   string `json:"docs_url"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil || env.Error == nil {
		t.Fatalf("not the Platform API error envelope: %s", r.body)
	}
	e := env.Error
	if e.Type != typ {
		t.Errorf("error type %q, want %q (%s)", e.Type, typ, r.body)
	}
	for _, p := range msgParts {
		if !strings.Contains(e.Message, p) {
			t.Errorf("message %q does not say %q", e.Message, p)
		}
	}
	if !strings.HasPrefix(e.DocsURL, "https://fal.ai/docs/platform-apis/v1") {
		t.Errorf("docs_url %q", e.DocsURL)
	}
	if e.RequestID == "" || e.RequestID != r.header.Get("x-fal-request-id") {
		t.Errorf("request_id %q, x-fal-request-id %q", e.RequestID, r.header.Get("x-fal-request-id"))
	}
}

// dig walks a decoded JSON value: string keys index objects, ints index
// arrays. It fails the test when the path does not exist.
func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for i, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: not an object: %v", path[:i], v)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("at %v: no key %q in %v", path[:i], k, m)
			}
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at %v: no item %d in %v", path[:i], k, v)
			}
			v = a[k]
		}
	}
	return v
}

// list is dig for an array.
func list(t *testing.T, v any, path ...any) []any {
	t.Helper()
	a, ok := dig(t, v, path...).([]any)
	if !ok {
		t.Fatalf("%v is not an array: %v", path, dig(t, v, path...))
	}
	return a
}

// ids returns the given field of each object in items.
func ids(t *testing.T, items []any, field string) []string {
	t.Helper()
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprint(dig(t, it, field)))
	}
	return out
}

// near reports whether two amounts agree to a billionth.
func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// run calls an app through /run and returns the answer.
func runApp(t *testing.T, srv *faltest.Server, app, input string, headerPairs ...string) reply {
	t.Helper()
	return call(t, srv, "POST", "/run/"+app, input, headerPairs...)
}
