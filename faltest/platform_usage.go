package faltest

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Usage (GET /api/v1/models/usage) and analytics (GET
// /api/v1/models/analytics), aggregated from the request history: finished
// requests, bucketed by when they ended, in UTC.

// timeframes fal aggregates by.
var timeframes = []string{"minute", "hour", "day", "week", "month"}

// autoTimeframe picks the timeframe for a range as fal documents it:
// minute (<2h), hour (<2d), day (<64d), week (<183d), month otherwise.
func autoTimeframe(span time.Duration) string {
	switch {
	case span < 2*time.Hour:
		return "minute"
	case span < 48*time.Hour:
		return "hour"
	case span < 64*24*time.Hour:
		return "day"
	case span < 183*24*time.Hour:
		return "week"
	}
	return "month"
}

// bucketStart truncates t (UTC) to the start of its timeframe; weeks
// start on Monday.
func bucketStart(t time.Time, tf string) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	switch tf {
	case "minute":
		return t.Truncate(time.Minute)
	case "hour":
		return t.Truncate(time.Hour)
	case "day":
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case "week":
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		return day.AddDate(0, 0, -back)
	default: // month
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
}

// nextBucket is the start of the bucket after the one starting at b.
func nextBucket(b time.Time, tf string) time.Time {
	switch tf {
	case "minute":
		return b.Add(time.Minute)
	case "hour":
		return b.Add(time.Hour)
	case "day":
		return b.AddDate(0, 0, 1)
	case "week":
		return b.AddDate(0, 0, 7)
	default:
		return b.AddDate(0, 1, 0)
	}
}

// formatBucket is a bucket's label: ISO 8601 with the UTC offset.
func formatBucket(b time.Time) string { return b.UTC().Format("2006-01-02T15:04:05-07:00") }

// aggWindow is the parsed time window of usage and analytics.
type aggWindow struct {
	start, end time.Time
	timeframe  string
}

// window reads start, end, timezone, timeframe and bound_to_timeframe.
func (p *platformCall) window(q url.Values) (aggWindow, bool) {
	var w aggWindow
	if !p.checkTimezone(q) {
		return w, false
	}
	start, end, ok := p.timeRange(q, 24*time.Hour)
	if !ok {
		return w, false
	}
	tf := q.Get("timeframe")
	if tf == "" {
		tf = autoTimeframe(end.Sub(start))
	} else if !contains(timeframes, tf) {
		p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("timeframe %q: use minute, hour, day, week or month (or leave it out to pick one from the range)", tf))
		return w, false
	}
	bound := true
	switch v := q.Get("bound_to_timeframe"); v {
	case "", "true":
	case "false":
		bound = false
	default:
		p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("bound_to_timeframe %q: use true or false", v))
		return w, false
	}
	if bound {
		start = bucketStart(start, tf)
		if b := bucketStart(end, tf); !b.Equal(end) {
			end = nextBucket(b, tf)
		}
	}
	return aggWindow{start: start, end: end, timeframe: tf}, true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// finished returns the finished records in the window whose app is in
// apps (all apps if apps is empty) and, if keyIDs is not empty, whose key
// is one of keyIDs, as copies.
func (s *Server) finished(w aggWindow, apps, keyIDs []string) []record {
	wantApp := map[string]bool{}
	for _, a := range apps {
		wantApp[a] = true
	}
	wantKey := map[string]bool{}
	for _, k := range keyIDs {
		wantKey[k] = true
	}
	h := &s.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []record
	for _, r := range h.recs {
		if r.ended.IsZero() || r.ended.Before(w.start) || !r.ended.Before(w.end) {
			continue
		}
		if len(wantApp) > 0 && !wantApp[r.app] {
			continue
		}
		if len(wantKey) > 0 && !wantKey[r.keyID] {
			continue
		}
		c := *r
		c.input, c.output = nil, nil
		out = append(out, c)
	}
	return out
}

// usageKey groups usage lines: billed at one unit price, with one key.
type usageKey struct {
	app, unit string
	price     float64
	auth      string // key id, when auth_method is expanded
}

type usageLine struct {
	usageKey
	label    string
	quantity float64
	cost     nanoUSD
}

// handleUsage serves GET /api/v1/models/usage (admin).
func (s *Server) handleUsage(w http.ResponseWriter, r *http.Request, p *platformCall) {
	q := r.URL.Query()
	ids, ok := p.endpointIDs(q, false)
	if !ok {
		return
	}
	keyIDs, ok := p.idList(q, "api_key_id", false)
	if !ok {
		return
	}
	exp, ok := p.expand(q, []string{"time_series", "summary", "auth_method", "auth_method_structured"}, []string{"time_series"})
	if !ok {
		return
	}
	if !exp["time_series"] && !exp["summary"] {
		p.fail(http.StatusBadRequest, "validation_error", "expand must include time_series or summary (or both)")
		return
	}
	limit, page, ok := p.paging(q, 100, 1000)
	if !ok {
		return
	}
	win, ok := p.window(q)
	if !ok {
		return
	}
	byAuth := exp["auth_method"] || exp["auth_method_structured"]
	recs := s.finished(win, ids, keyIDs)

	s.writeAggregate(w, win, recs, exp, limit, page, func(recs []record) any { return usageRows(recs, byAuth, exp) })
}

// usageRows groups records into usage lines.
func usageRows(recs []record, byAuth bool, exp map[string]bool) []obj {
	idx := map[usageKey]int{}
	var lines []usageLine
	for _, rec := range recs {
		k := usageKey{app: rec.app, unit: rec.unit, price: rec.unitPrice}
		if byAuth {
			k.auth = rec.keyID
		}
		i, ok := idx[k]
		if !ok {
			i = len(lines)
			idx[k] = i
			lines = append(lines, usageLine{usageKey: k, label: rec.authLabel})
		}
		lines[i].quantity += rec.units
		lines[i].cost += rec.cost
	}
	sort.SliceStable(lines, func(i, j int) bool {
		a, b := lines[i], lines[j]
		if a.app != b.app {
			return a.app < b.app
		}
		if a.auth != b.auth {
			return a.auth < b.auth
		}
		return a.price < b.price
	})
	out := make([]obj, 0, len(lines))
	for _, l := range lines {
		o := obj{
			{"endpoint_id", l.app},
			{"unit", l.unit},
			{"quantity", roundUnits(l.quantity)},
			{"unit_price", l.price},
			{"percent_discount", nil},
			{"cost_subtotal", l.cost.usd()},
			{"cost_discount", 0.0},
			{"cost_total", l.cost.usd()},
			{"cost", l.cost.usd()},
			{"currency", "USD"},
		}
		if exp["auth_method"] {
			o.set("auth_method", l.label)
		}
		if exp["auth_method_structured"] {
			st := obj{{"detail", l.label}}
			if l.auth != "" {
				st.set("api_key_id", l.auth)
			}
			o.set("auth_method_structured", st)
		}
		out = append(out, o)
	}
	return out
}

// roundUnits drops the float noise of summing fractional units.
func roundUnits(u float64) float64 { return math.Round(u*1e9) / 1e9 }

// writeAggregate answers usage or analytics: time_series (buckets with
// rows, paginated by bucket) and/or summary (rows over the whole window).
func (s *Server) writeAggregate(w http.ResponseWriter, win aggWindow, recs []record, exp map[string]bool, limit, page int, rows func([]record) any) {
	out := obj{}
	var next *string
	if exp["time_series"] {
		byBucket := map[time.Time][]record{}
		for _, rec := range recs {
			b := bucketStart(rec.ended, win.timeframe)
			byBucket[b] = append(byBucket[b], rec)
		}
		buckets := make([]time.Time, 0, len(byBucket))
		for b := range byBucket {
			buckets = append(buckets, b)
		}
		sort.Slice(buckets, func(i, j int) bool { return buckets[i].Before(buckets[j]) })
		var items []time.Time
		items, next = pageOf(buckets, limit, page)
		series := make([]obj, 0, len(items))
		for _, b := range items {
			series = append(series, obj{{"bucket", formatBucket(b)}, {"results", rows(byBucket[b])}})
		}
		out.set("time_series", series)
	}
	if exp["summary"] {
		out.set("summary", rows(recs))
	}
	out.set("next_cursor", next)
	out.set("has_more", next != nil)
	writeJSON(w, http.StatusOK, out)
}

// Analytics metrics, as fal's expand values name them.
var (
	countMetrics = []string{"request_count", "success_count", "user_error_count", "error_count",
		"startup_error_count", "connection_error_count", "timeout_error_count", "runtime_error_count", "cold_boot_count"}
	prepareMetrics  = []string{"p50_prepare_duration", "p75_prepare_duration", "p90_prepare_duration", "p95_prepare_duration", "p99_prepare_duration"}
	durationMetrics = []string{"p25_duration", "p50_duration", "p75_duration", "p90_duration", "p95_duration", "p99_duration"}
	coldMetrics     = []string{"p50_cold_boot_duration", "p75_cold_boot_duration", "p90_cold_boot_duration"}
	allMetrics      = concat(countMetrics, prepareMetrics, durationMetrics, coldMetrics, []string{"total_billable_duration"})
)

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// handleAnalytics serves GET /api/v1/models/analytics.
func (s *Server) handleAnalytics(w http.ResponseWriter, r *http.Request, p *platformCall) {
	q := r.URL.Query()
	ids, ok := p.endpointIDs(q, true)
	if !ok {
		return
	}
	exp, ok := p.expand(q, concat([]string{"time_series", "summary"}, allMetrics), []string{"time_series", "request_count"})
	if !ok {
		return
	}
	if !exp["time_series"] && !exp["summary"] {
		p.fail(http.StatusBadRequest, "validation_error", "expand must include time_series or summary (or both), and at least one metric")
		return
	}
	var metrics []string
	for _, m := range allMetrics {
		if exp[m] {
			metrics = append(metrics, m)
		}
	}
	if len(metrics) == 0 {
		p.fail(http.StatusBadRequest, "validation_error", "expand names no metric: add one or more of request_count, success_count, user_error_count, error_count, p50_duration, p50_prepare_duration, ...")
		return
	}
	limit, page, ok := p.paging(q, 100, 1000)
	if !ok {
		return
	}
	win, ok := p.window(q)
	if !ok {
		return
	}
	recs := s.finished(win, ids, nil)
	s.writeAggregate(w, win, recs, exp, limit, page, func(recs []record) any { return analyticsRows(recs, metrics) })
}

// analyticsRows computes the metrics per endpoint.
func analyticsRows(recs []record, metrics []string) []obj {
	byApp := map[string][]record{}
	for _, r := range recs {
		byApp[r.app] = append(byApp[r.app], r)
	}
	out := make([]obj, 0, len(byApp))
	for _, app := range sortedKeys(byApp) {
		rs := byApp[app]
		row := obj{{"endpoint_id", app}}
		var prepare, run, cold []float64
		counts := map[string]int{}
		for _, r := range rs {
			counts["request_count"]++
			switch statusClass(r.status) {
			case "success":
				counts["success_count"]++
			case "user_error":
				counts["user_error_count"]++
			case "error":
				counts["error_count"]++
				if r.errorType == timeoutType {
					counts["timeout_error_count"]++
				} else {
					counts["runtime_error_count"]++
				}
			}
			if r.cold {
				counts["cold_boot_count"]++
				cold = append(cold, r.coldTime.Seconds())
			}
			if !r.started.IsZero() {
				prepare = append(prepare, r.started.Sub(r.sent).Seconds())
				run = append(run, r.ended.Sub(r.started).Seconds())
			}
		}
		for _, m := range metrics {
			switch {
			case contains(countMetrics, m):
				row.set(m, counts[m])
			case contains(prepareMetrics, m):
				row.set(m, percentile(prepare, m))
			case contains(durationMetrics, m):
				row.set(m, percentile(run, m))
			case contains(coldMetrics, m):
				row.set(m, percentile(cold, m))
			case m == "total_billable_duration":
				var sum float64
				for _, d := range run {
					sum += d
				}
				row.set(m, sum)
			}
		}
		out = append(out, row)
	}
	return out
}

// percentile is the nearest-rank percentile named by a metric ("p90_...")
// of vals, or null when there are none.
func percentile(vals []float64, metric string) any {
	if len(vals) == 0 {
		return nil
	}
	num, _, _ := strings.Cut(strings.TrimPrefix(metric, "p"), "_")
	pct, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return nil
	}
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	i := int(math.Ceil(pct/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
