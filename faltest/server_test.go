package faltest_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/falgo/fal/faltest"
	"go.uber.org/goleak"
)

func TestServerBasics(t *testing.T) {
	srv := newServer(t)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") || strings.HasSuffix(srv.URL, "/") {
		t.Fatalf("URL = %q, want http://127.0.0.1:<port> without a trailing slash", srv.URL)
	}
	if srv.Key != faltest.DefaultKey {
		t.Fatalf("Key = %q, want %q", srv.Key, faltest.DefaultKey)
	}
	want := []string{
		"FAL_KEY=" + srv.Key,
		"FAL_RUN_HOST=" + srv.URL + "/run",
		"FAL_QUEUE_RUN_HOST=" + srv.URL + "/queue",
		"FAL_REST_HOST=" + srv.URL + "/rest",
		"FAL_CDN_HOST=" + srv.URL + "/cdn",
		"FAL_API_HOST=" + srv.URL + "/api",
	}
	got := srv.Env()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Env() = %q, want %q", got, want)
	}
}

func TestWithKey(t *testing.T) {
	srv := newServer(t, faltest.WithKey("id:secret"))
	if r := call(t, srv, "POST", "/run/falgo/echo", `{}`); r.code != 200 {
		t.Fatalf("with the custom key: %d %s", r.code, r.body)
	}
	if r := call(t, srv, "POST", "/run/falgo/echo", `{}`, "Authorization", "Key "+faltest.DefaultKey); r.code != 401 {
		t.Fatalf("with the default key: %d, want 401", r.code)
	}
}

func TestStartErrors(t *testing.T) {
	h := func(context.Context, *faltest.Request) (any, error) { return nil, nil }
	cases := map[string][]faltest.Option{
		"bad addr":        {faltest.WithAddr("nonsense")},
		"empty key":       {faltest.WithKey("")},
		"key with space":  {faltest.WithKey("a b")},
		"bad app id":      {faltest.WithApp("noslash", h)},
		"nil handler":     {faltest.WithApp("a/b", nil)},
		"bad concurrency": {faltest.WithApp("a/b", h, faltest.Concurrency(-1))},
		"bad fault rate":  {faltest.WithFaults(1, faltest.FaultRule{Kind: faltest.TooManyRequests, Rate: 2})},
		"bad fault kind":  {faltest.WithFaults(1, faltest.FaultRule{Kind: 99})},
		"latency rule":    {faltest.WithFaults(1, faltest.FaultRule{Kind: faltest.Latency})},
		"bad ping":        {faltest.WithPingInterval(0)},
		"bad retention":   {faltest.WithResultRetention(-1)},
		"bad delay":       {faltest.WithDemoDelay(-1)},
		"bad webhook":     {faltest.WithWebhookRetries(-1, 0)},
		"namespace short": {faltest.WithApp("workflows/a", h)},
		"dot segment":     {faltest.WithApp("a/../b", h)},
	}
	for name, opts := range cases {
		srv, err := faltest.Start(opts...)
		if err == nil {
			srv.Close()
			t.Errorf("%s: Start succeeded, want an error", name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "faltest: ") {
			t.Errorf("%s: error %q does not say where it comes from", name, err)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("NewServer with an invalid option did not panic")
			}
		}()
		faltest.NewServer(faltest.WithKey(""))
	}()
}

func TestStartAddrInUse(t *testing.T) {
	srv := newServer(t)
	addr := strings.TrimPrefix(srv.URL, "http://")
	if _, err := faltest.Start(faltest.WithAddr(addr)); err == nil {
		t.Fatal("Start on a busy address succeeded")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	srv2, err := faltest.Start(faltest.WithAddr(free))
	if err != nil {
		t.Fatalf("Start(WithAddr(%s)): %v", free, err)
	}
	defer srv2.Close()
	if srv2.URL != "http://"+free {
		t.Fatalf("URL = %s, want http://%s", srv2.URL, free)
	}
}

func TestAuth(t *testing.T) {
	srv := newServer(t)
	for _, c := range []struct{ method, path string }{
		{"POST", "/run/falgo/echo"},
		{"POST", "/run/fal-ai/any-llm/stream"},
		{"POST", "/queue/falgo/echo"},
		{"GET", "/queue/falgo/echo/requests/abc/status"},
		{"GET", "/queue/falgo/echo/requests/abc/status/stream"},
		{"GET", "/queue/falgo/echo/requests/abc"},
		{"PUT", "/queue/falgo/echo/requests/abc/cancel"},
	} {
		for _, auth := range []string{"", "Key wrong", "Bearer " + srv.Key, "Key " + srv.Key + "x", "key " + srv.Key} {
			hdr := []string{noKey}
			if auth != "" {
				hdr = []string{"Authorization", auth}
			}
			r := call(t, srv, c.method, c.path, `{"prompt":"x"}`, hdr...)
			if r.code != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %q: %d, want 401", c.method, c.path, auth, r.code)
				continue
			}
			if d, _ := r.json(t)["detail"].(string); d == "" {
				t.Errorf("%s %s: 401 without a detail: %s", c.method, c.path, r.body)
			}
			if r.header.Get("x-fal-request-id") == "" {
				t.Errorf("%s %s: 401 without x-fal-request-id", c.method, c.path)
			}
		}
	}
	if n := srv.Executions("falgo/echo"); n != 0 {
		t.Fatalf("unauthorized requests ran the app %d times", n)
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	srv := newServer(t)
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"POST", "/run/nobody/nothing", 404},
		{"POST", "/run/falgo", 404},
		{"POST", "/run/", 404},
		{"POST", "/queue/nobody/nothing", 404},
		{"POST", "/run/nobody/nothing/stream", 404},
		{"GET", "/queue/falgo/echo/requests/00000000-0000-4000-8000-000000000000/status", 404},
		{"GET", "/queue/falgo/echo/requests/00000000-0000-4000-8000-000000000000", 404},
		{"GET", "/queue/falgo/echo/requests/00000000-0000-4000-8000-000000000000/status/stream", 404},
		{"GET", "/queue/falgo/echo/requests/x/bogus", 404},
		{"GET", "/nowhere", 404},
		{"DELETE", "/run/falgo/echo", 405},
		{"PATCH", "/run/falgo/echo", 405},
		{"GET", "/run/fal-ai/any-llm/stream", 405},
		{"GET", "/queue/falgo/echo", 405},
		{"POST", "/rest/.well-known/jwks.json", 405},
	} {
		r := call(t, srv, c.method, c.path, "")
		if r.code != c.code {
			t.Errorf("%s %s: %d, want %d (%s)", c.method, c.path, r.code, c.code, r.body)
			continue
		}
		if r.header.Get("x-fal-request-id") == "" && !strings.HasPrefix(c.path, "/rest/") {
			t.Errorf("%s %s: no x-fal-request-id", c.method, c.path)
		}
		m := r.json(t)
		if _, ok := m["detail"]; !ok {
			t.Errorf("%s %s: no detail in %s", c.method, c.path, r.body)
		}
		if c.code == 405 && r.header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.path)
		}
	}
	r := call(t, srv, "PUT", "/queue/falgo/echo/requests/00000000-0000-4000-8000-000000000000/cancel", "")
	if r.code != 404 || r.json(t)["status"] != "NOT_FOUND" {
		t.Fatalf("cancel of an unknown id: %d %s", r.code, r.body)
	}
}

func TestRegisterAndLookup(t *testing.T) {
	var gotApp, gotPath string
	h := func(_ context.Context, req *faltest.Request) (any, error) {
		gotApp, gotPath = req.App, req.Path
		return "ok", nil
	}
	srv := newServer(t, faltest.WithoutDemoApps(), faltest.WithApp("me/app", h), faltest.WithApp("workflows/me/flow", h))
	if err := srv.Register("me/app/special", h); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, app, sub string }{
		{"me/app", "me/app", ""},
		{"me/app/", "me/app", ""},
		{"me/app/a/b", "me/app", "a/b"},
		{"me/app/special", "me/app/special", ""},
		{"me/app/special/x", "me/app/special", "x"},
		{"workflows/me/flow/step", "workflows/me/flow", "step"},
	} {
		r := call(t, srv, "POST", "/run/"+c.path, `{}`)
		if r.code != 200 || gotApp != c.app || gotPath != c.sub {
			t.Errorf("%s: %d, app %q path %q; want app %q path %q", c.path, r.code, gotApp, gotPath, c.app, c.sub)
		}
	}
	if r := call(t, srv, "POST", "/run/falgo/echo", `{}`); r.code != 404 {
		t.Fatalf("demo app present despite WithoutDemoApps: %d", r.code)
	}
	if err := srv.Register("bad", h); err == nil {
		t.Fatal("Register(\"bad\") succeeded")
	}
	if got := srv.Executions("me/app/a/b"); got != 3 {
		t.Fatalf("Executions(me/app/a/b) = %d, want 3 (me/app ran for me/app, me/app/ and me/app/a/b)", got)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	g := newGate()
	srv := faltest.NewServer(faltest.WithApp("t/gate", g.handler, faltest.Concurrency(1)))
	// A running job, a queued job, a status stream and a sync run in flight.
	sub := submit(t, srv, "t/gate", `{}`)
	recv(t, g.started, "job start")
	submit(t, srv, "t/gate", `{}`)
	streamResp, err := send(srv, "GET", sub["status_url"].(string)+"/stream?logs=1", "")
	if err != nil {
		t.Fatal(err)
	}
	defer streamResp.Body.Close()
	runErr := make(chan error, 1)
	go func() {
		resp, err := send(srv, "POST", "/run/t/gate", `{}`)
		if err == nil {
			resp.Body.Close()
		}
		runErr <- err
	}()

	srv.Close()
	srv.Close() // idempotent
	if err := recv(t, g.ctxDone, "the running job's context to end"); !errors.Is(err, context.Canceled) {
		t.Fatalf("running job's ctx error = %v", err)
	}
	recv(t, runErr, "the sync run to return")
	testClient.CloseIdleConnections()
	if _, err := send(srv, "POST", "/run/t/gate", `{}`); err == nil {
		t.Fatal("a request after Close succeeded")
	}
}
