package webhook_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falgo/fal/webhook"
)

// serve runs one request through h and returns the recorded response.
func serve(h http.Handler, method string, header http.Header, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/fal/webhook", bytes.NewReader(body))
	for k, vs := range header {
		req.Header[k] = vs
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestHandlerStatusCodes(t *testing.T) {
	s, clk := newSigner(1), newClock()
	body := okBody("req-1")
	var calls atomic.Int64
	next := func(w http.ResponseWriter, r *http.Request, d *webhook.Delivery) { calls.Add(1) }

	cases := []struct {
		name   string
		method string
		header http.Header
		body   []byte
		opts   []webhook.Option
		code   int
		says   string
	}{
		{"GET", http.MethodGet, s.sign("req-1", "u", clk.Now(), body), body, nil, 405, "POST"},
		{"missing headers", http.MethodPost, http.Header{}, body, nil, 400, webhook.HeaderRequestID},
		{"garbage signature", http.MethodPost, func() http.Header {
			h := s.sign("req-1", "u", clk.Now(), body)
			h.Set(webhook.HeaderSignature, "xyz")
			return h
		}(), body, nil, 400, webhook.HeaderSignature},
		{"forged body", http.MethodPost, s.sign("req-1", "u", clk.Now(), body), append([]byte("{} "), body...), nil, 401, "signature does not verify"},
		{"stale", http.MethodPost, s.sign("req-1", "u", clk.Now().Add(-10*time.Minute), body), body, nil, 401, "in the past"},
		{"user not allowed", http.MethodPost, s.sign("req-1", "u", clk.Now(), body), body, []webhook.Option{webhook.WithUserIDs("me")}, 401, "user id"},
		{"too large", http.MethodPost, s.sign("req-1", "u", clk.Now(), body), body, []webhook.Option{webhook.WithMaxBodySize(int64(len(body) - 1))}, 413, "too large"},
		{"signed but not a delivery", http.MethodPost, s.sign("req-1", "u", clk.Now(), []byte(`[1,2]`)), []byte(`[1,2]`), nil, 400, "invalid delivery"},
		{"signed but no status", http.MethodPost, s.sign("req-1", "u", clk.Now(), []byte(`{"request_id":"r"}`)), []byte(`{"request_id":"r"}`), nil, 400, "no status"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := staticVerifier(t, s, clk, c.opts...)
			w := serve(v.Handler(next), c.method, c.header, c.body)
			if w.Code != c.code || !strings.Contains(w.Body.String(), c.says) {
				t.Fatalf("answered %d %q, want %d saying %q", w.Code, w.Body, c.code, c.says)
			}
			if c.code == 405 && w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow: %q", w.Header().Get("Allow"))
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("next was called %d times for rejected deliveries", n)
	}

	// JWKS unavailable: 503, so that fal retries later.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	v := newVerifier(t, webhook.WithJWKSURL(dead.URL), webhook.WithClock(clk.Now))
	if w := serve(v.Handler(next), http.MethodPost, s.sign("req-1", "u", clk.Now(), body), body); w.Code != 503 {
		t.Fatalf("answered %d %q, want 503", w.Code, w.Body)
	}

	// Replayed: 401 the second time.
	v = staticVerifier(t, s, clk)
	h := s.sign("req-1", "u", clk.Now(), body)
	if w := serve(v.Handler(next), http.MethodPost, h, body); w.Code != 200 {
		t.Fatalf("answered %d %q, want 200", w.Code, w.Body)
	}
	if w := serve(v.Handler(next), http.MethodPost, h, body); w.Code != 401 || !strings.Contains(w.Body.String(), "replay") {
		t.Fatalf("replay answered %d %q, want 401", w.Code, w.Body)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("next was called %d times, want 1", n)
	}
}

func TestHandlerPassesDeliveryAndBody(t *testing.T) {
	s, clk := newSigner(1), newClock()
	v := staticVerifier(t, s, clk)
	body := okBody("req-1")
	var got *webhook.Delivery
	var reread []byte
	h := v.Handler(func(w http.ResponseWriter, r *http.Request, d *webhook.Delivery) {
		got = d
		reread, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	w := serve(h, http.MethodPost, s.sign("req-1", "u", clk.Now(), body), body)
	if w.Code != http.StatusNoContent {
		t.Fatalf("answered %d %q", w.Code, w.Body)
	}
	if got == nil || got.RequestID != "req-1" || !got.OK() || string(got.Payload) != `{"n":1}` {
		t.Fatalf("delivery %+v", got)
	}
	if !bytes.Equal(reread, body) {
		t.Fatalf("next read the body as %q, want %q", reread, body)
	}
}

func TestHandlerFailedHandlingAllowsRetry(t *testing.T) {
	s, clk := newSigner(1), newClock()
	v := staticVerifier(t, s, clk)
	body := okBody("req-1")
	h := s.sign("req-1", "u", clk.Now(), body)
	var calls int
	status := http.StatusInternalServerError
	handler := v.Handler(func(w http.ResponseWriter, r *http.Request, d *webhook.Delivery) {
		calls++
		if status != http.StatusOK {
			http.Error(w, "database down", status)
		}
	})
	// The application failed: the sender's identical retry is accepted.
	if w := serve(handler, http.MethodPost, h, body); w.Code != 500 {
		t.Fatalf("answered %d", w.Code)
	}
	status = http.StatusOK
	if w := serve(handler, http.MethodPost, h, body); w.Code != 200 {
		t.Fatalf("the retry after a 500 answered %d %q", w.Code, w.Body)
	}
	// It succeeded this time: a third copy is a replay.
	if w := serve(handler, http.MethodPost, h, body); w.Code != 401 {
		t.Fatalf("the copy after a success answered %d", w.Code)
	}
	if calls != 2 {
		t.Fatalf("next called %d times, want 2", calls)
	}

	// A 4xx from the application counts as handled.
	h2 := s.sign("req-2", "u", clk.Now(), body)
	status = http.StatusConflict
	serve(handler, http.MethodPost, h2, body)
	if w := serve(handler, http.MethodPost, h2, body); w.Code != 401 {
		t.Fatalf("the copy after a 409 answered %d", w.Code)
	}

	// A panicking application: the retry is accepted too.
	h3 := s.sign("req-3", "u", clk.Now(), body)
	panicky := v.Handler(func(w http.ResponseWriter, r *http.Request, d *webhook.Delivery) { panic("boom") })
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not propagate")
			}
		}()
		serve(panicky, http.MethodPost, h3, body)
	}()
	status = http.StatusOK
	if w := serve(handler, http.MethodPost, h3, body); w.Code != 200 {
		t.Fatalf("the retry after a panic answered %d %q", w.Code, w.Body)
	}
}

func TestHandlerNilNextPanics(t *testing.T) {
	v := staticVerifier(t, newSigner(1), newClock())
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "nil next") {
			t.Fatalf("recovered %v", r)
		}
	}()
	v.Handler(nil)
}

func TestVerifyRequest(t *testing.T) {
	s, clk := newSigner(1), newClock()
	v := staticVerifier(t, s, clk)
	body := okBody("req-1")
	req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
	for k, vs := range s.sign("req-1", "u", clk.Now(), body) {
		req.Header[k] = vs
	}
	d, err := v.VerifyRequest(req)
	if err != nil || d.RequestID != "req-1" {
		t.Fatalf("%+v, %v", d, err)
	}
	again, _ := io.ReadAll(req.Body)
	if !bytes.Equal(again, body) {
		t.Fatalf("the body was not put back: %q", again)
	}
	// No body at all.
	req = httptest.NewRequest(http.MethodPost, "/hook", nil)
	req.Body = nil
	for k, vs := range s.sign("req-2", "u", clk.Now(), nil) {
		req.Header[k] = vs
	}
	_, err = v.VerifyRequest(req)
	wantErr(t, err, webhook.ErrInvalidDelivery)
}
