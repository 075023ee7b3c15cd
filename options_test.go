package fal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/falgo/fal"
)

// TestPerCallOptionsOverrideTheClient: a connection Option given to one
// call wins over the client's for that call only, so a per-call key and run
// host reach another environment without touching the client.
func TestPerCallOptionsOverrideTheClient(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, jsonReply(200, `{}`))
	other := newScripted(t, jsonReply(200, `{}`))
	c := srv.client(t, fal.WithHeader("X-Env", "client"), fal.WithHeader("User-Agent", "app/1"))
	ctx := context.Background()

	if _, err := c.Run(ctx, "fal-ai/flux", nil, fal.WithPath("/dev"), fal.WithHint("call-hint")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(ctx, "fal-ai/flux", nil, fal.WithHeader("X-Env", "call"),
		fal.WithKey("other-key"), fal.WithRunHost(other.URL+"/run")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(ctx, "fal-ai/flux", nil); err != nil {
		t.Fatal(err)
	}
	r := srv.requests()
	if len(r) != 2 {
		t.Fatalf("client server got %d requests, want 2", len(r))
	}
	if r[0].Path != "/run/fal-ai/flux/dev" || string(r[0].Body) != "{}" || r[0].Header.Get("X-Fal-Runner-Hint") != "call-hint" {
		t.Errorf("WithPath and WithHint: got %s body %s, hint %q", r[0].Path, r[0].Body, r[0].Header.Get("X-Fal-Runner-Hint"))
	}
	if r[1].Header.Get("X-Fal-Runner-Hint") != "" {
		t.Errorf("a per-call hint stuck to the client: %v", r[1].Header)
	}
	for _, rq := range r {
		if rq.Header.Get("X-Env") != "client" || rq.Header.Get("User-Agent") != "app/1" {
			t.Errorf("client defaults not sent: %v", rq.Header)
		}
		if rq.Header.Get("Authorization") != "Key "+testKey {
			t.Errorf("client key not sent")
		}
	}
	o := other.requests()
	if len(o) != 1 {
		t.Fatalf("other server got %d requests, want 1", len(o))
	}
	if o[0].Header.Get("X-Env") != "call" || o[0].Header.Get("Authorization") != "Key other-key" || o[0].Header.Get("User-Agent") != "app/1" {
		t.Errorf("per-call options not applied on top of the client's: %v", o[0].Header)
	}
}

func TestPlainHTTPRefusedForRemoteHosts(t *testing.T) {
	t.Parallel()
	for _, opt := range []fal.Option{
		fal.WithRunHost("http://fal.example.com/run"),
		fal.WithQueueHost("http://10.1.2.3:8080"),
		fal.WithRestHost("http://rest.example.com"),
		fal.WithCDNHost("http://cdn.example.com"),
	} {
		_, err := fal.NewClient(fal.WithKey("k"), opt)
		if err == nil || !strings.Contains(err.Error(), "unencrypted") {
			t.Errorf("plain http to a remote host: err = %v", err)
		}
		checkErrorText(t, "plain http", err)
	}
	if _, err := fal.NewClient(fal.WithKey("k"), fal.WithRunHost("http://fal.example.com/run"), fal.WithQueueHost("https://q.example.com"), fal.WithInsecureHTTP()); err != nil {
		t.Errorf("WithInsecureHTTP: %v", err)
	}
	for _, h := range []string{"http://127.0.0.1:9/run", "http://localhost:9", "http://[::1]:9"} {
		if _, err := fal.NewClient(fal.WithKey("k"), fal.WithRunHost(h), fal.WithQueueHost(h)); err != nil {
			t.Errorf("loopback %s refused: %v", h, err)
		}
	}
	// Per call too, before any request.
	srv := newScripted(t, jsonReply(200, `{}`))
	_, err := srv.client(t).Run(context.Background(), "fal-ai/x", nil, fal.WithRunHost("http://fal.example.com/run"))
	if err == nil || !strings.Contains(err.Error(), "unencrypted") {
		t.Errorf("per-call plain http host: err = %v", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("%d requests", n)
	}
}

func TestPlainHTTPRefusedFromEnvironment(t *testing.T) {
	t.Setenv("FAL_RUN_HOST", "http://fal.example.com")
	if _, err := fal.NewClient(); err == nil {
		t.Error("plain http from FAL_RUN_HOST accepted")
	}
}
