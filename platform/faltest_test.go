package platform_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
	"github.com/falgo/fal/platform"
)

// TestAgainstFaltest drives the client against faltest's Platform API:
// faltest.Server.Client reaches it with no other setting, and what the
// history, usage and credits say follows the runs just made.
func TestAgainstFaltest(t *testing.T) {
	t.Parallel()
	const apiKey = "kid-api:ksecret-api"
	srv := faltest.NewServer(faltest.WithAPIKey(apiKey), faltest.WithDemoDelay(0))
	defer srv.Close()
	ctx := context.Background()
	c := srv.Client()
	p, err := platform.New(c)
	if err != nil {
		t.Fatal(err)
	}
	var flux []string
	for m, err := range p.Models(ctx, platform.ModelsParams{Query: "flux"}) {
		if err != nil {
			t.Fatal(err)
		}
		flux = append(flux, m.EndpointID)
	}
	if len(flux) < 2 || !strings.Contains(strings.Join(flux, " "), faltest.DemoFluxSchnell) {
		t.Fatalf("models matching flux: %v", flux)
	}
	before, err := p.Billing(ctx)
	if err != nil || before.Credits == nil {
		t.Fatalf("billing: %+v, %v", before, err)
	}
	res, err := c.Run(ctx, faltest.DemoFluxSchnell, map[string]any{"prompt": "a lighthouse", "image_size": "square"})
	if err != nil || res.BillableUnits <= 0 {
		t.Fatalf("run: %v, billable units %v", err, res)
	}
	var seen int
	for r, err := range p.Requests(ctx, platform.RequestsParams{EndpointID: faltest.DemoFluxSchnell}) {
		if err != nil {
			t.Fatal(err)
		}
		if r.RequestID == res.RequestID {
			seen++
		}
	}
	if seen != 1 {
		t.Fatalf("the run appears %d times in the request history", seen)
	}
	after, err := p.Billing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b0, _ := before.Credits.CurrentBalance.Float64()
	b1, _ := after.Credits.CurrentBalance.Float64()
	if !(b1 < b0) {
		t.Errorf("credits went from %v to %v after a billed run", b0, b1)
	}
	prices, err := p.Pricing(ctx, faltest.DemoFluxSchnell)
	if err != nil || len(prices) != 1 || prices[0].Unit == "" {
		t.Fatalf("pricing: %+v, %v", prices, err)
	}

	// An API-scope key gets a clear admin-key error on admin endpoints.
	apiClient, err := fal.NewClient(fal.WithKey(apiKey), fal.WithRunHost(srv.URL+"/run"), fal.WithAPIHost(srv.URL+"/api"))
	if err != nil {
		t.Fatal(err)
	}
	pa, _ := platform.New(apiClient)
	_, err = pa.Usage(ctx, platform.UsageParams{})
	var he *fal.HTTPError
	if !errors.Is(err, platform.ErrAdminKeyRequired) || !errors.As(err, &he) || he.StatusCode != 403 {
		t.Fatalf("usage with an API key: %v", err)
	}
	if _, err := pa.Pricing(ctx, faltest.DemoFluxSchnell); err != nil {
		t.Fatalf("pricing with an API key: %v", err)
	}
}
