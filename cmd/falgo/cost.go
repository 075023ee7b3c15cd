package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/platform"
	"github.com/spf13/cobra"
)

// reportBilled prints on stderr what a request of app billed, with its
// cost where the unit price is known:
//
//	falgo: billed 1.05 megapixels × $0.003 = $0.00315
//
// Unknown price: the units only. No units (fal did not say): nothing.
func (s *platformSession) reportBilled(ctx context.Context, app string, units float64) {
	if ur, _, ok := billableUnits(units); ok {
		s.reportUnits(ctx, app, "billed", ur)
	}
}

// reportUnits prints "falgo: <what> <units> <unit> × <price> = <cost>".
func (s *platformSession) reportUnits(ctx context.Context, app, what string, units *big.Rat) {
	b, err := s.priceUnits(ctx, app, units)
	if err != nil {
		s.debugf("falgo: the unit price of %s is unknown: %s", app, oneLine(err.Error()))
		s.c.con.errorf("falgo: %s %s (the unit price of %s is unknown)", what, b, app)
		return
	}
	s.c.con.errorf("falgo: %s %s", what, b)
}

// billed is what a request billed: its units and, where fal lists the
// unit price, that price and the cost, computed exactly (see money.go).
type billed struct {
	units     *big.Rat
	unit      string   // fal's name of the unit; "" when it names none
	unitPrice string   // as fal wrote it
	cost      *big.Rat // units × unitPrice; nil when the price is unknown
	currency  string
}

// badPriceError is a unit price fal sent that is not a number.
type badPriceError struct{ price json.Number }

func (e *badPriceError) Error() string { return fmt.Sprintf("fal's price %q is not a number", e.price) }

// billableUnits is fal's count of billable units as an exact decimal and
// as text (see unitsDecimal); ok is false when fal reported none.
func billableUnits(units float64) (r *big.Rat, text string, ok bool) {
	if units <= 0 || math.IsNaN(units) || math.IsInf(units, 0) {
		return nil, "", false
	}
	r, text = unitsDecimal(units)
	return r, text, true
}

// priceUnits prices units of app at its unit price. Without the price
// (the error says why, a *badPriceError when fal's is not a number) only
// the units are set.
func (s *platformSession) priceUnits(ctx context.Context, app string, units *big.Rat) (billed, error) {
	b := billed{units: units}
	p, err := s.price(ctx, app)
	if err != nil {
		return b, err
	}
	pr, ok := decimal(p.UnitPrice.String())
	if !ok {
		return b, &badPriceError{price: p.UnitPrice}
	}
	b.unit, b.unitPrice, b.currency = p.Unit, p.UnitPrice.String(), p.Currency
	b.cost = new(big.Rat).Mul(units, pr)
	return b, nil
}

// String is "1.05 megapixels × $0.003 = $0.00315", or "1.05 units" when
// the price is unknown.
func (b billed) String() string {
	us := formatDecimal(b.units)
	if b.cost == nil {
		return us + " units"
	}
	unit := b.unit
	if unit == "" {
		unit = "units"
	}
	return fmt.Sprintf("%s %s × %s = %s", us, unit, money(b.unitPrice, b.currency), money(formatDecimal(b.cost), b.currency))
}

// reportFailedBilling reports the units of a failed request, when fal
// billed some for it.
func (s *platformSession) reportFailedBilling(ctx context.Context, app string, err error) {
	if units := failureUnits(err); units > 0 {
		s.reportBilled(context.WithoutCancel(ctx), app, units)
	}
}

// failureUnits is what fal billed for a request that failed with err: the
// billable units of its answer, or 0.
func failureUnits(err error) float64 {
	var he *fal.HTTPError
	if errors.As(err, &he) {
		return he.BillableUnits
	}
	return 0
}

// newPriceCmd builds `falgo price`.
func newPriceCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "price APP...",
		Short: "Show the unit prices of apps",
		Long: `Show what fal charges per billing unit of each app (GET /v1/models/pricing):
the unit price, the unit (image, megapixel, second, ...) and the currency.
Prices may reflect your account's discounts. An app fal does not know gets a
"did you mean" from fal's model search.

` + platformOutputHelp,
		Example:           `  falgo price fal-ai/flux/schnell fal-ai/flux/dev`,
		Args:              usageArgs(cobra.MinimumNArgs(1)),
		ValidArgsFunction: completeApps,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.prices(cmd.Context(), args)
		},
	}
}

// completeApps completes every APP argument with the demo app ids.
func completeApps(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return demoApps, cobra.ShellCompDirectiveNoFileComp
}

// prices is `falgo price`.
func (c *cli) prices(ctx context.Context, apps []string) error {
	for _, a := range apps {
		if err := checkApp(a); err != nil {
			return err
		}
	}
	_, s, release, err := c.connect()
	if err != nil {
		return err
	}
	defer release()
	prices, err := s.pc.Pricing(ctx, apps...)
	if err != nil {
		if isNotFound(err) {
			if uerr := s.unknownApps(ctx, apps); uerr != nil {
				return uerr
			}
		}
		return err
	}
	got := map[string]bool{}
	for _, p := range prices {
		got[p.EndpointID] = true
		if b, err := json.Marshal(p); err == nil {
			_ = s.cache.put("prices", s.host, p.EndpointID, b)
		}
	}
	var missing []string
	for _, a := range apps {
		if !got[a] {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		if uerr := s.unknownApps(ctx, missing); uerr != nil {
			return uerr
		}
		defer c.con.errorf("falgo: fal lists no price for %s", strings.Join(missing, ", "))
	}
	if !c.wantTable() {
		if prices == nil {
			prices = []platform.Price{}
		}
		return c.printJSON(prices)
	}
	t := newTable("ENDPOINT", "UNIT PRICE", "UNIT", "CURRENCY")
	t.right[1] = true
	for _, p := range prices {
		t.add(p.EndpointID, numberText(p.UnitPrice), p.Unit, p.Currency)
	}
	return c.printTable(t)
}

// estimateOptions holds the flags of `falgo estimate`.
type estimateOptions struct {
	calls int
	units string
}

// newEstimateCmd builds `falgo estimate`.
func newEstimateCmd(c *cli) *cobra.Command {
	var o estimateOptions
	cmd := &cobra.Command{
		Use:   "estimate APP (--calls N | --units N)",
		Short: "Estimate what calls of an app would cost",
		Long: `Ask fal what using an app would cost (POST /v1/models/pricing/estimate):

  --calls N   N calls, at the app's historical price per call (fal's
              historical_api_price: what calls of the app have cost on
              average, whatever their inputs)
  --units N   N billing units (images, megapixels, seconds, ... as
              "falgo price" says) at the unit price (fal's unit_price)

Give one of them. Nothing is run or billed.

` + platformOutputHelp,
		Example: `  falgo estimate fal-ai/flux/dev --calls 100
  falgo estimate fal-ai/flux/schnell --units 2.5`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeApp,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.calls = -1
			if cmd.Flags().Changed("calls") {
				o.calls, _ = cmd.Flags().GetInt("calls")
			}
			return c.estimate(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.Int("calls", 0, "estimate `N` calls at the app's historical price per call")
	f.StringVar(&o.units, "units", "", "estimate `N` billing units at the unit price")
	return cmd
}

// estimateView is what `falgo estimate` and `falgo batch --estimate`
// print: fal's estimate with what it was asked.
type estimateView struct {
	EndpointID   string      `json:"endpoint_id"`
	Inputs       int         `json:"inputs,omitempty"` // batch --estimate
	CallQuantity int         `json:"call_quantity,omitempty"`
	UnitQuantity json.Number `json:"unit_quantity,omitempty"`
	Unit         string      `json:"unit,omitempty"`
	UnitPrice    json.Number `json:"unit_price,omitempty"`
	EstimateType string      `json:"estimate_type"`
	TotalCost    json.Number `json:"total_cost"`
	Currency     string      `json:"currency"`
	// Basis says what the estimate assumes (batch --estimate).
	Basis string `json:"basis,omitempty"`
}

// estimate is `falgo estimate`.
func (c *cli) estimate(ctx context.Context, app string, o estimateOptions) error {
	if err := checkApp(app); err != nil {
		return err
	}
	hasCalls, hasUnits := o.calls >= 0, o.units != ""
	if hasCalls == hasUnits {
		return usageErrorf("give one of --calls N (calls at the historical price per call) and --units N (billing units at the unit price)")
	}
	var units float64
	if hasCalls && o.calls < 1 {
		return usageErrorf("--calls %d: give a whole number of calls, 1 or more", o.calls)
	}
	if hasUnits {
		r, ok := decimal(o.units)
		f, _ := strconv.ParseFloat(o.units, 64)
		if !ok || r.Sign() <= 0 || math.IsInf(f, 0) {
			return usageErrorf("--units %q: give a positive number of billing units, e.g. 2.5", o.units)
		}
		units = f
	}
	_, s, release, err := c.connect()
	if err != nil {
		return err
	}
	defer release()
	calls := 0
	if hasCalls {
		calls = o.calls
	}
	v, err := s.estimate(ctx, app, calls, units, strings.TrimSpace(o.units))
	if err != nil {
		return err
	}
	return c.printEstimate(v)
}

// estimate asks fal's pricing estimate for calls of app or, when calls is
// 0, for units billing units (unitsText: the same number as the decimal
// to show) at the unit price. A 404 becomes "fal knows no app".
func (s *platformSession) estimate(ctx context.Context, app string, calls int, units float64, unitsText string) (estimateView, error) {
	v := estimateView{EndpointID: app}
	var req platform.EstimateRequest
	if calls > 0 {
		req.Calls = map[string]int{app: calls}
		v.CallQuantity = calls
	} else {
		req.Units = map[string]float64{app: units}
		v.UnitQuantity = json.Number(unitsText)
		if p, err := s.price(ctx, app); err == nil {
			v.Unit, v.UnitPrice = p.Unit, p.UnitPrice
		}
	}
	est, err := s.pc.Estimate(ctx, req)
	if err != nil {
		return v, s.unknownApp(ctx, app, err)
	}
	v.EstimateType, v.TotalCost, v.Currency = est.Type, est.TotalCost, est.Currency
	return v, nil
}

// printEstimate prints an estimate as a table or JSON.
func (c *cli) printEstimate(v estimateView) error {
	if !c.wantTable() {
		return c.printJSON(v)
	}
	header := []string{"ENDPOINT"}
	row := []string{v.EndpointID}
	if v.Inputs > 0 {
		header, row = append(header, "INPUTS"), append(row, strconv.Itoa(v.Inputs))
	}
	quantity := fmt.Sprintf("%d calls", v.CallQuantity)
	if v.CallQuantity == 1 {
		quantity = "1 call"
	}
	if v.UnitQuantity != "" {
		unit := v.Unit
		if unit == "" {
			unit = "units"
		}
		quantity = v.UnitQuantity.String() + " " + unit
		if v.UnitPrice != "" {
			quantity += " × " + money(v.UnitPrice.String(), v.Currency)
		}
	}
	header = append(header, "QUANTITY", "ESTIMATE", "TOTAL")
	row = append(row, quantity, v.EstimateType, money(numberText(v.TotalCost), v.Currency))
	t := newTable(header...)
	t.right[len(header)-1] = true
	t.add(row...)
	if err := c.printTable(t); err != nil {
		return err
	}
	if v.Basis != "" {
		return c.printText("%s", v.Basis)
	}
	return nil
}

// usageOptions holds the flags of `falgo usage`.
type usageOptions struct {
	apps       []string
	since      string
	start, end string
	timeframe  string
	summary    bool
}

// newUsageCmd builds `falgo usage`.
func newUsageCmd(c *cli) *cobra.Command {
	var o usageOptions
	cmd := &cobra.Command{
		Use:   "usage [--app APP]... [--since D | --start T [--end T]] [--timeframe T] [--summary]",
		Short: "Show what was billed, by app and time (admin key)",
		Long: `Show the billed usage of the account (GET /v1/models/usage): for each time
bucket and app, the quantity of billing units, the unit price and the cost,
then the total. --summary gives one line per app over the whole range
instead. The range defaults to the last 24 hours; --since 7d (or 90m, 12h,
2w) ends it now, --start and --end (RFC 3339 or YYYY-MM-DD, UTC; --end is
exclusive) set it. --timeframe minute|hour|day|week|month sets the width of
the buckets (fal picks one from the range otherwise). --app narrows it to
some apps (repeat it).

Needs an admin key: an API key gets a one-line "needs an admin key" error
(exit 3). Totals are exact sums of the decimals fal sent.

` + platformOutputHelp,
		Example: `  falgo usage --since 7d --summary
  falgo usage --app fal-ai/flux/dev --start 2026-11-01 --end 2026-12-01 --timeframe day`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.usage(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.apps, "app", nil, "only this `APP` (repeatable)")
	f.StringVar(&o.since, "since", "", "the range from `D` ago until now: 90m, 12h, 7d, 2w")
	f.StringVar(&o.start, "start", "", "start of the range: RFC 3339 or YYYY-MM-DD (UTC)")
	f.StringVar(&o.end, "end", "", "end of the range, exclusive (default now)")
	f.StringVar(&o.timeframe, "timeframe", "", "bucket width: minute, hour, day, week or month")
	f.BoolVar(&o.summary, "summary", false, "one line per app over the whole range, instead of time buckets")
	return cmd
}

// usage is `falgo usage`.
func (c *cli) usage(ctx context.Context, o usageOptions) error {
	var p platform.UsageParams
	for _, a := range o.apps {
		if err := checkApp(a); err != nil {
			return err
		}
	}
	p.EndpointIDs = o.apps
	if o.since != "" && (o.start != "" || o.end != "") {
		return usageErrorf("--since cannot be combined with --start or --end")
	}
	if o.since != "" {
		d, err := parseSince(o.since)
		if err != nil {
			return usageErrorf("--since %q: %v", o.since, err)
		}
		p.Start = time.Now().Add(-d)
	}
	var err error
	if p.Start.IsZero() && o.start != "" {
		if p.Start, err = parseWhen(o.start); err != nil {
			return usageErrorf("--start %q: %v", o.start, err)
		}
	}
	if o.end != "" {
		if p.End, err = parseWhen(o.end); err != nil {
			return usageErrorf("--end %q: %v", o.end, err)
		}
		if o.start == "" {
			return usageErrorf("--end needs --start")
		}
	}
	if !p.Start.IsZero() && !p.End.IsZero() && !p.Start.Before(p.End) {
		return usageErrorf("--start must be before --end (--end is exclusive)")
	}
	switch platform.Timeframe(o.timeframe) {
	case "", platform.Minute, platform.Hour, platform.Day, platform.Week, platform.Month:
		p.Timeframe = platform.Timeframe(o.timeframe)
	default:
		return usageErrorf("--timeframe %q: use minute, hour, day, week or month", o.timeframe)
	}
	if o.summary {
		p.Expand = []string{platform.ExpandSummary}
	}
	_, s, release, err := c.connect()
	if err != nil {
		return err
	}
	defer release()
	u, err := s.pc.Usage(ctx, p)
	if err != nil {
		return platformError("fal's usage report", err)
	}
	if !c.wantTable() {
		return c.printJSON(u)
	}
	var total moneyTotals
	var t *table
	if o.summary {
		t = newTable("ENDPOINT", "UNIT", "QUANTITY", "UNIT PRICE", "COST")
		for _, l := range u.Summary {
			t.add(l.EndpointID, l.Unit, numberText(l.Quantity), money(numberText(l.UnitPrice), l.Currency), money(numberText(l.Cost), l.Currency))
			total.add(l.Cost, l.Currency)
		}
		if len(u.Summary) > 0 {
			t.add("TOTAL", "", "", "", total.String())
		}
	} else {
		t = newTable("BUCKET", "ENDPOINT", "UNIT", "QUANTITY", "UNIT PRICE", "COST")
		n := 0
		for _, b := range u.TimeSeries {
			for _, l := range b.Results {
				t.add(b.Bucket.Format("2006-01-02 15:04 Z07:00"), l.EndpointID, l.Unit, numberText(l.Quantity), money(numberText(l.UnitPrice), l.Currency), money(numberText(l.Cost), l.Currency))
				total.add(l.Cost, l.Currency)
				n++
			}
		}
		if n > 0 {
			t.add("TOTAL", "", "", "", "", total.String())
		}
	}
	for i := 2; i < len(t.header); i++ {
		t.right[i] = t.header[i] != "UNIT"
	}
	if len(t.rows) == 0 {
		defer c.con.errorf("falgo: nothing was billed in this range")
	}
	return c.printTable(t)
}

// parseSince reads a duration: Go's forms (90m, 12h, 1h30m) and days and
// weeks (7d, 2w).
func parseSince(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	switch {
	case strings.HasSuffix(s, "d"), strings.HasSuffix(s, "w"):
		n, perr := strconv.ParseFloat(s[:len(s)-1], 64)
		unit := 24 * time.Hour
		if strings.HasSuffix(s, "w") {
			unit *= 7
		}
		if perr != nil || n > 36500 {
			return 0, errors.New("give a duration such as 90m, 12h, 7d or 2w")
		}
		d = time.Duration(n * float64(unit))
	default:
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("give a duration such as 90m, 12h, 7d or 2w")
		}
	}
	if d <= 0 {
		return 0, errors.New("give a positive duration")
	}
	return d, nil
}

// parseWhen reads a time: RFC 3339, or a date (midnight UTC).
func parseWhen(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("give an RFC 3339 time (2026-12-01T15:04:05Z) or a date (2026-12-01)")
}

// newCreditsCmd builds `falgo credits`.
func newCreditsCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "credits",
		Short: "Show the account's credit balance (admin key)",
		Long: `Show the account's prepaid credit balance (GET /v1/account/billing).
Needs an admin key: an API key gets a one-line "needs an admin key" error
(exit 3).

` + platformOutputHelp,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.credits(cmd.Context())
		},
	}
}

// credits is `falgo credits`.
func (c *cli) credits(ctx context.Context) error {
	_, s, release, err := c.connect()
	if err != nil {
		return err
	}
	defer release()
	b, err := s.pc.Billing(ctx)
	if err != nil {
		return platformError("fal's billing information", err)
	}
	if !c.wantTable() {
		return c.printJSON(b)
	}
	if b.Credits == nil {
		defer c.con.errorf("falgo: fal sent no credit balance")
	}
	t := newTable("ACCOUNT", "BALANCE", "CURRENCY")
	t.right[1] = true
	if b.Credits != nil {
		t.add(b.Username, numberText(b.Credits.CurrentBalance), b.Credits.Currency)
	} else {
		t.add(b.Username, "-", "")
	}
	return c.printTable(t)
}
