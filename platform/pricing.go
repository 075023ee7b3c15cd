package platform

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"

	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// Price is the unit price of one endpoint.
type Price struct {
	EndpointID string `json:"endpoint_id"`
	// UnitPrice is the price of one Unit, a decimal number exactly as
	// fal wrote it (see the package documentation on money).
	UnitPrice json.Number `json:"unit_price"`
	// Unit is the billing unit, e.g. "image", "megapixel", "second".
	Unit string `json:"unit"`
	// Currency is a three-letter ISO 4217 code, e.g. "USD".
	Currency string `json:"currency"`
}

type pricesPage struct {
	pageInfo
	Prices []Price `json:"prices"`
}

// Pricing returns the unit prices of the endpoints (GET
// /v1/models/pricing), in fal's order. fal accepts at most 50 ids per
// request, so a longer list is sent in batches of 50; a repeated id is
// asked for once. Prices may reflect the account's discounts.
func (c *Client) Pricing(ctx context.Context, endpointIDs ...string) ([]Price, error) {
	const op = "pricing"
	if err := checkEndpointIDs(op, endpointIDs, 1, 0); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(endpointIDs))
	for _, id := range endpointIDs {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	b := c.budget(op)
	var out []Price
	for batch := range slices.Chunk(ids, MaxEndpointIDs) {
		err := walk(op, "", func(cursor string) (string, bool, error) {
			q := url.Values{"endpoint_id": slices.Clone(batch)}
			setString(q, "cursor", cursor)
			resp, err := c.send(ctx, &request{op: op, path: []string{"models", "pricing"}, query: q, class: retry.Idempotent})
			if err != nil {
				return "", false, err
			}
			if err := b.spend(len(resp.Body)); err != nil {
				return "", false, err
			}
			var page pricesPage
			if err := decode(resp, &page, op, true); err != nil {
				return "", false, err
			}
			out = append(out, page.Prices...)
			return page.next(), false, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// EstimateRequest asks what calls would cost. Set exactly one of Calls
// and Units.
type EstimateRequest struct {
	// Calls estimates from fal's historical price per call (estimate_type
	// historical_api_price): endpoint id → number of calls, at least 1.
	Calls map[string]int
	// Units estimates from the unit price (estimate_type unit_price):
	// endpoint id → billing units (images, seconds, ... as Price.Unit
	// says), at least 0.000001.
	Units map[string]float64
}

// The estimate types of fal's estimate endpoint.
const (
	EstimateHistorical = "historical_api_price" // from Calls
	EstimateUnitPrice  = "unit_price"           // from Units
)

// Estimate is what fal estimates the calls of an EstimateRequest cost.
type Estimate struct {
	// Type is EstimateHistorical or EstimateUnitPrice.
	Type string `json:"estimate_type"`
	// TotalCost is the total over every endpoint, a decimal number as
	// fal wrote it.
	TotalCost json.Number `json:"total_cost"`
	// Currency is a three-letter ISO 4217 code, e.g. "USD".
	Currency string `json:"currency"`
}

// minUnitQuantity is fal's documented minimum unit_quantity.
const minUnitQuantity = 0.000001

func (r EstimateRequest) body(op string) (any, error) {
	switch {
	case len(r.Calls) > 0 && len(r.Units) > 0:
		return nil, falerr.New("%s: set Calls or Units, not both: fal estimates one way at a time", op)
	case len(r.Calls) > 0:
		eps := make(map[string]map[string]int, len(r.Calls))
		for id, n := range r.Calls {
			if err := checkEndpointID(op, id); err != nil {
				return nil, err
			}
			if n < 1 {
				return nil, falerr.New("%s: %d calls of %s: the number of calls must be at least 1", op, n, id)
			}
			eps[id] = map[string]int{"call_quantity": n}
		}
		return map[string]any{"estimate_type": EstimateHistorical, "endpoints": eps}, nil
	case len(r.Units) > 0:
		eps := make(map[string]map[string]float64, len(r.Units))
		for id, u := range r.Units {
			if err := checkEndpointID(op, id); err != nil {
				return nil, err
			}
			if math.IsNaN(u) || math.IsInf(u, 0) || u < minUnitQuantity {
				return nil, falerr.New("%s: %v units of %s: the quantity must be a number of at least %v", op, u, id, minUnitQuantity)
			}
			eps[id] = map[string]float64{"unit_quantity": u}
		}
		return map[string]any{"estimate_type": EstimateUnitPrice, "endpoints": eps}, nil
	}
	return nil, falerr.New("%s: nothing to estimate: set Calls (endpoint id → calls) or Units (endpoint id → billing units)", op)
}

// Estimate asks fal what the calls or units of r would cost (POST
// /v1/models/pricing/estimate). The request has no side effect, so it is
// retried like a read.
func (c *Client) Estimate(ctx context.Context, r EstimateRequest) (*Estimate, error) {
	const op = "estimate"
	body, err := r.body(op)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, &request{op: op, method: http.MethodPost, path: []string{"models", "pricing", "estimate"}, body: body, class: retry.Idempotent})
	if err != nil {
		return nil, err
	}
	var e Estimate
	if err := decode(resp, &e, op, true); err != nil {
		return nil, err
	}
	return &e, nil
}
