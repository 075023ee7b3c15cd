package falproxy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/falproxy"
	"github.com/falgo/fal/faltest"
)

// faltestProxy starts a faltest server and a proxy in front of it that
// maps fal's real hostnames to it, as a browser app's backend would in
// local development.
func faltestProxy(t *testing.T, key string) (*faltest.Server, *httptest.Server) {
	t.Helper()
	fake := faltest.NewServer(faltest.WithDemoDelay(5 * time.Millisecond))
	t.Cleanup(fake.Close)
	if key == "" {
		key = fake.Key
	}
	h, err := falproxy.New(
		falproxy.WithKey(key),
		falproxy.AllowUnauthenticated(),
		falproxy.WithUpstream("fal.run", fake.URL+"/run"),
		falproxy.WithUpstream("queue.fal.run", fake.URL+"/queue"),
		falproxy.WithUpstream("rest.fal.ai", fake.URL+"/rest"),
		falproxy.WithLogger((&logBuffer{}).logger()),
	)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(falproxy.DefaultRoute, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return fake, srv
}

// call sends what @fal-ai/client sends through a proxy: the fal URL in
// x-fal-target-url, JSON, no credentials.
func call(t *testing.T, proxyURL, method, target string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	return send(t, proxyURL+falproxy.DefaultRoute, method, target, rd, http.Header{
		"Content-Type": {"application/json"},
		"Accept":       {"application/json"},
		"User-Agent":   {"@fal-ai/client/1.10.1"},
	})
}

func mustDecode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

func TestEndToEndWithFaltest(t *testing.T) {
	fake, px := faltestProxy(t, "")

	t.Run("run", func(t *testing.T) {
		resp, body := call(t, px.URL, "POST", "https://fal.run/falgo/echo", map[string]any{"hello": "proxy", "_headers": true})
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		var out struct {
			Hello   string `json:"hello"`
			Request struct {
				App     string            `json:"app"`
				Headers map[string]string `json:"headers"`
			} `json:"_request"`
		}
		mustDecode(t, body, &out)
		if out.Hello != "proxy" || out.Request.App != "falgo/echo" {
			t.Errorf("output %s", body)
		}
		if got := out.Request.Headers["X-Fal-Client-Proxy"]; got != "falgo/"+fal.Version {
			t.Errorf("the app saw X-Fal-Client-Proxy %q", got)
		}
		if got := out.Request.Headers["User-Agent"]; got != "@fal-ai/client/1.10.1" {
			t.Errorf("the app saw User-Agent %q", got)
		}
		if resp.Header.Get("X-Fal-Request-Id") == "" {
			t.Error("x-fal-request-id did not come back through the proxy")
		}
	})

	t.Run("queue", func(t *testing.T) {
		resp, body := call(t, px.URL, "POST", "https://queue.fal.run/falgo/echo", map[string]any{"n": 7, "_logs": []string{"working"}})
		if resp.StatusCode != 200 {
			t.Fatalf("submit: %d %s", resp.StatusCode, body)
		}
		var sub struct {
			RequestID string `json:"request_id"`
			Status    string `json:"status"`
		}
		mustDecode(t, body, &sub)
		if sub.RequestID == "" || sub.Status != "IN_QUEUE" {
			t.Fatalf("submit answer %s", body)
		}
		base := "https://queue.fal.run/falgo/echo/requests/" + sub.RequestID
		deadline := time.Now().Add(waitLimit)
		for {
			resp, body = call(t, px.URL, "GET", base+"/status?logs=1", nil)
			var st struct{ Status string }
			mustDecode(t, body, &st)
			if st.Status == "COMPLETED" {
				if !strings.Contains(string(body), "working") {
					t.Errorf("completed status without the app's log line: %s", body)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still %s after %v", st.Status, waitLimit)
			}
			time.Sleep(10 * time.Millisecond)
		}
		resp, body = call(t, px.URL, "GET", base, nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"n":7`) {
			t.Fatalf("result: %d %s", resp.StatusCode, body)
		}
		if got := resp.Header.Get("X-Fal-Request-Id"); got != sub.RequestID {
			t.Errorf("result x-fal-request-id %q, want %q", got, sub.RequestID)
		}
	})

	t.Run("status stream", func(t *testing.T) {
		_, body := call(t, px.URL, "POST", "https://queue.fal.run/falgo/echo", map[string]any{"_sleep_ms": 50})
		var sub struct {
			RequestID string `json:"request_id"`
		}
		mustDecode(t, body, &sub)
		resp, body := send(t, px.URL+falproxy.DefaultRoute, "GET", "https://queue.fal.run/falgo/echo/requests/"+sub.RequestID+"/status/stream?logs=0",
			nil, http.Header{"Accept": {"text/event-stream"}})
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
		}
		events := sseData(t, body)
		if len(events) == 0 || !strings.Contains(events[len(events)-1], `"COMPLETED"`) {
			t.Fatalf("events %q", events)
		}
	})

	t.Run("output stream", func(t *testing.T) {
		resp, body := send(t, px.URL+falproxy.DefaultRoute, "POST", "https://fal.run/fal-ai/any-llm/stream",
			strings.NewReader(`{"prompt":"through the proxy"}`),
			http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"}})
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		events := sseData(t, body)
		if len(events) < 2 {
			t.Fatalf("want at least 2 events, got %q", events)
		}
		var last struct{ Partial bool }
		mustDecode(t, []byte(events[len(events)-1]), &last)
		if last.Partial {
			t.Errorf("last event is partial: %s", events[len(events)-1])
		}
	})

	t.Run("upload", func(t *testing.T) {
		resp, body := call(t, px.URL, "POST", "https://rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3",
			map[string]string{"content_type": "text/plain", "file_name": "hello.txt"})
		if resp.StatusCode != 200 {
			t.Fatalf("initiate: %d %s", resp.StatusCode, body)
		}
		var init struct {
			UploadURL string `json:"upload_url"`
			FileURL   string `json:"file_url"`
		}
		mustDecode(t, body, &init)
		// The browser PUTs the file straight to the signed URL, without the
		// proxy and without credentials.
		req, _ := http.NewRequest("PUT", init.UploadURL, strings.NewReader("hello through the proxy"))
		req.Header.Set("Content-Type", "text/plain")
		put, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		put.Body.Close()
		if put.StatusCode/100 != 2 {
			t.Fatalf("PUT: %d", put.StatusCode)
		}
		f, ok := fake.File(init.FileURL)
		if !ok || string(f.Data) != "hello through the proxy" {
			t.Fatalf("stored file %+v %v", f, ok)
		}

		resp, body = call(t, px.URL, "POST", "https://rest.fal.ai/storage/upload/initiate-multipart?storage_type=fal-cdn-v3",
			map[string]string{"content_type": "application/octet-stream", "file_name": "big.bin"})
		if resp.StatusCode != 200 || !strings.Contains(string(body), "upload_url") {
			t.Fatalf("initiate-multipart: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("realtime token", func(t *testing.T) {
		resp, body := call(t, px.URL, "POST", "https://rest.fal.ai/tokens/", map[string]any{"allowed_apps": []string{"echo"}, "token_expiration": 120})
		var token string
		if resp.StatusCode != 200 || json.Unmarshal(body, &token) != nil || strings.Count(token, ".") != 2 {
			t.Fatalf("token: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("fal errors come back as they are", func(t *testing.T) {
		resp, body := call(t, px.URL, "POST", "https://fal.run/fal-ai/flux/dev", map[string]any{})
		if resp.StatusCode != 422 || !strings.Contains(string(body), "prompt") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
}

func TestEndToEndWrongKey(t *testing.T) {
	_, px := faltestProxy(t, "not-the-key")
	resp, body := call(t, px.URL, "POST", "https://fal.run/falgo/echo", map[string]any{})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "not-the-key") {
		t.Errorf("the key is in the answer: %s", body)
	}
}

// sseData returns the data of each event in an SSE body.
func sseData(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
			out = append(out, strings.TrimSpace(d))
		}
	}
	return out
}
