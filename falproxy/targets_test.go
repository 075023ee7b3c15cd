package falproxy_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/falgo/fal/falproxy"
)

func TestDefaultAllowlist(t *testing.T) {
	up := newUpstream(t, nil)
	srv := proxy(t, up, nil)

	tests := []struct {
		name   string
		method string
		target string
		status int
		path   string // upstream path when forwarded
		query  string
	}{
		// Allowed: every route the JS client sends through a proxy.
		{"run", "POST", "https://fal.run/fal-ai/flux/dev", 200, "/run/fal-ai/flux/dev", ""},
		{"run root", "GET", "https://fal.run", 200, "/run", ""},
		{"run stream", "POST", "https://fal.run/fal-ai/any-llm/stream", 200, "/run/fal-ai/any-llm/stream", ""},
		{"run upper-case host", "POST", "https://FAL.RUN/fal-ai/flux/dev", 200, "/run/fal-ai/flux/dev", ""},
		{"run escaped path kept", "POST", "https://fal.run/me/app/a%2Fb", 200, "/run/me/app/a%2Fb", ""},
		{"queue submit with webhook", "POST", "https://queue.fal.run/fal-ai/flux/dev?fal_webhook=https%3A%2F%2Fexample.com%2Fhook", 200, "/queue/fal-ai/flux/dev", "fal_webhook=https%3A%2F%2Fexample.com%2Fhook"},
		{"queue status", "GET", "https://queue.fal.run/fal-ai/flux/requests/r1/status?logs=1", 200, "/queue/fal-ai/flux/requests/r1/status", "logs=1"},
		{"queue status stream", "GET", "https://queue.fal.run/fal-ai/flux/requests/r1/status/stream?logs=0", 200, "/queue/fal-ai/flux/requests/r1/status/stream", "logs=0"},
		{"queue cancel", "PUT", "https://queue.fal.run/fal-ai/flux/requests/r1/cancel", 200, "/queue/fal-ai/flux/requests/r1/cancel", ""},
		{"upload initiate", "POST", "https://rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3", 200, "/rest/storage/upload/initiate", "storage_type=fal-cdn-v3"},
		{"upload initiate-multipart", "POST", "https://rest.fal.ai/storage/upload/initiate-multipart?storage_type=fal-cdn-v3", 200, "/rest/storage/upload/initiate-multipart", "storage_type=fal-cdn-v3"},
		{"upload complete-multipart", "POST", "https://rest.fal.ai/storage/upload/complete-multipart?storage_type=fal-cdn-v3", 200, "/rest/storage/upload/complete-multipart", "storage_type=fal-cdn-v3"},
		{"realtime token", "POST", "https://rest.fal.ai/tokens/", 200, "/rest/tokens/", ""},

		// Look-alike hosts and URL tricks.
		{"suffix host", "POST", "https://evilfal.run/fal-ai/flux/dev", 403, "", ""},
		{"fal.run as a subdomain", "POST", "https://fal.run.evil.com/fal-ai/flux/dev", 403, "", ""},
		{"other subdomain", "POST", "https://api.fal.run/x/y", 403, "", ""},
		{"fal.ai", "POST", "https://fal.ai/x/y", 403, "", ""},
		{"queue.fal.ai", "POST", "https://queue.fal.ai/x/y", 403, "", ""},
		{"trailing dot", "POST", "https://fal.run./x/y", 403, "", ""},
		{"explicit port", "POST", "https://fal.run:443/x/y", 403, "", ""},
		{"other port", "POST", "https://fal.run:8443/x/y", 403, "", ""},
		{"plain http", "POST", "http://fal.run/fal-ai/flux/dev", 400, "", ""},
		{"user info", "POST", "https://user@fal.run/fal-ai/flux/dev", 400, "", ""},
		{"user info hiding the host", "POST", "https://fal.run@evil.com/fal-ai/flux/dev", 400, "", ""},
		{"fragment", "POST", "https://fal.run/fal-ai/flux/dev#x", 400, "", ""},
		{"dot-dot segment", "POST", "https://rest.fal.ai/tokens/../storage/upload/initiate?storage_type=fal-cdn-v3", 400, "", ""},
		{"encoded dot-dot", "POST", "https://fal.run/a/%2e%2e/b", 400, "", ""},
		{"backslash", "POST", `https://fal.run/a\b`, 400, "", ""},
		{"relative", "POST", "/fal-ai/flux/dev", 400, "", ""},
		{"no scheme", "POST", "fal.run/fal-ai/flux/dev", 400, "", ""},
		{"opaque", "POST", "https:fal.run/x", 400, "", ""},
		{"javascript scheme", "POST", "javascript:alert(1)", 400, "", ""},
		{"ftp", "GET", "ftp://fal.run/x", 400, "", ""},
		{"not a URL", "POST", "https://fal.run/%zz", 400, "", ""},

		// REST routes outside the allowlist.
		{"other REST path", "GET", "https://rest.fal.ai/billing/user_balance", 403, "", ""},
		{"initiate with gcs", "POST", "https://rest.fal.ai/storage/upload/initiate?storage_type=gcs", 403, "", ""},
		{"initiate without storage_type", "POST", "https://rest.fal.ai/storage/upload/initiate", 403, "", ""},
		{"initiate with an extra parameter", "POST", "https://rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3&x=1", 403, "", ""},
		{"initiate with GET", "GET", "https://rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3", 403, "", ""},
		{"initiate below", "POST", "https://rest.fal.ai/storage/upload/initiate/x?storage_type=fal-cdn-v3", 403, "", ""},
		{"tokens with GET", "GET", "https://rest.fal.ai/tokens/", 403, "", ""},
		{"tokens below", "POST", "https://rest.fal.ai/tokens/abc", 403, "", ""},
		{"rest.beta", "POST", "https://rest.beta.fal.ai/tokens/", 403, "", ""},
		{"CDN host", "PUT", "https://v3.fal.media/files/upload", 403, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(up.requests())
			resp, body := send(t, srv.URL, tc.method, tc.target, strings.NewReader("{}"), nil)
			reqs := up.requests()[before:]
			if tc.status != http.StatusOK {
				e := decodeError(t, resp, body, tc.status)
				if len(reqs) != 0 {
					t.Fatalf("a refused request reached the upstream: %+v", reqs)
				}
				if tc.status == 400 && !strings.Contains(e.Message, "x-fal-target-url") {
					t.Errorf("message %q does not name the header", e.Message)
				}
				return
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", resp.StatusCode, body)
			}
			if len(reqs) != 1 {
				t.Fatalf("upstream got %d requests, want 1", len(reqs))
			}
			if got := reqs[0]; got.Method != tc.method || got.Path != tc.path || got.Query != tc.query {
				t.Errorf("upstream got %s %s?%s, want %s %s?%s", got.Method, got.Path, got.Query, tc.method, tc.path, tc.query)
			}
		})
	}
}

func TestAllowlistOptions(t *testing.T) {
	up := newUpstream(t, nil)
	status := func(t *testing.T, srvURL, method, target string) int {
		t.Helper()
		resp, _ := send(t, srvURL, method, target, nil, nil)
		return resp.StatusCode
	}

	t.Run("WithTargets replaces the defaults", func(t *testing.T) {
		srv := proxy(t, up, nil, falproxy.WithTargets("POST fal.run/fal-ai/*", "queue.fal.run/me/**"))
		for target, want := range map[string]int{
			"https://fal.run/fal-ai/any-llm":        200,
			"https://fal.run/fal-ai/flux/dev":       403, // * is one segment
			"https://fal.run/fal-ai/":               403, // * is not empty
			"https://queue.fal.run/me":              200, // ** may be empty
			"https://queue.fal.run/me/app/requests": 200,
			"https://queue.fal.run/you/app":         403,
			"https://rest.fal.ai/tokens/":           403,
		} {
			if got := status(t, srv.URL, "POST", target); got != want {
				t.Errorf("POST %s: %d, want %d", target, got, want)
			}
		}
		if got := status(t, srv.URL, "GET", "https://fal.run/fal-ai/any-llm"); got != 403 {
			t.Errorf("GET on a POST-only pattern: %d, want 403", got)
		}
	})

	t.Run("an empty WithTargets allows nothing", func(t *testing.T) {
		srv := proxy(t, up, nil, falproxy.WithTargets())
		if got := status(t, srv.URL, "POST", "https://fal.run/fal-ai/flux/dev"); got != 403 {
			t.Errorf("got %d, want 403", got)
		}
	})

	t.Run("AllowTargets adds to the defaults", func(t *testing.T) {
		srv := proxy(t, up, nil, falproxy.AllowTargets("GET rest.fal.ai/billing/user_balance"))
		if got := status(t, srv.URL, "GET", "https://rest.fal.ai/billing/user_balance"); got != 200 {
			t.Errorf("added target: %d, want 200", got)
		}
		if got := status(t, srv.URL, "POST", "https://fal.run/fal-ai/flux/dev"); got != 200 {
			t.Errorf("default target: %d, want 200", got)
		}
	})

	t.Run("WithoutRealtimeTokens", func(t *testing.T) {
		srv := proxy(t, up, nil, falproxy.WithoutRealtimeTokens())
		if got := status(t, srv.URL, "POST", "https://rest.fal.ai/tokens/"); got != 403 {
			t.Errorf("tokens: %d, want 403", got)
		}
		if got := status(t, srv.URL, "POST", "https://rest.fal.ai/storage/upload/initiate-multipart?storage_type=fal-cdn-v3"); got != 200 {
			t.Errorf("initiate-multipart: %d, want 200", got)
		}
	})

	t.Run("plain http only for a loopback pattern", func(t *testing.T) {
		srv := proxy(t, up, nil,
			falproxy.AllowTargets("http://localhost:9999/**"),
			falproxy.WithUpstream("localhost:9999", up.URL+"/local"))
		if got := status(t, srv.URL, "POST", "http://localhost:9999/me/app"); got != 200 {
			t.Errorf("http loopback target: %d, want 200", got)
		}
		if got := status(t, srv.URL, "POST", "http://localhost:9998/me/app"); got != 400 {
			t.Errorf("http to another port: %d, want 400", got)
		}
		if got := status(t, srv.URL, "POST", "https://localhost:9999/me/app"); got != 403 {
			t.Errorf("https to the http-only pattern: %d, want 403", got)
		}
		reqs := up.requests()
		if last := reqs[len(reqs)-1]; last.Path != "/local/me/app" {
			t.Errorf("upstream path %q, want /local/me/app", last.Path)
		}
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []falproxy.Option
		want string
	}{
		{"no authorization choice", []falproxy.Option{falproxy.WithKey("k")}, "AllowUnauthenticated"},
		{"both authorization choices", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithAuthorize(func(*http.Request) error { return nil })}, "pick one"},
		{"nil hook", []falproxy.Option{falproxy.WithAuthorize(nil)}, "WithAuthorize"},
		{"wildcard host", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithTargets("*.fal.run/**")}, "host"},
		{"inner **", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithTargets("fal.run/**/x")}, "last"},
		{"partial *", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithTargets("fal.run/fal-*")}, "whole"},
		{"http non-loopback pattern", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithTargets("http://fal.run/**")}, "loopback"},
		{"bad method", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithTargets("CONNECT fal.run/**")}, "method"},
		{"other scheme", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithTargets("wss://fal.run/**")}, "https"},
		{"empty pattern", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithTargets("")}, "empty"},
		{"http upstream", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithUpstream("fal.run", "http://example.com/run")}, "loopback"},
		{"upstream with query", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithUpstream("fal.run", "https://example.com/run?x=1")}, "query"},
		{"upstream not absolute", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithUpstream("fal.run", "example.com")}, "absolute"},
		{"upstream bad host", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithUpstream("fal.run/x", "https://example.com")}, "not a host"},
		{"zero body limit", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithMaxBodyBytes(0)}, "WithMaxBodyBytes"},
		{"empty key", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithKey("")}, "empty key"},
		{"key with newline", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithKey("a\nb")}, "control"},
		{"nil credentials", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithCredentials(nil)}, "nil provider"},
		{"nil transport", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithTransport(nil)}, "nil transport"},
		{"nil logger", []falproxy.Option{falproxy.AllowUnauthenticated(), falproxy.WithLogger(nil)}, "nil logger"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := falproxy.New(tc.opts...)
			if err == nil {
				t.Fatalf("New succeeded (%v), want an error mentioning %q", h, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "a\nb") {
				t.Errorf("error repeats the key: %q", err)
			}
		})
	}
}
