package platform_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/platform"
)

// pagedModels answers GET /models with pages of models: page i (from 0)
// is asked for with cursor "c<i>" (none for the first), and all but the
// last carry the next cursor.
func pagedModels(pages int, perPage int) func(http.ResponseWriter, hit, int) {
	return func(w http.ResponseWriter, h hit, _ int) {
		i := 0
		if c := h.Query.Get("cursor"); c != "" {
			fmt.Sscanf(c, "c%d", &i)
		}
		var ms []string
		for j := range perPage {
			ms = append(ms, fmt.Sprintf(`{"endpoint_id":"owner/m%d-%d"}`, i, j))
		}
		next, more := "null", "false"
		if i < pages-1 {
			next, more = fmt.Sprintf(`"c%d"`, i+1), "true"
		}
		jsonAnswer(w, 200, `{"models":[`+strings.Join(ms, ",")+`],"next_cursor":`+next+`,"has_more":`+more+`}`)
	}
}

func TestCursorsAreFollowed(t *testing.T) {
	t.Parallel()
	api := newAPI(t, pagedModels(3, 2))
	c := newClient(t, api)
	ms, err := collect(c.Models(context.Background(), platform.ModelsParams{Category: "text-to-image", Limit: 2}))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.EndpointID)
	}
	if want := []string{"owner/m0-0", "owner/m0-1", "owner/m1-0", "owner/m1-1", "owner/m2-0", "owner/m2-1"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("models = %v", ids)
	}
	var cursors []string
	for _, h := range api.Hits() {
		cursors = append(cursors, h.Query.Get("cursor"))
		if h.Query.Get("category") != "text-to-image" || h.Query.Get("limit") != "2" {
			t.Errorf("page %q lost the parameters: %v", h.Query.Get("cursor"), h.Query)
		}
	}
	if want := []string{"", "c1", "c2"}; !reflect.DeepEqual(cursors, want) {
		t.Fatalf("cursors sent = %q, want %q", cursors, want)
	}
}

func TestStartCursor(t *testing.T) {
	t.Parallel()
	api := newAPI(t, pagedModels(3, 1))
	ms, err := collect(newClient(t, api).Models(context.Background(), platform.ModelsParams{Cursor: "c2"}))
	if err != nil || len(ms) != 1 || ms[0].EndpointID != "owner/m2-0" {
		t.Fatalf("models = %v, %v", ms, err)
	}
	if h := api.Hits(); len(h) != 1 || h[0].Query.Get("cursor") != "c2" {
		t.Fatalf("hits = %+v", h)
	}
}

// TestBreakStops: breaking out of the loop fetches no further page.
func TestBreakStops(t *testing.T) {
	t.Parallel()
	api := newAPI(t, pagedModels(5, 3))
	c := newClient(t, api)
	n := 0
	for _, err := range c.Models(context.Background(), platform.ModelsParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 2 {
			break
		}
	}
	if got := len(api.Hits()); got != 1 {
		t.Fatalf("%d pages fetched after a break on the first page", got)
	}

	reqs := newAPI(t, func(w http.ResponseWriter, h hit, n int) {
		jsonAnswer(w, 200, fmt.Sprintf(`{"items":[{"request_id":"r%d"}],"next_cursor":"p%d","has_more":true}`, n, n))
	})
	rc := newClient(t, reqs)
	for r, err := range rc.Requests(context.Background(), platform.RequestsParams{EndpointID: "a/b"}) {
		if err != nil {
			t.Fatal(err)
		}
		if r.RequestID == "r2" {
			break
		}
	}
	if got := len(reqs.Hits()); got != 2 {
		t.Fatalf("requests: %d pages fetched, want 2", got)
	}
}

// TestRepeatedCursor: a server that hands out the same cursor again does
// not make the iterator loop.
func TestRepeatedCursor(t *testing.T) {
	t.Parallel()
	api := newAPI(t, func(w http.ResponseWriter, h hit, n int) {
		// The same cursor again and again (then, so that a client without
		// the guard does not loop forever, the end).
		jsonAnswer(w, 200, fmt.Sprintf(`{"items":[{"request_id":"r"}],"next_cursor":"same","has_more":%v}`, n < 5))
	})
	rs, err := collect(newClient(t, api).Requests(context.Background(), platform.RequestsParams{EndpointID: "a/b"}))
	if err == nil || !strings.Contains(err.Error(), `cursor "same" a second time`) {
		t.Fatalf("err = %v", err)
	}
	if len(rs) != 2 || len(api.Hits()) != 2 {
		t.Fatalf("%d records from %d pages", len(rs), len(api.Hits()))
	}
}

// TestHasMore checks how next_cursor and has_more end a list.
func TestHasMore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		first string // pagination fields of the first page
		pages int
	}{
		{"cursor without has_more is followed", `"next_cursor":"c1"`, 2},
		{"has_more false ends the list", `"next_cursor":"c1","has_more":false`, 1},
		{"has_more without a cursor ends the list", `"next_cursor":null,"has_more":true`, 1},
		{"no pagination fields", ``, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := newAPI(t, func(w http.ResponseWriter, h hit, n int) {
				if n == 1 {
					jsonAnswer(w, 200, `{"keys":[{"key_id":"k1"}]`+strings.TrimSuffix(","+tc.first, ",")+`}`)
					return
				}
				jsonAnswer(w, 200, `{"keys":[{"key_id":"k2"}],"next_cursor":null,"has_more":false}`)
			})
			keys, err := newClient(t, api).Keys(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != tc.pages || len(api.Hits()) != tc.pages {
				t.Fatalf("%d keys from %d pages, want %d", len(keys), len(api.Hits()), tc.pages)
			}
			if tc.pages == 2 && api.Hits()[1].Query.Get("cursor") != "c1" {
				t.Fatalf("second page asked with %v", api.Hits()[1].Query)
			}
		})
	}
}

// TestErrorOnALaterPage: items already read are yielded, then the error.
func TestErrorOnALaterPage(t *testing.T) {
	t.Parallel()
	api := newAPI(t, func(w http.ResponseWriter, h hit, n int) {
		if n == 1 {
			jsonAnswer(w, 200, `{"models":[{"endpoint_id":"a/b"}],"next_cursor":"c1","has_more":true}`)
			return
		}
		w.Header().Set("X-Fal-Request-Id", "rid")
		jsonAnswer(w, 400, `{"error":{"type":"validation_error","message":"bad cursor"}}`)
	})
	ms, err := collect(newClient(t, api).Models(context.Background(), platform.ModelsParams{}))
	var he *fal.HTTPError
	if len(ms) != 1 || !errors.As(err, &he) || he.StatusCode != 400 || he.Message != "bad cursor" {
		t.Fatalf("models %v, err %v", ms, err)
	}
}

// TestUsageMergesPages: Usage reads every page; a bucket split across
// pages is merged, a summary repeated on every page kept once.
func TestUsageMergesPages(t *testing.T) {
	t.Parallel()
	line := func(id, cost string) string {
		return fmt.Sprintf(`{"endpoint_id":%q,"unit":"image","quantity":1,"unit_price":%s,"cost":%s,"currency":"USD"}`, id, cost, cost)
	}
	api := newAPI(t, func(w http.ResponseWriter, h hit, n int) {
		switch h.Query.Get("cursor") {
		case "":
			jsonAnswer(w, 200, `{"time_series":[{"bucket":"2025-01-01T00:00:00Z","results":[`+line("a/a", "0.1")+`]},
				{"bucket":"2025-01-02T00:00:00Z","results":[`+line("a/a", "0.2")+`]}],
				"summary":[`+line("a/a", "0.3")+`],"next_cursor":"Mg==","has_more":true}`)
		default:
			jsonAnswer(w, 200, `{"time_series":[{"bucket":"2025-01-02T00:00:00+00:00","results":[`+line("b/b", "0.5")+`]},
				{"bucket":"2025-01-03T00:00:00Z","results":[`+line("a/a", "0.4")+`]}],
				"summary":[`+line("a/a", "0.3")+`,`+line("b/b", "0.5")+`],"next_cursor":null,"has_more":false}`)
		}
	})
	u, err := newClient(t, api).Usage(context.Background(), platform.UsageParams{Expand: []string{platform.ExpandTimeSeries, platform.ExpandSummary}})
	if err != nil {
		t.Fatal(err)
	}
	if len(api.Hits()) != 2 || api.Hits()[1].Query.Get("cursor") != "Mg==" || api.Hits()[1].Query["expand"][1] != "summary" {
		t.Fatalf("pages: %+v", api.Hits())
	}
	var got []string
	for _, b := range u.TimeSeries {
		var costs []string
		for _, l := range b.Results {
			costs = append(costs, l.EndpointID+"="+l.Cost.String())
		}
		got = append(got, b.Bucket.UTC().Format(time.DateOnly)+":"+strings.Join(costs, ","))
	}
	if want := []string{"2025-01-01:a/a=0.1", "2025-01-02:a/a=0.2,b/b=0.5", "2025-01-03:a/a=0.4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("series = %q\nwant     %q", got, want)
	}
	if len(u.Summary) != 2 || u.Summary[0].EndpointID != "a/a" || u.Summary[1].EndpointID != "b/b" {
		t.Errorf("summary = %+v", u.Summary)
	}
}

func TestAnalyticsMergesPages(t *testing.T) {
	t.Parallel()
	api := newAPI(t, func(w http.ResponseWriter, h hit, n int) {
		if h.Query.Get("cursor") == "" {
			jsonAnswer(w, 200, `{"time_series":[{"bucket":"2025-01-01T00:00:00Z","results":[{"endpoint_id":"a/a","request_count":1}]}],
				"summary":[{"endpoint_id":"a/a","request_count":3}],"next_cursor":"x","has_more":true}`)
			return
		}
		jsonAnswer(w, 200, `{"time_series":[{"bucket":"2025-01-01T00:00:00Z","results":[{"endpoint_id":"b/b","request_count":2}]}],
			"summary":[{"endpoint_id":"a/a","request_count":3}],"next_cursor":null,"has_more":false}`)
	})
	a, err := newClient(t, api).Analytics(context.Background(), platform.AnalyticsParams{EndpointIDs: []string{"a/a", "b/b"}, Expand: []string{"request_count", "summary"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.TimeSeries) != 1 || len(a.TimeSeries[0].Results) != 2 || len(a.Summary) != 1 {
		t.Fatalf("analytics = %+v", a)
	}
}

// TestPricingFollowsCursor: pricing documents next_cursor and has_more;
// a second page is asked for with the same ids and the cursor.
func TestPricingFollowsCursor(t *testing.T) {
	t.Parallel()
	api := newAPI(t, func(w http.ResponseWriter, h hit, n int) {
		if n == 1 {
			jsonAnswer(w, 200, `{"prices":[{"endpoint_id":"a/a","unit_price":1,"unit":"image","currency":"USD"}],"next_cursor":"p2","has_more":true}`)
			return
		}
		jsonAnswer(w, 200, `{"prices":[{"endpoint_id":"b/b","unit_price":2,"unit":"image","currency":"USD"}],"next_cursor":null,"has_more":false}`)
	})
	prices, err := newClient(t, api).Pricing(context.Background(), "a/a", "b/b")
	if err != nil || len(prices) != 2 {
		t.Fatalf("prices %v, %v", prices, err)
	}
	h := api.Hits()
	if len(h) != 2 || h[1].Query.Get("cursor") != "p2" || !reflect.DeepEqual(h[1].Query["endpoint_id"], []string{"a/a", "b/b"}) {
		t.Fatalf("second page: %+v", h)
	}
}
