package webhook_test

// Acceptance: verification accepts faltest's real deliveries (made through
// the fal client's Submit with WithWebhook) and rejects forged, stale and
// replayed ones.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
	"github.com/falgo/fal/webhook"
)

// rawDelivery is one webhook POST as it arrived.
type rawDelivery struct {
	header http.Header
	body   []byte
}

// receiver is a loopback webhook endpoint: it records each raw delivery,
// then passes it to the Verifier's Handler, which sends verified
// deliveries to got.
type receiver struct {
	*httptest.Server
	raw      chan rawDelivery
	got      chan *webhook.Delivery
	verified atomic.Int64
}

func newReceiver(t *testing.T, v *webhook.Verifier) *receiver {
	t.Helper()
	rc := &receiver{raw: make(chan rawDelivery, 16), got: make(chan *webhook.Delivery, 16)}
	h := v.Handler(func(w http.ResponseWriter, r *http.Request, d *webhook.Delivery) {
		rc.verified.Add(1)
		rc.got <- d
	})
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.raw <- rawDelivery{header: r.Header.Clone(), body: b}
		r.Body = io.NopCloser(bytes.NewReader(b))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// recv waits (generously) for a value on ch.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s within 30 s", what)
		panic("unreachable")
	}
}

// submitWithHook submits input to app on srv with the receiver as webhook.
func submitWithHook(t *testing.T, srv *faltest.Server, app string, input any, rc *receiver) string {
	t.Helper()
	h, err := srv.Client().Submit(context.Background(), app, input, fal.WithWebhook(rc.URL+"/fal/webhook"))
	if err != nil {
		t.Fatal(err)
	}
	return h.RequestID
}

func TestFaltestDeliveriesVerify(t *testing.T) {
	srv := faltest.NewServer(faltest.WithApp("me/strict", func(ctx context.Context, req *faltest.Request) (any, error) {
		return nil, faltest.ValidationError("prompt", "field required")
	}))
	t.Cleanup(srv.Close)
	v := newVerifier(t, webhook.WithJWKSURL(srv.JWKSURL()), webhook.WithUserIDs(faltest.WebhookUserID))
	rc := newReceiver(t, v)

	// A successful request.
	id := submitWithHook(t, srv, "falgo/echo", map[string]any{"prompt": "a cat", "n": 3}, rc)
	d := recv(t, rc.got, "verified delivery")
	if d.RequestID != id || d.GatewayRequestID != id || !d.OK() || d.Error != "" {
		t.Fatalf("delivery %+v, want an OK one for %s", d, id)
	}
	var out struct {
		Prompt string `json:"prompt"`
		N      int    `json:"n"`
	}
	if err := d.Decode(&out); err != nil || out.Prompt != "a cat" || out.N != 3 {
		t.Fatalf("payload %s decoded to %+v, %v", d.Payload, out, err)
	}

	// A failed request: status ERROR, the detail in the payload.
	id = submitWithHook(t, srv, "me/strict", map[string]any{}, rc)
	d = recv(t, rc.got, "verified error delivery")
	if d.RequestID != id || d.OK() || d.Status != webhook.StatusError || !strings.Contains(d.Error, "422") {
		t.Fatalf("delivery %+v, want an ERROR one for %s", d, id)
	}
	var detail struct {
		Detail []struct {
			Loc []string `json:"loc"`
		} `json:"detail"`
	}
	if err := d.Decode(&detail); err != nil || len(detail.Detail) == 0 || detail.Detail[0].Loc[1] != "prompt" {
		t.Fatalf("error payload %s decoded to %+v, %v", d.Payload, detail, err)
	}
	// faltest counts a delivery once it has read the answer: wait for it.
	for deadline := time.Now().Add(30 * time.Second); srv.Stats().WebhooksDelivered < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if st := srv.Stats(); st.WebhooksDelivered != 2 || st.WebhookAttempts != 2 {
		t.Fatalf("faltest delivered %d in %d attempts: every delivery should be answered 2xx at the first attempt", st.WebhooksDelivered, st.WebhookAttempts)
	}
}

func TestFaltestDeliveriesForgedStaleReplayed(t *testing.T) {
	srv := faltest.NewServer()
	t.Cleanup(srv.Close)
	v := newVerifier(t, webhook.WithJWKSURL(srv.JWKSURL()))
	rc := newReceiver(t, v)
	id := submitWithHook(t, srv, "falgo/echo", map[string]int{"n": 1}, rc)
	got := recv(t, rc.raw, "raw delivery")
	recv(t, rc.got, "verified delivery")
	if got.header.Get(webhook.HeaderRequestID) != id {
		t.Fatalf("delivery headers %v", got.header)
	}

	// Replayed: the same delivery POSTed again is refused, and the
	// application handler is not called again.
	resp := post(t, rc.URL, got.header, got.body)
	if resp != http.StatusUnauthorized {
		t.Fatalf("replay answered %d, want 401", resp)
	}
	if err := verify(v, got.header, got.body); !errors.Is(err, webhook.ErrReplayed) {
		t.Fatalf("Verify of the replay: %v", err)
	}
	if n := rc.verified.Load(); n != 1 {
		t.Fatalf("the application saw %d deliveries, want 1", n)
	}

	// Forged: each tampering is refused by a Verifier that has not seen the
	// delivery (so a refusal is not a replay), which still accepts the
	// genuine one afterwards.
	forgeries := map[string]func(h http.Header, b []byte) (http.Header, []byte){
		"body changed": func(h http.Header, b []byte) (http.Header, []byte) {
			return h, bytes.Replace(b, []byte(`"n":1`), []byte(`"n":2`), 1)
		},
		"signature changed": func(h http.Header, b []byte) (http.Header, []byte) {
			sig := []byte(h.Get(webhook.HeaderSignature))
			if sig[0] == '0' {
				sig[0] = '1'
			} else {
				sig[0] = '0'
			}
			h.Set(webhook.HeaderSignature, string(sig))
			return h, b
		},
		"another request id": func(h http.Header, b []byte) (http.Header, []byte) {
			h.Set(webhook.HeaderRequestID, "someone-elses-request")
			return h, b
		},
		"another user id": func(h http.Header, b []byte) (http.Header, []byte) {
			h.Set(webhook.HeaderUserID, "mallory")
			return h, b
		},
		"signed with the wrong key": func(h http.Header, b []byte) (http.Header, []byte) {
			return newSigner(7).sign(h.Get(webhook.HeaderRequestID), faltest.WebhookUserID, time.Now(), b), b
		},
	}
	for name, forge := range forgeries {
		t.Run(name, func(t *testing.T) {
			fresh := newVerifier(t, webhook.WithJWKSURL(srv.JWKSURL()))
			h, b := forge(got.header.Clone(), append([]byte(nil), got.body...))
			wantErr(t, verify(fresh, h, b), webhook.ErrBadSignature)
			if err := verify(fresh, got.header, got.body); err != nil {
				t.Fatalf("the genuine delivery: %v", err)
			}
		})
	}

	// Stale: a Verifier whose clock is 10 minutes ahead sees the real
	// delivery as 10 minutes old.
	late := newVerifier(t, webhook.WithJWKSURL(srv.JWKSURL()), webhook.WithClock(func() time.Time {
		return time.Now().Add(10 * time.Minute)
	}))
	wantErr(t, verify(late, got.header, got.body), webhook.ErrStaleTimestamp)
}

func TestFaltestJWKSDownIsReportedAs503(t *testing.T) {
	srv := faltest.NewServer(faltest.WithWebhookRetries(0, 0))
	t.Cleanup(srv.Close)
	// The key set URL points at a loopback port nothing listens on.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	v := newVerifier(t, webhook.WithJWKSURL(dead.URL+"/.well-known/jwks.json"))
	rc := newReceiver(t, v)

	submitWithHook(t, srv, "falgo/echo", map[string]int{"n": 1}, rc)
	got := recv(t, rc.raw, "raw delivery")
	wantErr(t, verify(v, got.header, got.body), webhook.ErrJWKSUnavailable)
	if code := post(t, rc.URL, got.header, got.body); code != http.StatusServiceUnavailable {
		t.Fatalf("answered %d, want 503", code)
	}
	if n := rc.verified.Load(); n != 0 {
		t.Fatalf("the application saw %d deliveries, want 0", n)
	}
}

// post POSTs body with header to url and returns the status code.
func post(t *testing.T, url string, header http.Header, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
