package faltest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
)

// byEndpoint lists an app's requests through the Platform API.
func byEndpoint(t *testing.T, srv *faltest.Server, query string) []any {
	t.Helper()
	m := apiOK(t, srv, "GET", "/models/requests/by-endpoint?"+query, "", "", 200)
	return list(t, m, "items")
}

// parseTime reads a Platform API timestamp.
func parseTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("timestamp %v is not a string", v)
	}
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("timestamp %q: %v", s, err)
	}
	return tm
}

// streamAll posts to a stream endpoint and reads the whole answer.
func streamAll(t *testing.T, srv *faltest.Server, app, input string, headerPairs ...string) (*http.Response, string) {
	t.Helper()
	resp, err := send(srv, "POST", "/run/"+app+"/stream", input, headerPairs...)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestHistoryRecordsEveryEntryPoint(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	runR := runApp(t, srv, "falgo/echo", `{"via":"run"}`)
	sub := submit(t, srv, "falgo/echo", `{"via":"queue"}`)
	waitStatus(t, srv, sub, "", "completion", isCompleted)
	_, body := streamAll(t, srv, "falgo/echo", `{"via":"stream","_events":[1,2]}`)
	if !strings.Contains(body, "data: 2") {
		t.Fatalf("stream: %q", body)
	}

	items := byEndpoint(t, srv, "endpoint_id=falgo/echo&expand=payloads")
	if len(items) != 3 {
		t.Fatalf("%d items, want 3: %v", len(items), items)
	}
	vias := map[string]map[string]any{}
	for _, it := range items {
		m := it.(map[string]any)
		vias[fmt.Sprint(dig(t, m, "json_input", "via"))] = m
		sent, started, ended := parseTime(t, m["sent_at"]), parseTime(t, m["started_at"]), parseTime(t, m["ended_at"])
		if started.Before(sent) || ended.Before(started) {
			t.Errorf("times out of order: sent %v started %v ended %v", sent, started, ended)
		}
		if d := m["duration"].(float64); d < 0 || d > ended.Sub(sent).Seconds()+0.001 {
			t.Errorf("duration %v for sent %v ended %v", d, sent, ended)
		}
		if m["status_code"] != 200.0 || m["endpoint_id"] != "falgo/echo" || m["runner_id"] == nil {
			t.Errorf("item %v", m)
		}
	}
	if got := dig(t, vias["run"], "request_id"); got != runR.header.Get("x-fal-request-id") {
		t.Errorf("run request_id %v, want the x-fal-request-id %q", got, runR.header.Get("x-fal-request-id"))
	}
	if got := dig(t, vias["queue"], "request_id"); got != sub["request_id"] {
		t.Errorf("queue request_id %v, want %v", got, sub["request_id"])
	}
	if got := dig(t, vias["queue"], "json_output", "via"); got != "queue" {
		t.Errorf("queue output %v", got)
	}
	if _, ok := vias["stream"]; !ok {
		t.Errorf("no stream request in %v", items)
	}
	// Without expand=payloads there are no payload fields.
	for _, it := range byEndpoint(t, srv, "endpoint_id=falgo/echo") {
		if _, ok := it.(map[string]any)["json_input"]; ok {
			t.Errorf("payloads without expand=payloads: %v", it)
		}
	}
	modes := map[string]int{}
	for _, r := range srv.History("falgo/echo") {
		modes[r.Mode]++
	}
	if modes["run"] != 1 || modes["queue"] != 1 || modes["stream"] != 1 {
		t.Errorf("modes %v", modes)
	}
}

func TestHistoryRealtimeAndQueuedRequests(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("me/gate", g.handler, faltest.Concurrency(1)))
	first := submit(t, srv, "me/gate", `{"n":1}`)
	recv(t, g.started, "the first request to start")
	second := submit(t, srv, "me/gate", `{"n":2}`)

	// A queued request is listed at once, without start or end.
	items := byEndpoint(t, srv, "endpoint_id=me/gate")
	if len(items) != 2 {
		t.Fatalf("items %v", items)
	}
	// Newest first by end time: both are unfinished, so by arrival.
	if dig(t, items[0], "request_id") != second["request_id"] || dig(t, items[1], "request_id") != first["request_id"] {
		t.Errorf("order %v", ids(t, items, "request_id"))
	}
	q := items[0].(map[string]any)
	if q["started_at"] != nil || q["ended_at"] != nil || q["status_code"] != nil || q["duration"] != nil {
		t.Errorf("queued item %v", q)
	}
	if r := items[1].(map[string]any); r["started_at"] == nil || r["ended_at"] != nil {
		t.Errorf("running item %v", r)
	}
	g.release <- struct{}{}
	g.release <- struct{}{}
	waitStatus(t, srv, second, "", "completion", isCompleted)
	for _, r := range srv.History("me/gate") {
		if r.StatusCode != 200 || r.EndedAt.IsZero() {
			t.Errorf("record %+v", r)
		}
	}
}

func TestStoreIO(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	runApp(t, srv, "falgo/echo", `{"secret":1}`, "X-Fal-Store-IO", "0")
	sub := submit(t, srv, "falgo/echo", `{"secret":2}`, "X-Fal-Store-IO", "0")
	waitStatus(t, srv, sub, "", "completion", isCompleted)
	runApp(t, srv, "falgo/echo", `{"kept":3}`, "X-Fal-Store-IO", "1")
	for _, it := range byEndpoint(t, srv, "endpoint_id=falgo/echo&expand=payloads") {
		m := it.(map[string]any)
		in, out := m["json_input"], m["json_output"]
		if strings.Contains(fmt.Sprint(in), "kept") {
			if dig(t, out, "kept") != 3.0 {
				t.Errorf("stored output %v", out)
			}
			continue
		}
		if in != nil || out != nil {
			t.Errorf("X-Fal-Store-IO: 0 request kept its payloads: %v", m)
		}
	}
	h := srv.History("falgo/echo")
	if len(h) != 3 {
		t.Fatalf("history %v", h)
	}
	for _, r := range h[:2] {
		if r.PayloadsStored || r.Input != nil || r.Output != nil {
			t.Errorf("record %+v", r)
		}
		if r.BillableUnits != 1 {
			t.Errorf("an unstored request is still billed: %+v", r)
		}
	}
	r := runApp(t, srv, "falgo/echo", `{}`, "X-Fal-Store-IO", "maybe")
	if r.code != 422 || !strings.Contains(string(r.body), "x-fal-store-io") {
		t.Errorf("bad X-Fal-Store-IO: %d %s", r.code, r.body)
	}
}

func TestRequestsByEndpointFilters(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	ok1 := runApp(t, srv, "falgo/echo", `{"n":1}`)
	user := runApp(t, srv, "falgo/echo", `{"_error":{"status":422,"detail":"bad"}}`)
	server := runApp(t, srv, "falgo/echo", `{"_error":{"status":503,"detail":"down"}}`)
	runApp(t, srv, "falgo/echo", `{"n":2}`)
	runApp(t, srv, "fal-ai/any-llm", `{"prompt":"hi"}`)
	rid := func(r reply) string { return r.header.Get("x-fal-request-id") }

	only := func(query string, want ...string) {
		t.Helper()
		got := ids(t, byEndpoint(t, srv, query), "request_id")
		sort.Strings(got)
		sort.Strings(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", query, got, want)
		}
	}
	only("endpoint_id=falgo/echo&status=user_error", rid(user))
	only("endpoint_id=falgo/echo&status=error", rid(server))
	only("endpoint_id=falgo/echo&request_id="+rid(ok1), rid(ok1))
	if n := len(byEndpoint(t, srv, "endpoint_id=falgo/echo&status=success")); n != 2 {
		t.Errorf("%d successes, want 2", n)
	}
	if n := len(byEndpoint(t, srv, "endpoint_id=falgo/echo,fal-ai/any-llm")); n != 5 {
		t.Errorf("%d requests for two endpoints, want 5", n)
	}
	if n := len(byEndpoint(t, srv, "endpoint_id=me/none")); n != 0 {
		t.Errorf("%d requests for an unknown endpoint", n)
	}

	// The time window: end is exclusive, start inclusive, by sent_at.
	h := srv.History("falgo/echo")
	third := h[2].SentAt.UTC().Format(time.RFC3339Nano)
	before := byEndpoint(t, srv, "endpoint_id=falgo/echo&end="+url.QueryEscape(third))
	from := byEndpoint(t, srv, "endpoint_id=falgo/echo&start="+url.QueryEscape(third))
	if len(before)+len(from) != 4 || len(from) < 2 {
		t.Errorf("before %d + from %d, want 4 in all", len(before), len(from))
	}
	if n := len(byEndpoint(t, srv, "endpoint_id=falgo/echo&start=2001-01-01&end=2001-01-02")); n != 0 {
		t.Errorf("%d requests in 2001", n)
	}

	// Sorting: by end time, newest first (the default), or by duration,
	// longest first, each consistent with the times reported.
	items := byEndpoint(t, srv, "endpoint_id=falgo/echo")
	for i := 1; i < len(items); i++ {
		if parseTime(t, dig(t, items[i-1], "ended_at")).Before(parseTime(t, dig(t, items[i], "ended_at"))) {
			t.Errorf("not newest first: %v", ids(t, items, "ended_at"))
		}
	}
	if got := dig(t, items[0], "request_id"); got != h[3].RequestID {
		t.Errorf("the newest is %v, want %v", got, h[3].RequestID)
	}
	items = byEndpoint(t, srv, "endpoint_id=falgo/echo&sort_by=duration")
	for i := 1; i < len(items); i++ {
		if dig(t, items[i-1], "duration").(float64) < dig(t, items[i], "duration").(float64) {
			t.Errorf("not longest first: %v", ids(t, items, "duration"))
		}
	}

	// Pagination follows next_cursor to the end, each item once.
	var seen []string
	path := "/models/requests/by-endpoint?endpoint_id=falgo/echo&limit=3"
	for {
		m := apiOK(t, srv, "GET", path, "", "", 200)
		seen = append(seen, ids(t, list(t, m, "items"), "request_id")...)
		next, _ := m["next_cursor"].(string)
		if next == "" {
			break
		}
		path = "/models/requests/by-endpoint?endpoint_id=falgo/echo&limit=3&cursor=" + url.QueryEscape(next)
	}
	if len(seen) != 4 {
		t.Errorf("pages gave %v", seen)
	}

	for _, c := range []struct{ query, msg string }{
		{"", "endpoint_id is required"},
		{"endpoint_id=falgo/echo&limit=101", "1 to 100"},
		{"endpoint_id=falgo/echo&status=failed", "user_error"},
		{"endpoint_id=falgo/echo&sort_by=started_at", "duration"},
		{"endpoint_id=falgo/echo&expand=logs", "payloads"},
		{"endpoint_id=falgo/echo&start=yesterday", "ISO 8601"},
		{"endpoint_id=falgo/echo&start=2025-02-01&end=2025-01-01", "before end"},
	} {
		platformError(t, api(t, srv, "GET", "/models/requests/by-endpoint?"+c.query, "", ""), 400, "validation_error", c.msg)
	}
}

func TestDeletePayloads(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0), faltest.WithAPIKey("kid:secret"))
	r := runApp(t, srv, "fal-ai/flux/schnell", `{"prompt":"a fox","image_size":"square","num_images":2}`)
	if r.code != 200 {
		t.Fatalf("run: %d %s", r.code, r.body)
	}
	id := r.header.Get("x-fal-request-id")
	var out struct {
		Images []struct{ URL string } `json:"images"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil || len(out.Images) != 2 {
		t.Fatalf("output %s", r.body)
	}
	if got := call(t, srv, "GET", out.Images[0].URL, ""); got.code != 200 {
		t.Fatalf("image before: %d", got.code)
	}
	platformError(t, api(t, srv, "DELETE", "/models/requests/"+id+"/payloads", "", "kid:secret"), 403, "authorization_error", "needs an admin key")

	del := func(key string) reply {
		return call(t, srv, "DELETE", "/api/v1/models/requests/"+id+"/payloads", "", "Idempotency-Key", key)
	}
	first := del("k1")
	if first.code != 200 {
		t.Fatalf("delete: %d %s", first.code, first.body)
	}
	res := list(t, first.json(t), "cdn_delete_results")
	if len(res) != 2 {
		t.Fatalf("results %v", res)
	}
	for i, e := range res {
		if dig(t, e, "link") != out.Images[i].URL || dig(t, e, "exception") != nil {
			t.Errorf("result %v, want link %s and exception null", e, out.Images[i].URL)
		}
	}
	for _, img := range out.Images {
		if got := call(t, srv, "GET", img.URL, ""); got.code != 404 {
			t.Errorf("image after delete: %d", got.code)
		}
	}
	item := byEndpoint(t, srv, "endpoint_id=fal-ai/flux/schnell&expand=payloads")[0].(map[string]any)
	if item["json_input"] != nil || item["json_output"] != nil {
		t.Errorf("payloads still listed: %v", item)
	}
	if h := srv.History("fal-ai/flux/schnell")[0]; h.Input != nil || h.Output != nil {
		t.Errorf("history still holds payloads: %+v", h)
	}
	// The same Idempotency-Key replays the first answer; without one, the
	// deletion runs again and finds nothing left.
	if again := del("k1"); again.code != 200 || string(again.body) != string(first.body) {
		t.Errorf("replay: %d %s, want the first answer %s", again.code, again.body, first.body)
	}
	plain := apiOK(t, srv, "DELETE", "/models/requests/"+id+"/payloads", "", "", 200)
	if n := len(list(t, plain, "cdn_delete_results")); n != 0 {
		t.Errorf("second deletion: %v", plain)
	}
	other := runApp(t, srv, "falgo/echo", `{}`)
	reuse := call(t, srv, "DELETE", "/api/v1/models/requests/"+other.header.Get("x-fal-request-id")+"/payloads", "", "Idempotency-Key", "k1")
	platformError(t, reuse, 400, "validation_error", "Idempotency-Key", id)
	platformError(t, api(t, srv, "DELETE", "/models/requests/00000000-0000-4000-8000-000000000000/payloads", "", ""), 404, "not_found")
}

func TestBillableUnitsHeader(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0),
		faltest.WithApp("me/metered", func(_ context.Context, req *faltest.Request) (any, error) {
			req.SetBillableUnits(7.5)
			if strings.Contains(string(req.Input), "fail") {
				return nil, faltest.ValidationError("x", "refused after some work")
			}
			return map[string]int{"ok": 1}, nil
		}, faltest.Price(0.01, "seconds")))
	units := func(r reply) string { t.Helper(); return r.header.Get("X-Fal-Billable-Units") }
	for _, c := range []struct{ app, in, want string }{
		// Megapixels of 1024×1024 pixels, each image's rounded up: 64×64 and
		// 1024×768 bill 1, 2048×1024 bills 2, 1500×1000 (1.43) bills 2.
		{"fal-ai/flux/schnell", `{"prompt":"p","num_images":3,"image_size":{"width":64,"height":64}}`, "3"},
		{"fal-ai/flux/dev", `{"prompt":"p"}`, "1"},
		{"fal-ai/flux/dev", `{"prompt":"p","num_images":2,"image_size":{"width":2048,"height":1024}}`, "4"},
		{"fal-ai/flux/dev", `{"prompt":"p","image_size":{"width":1500,"height":1000}}`, "2"},
		{"fal-ai/fast-sdxl", `{"prompt":"p","num_images":5,"image_size":{"width":8,"height":8}}`, "5"},
		{"falgo/echo", `{}`, "1"},
		{"falgo/echo", `{"_billable_units":0.25}`, "0.25"},
		{"falgo/echo", `{"_error":{"status":400,"detail":"no"}}`, "0"},
		{"falgo/echo", `{"_error":{"status":500,"detail":"no"},"_billable_units":3}`, "0"},
		{"me/metered", `{}`, "7.5"},
		{"me/metered", `{"fail":1}`, "7.5"},
		{"fal-ai/flux/schnell", `{"prompt":""}`, "0"},
	} {
		if got := units(runApp(t, srv, c.app, c.in)); got != c.want {
			t.Errorf("run %s %s: X-Fal-Billable-Units %q, want %q", c.app, c.in, got, c.want)
		}
	}
	// The queue result carries it.
	sub := submit(t, srv, "fal-ai/flux/schnell", `{"prompt":"p","num_images":2,"image_size":"square"}`)
	waitStatus(t, srv, sub, "", "completion", isCompleted)
	if got := units(call(t, srv, "GET", sub["response_url"].(string), "")); got != "2" {
		t.Errorf("queue result: %q, want 2", got)
	}
	// A stream that started sends it as a trailer; one that failed before
	// its first event, as a header.
	resp, _ := streamAll(t, srv, "falgo/echo", `{"_events":[1],"_billable_units":4}`)
	if got := resp.Trailer.Get("X-Fal-Billable-Units"); got != "4" {
		t.Errorf("stream trailer %q (trailers %v)", got, resp.Trailer)
	}
	resp, _ = streamAll(t, srv, "falgo/echo", `{"_billable_units":2}`)
	if got := resp.Header.Get("X-Fal-Billable-Units"); got != "2" || len(resp.Trailer) != 0 {
		t.Errorf("stream whose only event is the output: header %q, trailers %v (want the header alone)", got, resp.Trailer)
	}
	resp, _ = streamAll(t, srv, "fal-ai/flux/schnell", `{}`)
	if resp.StatusCode != 422 || resp.Header.Get("X-Fal-Billable-Units") != "0" {
		t.Errorf("stream error: %d, units %q", resp.StatusCode, resp.Header.Get("X-Fal-Billable-Units"))
	}
	// What the headers said is what the history billed.
	for _, r := range srv.History("me/metered") {
		if r.BillableUnits != 7.5 || !near(r.Cost, 0.075) || r.Unit != "seconds" || r.UnitPrice != 0.01 {
			t.Errorf("record %+v", r)
		}
	}
}

func TestUsageAndCredits(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0), faltest.WithCredits(10), faltest.WithAPIKey("kid:secret"))
	if c := srv.Credits(); c != 10 {
		t.Fatalf("starting credits %v", c)
	}
	runApp(t, srv, "fal-ai/flux/schnell", `{"prompt":"p","num_images":2,"image_size":"square"}`)
	runApp(t, srv, "fal-ai/flux/dev", `{"prompt":"p","image_size":{"width":2048,"height":2048}}`)
	runApp(t, srv, "falgo/echo", `{"_billable_units":1.5}`)
	runApp(t, srv, "falgo/echo", `{}`, "Authorization", "Key kid:secret")
	runApp(t, srv, "falgo/echo", `{"_error":{"status":422,"detail":"x"}}`)
	sub := submit(t, srv, "fal-ai/any-llm", `{"prompt":"a question"}`)
	waitStatus(t, srv, sub, "", "completion", isCompleted)

	hist := srv.History("")
	type total struct {
		qty  float64
		cost float64
	}
	want := map[string]total{}
	var spent float64
	for _, r := range hist {
		tt := want[r.App]
		tt.qty += r.BillableUnits
		tt.cost += r.Cost
		want[r.App] = tt
		spent += r.Cost
	}
	if !near(want["fal-ai/flux/schnell"].cost, 2*0.003) || !near(want["fal-ai/flux/dev"].cost, 4*0.025) || !near(want["falgo/echo"].qty, 2.5) {
		t.Errorf("history totals %v", want)
	}
	if want["fal-ai/any-llm"].qty < 1 {
		t.Errorf("any-llm billed no tokens: %v", want)
	}

	// Credits went down by what the requests cost.
	if c := srv.Credits(); !near(c, 10-spent) {
		t.Errorf("credits %v, want %v", c, 10-spent)
	}
	bill := apiOK(t, srv, "GET", "/account/billing?expand=credits", "", "", 200)
	if b := dig(t, bill, "credits", "current_balance").(float64); !near(b, 10-spent) || dig(t, bill, "credits", "currency") != "USD" {
		t.Errorf("billing %v, want balance %v", bill, 10-spent)
	}
	if _, ok := apiOK(t, srv, "GET", "/account/billing", "", "", 200)["credits"]; ok {
		t.Error("credits without expand=credits")
	}

	// The usage summary holds the same figures.
	m := apiOK(t, srv, "GET", "/models/usage?expand=summary", "", "", 200)
	if _, ok := m["time_series"]; ok {
		t.Error("time_series without asking for it")
	}
	for _, row := range list(t, m, "summary") {
		app := dig(t, row, "endpoint_id").(string)
		q, cost := dig(t, row, "quantity").(float64), dig(t, row, "cost_total").(float64)
		if !near(q, want[app].qty) || !near(cost, want[app].cost) || !near(dig(t, row, "cost").(float64), cost) {
			t.Errorf("summary %s: quantity %v cost %v, want %v", app, q, cost, want[app])
		}
		if !near(dig(t, row, "cost_subtotal").(float64), cost) || dig(t, row, "cost_discount") != 0.0 || dig(t, row, "percent_discount") != nil || dig(t, row, "currency") != "USD" {
			t.Errorf("summary row %v", row)
		}
		delete(want, app)
	}
	if len(want) != 0 {
		t.Errorf("apps missing from the summary: %v", want)
	}

	// The time series buckets by minute: each bucket is the minute the
	// requests in it ended.
	m = apiOK(t, srv, "GET", "/models/usage?timeframe=minute&endpoint_id=falgo/echo", "", "", 200)
	buckets := map[string]float64{}
	for _, b := range list(t, m, "time_series") {
		for _, row := range list(t, b, "results") {
			buckets[dig(t, b, "bucket").(string)] += dig(t, row, "quantity").(float64)
		}
	}
	wantBuckets := map[string]float64{}
	for _, r := range srv.History("falgo/echo") {
		wantBuckets[r.EndedAt.UTC().Truncate(time.Minute).Format("2006-01-02T15:04:05-07:00")] += r.BillableUnits
	}
	if fmt.Sprint(buckets) != fmt.Sprint(wantBuckets) {
		t.Errorf("buckets %v, want %v", buckets, wantBuckets)
	}
	// A day bucket starts at midnight UTC.
	m = apiOK(t, srv, "GET", "/models/usage?timeframe=day&endpoint_id=falgo/echo", "", "", 200)
	for _, b := range list(t, m, "time_series") {
		if s := dig(t, b, "bucket").(string); !strings.HasSuffix(s, "T00:00:00+00:00") {
			t.Errorf("day bucket %q", s)
		}
	}
	// expand=auth_method splits by key.
	m = apiOK(t, srv, "GET", "/models/usage?expand=summary,auth_method_structured,auth_method&endpoint_id=falgo/echo", "", "", 200)
	byKey := map[string]float64{}
	for _, row := range list(t, m, "summary") {
		byKey[fmt.Sprint(dig(t, row, "auth_method_structured", "api_key_id"))+"/"+fmt.Sprint(dig(t, row, "auth_method"))] += dig(t, row, "quantity").(float64)
	}
	if byKey["kid/api key 1"] != 1 || byKey["faltest/faltest default key"] != 1.5 {
		t.Errorf("usage by key %v", byKey)
	}
	m = apiOK(t, srv, "GET", "/models/usage?expand=summary&api_key_id=kid", "", "", 200)
	if rows := list(t, m, "summary"); len(rows) != 1 || dig(t, rows[0], "quantity") != 1.0 {
		t.Errorf("usage of key kid: %v", rows)
	}
	// A window before the requests is empty.
	m = apiOK(t, srv, "GET", "/models/usage?expand=summary&start=2020-01-01&end=2020-01-02", "", "", 200)
	if rows := list(t, m, "summary"); len(rows) != 0 {
		t.Errorf("usage in 2020: %v", rows)
	}

	for _, c := range []struct{ query, msg string }{
		{"timeframe=fortnight", "minute, hour, day, week or month"},
		{"timezone=Europe/Paris", "UTC"},
		{"expand=auth_method", "time_series or summary"},
		{"expand=costs", "unknown value"},
		{"bound_to_timeframe=maybe", "true or false"},
		{"start=2025-02-01&end=2025-01-01", "before end"},
	} {
		platformError(t, api(t, srv, "GET", "/models/usage?"+c.query, "", ""), 400, "validation_error", c.msg)
	}
	platformError(t, api(t, srv, "GET", "/models/usage", "", "kid:secret"), 403, "authorization_error", "needs an admin key")
	platformError(t, api(t, srv, "GET", "/account/billing?expand=credits", "", "kid:secret"), 403, "authorization_error", "needs an admin key")
}

func TestAnalytics(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0), faltest.WithAPIKey("kid:secret"))
	runApp(t, srv, "falgo/echo", `{}`)
	runApp(t, srv, "falgo/echo", `{}`)
	runApp(t, srv, "falgo/echo", `{"_error":{"status":422,"detail":"x"}}`)
	runApp(t, srv, "falgo/echo", `{"_error":{"status":500,"detail":"x"}}`)
	runApp(t, srv, "fal-ai/any-llm", `{"prompt":"x"}`)

	m := apiOK(t, srv, "GET", "/models/analytics?endpoint_id=falgo/echo,fal-ai/any-llm&expand=summary&expand=request_count,success_count,user_error_count,error_count,runtime_error_count,p50_duration,p90_prepare_duration,total_billable_duration", "", "kid:secret", 200)
	rows := list(t, m, "summary")
	if len(rows) != 2 || dig(t, rows[1], "endpoint_id") != "falgo/echo" {
		t.Fatalf("rows %v", rows)
	}
	echo := rows[1].(map[string]any)
	for k, want := range map[string]float64{"request_count": 4, "success_count": 2, "user_error_count": 1, "error_count": 1, "runtime_error_count": 1} {
		if echo[k] != want {
			t.Errorf("%s = %v, want %v", k, echo[k], want)
		}
	}
	var maxRun float64
	for _, r := range srv.History("falgo/echo") {
		maxRun = max(maxRun, r.EndedAt.Sub(r.StartedAt).Seconds())
	}
	if d, ok := echo["p50_duration"].(float64); !ok || d < 0 || d > maxRun {
		t.Errorf("p50_duration %v (longest run %v)", echo["p50_duration"], maxRun)
	}
	if _, ok := echo["p90_prepare_duration"].(float64); !ok {
		t.Errorf("p90_prepare_duration %v", echo["p90_prepare_duration"])
	}
	if _, ok := echo["cold_boot_count"]; ok {
		t.Error("a metric that was not asked for")
	}
	// The default: time_series with request_count.
	m = apiOK(t, srv, "GET", "/models/analytics?endpoint_id=falgo/echo", "", "", 200)
	var n float64
	for _, b := range list(t, m, "time_series") {
		n += dig(t, b, "results", 0, "request_count").(float64)
	}
	if n != 4 {
		t.Errorf("request_count over the time series %v", n)
	}
	platformError(t, api(t, srv, "GET", "/models/analytics", "", ""), 400, "validation_error", "endpoint_id is required")
	platformError(t, api(t, srv, "GET", "/models/analytics?endpoint_id=falgo/echo&expand=summary", "", ""), 400, "validation_error", "metric")
	platformError(t, api(t, srv, "GET", "/models/analytics?endpoint_id=falgo/echo&expand=p42_duration", "", ""), 400, "validation_error", "unknown value")
}

// Cold starts and start timeouts show in the analytics.
func TestAnalyticsColdStartsAndTimeouts(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("me/cold", g.handler, faltest.Concurrency(1), faltest.StartupDelay(time.Millisecond)))
	sub := submit(t, srv, "me/cold", `{}`)
	recv(t, g.started, "the first request to start")
	timed := submit(t, srv, "me/cold", `{}`, "X-Fal-Request-Timeout", "0.001")
	waitStatus(t, srv, timed, "", "the start timeout", isCompleted)
	g.release <- struct{}{}
	waitStatus(t, srv, sub, "", "completion", isCompleted)
	m := apiOK(t, srv, "GET", "/models/analytics?endpoint_id=me/cold&expand=summary,cold_boot_count,timeout_error_count,p50_cold_boot_duration,error_count", "", "", 200)
	row := dig(t, m, "summary", 0).(map[string]any)
	if row["cold_boot_count"] != 1.0 || row["timeout_error_count"] != 1.0 || row["error_count"] != 1.0 || row["p50_cold_boot_duration"] != 0.001 {
		t.Errorf("analytics %v", row)
	}
}

// Realtime messages are requests too: each one is recorded and billed.
func TestHistoryRecordsRealtime(t *testing.T) {
	e := newRtEnv(t)
	c := e.connect("test/echo", "")
	rtSend(t, c, map[string]int{"n": 1})
	rtOutput(t, c)
	kc, _, err := e.dial("test/strict", "", http.Header{"Authorization": {"Key " + e.srv.Key}})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.CloseNow()
	rtSend(t, kc, map[string]string{"nope": "x"})
	if m := rtNext(t, kc); m["type"] != "x-fal-error" {
		t.Fatalf("want a validation error, got %v", m)
	}
	echo := e.srv.History("test/echo")
	if len(echo) != 1 || echo[0].Mode != "realtime" || echo[0].StatusCode != 200 || echo[0].BillableUnits != 1 || echo[0].KeyID != "" {
		t.Fatalf("echo history %+v", echo)
	}
	if string(echo[0].Input) != `{"n":1}` {
		t.Errorf("input %s", echo[0].Input)
	}
	strict := e.srv.History("test/strict")
	if len(strict) != 1 || strict[0].StatusCode != 422 || strict[0].BillableUnits != 0 || strict[0].KeyID != "faltest" {
		t.Fatalf("strict history %+v", strict)
	}
	items := byEndpoint(t, e.srv, "endpoint_id=test/echo")
	if len(items) != 1 || dig(t, items[0], "request_id") != echo[0].RequestID {
		t.Errorf("listed %v", items)
	}
}
