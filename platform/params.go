package platform

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/falgo/fal/internal/falerr"
)

// The expand values of the Platform API, by endpoint. Each list parameter
// (ModelsParams.Expand, UsageParams.Expand, ...) accepts the values its
// documentation names; any other value is refused before a request.
const (
	// ExpandOpenAPI adds each model's OpenAPI 3.0 document (Models, Model).
	ExpandOpenAPI = "openapi-3.0"
	// ExpandEnterpriseStatus adds each model's enterprise readiness
	// ("ready" or "pending") (Models, Model).
	ExpandEnterpriseStatus = "enterprise_status"
	// ExpandTimeSeries asks for time-bucketed data (Usage, Analytics);
	// it is fal's default when Expand names neither it nor ExpandSummary.
	ExpandTimeSeries = "time_series"
	// ExpandSummary asks for one aggregate per endpoint over the whole
	// range (Usage, Analytics).
	ExpandSummary = "summary"
	// ExpandAuthMethod labels usage lines with the key or login that
	// made them, e.g. "Key 1" (Usage).
	ExpandAuthMethod = "auth_method"
	// ExpandPayloads adds each request's input and output (Requests).
	ExpandPayloads = "payloads"
)

// Timeframe is the width of the time buckets of Usage and Analytics.
type Timeframe string

// The timeframes fal documents. Without one, fal picks it from the range:
// minute below 2 hours, hour below 2 days, day below 64 days, week below
// 183 days, month beyond.
const (
	Minute Timeframe = "minute"
	Hour   Timeframe = "hour"
	Day    Timeframe = "day"
	Week   Timeframe = "week"
	Month  Timeframe = "month"
)

// MaxEndpointIDs is the most endpoint ids one request may name (fal's
// documented limit). Pricing sends longer lists in batches of this size.
const MaxEndpointIDs = 50

// analyticsMetrics are the metrics Analytics may ask for (expand values).
var analyticsMetrics = []string{
	"request_count", "success_count", "user_error_count", "error_count",
	"startup_error_count", "connection_error_count", "timeout_error_count", "runtime_error_count",
	"cold_boot_count", "total_billable_duration",
	"p25_duration", "p50_duration", "p75_duration", "p90_duration", "p95_duration", "p99_duration",
	"p50_prepare_duration", "p75_prepare_duration", "p90_prepare_duration", "p95_prepare_duration", "p99_prepare_duration",
	"p50_cold_boot_duration", "p75_cold_boot_duration", "p90_cold_boot_duration",
}

// checkEndpointIDs checks a list of endpoint ids: between min and max of
// them, each non-empty, without spaces, control characters or commas
// (fal splits endpoint_id values at commas).
func checkEndpointIDs(op string, ids []string, min, max int) error {
	switch {
	case len(ids) < min && min == 1:
		return falerr.New("%s: at least one endpoint id is required", op)
	case max > 0 && len(ids) > max:
		return falerr.New("%s: %d endpoint ids given; fal accepts at most %d per request", op, len(ids), max)
	}
	for _, id := range ids {
		if err := checkEndpointID(op, id); err != nil {
			return err
		}
	}
	return nil
}

func checkEndpointID(op, id string) error {
	switch {
	case id == "":
		return falerr.New("%s: an endpoint id is empty", op)
	case strings.ContainsAny(id, " \t\r\n") || hasControl(id):
		return falerr.New("%s: endpoint id %q contains spaces or control characters", op, id)
	case strings.Contains(id, ","):
		return falerr.New("%s: endpoint id %q contains a comma, which fal reads as a list separator", op, id)
	}
	return nil
}

// checkExpand refuses expand values outside known.
func checkExpand(op string, expand, known []string) error {
	for _, e := range expand {
		if !slices.Contains(known, e) {
			return falerr.New("%s: unknown expand value %q (known: %s)", op, e, strings.Join(known, ", "))
		}
	}
	return nil
}

// checkRange refuses a range whose start is not before its end (End is
// exclusive, so Start == End selects nothing).
func checkRange(op string, start, end time.Time) error {
	if !start.IsZero() && !end.IsZero() && !start.Before(end) {
		return falerr.New("%s: Start (%s) must be before End (%s), which is exclusive", op, formatTime(start), formatTime(end))
	}
	return nil
}

func checkTimeframe(op string, t Timeframe) error {
	switch t {
	case "", Minute, Hour, Day, Week, Month:
		return nil
	}
	return falerr.New("%s: unknown timeframe %q (known: minute, hour, day, week, month)", op, string(t))
}

func checkLimit(op string, limit, max int) error {
	switch {
	case limit < 0:
		return falerr.New("%s: Limit %d is negative; use 0 for fal's default", op, limit)
	case max > 0 && limit > max:
		return falerr.New("%s: Limit %d is above fal's maximum of %d", op, limit, max)
	}
	return nil
}

// formatTime writes a time for a query parameter: RFC 3339 in UTC, with
// fractional seconds only when there are some.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// setTime sets key to t unless t is zero.
func setTime(q url.Values, key string, t time.Time) {
	if !t.IsZero() {
		q.Set(key, formatTime(t))
	}
}

func setString(q url.Values, key, v string) {
	if v != "" {
		q.Set(key, v)
	}
}

func setInt(q url.Values, key string, v int) {
	if v != 0 {
		q.Set(key, strconv.Itoa(v))
	}
}

// window is the query of Usage and Analytics, which share their
// parameters.
type window struct {
	endpointIDs []string
	start, end  time.Time
	timezone    string
	timeframe   Timeframe
	exact       bool
	expand      []string
	limit       int
}

func (w window) check(op string, minIDs int, known []string) error {
	if err := checkEndpointIDs(op, w.endpointIDs, minIDs, MaxEndpointIDs); err != nil {
		return err
	}
	if err := checkRange(op, w.start, w.end); err != nil {
		return err
	}
	if err := checkTimeframe(op, w.timeframe); err != nil {
		return err
	}
	if hasControl(w.timezone) || strings.ContainsAny(w.timezone, " ") {
		return falerr.New("%s: timezone %q is not a time zone name (e.g. UTC, America/New_York)", op, w.timezone)
	}
	if err := checkExpand(op, w.expand, known); err != nil {
		return err
	}
	return checkLimit(op, w.limit, 0)
}

func (w window) query() url.Values {
	q := url.Values{}
	for _, id := range w.endpointIDs {
		q.Add("endpoint_id", id)
	}
	setTime(q, "start", w.start)
	setTime(q, "end", w.end)
	setString(q, "timezone", w.timezone)
	setString(q, "timeframe", string(w.timeframe))
	if w.exact {
		q.Set("bound_to_timeframe", "false")
	}
	for _, e := range w.expand {
		q.Add("expand", e)
	}
	setInt(q, "limit", w.limit)
	return q
}
