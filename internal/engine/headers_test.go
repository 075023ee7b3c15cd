package engine

import (
	"net/http"
	"testing"
)

// TestSetHeadersShareFixedValues checks that a JSON request's fixed
// headers (User-Agent, Accept, Content-Type, the Authorization of an Auth
// from NewAuth) are shared, never-modified values: setting them costs no
// allocation per request.
func TestSetHeadersShareFixedValues(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("allocation counts differ under coverage")
	}
	c := &Config{UserAgent: "test/1", HTTPClient: &http.Client{}}
	if err := c.Prepare(); err != nil {
		t.Fatal(err)
	}
	auth := NewAuth("Key", "id:secret")
	req := &Request{Method: http.MethodPost, URL: "https://fal.run/a/b", Body: []byte("{}")}
	h := make(http.Header, 8)
	n := testing.AllocsPerRun(100, func() {
		clear(h)
		c.setHeaders(h, req, auth)
	})
	if n != 0 {
		t.Errorf("setting the headers made %.0f allocations per request, want 0", n)
	}
	if h.Get("Authorization") != "Key id:secret" || h.Get("User-Agent") != "test/1" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", h)
	}
	// An Auth whose Header was changed after NewAuth gets its own value.
	changed := auth
	changed.Header = "Bearer other"
	c.setHeaders(h, req, changed)
	if h.Get("Authorization") != "Bearer other" {
		t.Errorf("Authorization = %q, want the changed header", h.Get("Authorization"))
	}
}
