package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falgo/fal/falproxy"
	"github.com/falgo/fal/faltest"
)

// testClient is the HTTP client of the tests; every call is bounded.
var testClient = &http.Client{Timeout: 30 * time.Second}

// startWebApp serves the example's handler, pointed at fal, on loopback.
func startWebApp(t *testing.T, fal *faltest.Server) *httptest.Server {
	t.Helper()
	up, origins, err := upstreamsFromEnv(envLookup(fal.Env()))
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(config{upstreams: up, key: fal.Key, imageOrigins: origins})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(h)
	t.Cleanup(web.Close)
	return web
}

// newTestApp starts a faltest server and the web app in front of it, both
// closed at the end of the test.
func newTestApp(t *testing.T) (*faltest.Server, *httptest.Server) {
	t.Helper()
	fal := faltest.NewServer()
	t.Cleanup(fal.Close)
	return fal, startWebApp(t, fal)
}

// newSession loads the page at base and returns the session cookie it set.
func newSession(t *testing.T, base string) *http.Cookie {
	t.Helper()
	res, err := testClient.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatalf("GET / set no %s cookie", sessionCookie)
	return nil
}

// proxyCall sends one request through the web app's proxy.
func proxyCall(t *testing.T, base string, method, target string, header http.Header, cookie *http.Cookie) (int, string) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(`{"prompt":"a cat"}`)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+falproxy.DefaultRoute, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(falproxy.TargetURLHeader, target)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	res, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func TestProxyNeedsSessionFromThisSite(t *testing.T) {
	fal, web := newTestApp(t)
	cookie := newSession(t, web.URL)
	submit := "https://queue.fal.run/" + model

	forged := *cookie
	forged.Value = strings.Repeat("A", 22) + "." + strings.Repeat("B", 43)
	for _, tc := range []struct {
		name   string
		header http.Header
		cookie *http.Cookie
		want   int
	}{
		{"no cookie", nil, nil, http.StatusUnauthorized},
		{"forged cookie", nil, &forged, http.StatusUnauthorized},
		{"cross-site fetch", http.Header{"Sec-Fetch-Site": {"cross-site"}}, cookie, http.StatusForbidden},
		{"same-site fetch", http.Header{"Sec-Fetch-Site": {"same-site"}}, cookie, http.StatusForbidden},
		{"other origin", http.Header{"Origin": {"http://evil.example"}}, cookie, http.StatusForbidden},
		{"same origin", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {web.URL}}, cookie, http.StatusOK},
		{"no browser headers", nil, cookie, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := proxyCall(t, web.URL, http.MethodPost, submit, tc.header, tc.cookie)
			if status != tc.want {
				t.Fatalf("status %d, want %d: %s", status, tc.want, body)
			}
			if status == http.StatusOK && !strings.Contains(body, `"request_id"`) {
				t.Fatalf("a submit through the proxy answered %s", body)
			}
		})
	}
	if strings.Contains(cookie.Value, fal.Key) {
		t.Fatal("the session cookie holds the fal key")
	}
}

func TestProxyAllowsOnlyTheModel(t *testing.T) {
	_, web := newTestApp(t)
	cookie := newSession(t, web.URL)
	for _, tc := range []struct {
		method, target string
		want           int
	}{
		{http.MethodPost, "https://queue.fal.run/fal-ai/flux/dev", http.StatusForbidden},
		{http.MethodPost, "https://fal.run/" + model, http.StatusForbidden},
		{http.MethodPost, "https://rest.fal.ai/tokens/", http.StatusForbidden},
		{http.MethodPost, "https://rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3", http.StatusForbidden},
		{http.MethodGet, "https://queue.fal.run/fal-ai/flux/requests/nope/status", http.StatusNotFound}, // allowed; unknown id
		{http.MethodPost, "https://queue.fal.run/" + model, http.StatusOK},
	} {
		status, body := proxyCall(t, web.URL, tc.method, tc.target, nil, cookie)
		if status != tc.want {
			t.Errorf("%s %s: status %d, want %d: %s", tc.method, tc.target, status, tc.want, body)
		}
	}
}

func TestProxyBoundsTheBody(t *testing.T) {
	_, web := newTestApp(t)
	cookie := newSession(t, web.URL)
	big := `{"prompt":"` + strings.Repeat("x", maxProxyBody) + `"}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, web.URL+falproxy.DefaultRoute, strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(falproxy.TargetURLHeader, "https://queue.fal.run/"+model)
	req.AddCookie(cookie)
	res, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a %d-byte body: status %d, want 413", len(big), res.StatusCode)
	}
}

func TestPageAndAssets(t *testing.T) {
	fal, web := newTestApp(t)

	res, err := testClient.Get(web.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), `<script type="module" src="/app.js">`) {
		t.Fatalf("GET /: %d\n%s", res.StatusCode, page)
	}
	var c *http.Cookie
	for _, rc := range res.Cookies() {
		if rc.Name == sessionCookie {
			c = rc
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", c)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"connect-src 'self'", "script-src 'self'", "img-src 'self' data: https: " + fal.URL} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", got)
	}

	for path, ctype := range map[string]string{"/app.js": "text/javascript", "/style.css": "text/css"} {
		res, err := testClient.Get(web.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), ctype) || len(b) == 0 {
			t.Errorf("GET %s: %d %q, %d bytes", path, res.StatusCode, res.Header.Get("Content-Type"), len(b))
		}
		if strings.Contains(string(b), fal.Key) {
			t.Errorf("%s holds the fal key", path)
		}
		if res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s has no Content-Security-Policy", path)
		}
	}
	for _, path := range []string{"/index.html", "/static/app.js", "/src/app.js", "/main.go"} {
		res, err := testClient.Get(web.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
		}
	}
}

func TestUpstreamsFromEnv(t *testing.T) {
	up, origins, err := upstreamsFromEnv(envLookup([]string{
		"FAL_RUN_HOST=http://127.0.0.1:9/run",
		"FAL_QUEUE_RUN_HOST=queue.example.test",
		"FAL_REST_HOST=rest.fal.ai",
		"FAL_CDN_HOST=http://127.0.0.1:10/cdn",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"fal.run": "http://127.0.0.1:9/run", "queue.fal.run": "https://queue.example.test"}
	if len(up) != len(want) || up["fal.run"] != want["fal.run"] || up["queue.fal.run"] != want["queue.fal.run"] {
		t.Errorf("upstreams %v, want %v", up, want)
	}
	if strings.Join(origins, " ") != "http://127.0.0.1:9 http://127.0.0.1:10" {
		t.Errorf("image origins %v", origins)
	}
	if _, _, err := upstreamsFromEnv(envLookup([]string{"FAL_RUN_HOST=http://"})); err == nil {
		t.Error("FAL_RUN_HOST=http:// was accepted")
	}
	up, origins, err = upstreamsFromEnv(envLookup(nil))
	if err != nil || len(up) != 0 || len(origins) != 0 {
		t.Errorf("no environment: %v %v %v, want fal itself", up, origins, err)
	}
}

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:0": true, "localhost:3000": true, "[::1]:80": true,
		"0.0.0.0:3000": false, ":3000": false, "192.0.2.1:80": false, "example.com:80": false, "nonsense": false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v", addr, err)
		}
	}
}

// lineWriter hands the first line written to it to a channel.
type lineWriter struct {
	mu   sync.Mutex
	buf  strings.Builder
	once sync.Once
	line chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if s := w.buf.String(); strings.Contains(s, "\n") {
		w.once.Do(func() { w.line <- s[:strings.Index(s, "\n")] })
	}
	return len(p), nil
}

// TestRunLocal runs the command as `webapp --local`: it serves the page with
// an embedded faltest, and a queue request through its proxy completes.
func TestRunLocal(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	out := &lineWriter{line: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, []string{"--local", "--addr", "127.0.0.1:0"}, func(string) string { return "" }, out, io.Discard)
	}()
	var line string
	select {
	case line = <-out.line:
	case err := <-done:
		t.Fatalf("run ended before serving: %v", err)
	case <-ctx.Done():
		t.Fatal("run printed no URL")
	}
	base := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(line)
	if base == "" {
		t.Fatalf("no URL in %q", line)
	}
	status, body := proxyCall(t, base, http.MethodPost, "https://queue.fal.run/"+model, nil, newSession(t, base))
	if status != http.StatusOK {
		t.Fatalf("submit through --local: %d %s", status, body)
	}
	var sub struct {
		RequestID string `json:"request_id"`
		StatusURL string `json:"status_url"`
	}
	if err := json.Unmarshal([]byte(body), &sub); err != nil || sub.RequestID == "" {
		t.Fatalf("submit answer %s: %v", body, err)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("run did not stop")
	}
}

func TestRunRefusesRemoteAddr(t *testing.T) {
	err := run(t.Context(), []string{"--addr", "0.0.0.0:0"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("run --addr 0.0.0.0:0: %v", err)
	}
}
