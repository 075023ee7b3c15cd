package platform_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/platform"
)

// calls names one call of each endpoint, with valid parameters.
var calls = []struct {
	name  string
	admin bool
	call  func(context.Context, *platform.Client) error
}{
	{"models", false, func(ctx context.Context, c *platform.Client) error {
		_, err := collect(c.Models(ctx, platform.ModelsParams{}))
		return err
	}},
	{"model", false, func(ctx context.Context, c *platform.Client) error { _, err := c.Model(ctx, "a/b"); return err }},
	{"pricing", false, func(ctx context.Context, c *platform.Client) error { _, err := c.Pricing(ctx, "a/b"); return err }},
	{"estimate", false, func(ctx context.Context, c *platform.Client) error {
		_, err := c.Estimate(ctx, platform.EstimateRequest{Calls: map[string]int{"a/b": 1}})
		return err
	}},
	{"requests", false, func(ctx context.Context, c *platform.Client) error {
		_, err := collect(c.Requests(ctx, platform.RequestsParams{EndpointID: "a/b"}))
		return err
	}},
	{"usage", true, func(ctx context.Context, c *platform.Client) error {
		_, err := c.Usage(ctx, platform.UsageParams{})
		return err
	}},
	{"analytics", true, func(ctx context.Context, c *platform.Client) error {
		_, err := c.Analytics(ctx, platform.AnalyticsParams{EndpointIDs: []string{"a/b"}})
		return err
	}},
	{"delete payloads", true, func(ctx context.Context, c *platform.Client) error {
		_, err := c.DeletePayloads(ctx, "r1", "k")
		return err
	}},
	{"billing", true, func(ctx context.Context, c *platform.Client) error { _, err := c.Billing(ctx); return err }},
	{"keys", true, func(ctx context.Context, c *platform.Client) error { _, err := c.Keys(ctx); return err }},
	{"create key", true, func(ctx context.Context, c *platform.Client) error { _, err := c.CreateKey(ctx, "x"); return err }},
	{"delete key", true, func(ctx context.Context, c *platform.Client) error { return c.DeleteKey(ctx, "k1") }},
}

// TestAdminKeyErrors: a 401 or 403 from an admin endpoint says that an
// admin key is needed and where to get one; the *fal.HTTPError, with the
// platform's error envelope parsed, is still there.
func TestAdminKeyErrors(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusForbidden, http.StatusUnauthorized} {
		for _, tc := range calls {
			t.Run(fmt.Sprint(tc.name, status), func(t *testing.T) {
				t.Parallel()
				body := `{"error":{"type":"authorization_error","message":"Admin API key required (you sent ` + testSecret + `)",
					"docs_url":"https://docs.fal.ai/platform-apis/authentication","request_id":"req-123"}}`
				api := newAPI(t, fixed(status, body))
				err := tc.call(context.Background(), newClient(t, api))
				var he *fal.HTTPError
				if !errors.As(err, &he) {
					t.Fatalf("err = %v, not a *fal.HTTPError", err)
				}
				if he.StatusCode != status || he.ErrorType != "authorization_error" || he.RequestID != "req-123" ||
					he.DocsURL != "https://docs.fal.ai/platform-apis/authentication" || !strings.HasPrefix(he.Message, "Admin API key required") {
					t.Errorf("HTTPError = %+v", he)
				}
				msg := err.Error()
				if strings.Contains(msg, testSecret) {
					t.Errorf("the key's secret is in the error: %s", msg)
				}
				if n := len(api.Hits()); n != 1 {
					t.Errorf("%d requests, want 1", n)
				}
				if !tc.admin {
					if errors.Is(err, platform.ErrAdminKeyRequired) || strings.Contains(msg, "admin key") {
						t.Errorf("a non-admin endpoint says it needs an admin key: %v", err)
					}
					return
				}
				if !errors.Is(err, platform.ErrAdminKeyRequired) {
					t.Errorf("errors.Is(err, ErrAdminKeyRequired) is false: %v", err)
				}
				for _, s := range []string{"needs an admin key", "ADMIN scope", "https://fal.ai/dashboard/keys", "authorization_error", "Admin API key required"} {
					if !strings.Contains(msg, s) {
						t.Errorf("error %q does not say %q", msg, s)
					}
				}
				if strings.Count(msg, "fal: ") != 1 {
					t.Errorf("error %q does not read as one line with one prefix", msg)
				}
			})
		}
	}
}

// TestRetryClasses: a 503 from fal's ingress (no request id) is retried
// for reads and for Estimate, never for POST /keys.
func TestRetryClasses(t *testing.T) {
	t.Parallel()
	ingress := func(status int, then string) func(http.ResponseWriter, hit, int) {
		return func(w http.ResponseWriter, h hit, n int) {
			if n == 1 {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(status)
				_, _ = w.Write([]byte("<html><head><title>503 Service Temporarily Unavailable</title></head></html>"))
				return
			}
			jsonAnswer(w, 200, then)
		}
	}
	ok := `{"models":[{"endpoint_id":"a/b"}],"prices":[],"items":[],"keys":[],"username":"u","estimate_type":"historical_api_price","total_cost":1,"currency":"USD","cdn_delete_results":[],"next_cursor":null,"has_more":false}`
	for _, tc := range calls {
		for _, status := range []int{http.StatusServiceUnavailable, http.StatusBadGateway} {
			t.Run(fmt.Sprint(tc.name, status), func(t *testing.T) {
				t.Parallel()
				api := newAPI(t, ingress(status, ok))
				err := tc.call(context.Background(), newClient(t, api))
				n := len(api.Hits())
				switch {
				case tc.name == "create key":
					// Never: the key may have been made.
					var he *fal.HTTPError
					if n != 1 || !errors.As(err, &he) || he.StatusCode != status {
						t.Fatalf("create key: %d attempts, err %v; want 1 attempt and the %d", n, err, status)
					}
				case tc.name == "delete payloads" || tc.name == "delete key":
					// Once: the ingress's 503 is retried, its 502 is not.
					if want := map[int]int{503: 2, 502: 1}[status]; n != want {
						t.Fatalf("%s: %d attempts, want %d (err %v)", tc.name, n, want, err)
					}
				default:
					if err != nil || n != 2 {
						t.Fatalf("%s: %d attempts, err %v; want a retry and success", tc.name, n, err)
					}
				}
			})
		}
	}
}

// TestCreateKeyRetriesOnlyWhenNothingWasMade: a 429 certainly made no key
// and is retried; a 500 and a 504 are not.
func TestCreateKeyRetriesOnlyWhenNothingWasMade(t *testing.T) {
	t.Parallel()
	for status, attempts := range map[int]int{http.StatusTooManyRequests: 2, http.StatusInternalServerError: 1, http.StatusGatewayTimeout: 1} {
		api := newAPI(t, func(w http.ResponseWriter, h hit, n int) {
			if n == 1 {
				jsonAnswer(w, status, `{"error":{"type":"server_error","message":"x"}}`)
				return
			}
			jsonAnswer(w, 201, `{"key_id":"k","key_secret":"s3cr3t-value","key":"k:s3cr3t-value"}`)
		})
		_, err := newClient(t, api).CreateKey(context.Background(), "x")
		if n := len(api.Hits()); n != attempts || (attempts == 2) != (err == nil) {
			t.Errorf("%d: %d attempts, err %v; want %d", status, n, err, attempts)
		}
	}
}

// TestBoundedReads: an answer beyond Limits.Body ends the call with
// fal.ErrTooLarge, and so do the pages of a merged answer together.
func TestBoundedReads(t *testing.T) {
	t.Parallel()
	huge := `{"models":[{"endpoint_id":"a/b","metadata":{"description":"` + strings.Repeat("x", 1<<20) + `"}}],"next_cursor":null,"has_more":false}`
	api := newAPI(t, fixed(200, huge))
	c := newClient(t, api, fal.WithLimits(fal.Limits{Body: 64 << 10}))
	_, err := collect(c.Models(context.Background(), platform.ModelsParams{}))
	if !errors.Is(err, fal.ErrTooLarge) || !strings.Contains(err.Error(), "Body limit") {
		t.Fatalf("one huge page: err = %v", err)
	}

	// Ten pages of 20 KiB each: the merged answer stops at 64 KiB.
	pages := newAPI(t, func(w http.ResponseWriter, h hit, n int) {
		jsonAnswer(w, 200, fmt.Sprintf(`{"time_series":[{"bucket":"2025-01-01T00:00:00Z","results":[{"endpoint_id":%q}]}],"next_cursor":"c%d","has_more":%v}`,
			strings.Repeat("y", 20<<10), n, n < 10))
	})
	c = newClient(t, pages, fal.WithLimits(fal.Limits{Body: 64 << 10}))
	_, err = c.Usage(context.Background(), platform.UsageParams{})
	if !errors.Is(err, fal.ErrTooLarge) || !strings.Contains(err.Error(), "all its pages together") {
		t.Fatalf("200 KiB of pages: err = %v", err)
	}
	if n := len(pages.Hits()); n != 4 {
		t.Errorf("%d pages read before the limit; want 4", n)
	}
}

// noCredentials is a provider with nothing to give.
type noCredentials struct{ err error }

func (p noCredentials) Credentials(context.Context) (fal.Credentials, error) {
	return fal.Credentials{}, p.err
}

// TestWithoutCredentials: the catalogue is listed anonymously; the other
// endpoints fail before any request; a credential source that is broken
// (rather than absent) stops even the catalogue.
func TestWithoutCredentials(t *testing.T) {
	t.Parallel()
	api := newAPI(t, fixed(200, `{"models":[{"endpoint_id":"a/b"}],"prices":[],"next_cursor":null,"has_more":false}`))
	none := fal.WithCredentials(noCredentials{fmt.Errorf("no key anywhere: %w", fal.ErrMissingCredentials)})
	c := newClient(t, api, none)
	ms, err := collect(c.Models(context.Background(), platform.ModelsParams{}))
	if err != nil || len(ms) != 1 {
		t.Fatalf("anonymous models: %v, %v", ms, err)
	}
	if _, err := c.Model(context.Background(), "a/b"); err != nil {
		t.Fatalf("anonymous model: %v", err)
	}
	for _, h := range api.Hits() {
		if a, ok := h.Header["Authorization"]; ok {
			t.Fatalf("an anonymous request carried Authorization %q", a)
		}
	}
	before := len(api.Hits())
	if _, err := c.Billing(context.Background()); !errors.Is(err, fal.ErrMissingCredentials) {
		t.Fatalf("billing without credentials: err = %v", err)
	}
	if _, err := c.Pricing(context.Background(), "a/b"); !errors.Is(err, fal.ErrMissingCredentials) {
		t.Fatalf("pricing without credentials: err = %v", err)
	}
	if n := len(api.Hits()); n != before {
		t.Fatalf("%d requests sent without credentials", n-before)
	}

	broken := errors.New("the key file is readable by others")
	c = newClient(t, api, fal.WithCredentials(noCredentials{broken}))
	if _, err := collect(c.Models(context.Background(), platform.ModelsParams{})); !errors.Is(err, broken) {
		t.Fatalf("models with a broken credential source: err = %v", err)
	}
	if n := len(api.Hits()); n != before {
		t.Fatalf("a request was sent with a broken credential source")
	}
}

// TestNewNeedsAClient: New refuses what fal.NewClient did not build.
func TestNewNeedsAClient(t *testing.T) {
	t.Parallel()
	for _, c := range []*fal.Client{nil, {}} {
		if _, err := platform.New(c); err == nil || !strings.Contains(err.Error(), "NewClient") {
			t.Errorf("New(%v): err = %v", c, err)
		}
	}
}
