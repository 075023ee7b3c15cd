package fal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

func TestNewClientRejectsInvalidOptions(t *testing.T) {
	t.Parallel()
	cases := map[string]fal.Option{
		"empty key":           fal.WithKey(" "),
		"nil provider":        fal.WithCredentials(nil),
		"negative timeout":    fal.WithTimeout(-time.Second),
		"nil http client":     fal.WithHTTPClient(nil),
		"host scheme":         fal.WithRunHost("ftp://x"),
		"host path no scheme": fal.WithRunHost("x/y"),
		"host query":          fal.WithQueueHost("http://x/?a=1"),
		"retry attempts":      fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: -1}),
		"retry delay":         fal.WithRetryPolicy(fal.RetryPolicy{MaxRetryAfter: -time.Second}),
		"negative retries":    fal.WithMaxRetries(-1),
		"header name":         fal.WithHeader("X Bad", "v"),
		"authorization":       fal.WithHeader("Authorization", "Key x"),
	}
	for name, opt := range cases {
		_, err := fal.NewClient(opt)
		if err == nil {
			t.Errorf("%s: NewClient accepted an invalid option", name)
			continue
		}
		checkErrorText(t, name, err)
	}
	// A zero RetryPolicy takes the defaults: it is valid.
	if _, err := fal.NewClient(fal.WithRetryPolicy(fal.RetryPolicy{})); err != nil {
		t.Errorf("zero RetryPolicy: %v", err)
	}
}

// TestRequestOptionsAreNotClientOptions: the options of one call cannot be
// given to NewClient (it does not compile); the connection options can be
// given to both.
func TestRequestOptionsAreNotClientOptions(t *testing.T) {
	t.Parallel()
	option := reflect.TypeOf((*fal.Option)(nil)).Elem()
	for name, o := range map[string]fal.RequestOption{
		"WithPath": fal.WithPath("x"), "WithHint": fal.WithHint("h"), "WithStartTimeout": fal.WithStartTimeout(2 * time.Second),
		"WithPriority": fal.WithPriority(fal.PriorityLow), "WithWebhook": fal.WithWebhook("https://example.com/h"),
		"WithLogs": fal.WithLogs(true), "WithPolling": fal.WithPolling(0), "WithClientTimeout": fal.WithClientTimeout(time.Second),
		"OnEnqueue": fal.OnEnqueue(func(string) {}), "OnQueueUpdate": fal.OnQueueUpdate(func(fal.Status) {}),
		"WithStreamIdleTimeout": fal.WithStreamIdleTimeout(time.Second), "WithContentType": fal.WithContentType("text/plain"),
		"WithFileName": fal.WithFileName("a.txt"), "WithExpiration": fal.WithExpiration(time.Minute),
		"WithStorageACL": fal.WithStorageACL("hide", nil), "WithMultipartUpload": fal.WithMultipartUpload(0, 0, 0),
		"WithoutAutoUpload": fal.WithoutAutoUpload(),
	} {
		if reflect.TypeOf(o).Implements(option) {
			t.Errorf("%s is a client Option; it configures one call only", name)
		}
	}
	var _ fal.RequestOption = fal.WithKey("k") // every Option works per call
}

func TestHostsFromEnvironment(t *testing.T) {
	srv := newScripted(t, jsonReply(200, `{"ok":true}`))
	t.Setenv("FAL_KEY", testKey)
	t.Setenv("FAL_RUN_HOST", srv.URL+"/run/")
	t.Setenv("FAL_QUEUE_RUN_HOST", "")
	c, err := fal.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background(), "falgo/echo", map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if r := srv.requests(); len(r) != 1 || r[0].Path != "/run/falgo/echo" {
		t.Fatalf("requests = %+v", r)
	}
	if s := fmt.Sprint(c); !strings.Contains(s, "queue: "+srv.URL+"/run") {
		t.Errorf("the queue host of an IP run host should default to the same host: %s", s)
	}
	t.Setenv("FAL_RUN_HOST", "fal.example.com:8443")
	c2, err := fal.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(c2); !strings.Contains(s, "run: https://fal.example.com:8443,") || !strings.Contains(s, "queue: https://queue.fal.example.com:8443,") {
		t.Errorf("queue host should default to queue.<run host>: %s", s)
	}
	t.Setenv("FAL_RUN_HOST", "bad host/with space")
	_, err = fal.NewClient()
	if err == nil || !strings.Contains(err.Error(), "FAL_RUN_HOST") {
		t.Errorf("invalid FAL_RUN_HOST: err = %v, want one naming the variable", err)
	}
	checkErrorText(t, "invalid FAL_RUN_HOST", err)
}

// TestKeyNeverLeaks drives the core client's public paths with a
// recognisable key and searches every output a user could print or log.
func TestKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	secretPart := strings.SplitN(testKey, ":", 2)[1]
	// A hostile server echoes the Authorization header everywhere it can.
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			auth := r.Header.Get("Authorization")
			w.Header().Set("X-Echo", auth)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"detail":"you sent %s","error_type":"%s"}`, auth, auth)
		}
	}
	srv := newScripted(t, echo(400), echo(422), htmlReply(503), echo(200))
	var logs syncBuffer // background work (the cancel after a timeout) logs too
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := srv.client(t, fal.WithLogger(logger), fal.WithMaxRetries(0))

	var outputs []string
	add := func(v ...any) {
		for _, x := range v {
			for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
				outputs = append(outputs, fmt.Sprintf(f, x))
			}
		}
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		_, err := c.Run(ctx, "fal-ai/x", nil)
		if err == nil {
			t.Fatal("want an error")
		}
		outputs = append(outputs, err.Error())
		add(err)
		var he *fal.HTTPError
		if errors.As(err, &he) {
			add(he, *he, he.Header, string(he.Body), he.Message, he.ErrorType)
		}
	}
	// A timeout error, too.
	slow := newScripted(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	_, err := slow.client(t, fal.WithTimeout(100*time.Millisecond), fal.WithLogger(logger)).Run(ctx, "fal-ai/x", nil)
	add(err)

	creds := fal.Credentials{Scheme: "Key", Token: testKey}
	provider := fal.CredentialsProviderFunc(func(context.Context) (fal.Credentials, error) { return creds, nil })
	withProvider := srv.client(t, fal.WithCredentials(provider))
	add(c, withProvider, creds, &creds, fal.WithKey(testKey), fal.WithCredentials(provider))
	var lv bytes.Buffer
	slog.New(slog.NewJSONHandler(&lv, nil)).Info("creds", "c", creds, "client", c)
	outputs = append(outputs, logs.String(), lv.String())

	// The recorded traffic proves the key really was sent, so the checks
	// above are not vacuous.
	if got := srv.requests()[0].Header.Get("Authorization"); got != "Key "+testKey {
		t.Fatalf("server saw Authorization %q", got)
	}
	if !strings.Contains(logs.String(), "fal: http") {
		t.Fatalf("debug log is empty; the test would not prove anything: %q", logs.String())
	}
	for _, o := range outputs {
		if strings.Contains(o, testKey) || strings.Contains(o, secretPart) {
			t.Errorf("key leaked in output: %s", o)
		}
	}
}

// TestKeyHygieneEveryPublicPath sets a recognisable key through the
// environment (the default credentials chain) and drives every public path
// of the client: errors of every type, debug logs, recovered panics, and
// every fmt verb on every exported type it can produce. The key must never
// appear in any of it. (Realtime has its own test in package realtime.)
func TestKeyHygieneEveryPublicPath(t *testing.T) {
	const key = "hyg-TESTKEY-4c1d:sekrit-0a9b8c"
	srv := faltest.NewServer(faltest.WithKey(key), faltest.WithDemoDelay(0), faltest.WithApp("t/fail", func(ctx context.Context, req *faltest.Request) (any, error) {
		return nil, faltest.ValidationError("prompt", "bad")
	}), faltest.WithApp("t/block", func(ctx context.Context, req *faltest.Request) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	defer srv.Close()
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var logs syncBuffer // background work (the cancel after a timeout) logs too
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := fal.NewClient(fal.WithLogger(logger), fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var seen []any
	keep := func(vs ...any) { seen = append(seen, vs...) }

	// Success paths and the values they return.
	res, err := c.Run(ctx, "falgo/echo", map[string]any{"a": 1})
	keep(res, err)
	h, err := c.Submit(ctx, "falgo/echo", nil, fal.WithLogs(true))
	keep(h, err)
	if h != nil {
		for st, err := range h.Events(ctx, fal.WithLogs(true)) {
			keep(st, err)
		}
		r, err := h.Result(ctx)
		keep(r, err)
		st, err := c.Status(ctx, "falgo/echo", h.RequestID)
		keep(st, err)
	}
	for ev, err := range c.Stream(ctx, "falgo/echo", map[string]any{"_events": []int{1}}) {
		keep(ev, err)
	}
	u, err := c.Upload(ctx, strings.NewReader("x"), fal.WithContentType("text/plain"))
	keep(u, err)
	in := fal.FileBytes("f.txt", []byte("y"))
	_, err = c.Run(ctx, "falgo/echo", map[string]any{"f": in})
	keep(in, err, fal.File{URL: in.URL()})
	err = c.Download(ctx, fal.File{URL: u}, io.Discard)
	keep(err)

	// Error paths, one of each type.
	var (
		he *fal.HTTPError
		re *fal.RequestError
		te *fal.TimeoutError
		me *fal.MissingCredentialsError
	)
	must := func(err error, target any, what string) {
		t.Helper()
		if !errors.As(err, target) {
			t.Fatalf("%s: got %v, the path was not exercised", what, err)
		}
		keep(err)
	}
	_, err = c.Run(ctx, "t/fail", nil)
	must(err, &he, "422")
	_, err = c.Subscribe(ctx, "t/fail", nil, fal.WithLogs(true))
	must(err, &re, "failed job")
	_, err = c.Subscribe(ctx, "t/block", nil, fal.WithClientTimeout(300*time.Millisecond))
	must(err, &te, "client timeout")
	_, err = c.Run(ctx, "falgo/echo", nil, fal.WithKey("wrong-key"))
	must(err, &he, "401")
	_, err = c.Status(ctx, "falgo/echo", "no-such-id")
	must(err, &he, "404 status by id")
	t.Setenv("FAL_KEY", "")
	t.Setenv("FAL_HOME_DIR", t.TempDir())
	bare, _ := fal.NewClient()
	_, err = bare.Run(ctx, "falgo/echo", nil)
	must(err, &me, "missing credentials")
	keep(me.Advice())
	func() { // a recovered panic
		defer func() {
			p := recover()
			if p == nil {
				t.Fatal("no panic")
			}
			keep(p)
		}()
		_ = srv.Client(fal.WithKey(key), fal.WithRunHost("not a host/"))
	}()

	// Exported values built by hand, too.
	creds := fal.Credentials{Scheme: "Key", Token: key}
	keep(c, creds, &creds, fal.WithKey(key), fal.DefaultCredentialsChain(), fal.InspectCredentials(ctx))

	var outs []string
	for _, v := range seen {
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			outs = append(outs, fmt.Sprintf(f, v))
		}
		if e, ok := v.(error); ok && e != nil {
			outs = append(outs, e.Error())
		}
	}
	outs = append(outs, logs.String())
	secret := strings.SplitN(key, ":", 2)[1]
	for _, o := range outs {
		if strings.Contains(o, key) || strings.Contains(o, secret) {
			t.Errorf("secret leaked: %.400s", o)
		}
	}
	if !strings.Contains(logs.String(), "fal: http") || len(seen) < 30 {
		t.Fatalf("the test did not exercise the paths it claims (%d values, log %d bytes)", len(seen), logs.Len())
	}
}

// TestAuthorizationStaysOnFalHosts points every URL a server can hand the
// client (signed upload URLs, multipart access URLs, CDN base URLs, queue
// URLs, output files and their redirects) at a second server and proves the
// key, and the CDN token, never reach it.
func TestAuthorizationStaysOnFalHosts(t *testing.T) {
	t.Parallel()
	outside := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved.png" {
			http.Redirect(w, r, "/landing.png", http.StatusFound)
			return
		}
		w.Header().Set("ETag", `"e"`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"COMPLETED","logs":null,"access_url":"x"}`)
	})
	api := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/storage/auth/token"):
			// A CDN base URL elsewhere must not receive the CDN token either.
			fmt.Fprintf(w, `{"token":"cdntok","token_type":"Bearer","base_url":%q,"expires_at":"2099-01-01T00:00:00+00:00"}`, outside.URL)
		case strings.HasSuffix(r.URL.Path, "/files/upload"):
			w.WriteHeader(500) // forces the REST fallback
			_, _ = io.WriteString(w, `{"detail":"cdn down"}`)
		case strings.HasSuffix(r.URL.Path, "/files/upload/multipart"):
			fmt.Fprintf(w, `{"access_url":%q,"uploadId":"u1"}`, outside.URL+"/mp")
		case strings.HasSuffix(r.URL.Path, "/storage/upload/initiate"):
			fmt.Fprintf(w, `{"upload_url":%q,"file_url":%q}`, outside.URL+"/signed?sig=1", outside.URL+"/file")
		case strings.HasPrefix(r.URL.Path, "/queue/") && r.Method == http.MethodPost:
			u := outside.URL + "/queue/x/y/requests/r1"
			fmt.Fprintf(w, `{"request_id":"r1","status_url":%q,"response_url":%q,"cancel_url":%q}`, u+"/status", u, u+"/cancel")
		case strings.HasSuffix(r.URL.Path, "/status"):
			_, _ = io.WriteString(w, `{"status":"COMPLETED","logs":null}`)
		default:
			_, _ = io.WriteString(w, `{"images":[{"url":"`+outside.URL+`/img.png","content_type":"image/png"},{"url":"`+outside.URL+`/moved.png","content_type":"image/png"}]}`)
		}
	})
	c := api.client(t, fast)
	ctx := bg(t)

	// Signed-URL fallback: the PUT goes to the outside server without credentials.
	if _, err := c.Upload(ctx, strings.NewReader("data"), fal.WithContentType("text/plain")); err != nil {
		t.Fatalf("upload: %v", err)
	}
	// Multipart whose access URL is elsewhere: refused before any part is sent.
	if _, err := c.Upload(ctx, bytes.NewReader(make([]byte, 7<<20)), mp); err == nil || !strings.Contains(err.Error(), "refusing to send the CDN token") {
		t.Fatalf("multipart to a foreign access URL: %v", err)
	}
	// Queue URLs elsewhere are ignored.
	h, err := c.Submit(ctx, "x/y", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Status(ctx); err != nil {
		t.Fatal(err)
	}
	// Output files are downloaded without credentials, redirects included.
	res, err := c.Run(ctx, "x/y", nil)
	if err != nil {
		t.Fatal(err)
	}
	files := fal.FindFiles(res.Data)
	if len(files) != 2 {
		t.Fatalf("files %+v", files)
	}
	for _, f := range files {
		if err := c.Download(ctx, f, io.Discard); err != nil {
			t.Fatal(err)
		}
	}

	paths := map[string]bool{}
	for _, r := range outside.requests() {
		paths[r.Path] = true
		if a := r.Header.Get("Authorization"); a != "" {
			t.Errorf("%s %s reached the outside host with Authorization %q", r.Method, r.Path, a)
		}
	}
	for _, p := range []string{"/signed", "/img.png", "/moved.png", "/landing.png"} {
		if !paths[p] {
			t.Errorf("the outside server never saw %s: the test did not exercise it (saw %v)", p, paths)
		}
	}
	if paths["/queue/x/y/requests/r1/status"] || paths["/mp/multipart/u1/1"] || paths["/files/upload"] {
		t.Errorf("the client followed a foreign queue, multipart or CDN URL: %v", paths)
	}
	if a := api.requests()[0].Header.Get("Authorization"); a != "Key "+testKey {
		t.Errorf("the fal host itself got Authorization %q; the test proves nothing", a)
	}
}

// TestRedirects checks the redirect policy: a request with a body is never
// redirected; a request to the client's hosts is redirected only within
// them, credentials included; any other request (a download) may go
// anywhere, but never from https to http, and without the Referer.
func TestRedirects(t *testing.T) {
	t.Parallel()
	ctx := bg(t)
	t.Run("POST is not redirected", func(t *testing.T) {
		t.Parallel()
		target := newScripted(t, jsonReply(200, `{"moved":true}`))
		srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
		})
		_, err := srv.client(t).Run(ctx, "fal-ai/x", map[string]int{"a": 1})
		if err == nil || !strings.Contains(err.Error(), "refusing to follow a redirect of a POST request") {
			t.Fatalf("err = %v, want the redirect refused", err)
		}
		checkErrorText(t, "refused redirect", err)
		if n := len(target.requests()); n != 0 {
			t.Fatalf("the redirect target got %d requests", n)
		}
		if n := len(srv.requests()); n != 1 {
			t.Fatalf("%d requests to the fal host; a refused redirect is not retried", n)
		}
	})
	t.Run("within the client's hosts, with credentials", func(t *testing.T) {
		t.Parallel()
		srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/queue/fal-ai/x/requests/r1/status2", http.StatusFound)
		}, jsonReply(200, `{"status":"COMPLETED","logs":null}`))
		if _, err := srv.client(t).Status(ctx, "fal-ai/x", "r1"); err != nil {
			t.Fatal(err)
		}
		r := srv.requests()
		if len(r) != 2 || r[1].Path != "/queue/fal-ai/x/requests/r1/status2" || r[1].Header.Get("Authorization") != "Key "+testKey {
			t.Fatalf("requests %+v", r)
		}
	})
	t.Run("from the client's hosts to another host", func(t *testing.T) {
		t.Parallel()
		target := newScripted(t, jsonReply(200, `{"status":"COMPLETED","logs":null}`))
		srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/status", http.StatusFound)
		})
		_, err := srv.client(t, fast).Status(ctx, "fal-ai/x", "r1")
		if err == nil || !strings.Contains(err.Error(), "not one of the client's hosts") {
			t.Errorf("err = %v, want the redirect refused", err)
		} else {
			checkErrorText(t, "refused redirect", err)
		}
		for _, r := range target.requests() {
			t.Errorf("the redirect target got %s %s with Authorization %q", r.Method, r.Path, r.Header.Get("Authorization"))
		}
	})
	t.Run("downloads go anywhere, without the Referer", func(t *testing.T) {
		t.Parallel()
		target := newScripted(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "bytes") })
		origin := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/file.bin?sig=1", http.StatusFound)
		})
		c := newScripted(t, jsonReply(200, `{}`)).client(t)
		var out bytes.Buffer
		if err := c.Download(ctx, fal.File{URL: origin.URL + "/file.bin?fal_webhook=secret"}, &out); err != nil || out.String() != "bytes" {
			t.Fatalf("download: %v %q", err, out.String())
		}
		r := target.requests()
		if len(r) != 1 || r[0].Header.Get("Referer") != "" || r[0].Header.Get("Authorization") != "" {
			t.Fatalf("the redirect target saw %+v", r)
		}
	})
	t.Run("a refused redirect is not retried", func(t *testing.T) {
		t.Parallel()
		target := newScripted(t, jsonReply(200, `{"status":"COMPLETED","logs":null}`))
		srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/status", http.StatusFound)
		})
		_, err := srv.client(t, fast).Status(ctx, "fal-ai/x", "r1")
		if err == nil {
			t.Fatal("the redirect was followed")
		}
		if n := len(srv.requests()); n != 1 {
			t.Fatalf("%d requests to the fal host: the refusal was retried", n)
		}
	})
	t.Run("never from https to http", func(t *testing.T) {
		t.Parallel()
		plain := newScripted(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "bytes") })
		tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plain.URL+"/file.bin", http.StatusFound)
		}))
		t.Cleanup(tls.Close)
		c := newScripted(t, jsonReply(200, `{}`)).client(t, fal.WithHTTPClient(tls.Client()), fast)
		err := c.Download(ctx, fal.File{URL: tls.URL + "/file.bin"}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "refusing a redirect from https to http") {
			t.Fatalf("err = %v, want the downgrade refused", err)
		}
		if n := len(plain.requests()); n != 0 {
			t.Fatalf("the http target got %d requests", n)
		}
	})
}
