package falproxy_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/falproxy"
)

func TestMissingTargetHeader(t *testing.T) {
	up := newUpstream(t, nil)
	srv := proxy(t, up, nil)

	resp, body := send(t, srv.URL, "POST", "", strings.NewReader("{}"), nil)
	e := decodeError(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(e.Message, "missing x-fal-target-url") || !strings.Contains(e.Message, "proxyUrl") {
		t.Errorf("message %q should name the missing header and how it is set", e.Message)
	}

	req, _ := http.NewRequest("POST", srv.URL, nil)
	req.Header.Add("x-fal-target-url", "https://fal.run/a/b")
	req.Header.Add("x-fal-target-url", "https://evilfal.run/a/b")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body2, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if e := decodeError(t, resp2, body2, http.StatusBadRequest); !strings.Contains(e.Message, "more than one") {
		t.Errorf("two target headers: message %q", e.Message)
	}
	if n := len(up.requests()); n != 0 {
		t.Fatalf("upstream got %d requests", n)
	}
}

func TestMethodNotForwarded(t *testing.T) {
	up := newUpstream(t, nil)
	srv := proxy(t, up, nil)
	for _, m := range []string{"OPTIONS", "TRACE", "PROPFIND"} {
		resp, body := send(t, srv.URL, m, "https://fal.run/fal-ai/flux/dev", nil, nil)
		decodeError(t, resp, body, http.StatusMethodNotAllowed)
		if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "POST") {
			t.Errorf("%s: Allow %q", m, allow)
		}
	}
	if n := len(up.requests()); n != 0 {
		t.Fatalf("upstream got %d requests", n)
	}
}

func TestAuthorizeHook(t *testing.T) {
	up := newUpstream(t, nil)
	logs := &logBuffer{}
	var seenTarget string
	hook := func(r *http.Request) error {
		if u, ok := falproxy.Target(r); ok {
			seenTarget = u.String()
		}
		switch r.Header.Get("Authorization") {
		case "Bearer good-session":
			return nil
		case "Bearer free-plan":
			return &falproxy.AuthError{Status: http.StatusForbidden, Message: "your plan does not include this app"}
		default:
			return errors.New("session store says: no such session sess-INTERNAL-42")
		}
	}
	srv := proxyWithAuth(t, up, logs, hook)
	const target = "https://fal.run/fal-ai/flux/dev?x=1"

	// No session: generic 401, the hook's internal error only in the log.
	resp, body := send(t, srv.URL, "POST", target, strings.NewReader("{}"), nil)
	e := decodeError(t, resp, body, http.StatusUnauthorized)
	if strings.Contains(string(body), "sess-INTERNAL-42") {
		t.Errorf("the hook's error reached the caller: %s", body)
	}
	if !strings.Contains(logs.String(), "sess-INTERNAL-42") {
		t.Errorf("the hook's error is not logged: %s", logs)
	}
	if e.ErrorType != "falproxy_unauthorized" {
		t.Errorf("error_type %q", e.ErrorType)
	}
	if seenTarget != target {
		t.Errorf("Target in the hook: %q, want %q", seenTarget, target)
	}

	// An AuthError chooses status and message.
	resp, body = send(t, srv.URL, "POST", target, strings.NewReader("{}"), http.Header{"Authorization": {"Bearer free-plan"}})
	if e := decodeError(t, resp, body, http.StatusForbidden); e.Message != "your plan does not include this app" {
		t.Errorf("message %q", e.Message)
	}
	if n := len(up.requests()); n != 0 {
		t.Fatalf("refused callers reached the upstream %d times", n)
	}

	// Allowed: forwarded, with the proxy's key, not the caller's session.
	resp, body = send(t, srv.URL, "POST", target, strings.NewReader("{}"), http.Header{"Authorization": {"Bearer good-session"}})
	if resp.StatusCode != 200 {
		t.Fatalf("allowed caller: %d %s", resp.StatusCode, body)
	}
	reqs := up.requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests, want 1", len(reqs))
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Key "+testKey {
		t.Errorf("upstream Authorization %q, want the proxy's key", got)
	}

	// The target is checked before the hook runs.
	seenTarget = ""
	resp, _ = send(t, srv.URL, "POST", "https://evilfal.run/x/y", nil, http.Header{"Authorization": {"Bearer good-session"}})
	if resp.StatusCode != http.StatusForbidden || seenTarget != "" {
		t.Errorf("disallowed target: status %d, hook saw %q", resp.StatusCode, seenTarget)
	}

	// Target outside a proxied request.
	if _, ok := falproxy.Target(httptest.NewRequest("GET", "/", nil)); ok {
		t.Error("Target reported a target for a request the Handler never saw")
	}
}

func TestMissingCredentials(t *testing.T) {
	t.Run("default chain with nothing set", func(t *testing.T) {
		clearFalEnv(t)
		up := newUpstream(t, nil)
		logs := &logBuffer{}
		h, err := falproxy.New(append(up.mapTo(), falproxy.AllowUnauthenticated(), falproxy.WithLogger(logs.logger()))...)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		resp, body := send(t, srv.URL, "POST", "https://fal.run/fal-ai/flux/dev", strings.NewReader("{}"), nil)
		e := decodeError(t, resp, body, http.StatusInternalServerError)
		if !strings.Contains(e.Message, "FAL_KEY") || strings.Contains(string(body), "undefined") {
			t.Errorf("message %q", e.Message)
		}
		if n := len(up.requests()); n != 0 {
			t.Fatalf("the upstream was called %d times without credentials", n)
		}
		if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "no fal credentials") || !strings.Contains(l, "FAL_KEY_ID") {
			t.Errorf("want an error log line listing the sources tried, got: %s", l)
		}
	})

	t.Run("default chain reads FAL_KEY_ID and FAL_KEY_SECRET", func(t *testing.T) {
		clearFalEnv(t)
		t.Setenv("FAL_KEY_ID", "id-123")
		t.Setenv("FAL_KEY_SECRET", "sec-456")
		up := newUpstream(t, nil)
		h, err := falproxy.New(append(up.mapTo(), falproxy.AllowUnauthenticated())...)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		resp, body := send(t, srv.URL, "POST", "https://fal.run/fal-ai/flux/dev", strings.NewReader("{}"), nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if got := up.requests()[0].Header.Get("Authorization"); got != "Key id-123:sec-456" {
			t.Errorf("upstream Authorization %q, want Key id-123:sec-456", got)
		}
	})

	providers := []struct {
		name   string
		p      fal.CredentialsProvider
		status int
	}{
		{"provider reports missing", fal.CredentialsProviderFunc(func(context.Context) (fal.Credentials, error) {
			return fal.Credentials{}, &fal.MissingCredentialsError{}
		}), 500},
		{"provider returns empty", fal.CredentialsProviderFunc(func(context.Context) (fal.Credentials, error) {
			return fal.Credentials{}, nil
		}), 500},
		{"provider returns a header-breaking key", fal.CredentialsProviderFunc(func(context.Context) (fal.Credentials, error) {
			return fal.Credentials{Scheme: "Key", Token: "abc\r\nX-Evil: 1"}, nil
		}), 500},
		{"provider fails", fal.CredentialsProviderFunc(func(context.Context) (fal.Credentials, error) {
			return fal.Credentials{}, errors.New("vault unreachable")
		}), 503},
	}
	for _, tc := range providers {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, nil)
			logs := &logBuffer{}
			srv := proxy(t, up, logs, falproxy.WithCredentials(tc.p))
			resp, body := send(t, srv.URL, "POST", "https://fal.run/fal-ai/flux/dev", strings.NewReader("{}"), nil)
			decodeError(t, resp, body, tc.status)
			if n := len(up.requests()); n != 0 {
				t.Fatalf("the upstream was called %d times", n)
			}
			if !strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("no error logged: %s", logs)
			}
			if strings.Contains(string(body), "X-Evil") || strings.Contains(logs.String(), "X-Evil") {
				t.Errorf("the malformed key leaked: %s / %s", body, logs)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Fal-Request-Id", "req-1")
		h.Set("X-Fal-Request-Timeout-Type", "user")
		h.Set("Cache-Control", "no-cache")
		h.Set("Set-Cookie", "fal_session=abc; Domain=fal.run")
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		h.Set("Alt-Svc", `h3=":443"`)
		h.Set("Connection", "X-Hop")
		h.Set("X-Hop", "only for this connection")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	srv := proxy(t, up, nil)

	in := http.Header{
		"Authorization":                     {"Bearer my-app-session"},
		"Cookie":                            {"app_session=xyz"},
		"X-Fal-Queue-Priority":              {"low"},
		"X-Fal-Runner-Hint":                 {"hint-1"},
		"X-Fal-Object-Lifecycle-Preference": {`{"expiration_duration_seconds":60}`},
		"X-Fal-Client-Proxy":                {"spoofed"},
		"Content-Type":                      {"application/json"},
		"Accept":                            {"application/json, text/event-stream"},
		"User-Agent":                        {"@fal-ai/client/1.10.1"},
		"X-Forwarded-For":                   {"10.0.0.1"},
		"X-Custom":                          {"app-internal"},
		"Connection":                        {"X-Fal-Hop"},
		"X-Fal-Hop":                         {"hop-by-hop by Connection"},
	}
	resp, body := send(t, srv.URL, "POST", "https://queue.fal.run/fal-ai/flux/dev", strings.NewReader(`{"prompt":"x"}`), in)
	if resp.StatusCode != 200 || string(body) != `{"ok":true}` {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	got := up.requests()[0].Header
	want := map[string]string{
		"Authorization":                     "Key " + testKey,
		"X-Fal-Queue-Priority":              "low",
		"X-Fal-Runner-Hint":                 "hint-1",
		"X-Fal-Object-Lifecycle-Preference": `{"expiration_duration_seconds":60}`,
		"X-Fal-Client-Proxy":                "falgo/" + fal.Version,
		"Content-Type":                      "application/json",
		"Accept":                            "application/json, text/event-stream",
		"User-Agent":                        "@fal-ai/client/1.10.1",
	}
	for k, v := range want {
		if g := got.Get(k); g != v {
			t.Errorf("upstream %s = %q, want %q", k, g, v)
		}
	}
	for _, k := range []string{"Cookie", "X-Forwarded-For", "X-Custom", "X-Fal-Target-Url", "X-Fal-Hop"} {
		if v := got.Values(k); len(v) != 0 {
			t.Errorf("upstream got %s: %q, want it stripped", k, v)
		}
	}
	if strings.Contains(strings.Join(got.Values("Authorization"), ","), "my-app-session") {
		t.Errorf("the caller's Authorization reached fal")
	}

	for k, v := range map[string]string{"X-Fal-Request-Id": "req-1", "X-Fal-Request-Timeout-Type": "user", "Cache-Control": "no-cache", "Content-Type": "application/json"} {
		if g := resp.Header.Get(k); g != v {
			t.Errorf("response %s = %q, want %q", k, g, v)
		}
	}
	for _, k := range []string{"Set-Cookie", "Access-Control-Allow-Origin", "Strict-Transport-Security", "Alt-Svc", "X-Hop"} {
		if v := resp.Header.Values(k); len(v) != 0 {
			t.Errorf("response has %s: %q, want it stripped", k, v)
		}
	}

	// Without a User-Agent the proxy names itself (not Go's default).
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("x-fal-target-url", "https://fal.run/a/b")
	req.Header.Set("User-Agent", "")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	reqs := up.requests()
	if ua := reqs[len(reqs)-1].Header.Get("User-Agent"); !strings.HasPrefix(ua, "falgo/") {
		t.Errorf("User-Agent without a caller UA: %q", ua)
	}
}

func TestNoKeyLeak(t *testing.T) {
	// Drive every error path with a recognisable key; neither the answers
	// nor the logs may contain any part of it.
	closed := httptest.NewServer(http.NotFoundHandler())
	deadURL := closed.URL
	closed.Close()

	redirecting := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example/steal?k=1", http.StatusTemporaryRedirect)
	})
	failing := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"detail":"bad key"}`)
	})
	logs := &logBuffer{}
	var answers []string
	check := func(srvURL, method, target string, header http.Header) {
		resp, body := send(t, srvURL, method, target, strings.NewReader("{}"), header)
		answers = append(answers, resp.Status+" "+string(body)+" "+headerString(resp.Header))
	}

	a := proxyWithAuth(t, redirecting, logs, func(r *http.Request) error {
		if r.Header.Get("Authorization") == "" {
			return errors.New("no session")
		}
		return nil
	})
	session := http.Header{"Authorization": {"Bearer s"}}
	check(a.URL, "POST", "", nil)
	check(a.URL, "POST", "https://evilfal.run/x", session)
	check(a.URL, "POST", "http://fal.run/x", session)
	check(a.URL, "POST", "https://fal.run/x", nil)
	check(a.URL, "POST", "https://fal.run/x", session) // redirect
	check(a.URL, "TRACE", "https://fal.run/x", session)

	b := proxy(t, failing, logs)
	check(b.URL, "POST", "https://fal.run/x", nil) // fal's own 401 passes through

	c := proxy(t, nil, logs, falproxy.WithUpstream("fal.run", deadURL))
	check(c.URL, "POST", "https://fal.run/x?fal_webhook=https://hook.example/secret-path", nil)

	all := strings.Join(answers, "\n") + "\n" + logs.String()
	for _, part := range strings.Split(testKey, ":") {
		if strings.Contains(all, part) {
			t.Fatalf("the key (%q) appears in an answer or log:\n%s", part, all)
		}
	}
	if strings.Contains(all, "secret-path") {
		t.Errorf("a target query reached the logs or answers:\n%s", all)
	}
	if !strings.Contains(logs.String(), "upstream request failed") {
		t.Errorf("the unreachable upstream was not logged:\n%s", logs)
	}
}

func headerString(h http.Header) string {
	var b strings.Builder
	_ = h.Write(&b)
	return b.String()
}

func TestUpstreamFailures(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		closed := httptest.NewServer(http.NotFoundHandler())
		deadURL := closed.URL
		closed.Close()
		srv := proxy(t, nil, nil, falproxy.WithUpstream("fal.run", deadURL))
		resp, body := send(t, srv.URL, "POST", "https://fal.run/a/b", strings.NewReader("{}"), nil)
		if e := decodeError(t, resp, body, http.StatusBadGateway); !strings.Contains(e.Message, "fal.run") || strings.Contains(e.Message, "127.0.0.1") {
			t.Errorf("message %q should name the fal host, not the upstream address", e.Message)
		}
	})

	t.Run("redirects are not followed", func(t *testing.T) {
		other := newUpstream(t, nil)
		up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/collect", http.StatusFound)
		})
		srv := proxy(t, up, nil)
		resp, body := send(t, srv.URL, "POST", "https://fal.run/a/b", strings.NewReader("{}"), nil)
		decodeError(t, resp, body, http.StatusBadGateway)
		if resp.Header.Get("Location") != "" {
			t.Errorf("the redirect's Location was passed on")
		}
		if n := len(other.requests()); n != 0 {
			t.Fatalf("the redirect target got %d requests", n)
		}
	})

	t.Run("304 is not a redirect", func(t *testing.T) {
		up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotModified) })
		srv := proxy(t, up, nil)
		resp, _ := send(t, srv.URL, "GET", "https://fal.run/a/b", nil, nil)
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("status %d, want 304", resp.StatusCode)
		}
	})

	t.Run("fal errors pass through", func(t *testing.T) {
		up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Fal-Request-Id", "rid-9")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"detail":[{"loc":["body","prompt"],"msg":"field required","type":"missing"}]}`)
		})
		srv := proxy(t, up, nil)
		resp, body := send(t, srv.URL, "POST", "https://fal.run/a/b", strings.NewReader("{}"), nil)
		if resp.StatusCode != 422 || !strings.Contains(string(body), "field required") || resp.Header.Get("X-Fal-Request-Id") != "rid-9" {
			t.Errorf("got %d %s %v", resp.StatusCode, body, resp.Header)
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		up := newUpstream(t, nil)
		srv := proxy(t, up, nil)
		resp, body := send(t, srv.URL, "HEAD", "https://fal.run/a/b", nil, nil)
		if resp.StatusCode != 200 || len(body) != 0 {
			t.Errorf("HEAD: %d %q", resp.StatusCode, body)
		}
		if reqs := up.requests(); len(reqs) != 1 || reqs[0].Method != "HEAD" {
			t.Errorf("upstream got %+v", reqs)
		}
	})
}
