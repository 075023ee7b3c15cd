package fal_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

func TestUploadFallsBackToSignedURL(t *testing.T) {
	t.Parallel()
	srv, c, _ := newLocal(t, []faltest.Option{faltest.WithFaults(1, faltest.FaultRule{Route: "upload", Kind: faltest.AppError500})})
	u, err := c.Upload(bg(t), strings.NewReader("fallback bytes"), fal.WithContentType("text/plain"), fal.WithExpiration(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	f, ok := srv.File(u)
	if !ok || f.Via != "signed" || string(f.Data) != "fallback bytes" {
		t.Fatalf("stored %+v", f)
	}
	if string(f.LifecyclePreference) != `{"expiration_duration_seconds":60}` {
		t.Fatalf("lifecycle preference %s", f.LifecyclePreference)
	}
	if n := srv.SignedURLAuthHeaders(); n != 0 {
		t.Fatalf("%d signed-URL requests carried an Authorization header", n)
	}
}

func TestUploadCDNTokenCachedAndRenewed(t *testing.T) {
	t.Parallel()
	srv, c, _ := newLocal(t, nil)
	for i := 0; i < 3; i++ {
		if _, err := c.Upload(bg(t), strings.NewReader("x"), fal.WithContentType("text/plain")); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Stats().Requests["cdn_token"]; n != 1 {
		t.Fatalf("%d CDN token requests for 3 uploads, want 1 (cached)", n)
	}
	srv.ExpireCDNTokens() // the server forgets them: a stale token gets 401
	u, err := c.Upload(bg(t), strings.NewReader("y"), fal.WithContentType("text/plain"))
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := srv.File(u); f.Via != "cdn" || srv.Stats().Requests["cdn_token"] != 2 {
		t.Fatalf("after the token was revoked: via %q with %d token requests; want a renewed token on the CDN", f.Via, srv.Stats().Requests["cdn_token"])
	}
}

// TestSignedUploadURLOverPlainHTTPRefused: a signed upload URL over plain
// http to a host that is neither loopback nor one of the client's is
// refused before any byte is sent; over https it is used, without
// credentials.
func TestSignedUploadURLOverPlainHTTPRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scheme string
		refuse bool
	}{{"http", true}, {"https", false}} {
		t.Run(tc.scheme, func(t *testing.T) {
			t.Parallel()
			uploadURL := tc.scheme + "://storage.example.com/bucket/obj?sig=1"
			api := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch {
				case strings.HasSuffix(r.URL.Path, "/storage/auth/token"):
					_, _ = io.WriteString(w, `{"token":"cdntok","token_type":"Bearer","expires_at":"2099-01-01T00:00:00+00:00"}`)
				case strings.HasSuffix(r.URL.Path, "/files/upload"):
					w.WriteHeader(500) // forces the REST fallback
					_, _ = io.WriteString(w, `{"detail":"cdn down"}`)
				case strings.HasSuffix(r.URL.Path, "/storage/upload/initiate"):
					fmt.Fprintf(w, `{"upload_url":%q,"file_url":"https://storage.example.com/bucket/obj"}`, uploadURL)
				default:
					w.WriteHeader(404)
				}
			})
			rt := &recordingTransport{fake: map[string]http.HandlerFunc{
				"storage.example.com": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) },
			}}
			c := api.client(t, fal.WithHTTPClient(&http.Client{Transport: rt}))
			u, err := c.Upload(bg(t), strings.NewReader("secret data"), fal.WithContentType("text/plain"))
			var toStorage []seen
			for _, r := range rt.requests() {
				if strings.Contains(r.URL, "storage.example.com") {
					toStorage = append(toStorage, r)
				}
			}
			if tc.refuse {
				if err == nil || !strings.Contains(err.Error(), "refusing to send data over plain http to storage.example.com") {
					t.Fatalf("err = %v, want the plain http upload URL refused", err)
				}
				checkErrorText(t, "plain http upload URL", err)
				if len(toStorage) != 0 {
					t.Fatalf("requests were sent to the plain http host: %v", toStorage)
				}
				return
			}
			if err != nil || u != "https://storage.example.com/bucket/obj" {
				t.Fatalf("upload: %q, %v", u, err)
			}
			if len(toStorage) != 1 || toStorage[0].Method != "PUT" || toStorage[0].Authorization != "" {
				t.Fatalf("requests to the storage host: %+v; want one PUT without credentials", toStorage)
			}
		})
	}
}
