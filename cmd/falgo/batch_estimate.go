package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/falgo/fal/platform"
)

// batchEstimate is `falgo batch --estimate`: what every input line of the
// batch would cost, from fal's estimate endpoint, printed like `falgo
// estimate`. Nothing is submitted and no file is written.
//
// The estimate type: unit_price when the units the batch bills are known
// from its inputs (an app billed per request: one unit per input; billed
// per image: each input's num_images, else the schema's default, else 1);
// otherwise historical_api_price for as many calls as inputs, since units
// such as megapixels, seconds or tokens depend on what each request makes.
func (c *cli) batchEstimate(ctx context.Context, s *platformSession, app string, inputs []batchInput) error {
	n := len(inputs)
	v := estimateView{EndpointID: app, Inputs: n}
	price, perr := s.price(ctx, app)
	unit := ""
	if perr == nil {
		unit = price.Unit
		v.Unit, v.UnitPrice = price.Unit, price.UnitPrice
	}
	var req platform.EstimateRequest
	units, basis := c.batchUnits(ctx, s, app, unit, inputs)
	switch {
	case units != nil:
		f, _ := units.Float64()
		req.Units = map[string]float64{app: f}
		v.UnitQuantity = json.Number(formatDecimal(units))
		v.Basis = "unit_price: " + basis
	default:
		req.Calls = map[string]int{app: n}
		v.CallQuantity = n
		why := basis
		if perr != nil {
			why = "the unit price of " + app + " is unknown (" + oneLine(perr.Error()) + ")"
		}
		v.Basis = fmt.Sprintf("historical_api_price: %s, so the estimate is fal's average cost per call of %s so far, times %s", why, app, plural(n, "input"))
	}
	est, err := s.pc.Estimate(ctx, req)
	if err != nil {
		return s.unknownApp(ctx, app, err)
	}
	v.EstimateType, v.TotalCost, v.Currency = est.Type, est.TotalCost, est.Currency
	v.Basis += "; fal bills what each request really uses, so the cost can differ"
	if err := c.printEstimate(v); err != nil {
		return err
	}
	c.con.errorf("falgo: --estimate: nothing was submitted")
	return nil
}

// batchUnits returns the billing units the inputs add up to, when the
// unit makes them knowable, and says how they were counted; nil and why
// not otherwise.
func (c *cli) batchUnits(ctx context.Context, s *platformSession, app, unit string, inputs []batchInput) (*big.Rat, string) {
	u := strings.ToLower(strings.TrimSpace(unit))
	switch u {
	case "":
		return nil, "the unit price is unknown"
	case "request", "requests", "call", "calls":
		return big.NewRat(int64(len(inputs)), 1), fmt.Sprintf("%s bills one %s per call, so %s bill %d", app, unit, plural(len(inputs), "input"), len(inputs))
	case "image", "images":
	default:
		return nil, fmt.Sprintf("what a call bills (in %s) depends on what it makes", unit)
	}
	// Per image: each input's num_images, else the schema's default.
	def := int64(1)
	defWhy := "1 image per input that does not set num_images"
	if ep, _, _, err := s.schema(ctx, app, false); err == nil {
		if p := ep.Input.Property("num_images"); p != nil && p.Schema != nil && p.Schema.HasDefault {
			if d, ok := intValue(p.Schema.Default); ok && d >= 1 {
				def = d
				defWhy = fmt.Sprintf("the schema's default of %d for inputs that do not set it", d)
			}
		}
	}
	total := int64(0)
	for _, in := range inputs {
		k := def
		if m, err := decodeObject(in.data); err == nil {
			if d, ok := intValue(m["num_images"]); ok && d >= 1 {
				k = d
			}
		}
		total += k
	}
	return big.NewRat(total, 1), fmt.Sprintf("%s bills per image: num_images of each input, %s, makes %d images", app, defWhy, total)
}

// intValue reads a whole number of a decoded JSON value.
func intValue(v any) (int64, bool) {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i, true
		}
		if f, err := t.Float64(); err == nil && f == float64(int64(f)) {
			return int64(f), true
		}
	case float64:
		if t == float64(int64(t)) {
			return int64(t), true
		}
	case int:
		return int64(t), true
	case int64:
		return t, true
	}
	return 0, false
}
