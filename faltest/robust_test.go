package faltest_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/falgo/fal/faltest"
)

// TestGarbageNeverPanics throws malformed bodies, paths, headers and query
// values at every endpoint: each must answer (no panic, no hang) with a
// client error, never a 5xx.
func TestGarbageNeverPanics(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	sub := submit(t, srv, "falgo/echo", `{}`)
	waitStatus(t, srv, sub, "", "completion", isCompleted)
	id := sub["request_id"].(string)

	rng := rand.New(rand.NewPCG(1, 2))
	garbage := func() string {
		b := make([]byte, rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return string(b)
	}
	bodies := []string{"", "{", "}", "null", "[]", `{"prompt":`, strings.Repeat("[", 10000), `{"prompt":"` + strings.Repeat("x", 1<<16) + `"}`,
		`{"image_size":{"width":-1,"height":-1},"prompt":"p"}`, `{"num_images":9223372036854775807,"prompt":"p"}`,
		`{"seed":-9223372036854775808,"prompt":"p","image_size":{"width":1,"height":1}}`, `{"_error":{"status":99999}}`,
		`{"_sleep_ms":1e40}`, `{"_events":"x"}`}
	for i := 0; i < 30; i++ {
		bodies = append(bodies, garbage())
	}
	paths := []string{
		"/run/fal-ai/flux/schnell", "/run/fal-ai/any-llm/stream", "/run/falgo/echo", "/queue/fal-ai/flux/dev",
		"/run/workflows", "/run/workflows/a", "/run/comfy/a/b/c", "/run/%2e%2e/%2e%2e", "/run//falgo//echo",
		"/queue/falgo/echo/requests/", "/queue/falgo/echo/requests//status", "/queue/falgo/echo/requests/" + id + "/status/stream/x",
		"/queue/requests/" + id, "/queue/falgo/echo/requests/" + strings.Repeat("9", 5000) + "/status",
		"/queue/workflows/requests/x/status", "/queue/a/requests/b",
		"/run/" + strings.Repeat("a/", 500) + "b", "/queue/falgo/echo/requests/" + id + "/cancel/extra",
	}
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH"}
	for _, p := range paths {
		for _, m := range methods {
			body := bodies[rng.IntN(len(bodies))]
			// Only bad timeouts: a valid one, however short, may expire
			// before the request starts, and a 504 then is the right
			// answer (a tiny valid timeout made this test depend on the
			// machine's speed).
			r := call(t, srv, m, p, body, "X-Fal-Request-Timeout", []string{"", "-1", "NaN", "1e309", "0", "abc"}[rng.IntN(6)],
				"X-Fal-Queue-Priority", []string{"", "low", "LOW", "x"}[rng.IntN(4)])
			if r.code >= 500 {
				t.Errorf("%s %s: %d %s", m, p, r.code, r.body)
			}
		}
	}
	for _, b := range bodies {
		for _, p := range paths[:4] {
			if r := call(t, srv, "POST", p, b); r.code >= 500 {
				t.Errorf("POST %s %.40q: %d %s", p, b, r.code, r.body)
			}
		}
	}
	for _, q := range []string{"?logs=%ff", "?logs=1&logs=0", "?logs=" + strings.Repeat("1", 5000), "?%zz"} {
		if r := call(t, srv, "GET", sub["status_url"].(string)+q, ""); r.code >= 500 {
			t.Errorf("status%s: %d", q, r.code)
		}
	}
	// The server still works.
	if r := call(t, srv, "POST", "/run/falgo/echo", `{"ok":true}`); r.code != 200 {
		t.Fatalf("after the garbage: %d", r.code)
	}
}
