package fal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
)

// TestKeyNeverLeaks drives the core client's public paths with a
// recognisable key and searches every output a user could print or log.
func TestKeyNeverLeaks(t *testing.T) {
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
	var logs bytes.Buffer
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
	add(c, creds, &creds, fal.StaticCredentials(creds), fal.WithKey(testKey), fal.WithCredentials(fal.StaticCredentials(creds)))
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

func TestCredentialsFormatting(t *testing.T) {
	c := fal.Credentials{Scheme: "Bearer", Token: "tok-ABCDEFGHIJ"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v %#v %s %q %x", c, c, c, c, c), c.String()} {
		if strings.Contains(s, "ABCDEFGHIJ") {
			t.Errorf("token printed: %s", s)
		}
	}
	if c.HeaderValue() != "Bearer tok-ABCDEFGHIJ" {
		t.Errorf("HeaderValue = %q", c.HeaderValue())
	}
	_ = io.Discard
}

func TestRedirectDropsCredentialsOffHost(t *testing.T) {
	other := newScripted(t, jsonReply(200, `{"moved":true}`))
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusTemporaryRedirect)
	})
	res, err := srv.client(t).Run(context.Background(), "fal-ai/x", map[string]int{"a": 1})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Data) != `{"moved":true}` {
		t.Fatalf("data %s", res.Data)
	}
	got := other.requests()
	if len(got) != 1 || got[0].Header.Get("Authorization") != "" {
		t.Fatalf("the redirect target (another host) received Authorization %q", got[0].Header.Get("Authorization"))
	}
	if string(got[0].Body) != `{"a":1}` {
		t.Fatalf("307 must replay the body, got %q", got[0].Body)
	}
	if srv.requests()[0].Header.Get("Authorization") == "" {
		t.Fatal("the fal host itself did not get the key; the test proves nothing")
	}
}

func TestPlainHTTPRefusedForRemoteHosts(t *testing.T) {
	for _, opt := range []fal.Option{
		fal.WithRunHost("http://fal.example.com/run"),
		fal.WithQueueHost("http://10.1.2.3:8080"),
		fal.WithRestHost("http://rest.example.com"),
		fal.WithCDNHost("http://cdn.example.com"),
	} {
		if _, err := fal.NewClient(fal.WithKey("k"), opt); err == nil || !strings.Contains(err.Error(), "unencrypted") {
			t.Errorf("plain http to a remote host: err = %v", err)
		}
	}
	if _, err := fal.NewClient(fal.WithKey("k"), fal.WithRunHost("http://fal.example.com/run"), fal.WithQueueHost("https://q.example.com"), fal.WithInsecureHTTP()); err != nil {
		t.Errorf("WithInsecureHTTP: %v", err)
	}
	for _, h := range []string{"http://127.0.0.1:9/run", "http://localhost:9", "http://[::1]:9"} {
		if _, err := fal.NewClient(fal.WithKey("k"), fal.WithRunHost(h), fal.WithQueueHost(h)); err != nil {
			t.Errorf("loopback %s refused: %v", h, err)
		}
	}
	t.Setenv("FAL_RUN_HOST", "http://fal.example.com")
	if _, err := fal.NewClient(); err == nil {
		t.Error("plain http from FAL_RUN_HOST accepted")
	}
}

// TestAuthorizationStaysOnFalHosts points every URL a server can hand the
// client (signed upload URLs, multipart access URLs, queue URLs, output
// files, redirects) at a second server and proves the key never reaches it.
func TestAuthorizationStaysOnFalHosts(t *testing.T) {
	outside := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
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
		case strings.HasPrefix(r.URL.Path, "/run/redirect"):
			http.Redirect(w, r, outside.URL+"/landing", http.StatusFound)
		default:
			_, _ = io.WriteString(w, `{"images":[{"url":"`+outside.URL+`/img.png","content_type":"image/png"}]}`)
		}
	})
	c := api.client(t, fal.WithPolling(), fast)
	ctx := context.Background()

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
	// Output files are downloaded without credentials; redirects drop them.
	res, err := c.Run(ctx, "x/y", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fal.FindFiles(res.Data) {
		if err := f.Download(ctx, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Run(ctx, "redirect/me", nil); err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	for _, r := range outside.requests() {
		seen[r.Path] = true
		if a := r.Header.Get("Authorization"); a != "" {
			t.Errorf("%s %s reached the outside host with Authorization %q", r.Method, r.Path, a)
		}
	}
	for _, p := range []string{"/signed", "/img.png", "/landing"} {
		if !seen[p] {
			t.Errorf("the outside server never saw %s: the test did not exercise it (saw %v)", p, seen)
		}
	}
	if seen["/queue/x/y/requests/r1/status"] || seen["/mp/multipart/u1/1"] {
		t.Errorf("the client followed a foreign queue or multipart URL: %v", seen)
	}
}
