package platform_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal/platform"
)

// TestValidationBeforeAnyRequest: a call whose parameters break a rule
// fails with an error that says which, and sends nothing.
func TestValidationBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	var many []string
	for i := range 51 {
		many = append(many, fmt.Sprintf("o/m%d", i))
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	first := func(seq func(func(platform.Model, error) bool)) error {
		for _, err := range seq {
			return err
		}
		return nil
	}
	firstReq := func(seq func(func(platform.RequestRecord, error) bool)) error {
		for _, err := range seq {
			return err
		}
		return nil
	}
	cases := []struct {
		name string
		call func(context.Context, *platform.Client) error
		want string
	}{
		{"models: 51 ids", func(ctx context.Context, c *platform.Client) error {
			return first(c.Models(ctx, platform.ModelsParams{EndpointIDs: many}))
		}, "51 endpoint ids given; fal accepts at most 50"},
		{"models: empty id", func(ctx context.Context, c *platform.Client) error {
			return first(c.Models(ctx, platform.ModelsParams{EndpointIDs: []string{""}}))
		}, "an endpoint id is empty"},
		{"models: comma", func(ctx context.Context, c *platform.Client) error {
			return first(c.Models(ctx, platform.ModelsParams{EndpointIDs: []string{"a/b,c/d"}}))
		}, "contains a comma"},
		{"models: space", func(ctx context.Context, c *platform.Client) error {
			return first(c.Models(ctx, platform.ModelsParams{EndpointIDs: []string{"a/b "}}))
		}, "contains spaces"},
		{"models: status", func(ctx context.Context, c *platform.Client) error {
			return first(c.Models(ctx, platform.ModelsParams{Status: "archived"}))
		}, `unknown status "archived" (known: active, deprecated)`},
		{"models: expand", func(ctx context.Context, c *platform.Client) error {
			return first(c.Models(ctx, platform.ModelsParams{Expand: []string{"openapi"}}))
		}, `unknown expand value "openapi" (known: openapi-3.0, enterprise_status)`},
		{"models: limit", func(ctx context.Context, c *platform.Client) error {
			return first(c.Models(ctx, platform.ModelsParams{Limit: -1}))
		}, "Limit -1 is negative"},
		{"model: no id", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Model(ctx, "")
			return err
		}, "an endpoint id is empty"},
		{"model: line break", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Model(ctx, "a/b\nc")
			return err
		}, "contains spaces or control characters"},
		{"requests: line break", func(ctx context.Context, c *platform.Client) error {
			return firstReq(c.Requests(ctx, platform.RequestsParams{EndpointID: "a/b\nc"}))
		}, "contains spaces or control characters"},
		{"model: expand", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Model(ctx, "a/b", "payloads")
			return err
		}, `unknown expand value "payloads"`},
		{"pricing: no ids", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Pricing(ctx)
			return err
		}, "at least one endpoint id is required"},
		{"pricing: bad id", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Pricing(ctx, "a/b", "x\ny")
			return err
		}, "contains spaces or control characters"},
		{"estimate: nothing", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Estimate(ctx, platform.EstimateRequest{})
			return err
		}, "nothing to estimate"},
		{"estimate: both", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Estimate(ctx, platform.EstimateRequest{Calls: map[string]int{"a/b": 1}, Units: map[string]float64{"a/b": 1}})
			return err
		}, "set Calls or Units, not both"},
		{"estimate: zero calls", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Estimate(ctx, platform.EstimateRequest{Calls: map[string]int{"a/b": 0}})
			return err
		}, "the number of calls must be at least 1"},
		{"estimate: tiny units", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Estimate(ctx, platform.EstimateRequest{Units: map[string]float64{"a/b": 0.0000001}})
			return err
		}, "at least 1e-06"},
		{"estimate: NaN units", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Estimate(ctx, platform.EstimateRequest{Units: map[string]float64{"a/b": math.NaN()}})
			return err
		}, "NaN units"},
		{"estimate: bad id", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Estimate(ctx, platform.EstimateRequest{Calls: map[string]int{"": 3}})
			return err
		}, "an endpoint id is empty"},
		{"usage: empty range", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Usage(ctx, platform.UsageParams{Start: t0, End: t0})
			return err
		}, "must be before End"},
		{"usage: reversed range", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Usage(ctx, platform.UsageParams{Start: t0, End: t0.Add(-time.Hour)})
			return err
		}, "Start (2025-01-01T00:00:00Z) must be before End (2024-12-31T23:00:00Z)"},
		{"usage: timeframe", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Usage(ctx, platform.UsageParams{Timeframe: "year"})
			return err
		}, `unknown timeframe "year"`},
		{"usage: expand", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Usage(ctx, platform.UsageParams{Expand: []string{"cost"}})
			return err
		}, `unknown expand value "cost" (known: time_series, summary, auth_method)`},
		{"usage: auth_method alone", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Usage(ctx, platform.UsageParams{Expand: []string{platform.ExpandAuthMethod}})
			return err
		}, "Expand must include time_series or summary"},
		{"usage: 51 ids", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Usage(ctx, platform.UsageParams{EndpointIDs: many})
			return err
		}, "at most 50"},
		{"usage: timezone", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Usage(ctx, platform.UsageParams{Timezone: "New York"})
			return err
		}, "is not a time zone name"},
		{"analytics: no ids", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Analytics(ctx, platform.AnalyticsParams{})
			return err
		}, "at least one endpoint id is required"},
		{"analytics: metric", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Analytics(ctx, platform.AnalyticsParams{EndpointIDs: []string{"a/b"}, Expand: []string{"p42_duration"}})
			return err
		}, `unknown expand value "p42_duration"`},
		{"analytics: range", func(ctx context.Context, c *platform.Client) error {
			_, err := c.Analytics(ctx, platform.AnalyticsParams{EndpointIDs: []string{"a/b"}, Start: t0, End: t0})
			return err
		}, "must be before End"},
		{"requests: no endpoint", func(ctx context.Context, c *platform.Client) error {
			return firstReq(c.Requests(ctx, platform.RequestsParams{}))
		}, "EndpointID is required"},
		{"requests: limit", func(ctx context.Context, c *platform.Client) error {
			return firstReq(c.Requests(ctx, platform.RequestsParams{EndpointID: "a/b", Limit: 101}))
		}, "Limit 101 is above fal's maximum of 100"},
		{"requests: status", func(ctx context.Context, c *platform.Client) error {
			return firstReq(c.Requests(ctx, platform.RequestsParams{EndpointID: "a/b", Status: "ok"}))
		}, `unknown status "ok" (known: success, error, user_error)`},
		{"requests: sort", func(ctx context.Context, c *platform.Client) error {
			return firstReq(c.Requests(ctx, platform.RequestsParams{EndpointID: "a/b", SortBy: "started_at"}))
		}, `unknown SortBy "started_at"`},
		{"requests: expand", func(ctx context.Context, c *platform.Client) error {
			return firstReq(c.Requests(ctx, platform.RequestsParams{EndpointID: "a/b", Expand: []string{"billing"}}))
		}, `unknown expand value "billing" (known: payloads)`},
		{"requests: range", func(ctx context.Context, c *platform.Client) error {
			return firstReq(c.Requests(ctx, platform.RequestsParams{EndpointID: "a/b", Start: t0.Add(time.Hour), End: t0}))
		}, "must be before End"},
		{"delete payloads: no id", func(ctx context.Context, c *platform.Client) error {
			_, err := c.DeletePayloads(ctx, "", "")
			return err
		}, "the request id is empty"},
		{"delete payloads: dot-dot", func(ctx context.Context, c *platform.Client) error {
			_, err := c.DeletePayloads(ctx, "..", "")
			return err
		}, `the request id ".." is not an id`},
		{"delete payloads: slash", func(ctx context.Context, c *platform.Client) error {
			_, err := c.DeletePayloads(ctx, "../keys/k1", "")
			return err
		}, `the request id "../keys/k1" contains a slash`},
		{"delete key: slash", func(ctx context.Context, c *platform.Client) error {
			return c.DeleteKey(ctx, `k1\..`)
		}, "contains a slash"},
		{"delete payloads: idempotency key", func(ctx context.Context, c *platform.Client) error {
			_, err := c.DeletePayloads(ctx, "r1", "a\r\nX-Evil: 1")
			return err
		}, "the idempotency key contains control characters"},
		{"create key: empty alias", func(ctx context.Context, c *platform.Client) error {
			_, err := c.CreateKey(ctx, "  ")
			return err
		}, "the alias is empty"},
		{"create key: long alias", func(ctx context.Context, c *platform.Client) error {
			_, err := c.CreateKey(ctx, strings.Repeat("é", 256))
			return err
		}, "the alias has 256 characters; fal accepts at most 255"},
		{"delete key: no id", func(ctx context.Context, c *platform.Client) error {
			return c.DeleteKey(ctx, "")
		}, "the key id is empty"},
		{"delete key: dot", func(ctx context.Context, c *platform.Client) error {
			return c.DeleteKey(ctx, ".")
		}, `the key id "." is not an id`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := newAPI(t, fixed(200, `{}`))
			err := tc.call(context.Background(), newClient(t, api))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "fal: ") {
				t.Errorf("err = %v\nwant it to say %q", err, tc.want)
			}
			if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("err %q is not one line", err)
			}
			if n := len(api.Hits()); n != 0 {
				t.Errorf("%d requests sent despite the invalid parameters", n)
			}
		})
	}
}

// TestLimitsAccepted: the edges of the documented ranges are accepted.
func TestLimitsAccepted(t *testing.T) {
	t.Parallel()
	var fifty []string
	for i := range 50 {
		fifty = append(fifty, fmt.Sprintf("o/m%d", i))
	}
	api := newAPI(t, fixed(200, `{"items":[],"models":[],"time_series":[],"next_cursor":null,"has_more":false,"key_id":"k","key_secret":"s","key":"k:s"}`))
	c := newClient(t, api)
	ctx := context.Background()
	if _, err := collect(c.Requests(ctx, platform.RequestsParams{EndpointID: "a/b", Limit: 100})); err != nil {
		t.Error(err)
	}
	if _, err := collect(c.Models(ctx, platform.ModelsParams{EndpointIDs: fifty})); err != nil {
		t.Error(err)
	}
	if _, err := c.Analytics(ctx, platform.AnalyticsParams{EndpointIDs: fifty}); err != nil {
		t.Error(err)
	}
	if _, err := c.Estimate(ctx, platform.EstimateRequest{Units: map[string]float64{"a/b": 0.000001}}); err != nil {
		t.Error(err)
	}
	if _, err := c.CreateKey(ctx, strings.Repeat("é", 255)); err != nil {
		t.Error(err)
	}
}
