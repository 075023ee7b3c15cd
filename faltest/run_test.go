package faltest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
)

func TestRunEcho(t *testing.T) {
	srv := newServer(t)
	for _, body := range []string{`{"a":1,"b":[true,null]}`, `{"a": 1, "b": [true, null]}`, "{\"\\u00fc\": \"\u00fc\"}", `[1,2]`, `"s"`} {
		r := call(t, srv, "POST", "/run/falgo/echo", body)
		if r.code != 200 || string(r.body) != body {
			t.Errorf("echo %s: %d %s", body, r.code, r.body)
		}
		if r.header.Get("Content-Type") != "application/json" || r.header.Get("x-fal-request-id") == "" {
			t.Errorf("echo %s: headers %v", body, r.header)
		}
	}
	// An empty body is JSON null.
	if r := call(t, srv, "POST", "/run/falgo/echo", ""); r.code != 200 || string(r.body) != "null" {
		t.Errorf("empty body: %d %s", r.code, r.body)
	}
	if n := srv.Executions("falgo/echo"); n != 6 {
		t.Fatalf("Executions = %d, want 6", n)
	}
	ids := map[string]bool{}
	for i := 0; i < 5; i++ {
		ids[call(t, srv, "POST", "/run/falgo/echo", `{}`).header.Get("x-fal-request-id")] = true
	}
	if len(ids) != 5 {
		t.Fatalf("request ids repeat: %v", ids)
	}
}

func TestRunRequestSeesHeaders(t *testing.T) {
	var got *faltest.Request
	srv := newServer(t, faltest.WithApp("t/h", func(_ context.Context, req *faltest.Request) (any, error) {
		got = req
		return nil, nil
	}))
	r := call(t, srv, "POST", "/run/t/h/sub/path", `{"x":1}`, "X-Fal-Runner-Hint", "lora:a", "X-Custom", "1")
	if r.code != 200 || string(r.body) != "null" {
		t.Fatalf("%d %s", r.code, r.body)
	}
	if got.App != "t/h" || got.Path != "sub/path" || string(got.Input) != `{"x":1}` {
		t.Fatalf("request = %+v", got)
	}
	if got.Header.Get("X-Fal-Runner-Hint") != "lora:a" || got.Header.Get("X-Custom") != "1" {
		t.Fatalf("headers = %v", got.Header)
	}
	if got.Header.Get("Authorization") != "" {
		t.Fatal("the app sees the API key")
	}
	if got.RequestID != r.header.Get("x-fal-request-id") {
		t.Fatalf("RequestID %q, response header %q", got.RequestID, r.header.Get("x-fal-request-id"))
	}
}

func TestRunEchoHeadersControl(t *testing.T) {
	srv := newServer(t)
	r := call(t, srv, "POST", "/run/falgo/echo/p", `{"_headers":true,"v":2}`, "X-Fal-Queue-Priority", "low", "User-Agent", "ua/1")
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	var out struct {
		V       int `json:"v"`
		Request struct {
			App, Path string
			RequestID string `json:"request_id"`
			Headers   map[string]string
		} `json:"_request"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	if out.V != 2 || out.Request.App != "falgo/echo" || out.Request.Path != "p" || out.Request.RequestID == "" ||
		out.Request.Headers["X-Fal-Queue-Priority"] != "low" || out.Request.Headers["User-Agent"] != "ua/1" {
		t.Fatalf("output %s", r.body)
	}
	if _, ok := out.Request.Headers["Authorization"]; ok {
		t.Fatal("echo reveals Authorization")
	}
}

func TestRunErrors(t *testing.T) {
	srv := newServer(t, faltest.WithApp("t/fail", func(_ context.Context, req *faltest.Request) (any, error) {
		var in struct {
			Mode string `json:"mode"`
			N    int    `json:"n"`
		}
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		switch in.Mode {
		case "validation":
			return nil, faltest.ValidationError("image_size.width", "too big")
		case "app":
			return nil, &faltest.AppError{Status: 503, Detail: "busy", Type: "runner_disconnected"}
		case "appobj":
			return nil, &faltest.AppError{Status: 418, Detail: map[string]any{"why": "teapot"}}
		case "badstatus":
			return nil, &faltest.AppError{Status: 200, Detail: "not an error status"}
		case "plain":
			return nil, errors.New("boom")
		case "panic":
			panic("kaboom")
		case "unencodable":
			return func() {}, nil
		case "badraw":
			return json.RawMessage(`{`), nil
		}
		return in, nil
	}))
	check := func(body string, code int, errType string, detail func(any) bool) {
		t.Helper()
		r := call(t, srv, "POST", "/run/t/fail", body)
		if r.code != code {
			t.Fatalf("%s: %d, want %d: %s", body, r.code, code, r.body)
		}
		if r.header.Get("x-fal-error-type") != errType {
			t.Fatalf("%s: x-fal-error-type %q, want %q", body, r.header.Get("x-fal-error-type"), errType)
		}
		if r.header.Get("x-fal-request-id") == "" {
			t.Fatalf("%s: no request id", body)
		}
		m := r.json(t)
		if errType != "" && m["error_type"] != errType {
			t.Fatalf("%s: error_type %v", body, m["error_type"])
		}
		if !detail(m["detail"]) {
			t.Fatalf("%s: detail %v", body, m["detail"])
		}
	}
	isLoc := func(loc ...string) func(any) bool {
		return func(d any) bool {
			list, ok := d.([]any)
			if !ok || len(list) != 1 {
				return false
			}
			e := list[0].(map[string]any)
			return fmt.Sprint(e["loc"]) == fmt.Sprint(toAny(loc)) && e["msg"] != "" && e["type"] != ""
		}
	}
	hasText := func(s string) func(any) bool {
		return func(d any) bool { str, ok := d.(string); return ok && strings.Contains(str, s) }
	}
	check(`{"mode":"validation"}`, 422, "", isLoc("body", "image_size", "width"))
	check(`{"mode":"app"}`, 503, "runner_disconnected", hasText("busy"))
	check(`{"mode":"appobj"}`, 418, "", func(d any) bool { m, ok := d.(map[string]any); return ok && m["why"] == "teapot" })
	check(`{"mode":"badstatus"}`, 500, "", hasText("not an error status"))
	check(`{"mode":"plain"}`, 500, "internal_error", hasText("boom"))
	check(`{"mode":"panic"}`, 500, "internal_error", hasText("kaboom"))
	check(`{"mode":"unencodable"}`, 500, "", hasText("JSON"))
	check(`{"mode":"badraw"}`, 500, "", hasText("not valid JSON"))
	check(`{"mode":"x","n":"str"}`, 422, "", isLoc("body", "n"))
	check(`{"mode": 5}`, 422, "", isLoc("body", "mode"))
	// Invalid JSON bodies.
	for _, body := range []string{`{`, `{"a":}`, `nope`, "\x00\x01\x02", `{"a":1}x`} {
		check(body, 422, "", func(d any) bool {
			list, ok := d.([]any)
			return ok && len(list) == 1 && list[0].(map[string]any)["type"] == "json_invalid"
		})
	}
	if r := call(t, srv, "POST", "/run/t/fail", `{}`, "X-Fal-Request-Timeout", "soon"); r.code != 422 {
		t.Fatalf("bad X-Fal-Request-Timeout: %d %s", r.code, r.body)
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func TestRunStartTimeout(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("t/gate", g.handler, faltest.Concurrency(1)))
	done := make(chan reply, 1)
	go func() {
		resp, err := send(srv, "POST", "/run/t/gate", `{}`)
		if err != nil {
			done <- reply{code: -1}
			return
		}
		defer resp.Body.Close()
		done <- reply{code: resp.StatusCode, header: resp.Header}
	}()
	recv(t, g.started, "first run to start")
	// The only slot is busy, so this one cannot start before its deadline.
	r := call(t, srv, "POST", "/run/t/gate", `{}`, "X-Fal-Request-Timeout", "0.05")
	if r.code != http.StatusGatewayTimeout || r.header.Get("X-Fal-Request-Timeout-Type") != "user" || r.header.Get("x-fal-error-type") != "request_timeout" {
		t.Fatalf("start timeout: %d %v %s", r.code, r.header, r.body)
	}
	if m := r.json(t); m["detail"] != "Request timed out" || m["error_type"] != "request_timeout" {
		t.Fatalf("start timeout body: %s", r.body)
	}
	g.release <- struct{}{}
	if first := recv(t, done, "first run"); first.code != 200 {
		t.Fatalf("first run: %d", first.code)
	}
	if n := srv.Executions("t/gate"); n != 1 {
		t.Fatalf("Executions = %d, want 1 (the timed-out run never started)", n)
	}
	// With a free slot, a generous deadline is met.
	g.release <- struct{}{}
	if r := call(t, srv, "POST", "/run/t/gate", `{}`, "X-Fal-Request-Timeout", "30.0"); r.code != 200 {
		t.Fatalf("run with a start timeout: %d %s", r.code, r.body)
	}
}

func TestRunClientGoneCancelsHandler(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("t/gate", g.handler))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		resp, err := sendCtx(ctx, srv, "POST", "/run/t/gate", `{}`)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	recv(t, g.started, "run start")
	cancel()
	if err := recv(t, g.ctxDone, "handler ctx to end"); !errors.Is(err, context.Canceled) {
		t.Fatalf("handler ctx error %v", err)
	}
	if err := recv(t, errc, "client"); err == nil {
		t.Fatal("cancelled client call succeeded")
	}
}

func TestConcurrencyLimitsSyncRuns(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("t/gate", g.handler, faltest.Concurrency(2)))
	results := make(chan int, 3)
	for i := 0; i < 3; i++ {
		go func() {
			resp, err := send(srv, "POST", "/run/t/gate", `{}`)
			if err != nil {
				results <- -1
				return
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
	}
	recv(t, g.started, "run 1")
	recv(t, g.started, "run 2")
	waitFor(t, "the third run to arrive", func() bool { return srv.Stats().Requests["run"] == 3 })
	select {
	case <-g.started:
		t.Fatal("a third run started while both slots were busy")
	case <-time.After(50 * time.Millisecond):
	}
	g.release <- struct{}{}
	recv(t, g.started, "run 3 after a slot freed")
	g.release <- struct{}{}
	g.release <- struct{}{}
	for i := 0; i < 3; i++ {
		if c := recv(t, results, "results"); c != 200 {
			t.Fatalf("run: %d", c)
		}
	}
}

// BenchmarkRunEcho measures the sync run path (client and server on one
// machine): the baseline the falgo benchmarks compare against.
func BenchmarkRunEcho(b *testing.B) {
	srv := faltest.NewServer()
	defer srv.Close()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	url := srv.URL + "/run/falgo/echo"
	body := []byte(`{"prompt":"a cat","n":1}`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.Header.Set("Authorization", "Key "+srv.Key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func TestRequestWithoutServer(t *testing.T) {
	// Handlers can be unit-tested by calling them directly.
	req := &faltest.Request{App: "me/app", Input: []byte(`{"n":"x"}`)}
	var in struct {
		N int `json:"n"`
	}
	err := req.Decode(&in)
	var ie *faltest.InputError
	if !errors.As(err, &ie) || fmt.Sprint(ie.Details[0].Loc) != "[body n]" {
		t.Fatalf("Decode: %v", err)
	}
	req.Log("INFO", "dropped")
	if err := req.Emit("dropped"); err != nil || req.Streaming() {
		t.Fatalf("Emit: %v", err)
	}
	if u := req.Upload("text/plain", "a.txt", []byte("hi")); u != "data:text/plain;base64,aGk=" {
		t.Fatalf("Upload = %q", u)
	}
}
