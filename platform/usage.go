package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// UsageParams selects the usage Usage reports. The zero value reports
// the last 24 hours of every endpoint as a time series.
type UsageParams struct {
	// EndpointIDs narrows the report to these endpoints (at most 50).
	EndpointIDs []string
	// Start and End bound the range; End is exclusive. Zero values take
	// fal's defaults: 24 hours ago, and now.
	Start, End time.Time
	// Timezone buckets the data by this zone's days and hours, e.g.
	// "America/New_York" (fal's default: UTC).
	Timezone string
	// Timeframe is the width of the buckets; empty lets fal choose from
	// the range (see Timeframe).
	Timeframe Timeframe
	// ExactRange uses Start and End as given (bound_to_timeframe=false)
	// instead of aligning them to the timeframe, fal's default.
	ExactRange bool
	// Expand picks the parts of the answer: ExpandTimeSeries (the
	// default), ExpandSummary, and ExpandAuthMethod to label each line
	// with the key or login that made it.
	Expand []string
	// Limit is the page size (fal's default when 0). Usage reads every
	// page whatever it is.
	Limit int
}

// Usage is the billed usage of a range: per time bucket, and summed over
// the whole range.
type Usage struct {
	// TimeSeries holds one bucket per timeframe step that had usage
	// (with ExpandTimeSeries, the default).
	TimeSeries []UsageBucket `json:"time_series,omitempty"`
	// Summary holds one line per endpoint, unit and price over the whole
	// range (with ExpandSummary).
	Summary []UsageLine `json:"summary,omitempty"`
}

// UsageBucket is the usage of one time bucket.
type UsageBucket struct {
	// Bucket is the start of the bucket, in the offset fal sent (the
	// requested Timezone's).
	Bucket  time.Time   `json:"bucket"`
	Results []UsageLine `json:"results"`
}

// UsageLine is one billed line: a quantity of a unit at a unit price.
type UsageLine struct {
	EndpointID string `json:"endpoint_id"`
	// Unit is the billing unit, e.g. "image", or a GPU unit for some
	// models.
	Unit string `json:"unit"`
	// Quantity, UnitPrice and Cost (Quantity × UnitPrice) are decimal
	// numbers exactly as fal wrote them.
	Quantity  json.Number `json:"quantity"`
	UnitPrice json.Number `json:"unit_price"`
	Cost      json.Number `json:"cost"`
	// Currency is a three-letter ISO 4217 code, e.g. "USD".
	Currency string `json:"currency"`
	// AuthMethod labels the key or login, e.g. "Key 1" (with
	// ExpandAuthMethod).
	AuthMethod string `json:"auth_method,omitempty"`
}

// UnmarshalJSON reads a bucket with a tolerant time.
func (b *UsageBucket) UnmarshalJSON(data []byte) error {
	type plain UsageBucket
	aux := struct {
		*plain
		Bucket jsonTime `json:"bucket"`
	}{plain: (*plain)(b)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	b.Bucket = time.Time(aux.Bucket)
	return nil
}

// MarshalJSON writes fal's shape.
func (b UsageBucket) MarshalJSON() ([]byte, error) {
	type plain UsageBucket
	return json.Marshal(struct {
		plain
		Bucket jsonTime `json:"bucket"`
	}{plain(b), jsonTime(b.Bucket)})
}

var usageExpand = []string{ExpandTimeSeries, ExpandSummary, ExpandAuthMethod}

func (p UsageParams) window() window {
	return window{p.EndpointIDs, p.Start, p.End, p.Timezone, p.Timeframe, p.ExactRange, p.Expand, p.Limit}
}

type usagePage struct {
	pageInfo
	Usage
}

// Usage reports the workspace's billed usage (GET /v1/models/usage;
// needs an admin key). It reads every page and returns them merged: the
// time series and the summary in one value, since the summary is not a
// sequence and fal does not document how it is split across pages (see
// the package documentation). All pages together are bounded by the
// client's Limits.Body.
func (c *Client) Usage(ctx context.Context, p UsageParams) (*Usage, error) {
	const op = "usage"
	w := p.window()
	if err := w.check(op, 0, usageExpand); err != nil {
		return nil, err
	}
	if len(p.Expand) > 0 && !slices.Contains(p.Expand, ExpandTimeSeries) && !slices.Contains(p.Expand, ExpandSummary) {
		return nil, falerr.New("%s: Expand must include %s or %s (fal requires one of them)", op, ExpandTimeSeries, ExpandSummary)
	}
	out := &Usage{}
	var index map[int64]int
	var m merger[UsageLine]
	b := c.budget(op)
	err := walk(op, "", func(cursor string) (string, bool, error) {
		q := w.query()
		setString(q, "cursor", cursor)
		resp, err := c.send(ctx, &request{op: op, path: []string{"models", "usage"}, query: q, class: retry.Idempotent, admin: true})
		if err != nil {
			return "", false, err
		}
		if err := b.spend(len(resp.Body)); err != nil {
			return "", false, err
		}
		var page usagePage
		if err := decode(resp, &page, op, true); err != nil {
			return "", false, err
		}
		for _, bk := range page.TimeSeries {
			out.TimeSeries = mergeBucket(&index, out.TimeSeries, bk, bk.Bucket, func(to *UsageBucket) { to.Results = append(to.Results, bk.Results...) })
		}
		out.Summary = m.summary(out.Summary, page.Summary, func(l UsageLine) string {
			k, _ := json.Marshal(l)
			return string(k)
		})
		return page.next(), false, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mergeBucket adds a bucket of a page to a series: a bucket whose time
// came on an earlier page is merged into that one (a bucket split across
// pages); index maps bucket times to positions in the series.
func mergeBucket[B any](index *map[int64]int, series []B, bk B, t time.Time, merge func(*B)) []B {
	if *index == nil {
		*index = map[int64]int{}
	}
	k := t.UnixNano()
	if i, ok := (*index)[k]; ok {
		merge(&series[i])
		return series
	}
	(*index)[k] = len(series)
	return append(series, bk)
}

// merger merges the summaries of pages: a line equal to one of an earlier
// page is dropped (a summary repeated on every page), while the lines of
// one page are all kept.
type merger[L any] struct {
	seen map[string]bool // summary lines of earlier pages
}

func (m *merger[L]) summary(have, page []L, key func(L) string) []L {
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	var keys []string
	for _, l := range page {
		k := key(l)
		if m.seen[k] {
			continue
		}
		keys = append(keys, k)
		have = append(have, l)
	}
	for _, k := range keys {
		m.seen[k] = true
	}
	return have
}

// AnalyticsParams selects the request metrics Analytics reports.
type AnalyticsParams struct {
	// EndpointIDs names the endpoints: at least 1, at most 50.
	EndpointIDs []string
	// Start and End bound the range; End is exclusive. Zero values take
	// fal's defaults (the last 24 hours).
	Start, End time.Time
	// Timezone buckets by this zone (fal's default: UTC).
	Timezone string
	// Timeframe is the width of the buckets; empty lets fal choose.
	Timeframe Timeframe
	// ExactRange uses Start and End as given (bound_to_timeframe=false).
	ExactRange bool
	// Expand names the metrics to report, and the parts of the answer
	// (ExpandTimeSeries, ExpandSummary). The metrics fal documents:
	// request_count, success_count, user_error_count, error_count,
	// startup_error_count, connection_error_count, timeout_error_count,
	// runtime_error_count, cold_boot_count, total_billable_duration,
	// p25_duration, p50_duration, p75_duration, p90_duration,
	// p95_duration, p99_duration, p50_prepare_duration,
	// p75_prepare_duration, p90_prepare_duration, p95_prepare_duration,
	// p99_prepare_duration, p50_cold_boot_duration,
	// p75_cold_boot_duration, p90_cold_boot_duration. Durations are in
	// seconds.
	Expand []string
	// Limit is the page size (fal's default when 0).
	Limit int
}

// Analytics is the request metrics of a range, per bucket and summed.
type Analytics struct {
	TimeSeries []AnalyticsBucket `json:"time_series,omitempty"`
	Summary    []AnalyticsResult `json:"summary,omitempty"`
}

// AnalyticsBucket is the metrics of one time bucket.
type AnalyticsBucket struct {
	Bucket  time.Time         `json:"bucket"`
	Results []AnalyticsResult `json:"results"`
}

// UnmarshalJSON reads a bucket with a tolerant time.
func (b *AnalyticsBucket) UnmarshalJSON(data []byte) error {
	type plain AnalyticsBucket
	aux := struct {
		*plain
		Bucket jsonTime `json:"bucket"`
	}{plain: (*plain)(b)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	b.Bucket = time.Time(aux.Bucket)
	return nil
}

// MarshalJSON writes fal's shape.
func (b AnalyticsBucket) MarshalJSON() ([]byte, error) {
	type plain AnalyticsBucket
	return json.Marshal(struct {
		plain
		Bucket jsonTime `json:"bucket"`
	}{plain(b), jsonTime(b.Bucket)})
}

// AnalyticsResult is the metrics of one endpoint. Metrics holds every
// numeric field fal sent beside endpoint_id, by fal's name
// ("request_count", "p90_duration", ...); a metric fal sent as null is
// absent.
type AnalyticsResult struct {
	EndpointID string
	Metrics    map[string]float64
}

// UnmarshalJSON reads {"endpoint_id": ..., "<metric>": number, ...}.
func (r *AnalyticsResult) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	*r = AnalyticsResult{Metrics: map[string]float64{}}
	for k, raw := range fields {
		if k == "endpoint_id" {
			if err := json.Unmarshal(raw, &r.EndpointID); err != nil {
				return err
			}
			continue
		}
		if raw = bytes.TrimSpace(raw); len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
			continue // null, or not a metric
		}
		var v float64
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		r.Metrics[k] = v
	}
	return nil
}

// MarshalJSON writes fal's flat shape.
func (r AnalyticsResult) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(r.Metrics)+1)
	for k, v := range r.Metrics {
		m[k] = v
	}
	m["endpoint_id"] = r.EndpointID
	return json.Marshal(m)
}

var analyticsExpand = append([]string{ExpandTimeSeries, ExpandSummary}, analyticsMetrics...)

type analyticsPage struct {
	pageInfo
	Analytics
}

// Analytics reports request counts, errors and latency percentiles of
// endpoints (GET /v1/models/analytics; needs an admin key). Like Usage,
// it reads every page and returns them merged.
func (c *Client) Analytics(ctx context.Context, p AnalyticsParams) (*Analytics, error) {
	const op = "analytics"
	w := window{p.EndpointIDs, p.Start, p.End, p.Timezone, p.Timeframe, p.ExactRange, p.Expand, p.Limit}
	if err := w.check(op, 1, analyticsExpand); err != nil {
		return nil, err
	}
	out := &Analytics{}
	var index map[int64]int
	var m merger[AnalyticsResult]
	b := c.budget(op)
	err := walk(op, "", func(cursor string) (string, bool, error) {
		q := w.query()
		setString(q, "cursor", cursor)
		resp, err := c.send(ctx, &request{op: op, path: []string{"models", "analytics"}, query: q, class: retry.Idempotent, admin: true})
		if err != nil {
			return "", false, err
		}
		if err := b.spend(len(resp.Body)); err != nil {
			return "", false, err
		}
		var page analyticsPage
		if err := decode(resp, &page, op, true); err != nil {
			return "", false, err
		}
		for _, bk := range page.TimeSeries {
			out.TimeSeries = mergeBucket(&index, out.TimeSeries, bk, bk.Bucket, func(to *AnalyticsBucket) { to.Results = append(to.Results, bk.Results...) })
		}
		out.Summary = m.summary(out.Summary, page.Summary, func(r AnalyticsResult) string {
			k, _ := json.Marshal(r)
			return string(k)
		})
		return page.next(), false, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
