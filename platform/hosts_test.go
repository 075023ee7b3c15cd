package platform_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/platform"
)

// TestCredentialsOnlyToTheAPIHost: every endpoint is called on the API
// host with the key (newClient's trap fails the test if another host of
// the client is reached), and a redirect away from the API host is not
// followed, so the key goes nowhere else.
func TestCredentialsOnlyToTheAPIHost(t *testing.T) {
	t.Parallel()
	var foreign atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreign.Add(1)
		jsonAnswer(w, 200, `{"prices":[],"next_cursor":null,"has_more":false}`)
	}))
	defer elsewhere.Close()
	api := newAPI(t, func(w http.ResponseWriter, h hit, n int) {
		if h.Path == "/v1/models/pricing" {
			w.Header().Set("Location", elsewhere.URL+"/v1/models/pricing")
			w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
		jsonAnswer(w, 200, `{"models":[{"endpoint_id":"a/b"}],"items":[],"keys":[],"username":"u","estimate_type":"unit_price","total_cost":1,"currency":"USD","cdn_delete_results":[],"key_id":"k","key_secret":"s","key":"k:s","next_cursor":null,"has_more":false}`)
	})
	c := newClient(t, api)
	for _, tc := range calls {
		if tc.name == "pricing" {
			continue
		}
		if err := tc.call(context.Background(), c); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	for _, h := range api.Hits() {
		if got := h.Header.Get("Authorization"); got != "Key "+testKey {
			t.Errorf("%s %s: Authorization %q", h.Method, h.Path, got)
		}
	}
	if _, err := c.Pricing(context.Background(), "a/b"); err == nil {
		t.Error("a redirect to another host was followed")
	}
	if n := foreign.Load(); n != 0 {
		t.Errorf("the other host was reached %d times", n)
	}
}

// TestAPIHostFromTheEnvironment: without WithAPIHost the client's API
// host is $FAL_API_HOST.
func TestAPIHostFromTheEnvironment(t *testing.T) {
	api := newAPI(t, fixed(200, `{"username":"from-env"}`))
	t.Setenv("FAL_API_HOST", api.URL+"/api")
	fc, err := fal.NewClient(fal.WithKey(testKey))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := platform.New(fc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pc.Billing(context.Background())
	if err != nil || b.Username != "from-env" {
		t.Fatalf("billing = %+v, %v", b, err)
	}
	if h := api.Hits(); len(h) != 1 || h[0].Path != "/api/v1/account/billing" {
		t.Fatalf("hits = %+v", h)
	}
}
