package faltest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The Platform API (fal's api.fal.ai/v1), served under /api/v1: set
// FAL_API_HOST=<Server.URL>/api. Endpoints, parameters and answers follow
// fal's Platform API documentation and its published OpenAPI document
// (https://api.fal.ai/v1/openapi.json; a copy is in
// github.com/thenavidm/fal-ai-mcp-cli, scripts/fal-api.snapshot.json).

// platformDocs is the base of the docs_url in error answers.
const platformDocs = "https://fal.ai/docs/platform-apis/v1"

// authLevel is what a Platform API endpoint asks of the caller's key.
type authLevel int

const (
	authOptional authLevel = iota // GET /models: a key is optional
	authKey                       // any valid key
	authAdmin                     // an admin key
)

// platformEndpoint is one route of the Platform API.
type platformEndpoint struct {
	method string
	auth   authLevel
	docs   string // page under platformDocs
	serve  func(s *Server, w http.ResponseWriter, r *http.Request, p *platformCall)
}

// platformRoutes maps paths below /api/v1 to their endpoints.
var platformRoutes = map[string][]platformEndpoint{
	"/models":                      {{http.MethodGet, authOptional, "/models", (*Server).handleModels}},
	"/models/pricing":              {{http.MethodGet, authKey, "/models/pricing", (*Server).handlePricing}},
	"/models/pricing/estimate":     {{http.MethodPost, authKey, "/models/pricing/estimate", (*Server).handleEstimate}},
	"/models/usage":                {{http.MethodGet, authAdmin, "/models/usage", (*Server).handleUsage}},
	"/models/analytics":            {{http.MethodGet, authKey, "/models/analytics", (*Server).handleAnalytics}},
	"/models/requests/by-endpoint": {{http.MethodGet, authKey, "/models/requests/by-endpoint", (*Server).handleRequestsByEndpoint}},
	"/account/billing":             {{http.MethodGet, authAdmin, "/account/billing", (*Server).handleBilling}},
	"/keys": {
		{http.MethodGet, authAdmin, "/keys", (*Server).handleKeys},
		{http.MethodPost, authAdmin, "/keys", (*Server).handleKeys},
	},
}

// platformCall is one Platform API request in progress.
type platformCall struct {
	w         http.ResponseWriter
	r         *http.Request
	requestID string
	docs      string
	key       *apiKey
}

// fail answers with the Platform API's error envelope
// {"error": {"type", "message", "docs_url", "request_id"}}.
func (p *platformCall) fail(status int, typ, msg string) {
	writePlatformError(p.w, status, typ, msg, p.docs, p.requestID)
}

func writePlatformError(w http.ResponseWriter, status int, typ, msg, docs, requestID string) {
	writeJSON(w, status, obj{{"error", obj{
		{"type", typ},
		{"message", msg},
		{"docs_url", docs},
		{"request_id", requestID},
	}}})
}

// mountPlatform registers /api/.
func (s *Server) mountPlatform(mux *http.ServeMux) {
	mux.Handle("/api/", s.route("platform", s.servePlatform))
}

// servePlatform routes a Platform API request, checking its method and
// key first.
func (s *Server) servePlatform(w http.ResponseWriter, r *http.Request) {
	p := &platformCall{w: w, r: r, requestID: w.Header().Get(headerRequestID), docs: platformDocs}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1")
	if !ok || rest == "" {
		p.fail(http.StatusNotFound, "not_found", fmt.Sprintf("no Platform API endpoint at %s: faltest serves fal's Platform API under /api/v1 (set FAL_API_HOST=%s/api)", r.URL.Path, s.URL))
		return
	}
	rest = strings.TrimSuffix(rest, "/")
	eps := platformRoutes[rest]
	var param string
	switch {
	case eps != nil:
	case strings.HasPrefix(rest, "/models/requests/") && strings.HasSuffix(rest, "/payloads"):
		param = strings.TrimSuffix(strings.TrimPrefix(rest, "/models/requests/"), "/payloads")
		eps = []platformEndpoint{{http.MethodDelete, authAdmin, "/models/requests/payloads", func(s *Server, w http.ResponseWriter, r *http.Request, p *platformCall) {
			s.handleDeletePayloads(w, r, p, param)
		}}}
	case strings.HasPrefix(rest, "/keys/"):
		param = strings.TrimPrefix(rest, "/keys/")
		eps = []platformEndpoint{{http.MethodDelete, authAdmin, "/keys", func(s *Server, w http.ResponseWriter, r *http.Request, p *platformCall) {
			s.handleDeleteKey(w, r, p, param)
		}}}
	}
	if eps == nil || strings.Contains(param, "/") {
		p.fail(http.StatusNotFound, "not_found", fmt.Sprintf("no Platform API endpoint at %s %s", r.Method, r.URL.Path))
		return
	}
	var ep *platformEndpoint
	var allow []string
	for i := range eps {
		allow = append(allow, eps[i].method)
		if eps[i].method == r.Method {
			ep = &eps[i]
		}
	}
	if ep == nil {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		p.fail(http.StatusMethodNotAllowed, "validation_error", fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
		return
	}
	p.docs = platformDocs + ep.docs
	if !s.platformAuth(p, ep.auth) {
		return
	}
	ep.serve(s, w, r, p)
}

// platformAuth checks the caller's key against what the endpoint needs.
func (s *Server) platformAuth(p *platformCall, level authLevel) bool {
	a := p.r.Header.Get("Authorization")
	if a == "" {
		if level == authOptional {
			return true
		}
		p.fail(http.StatusUnauthorized, "authorization_error", `authentication is required: send "Authorization: Key <key>" (faltest's admin key is Server.Key, the one falgo local exports as FAL_KEY)`)
		return false
	}
	p.key = s.authKey(p.r)
	if p.key == nil {
		p.fail(http.StatusUnauthorized, "authorization_error", `the key is not valid: send "Authorization: Key <key>" with a key this server issued (Server.Key, a WithAPIKey key or one made with POST /v1/keys and not revoked)`)
		return false
	}
	if level == authAdmin && p.key.scope != scopeAdmin {
		p.fail(http.StatusForbidden, "authorization_error", fmt.Sprintf("this endpoint needs an admin key; key %q has the API scope (faltest's admin key is Server.Key, the one falgo local exports as FAL_KEY)", p.key.id))
		return false
	}
	return true
}

// multi returns the values of a repeatable parameter, each also split at
// commas, trimmed, empty ones dropped.
func multi(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// maxEndpointIDs is how many endpoint ids a request may name.
const maxEndpointIDs = 50

// endpointIDs reads endpoint_id (1–50 ids, repeated or comma-separated),
// without duplicates, in the order given.
func (p *platformCall) endpointIDs(q url.Values, required bool) ([]string, bool) {
	return p.idList(q, "endpoint_id", required)
}

func (p *platformCall) idList(q url.Values, name string, required bool) ([]string, bool) {
	raw := multi(q, name)
	if len(raw) == 0 && required {
		p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("%s is required: name 1 to %d ids, e.g. ?%s=fal-ai/flux/dev (repeat the parameter or separate ids with commas)", name, maxEndpointIDs, name))
		return nil, false
	}
	seen := map[string]bool{}
	var ids []string
	for _, id := range raw {
		id = strings.Trim(id, "/")
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) > maxEndpointIDs {
		p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("%s: %d ids given; at most %d are allowed", name, len(ids), maxEndpointIDs))
		return nil, false
	}
	return ids, true
}

// expand reads the expand parameter: each value must be one of allowed;
// def applies when none is given.
func (p *platformCall) expand(q url.Values, allowed, def []string) (map[string]bool, bool) {
	vals := multi(q, "expand")
	if len(vals) == 0 {
		vals = def
	}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	out := map[string]bool{}
	for _, v := range vals {
		if !ok[v] {
			p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("expand: unknown value %q; use %s", v, strings.Join(allowed, ", ")))
			return nil, false
		}
		out[v] = true
	}
	return out, true
}

// paging reads limit (def when absent, at most max) and cursor (an opaque
// page number from a previous answer's next_cursor).
func (p *platformCall) paging(q url.Values, def, max int) (limit, page int, ok bool) {
	limit, page = def, 1
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("limit %q: give a whole number from 1 to %d", v, max))
			return 0, 0, false
		}
		limit = n
	}
	if c := q.Get("cursor"); c != "" {
		b, err := base64.StdEncoding.DecodeString(c)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 1 {
			p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("cursor %q is not a cursor from a previous answer's next_cursor", c))
			return 0, 0, false
		}
		page = n
	}
	return limit, page, true
}

// pageOf cuts one page out of items and returns the next page's cursor
// (nil on the last page).
func pageOf[T any](items []T, limit, page int) ([]T, *string) {
	start := (page - 1) * limit
	if start >= len(items) {
		return []T{}, nil
	}
	end := min(start+limit, len(items))
	if end == len(items) {
		return items[start:end], nil
	}
	c := base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(page + 1)))
	return items[start:end], &c
}

// decodeBody decodes a JSON object body (at most 1 MiB) into v.
func (p *platformCall) decodeBody(r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		p.fail(http.StatusBadRequest, "validation_error", "reading the body failed: "+err.Error())
		return false
	}
	if len(b) > 1<<20 {
		p.fail(http.StatusBadRequest, "validation_error", "the body is larger than 1 MiB")
		return false
	}
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] != '{' {
		p.fail(http.StatusBadRequest, "validation_error", "the body must be a JSON object")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		p.fail(http.StatusBadRequest, "validation_error", "invalid body: "+strings.TrimPrefix(err.Error(), "json: "))
		return false
	}
	return true
}

// parseInstant reads an ISO 8601 date-time (RFC 3339, or without a zone:
// UTC) or a date (YYYY-MM-DD, midnight UTC).
func parseInstant(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not an ISO 8601 date-time or date")
}

// timeRange reads start and end (exclusive): by default the last 24
// hours (defaultSpan), ending now.
func (p *platformCall) timeRange(q url.Values, defaultSpan time.Duration) (start, end time.Time, ok bool) {
	end = time.Now()
	if v := q.Get("end"); v != "" {
		t, err := parseInstant(v)
		if err != nil {
			p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("end %q: %v (e.g. 2025-01-31T00:00:00Z or 2025-01-31)", v, err))
			return start, end, false
		}
		end = t
	}
	start = end.Add(-defaultSpan)
	if v := q.Get("start"); v != "" {
		t, err := parseInstant(v)
		if err != nil {
			p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("start %q: %v (e.g. 2025-01-01T00:00:00Z or 2025-01-01)", v, err))
			return start, end, false
		}
		start = t
	}
	if !start.Before(end) {
		p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("start (%s) must be before end (%s); end is exclusive", formatTime(start), formatTime(end)))
		return start, end, false
	}
	return start, end, true
}

// checkTimezone accepts only UTC: faltest buckets in UTC.
func (p *platformCall) checkTimezone(q url.Values) bool {
	switch tz := q.Get("timezone"); strings.ToUpper(tz) {
	case "", "UTC", "ETC/UTC", "Z", "GMT":
		return true
	default:
		p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("timezone %q: faltest aggregates in UTC only; leave timezone out or give UTC", tz))
		return false
	}
}

// handleModels serves GET /api/v1/models: list, find (endpoint_id) and
// search (q, category, status) the registered apps.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request, p *platformCall) {
	q := r.URL.Query()
	ids, ok := p.endpointIDs(q, false)
	if !ok {
		return
	}
	exp, ok := p.expand(q, []string{"openapi-3.0", "enterprise_status"}, nil)
	if !ok {
		return
	}
	status := q.Get("status")
	if status != "" && status != "active" && status != "deprecated" {
		p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("status %q: use active or deprecated (or leave it out for both)", status))
		return
	}
	limit, page, ok := p.paging(q, 50, 100)
	if !ok {
		return
	}
	category := strings.ToLower(strings.TrimSpace(q.Get("category")))
	terms := strings.Fields(strings.ToLower(q.Get("q")))

	apps := s.appTable()
	var found []*app
	if len(ids) > 0 {
		for _, id := range ids {
			if a := apps[id]; a != nil {
				found = append(found, a)
			}
		}
	} else {
		for _, id := range sortedKeys(apps) {
			found = append(found, apps[id])
		}
	}
	var matched []*app
	for _, a := range found {
		pa := a.plat
		if status != "" && pa.info.Status != status {
			continue
		}
		if category != "" && strings.ToLower(pa.info.Category) != category {
			continue
		}
		text := pa.searchText(a.id)
		all := true
		for _, t := range terms {
			if !strings.Contains(text, t) {
				all = false
				break
			}
		}
		if all {
			matched = append(matched, a)
		}
	}
	items, next := pageOf(matched, limit, page)
	models := make([]obj, 0, len(items))
	for _, a := range items {
		m := obj{{"endpoint_id", a.id}, {"metadata", s.modelMetadata(a.id, a.plat, p.key != nil)}}
		if exp["openapi-3.0"] {
			if a.plat.doc != nil {
				m.set("openapi", a.plat.doc)
			} else {
				m.set("openapi", obj{{"error", obj{
					{"code", "expansion_failed"},
					{"message", fmt.Sprintf("no OpenAPI document for %s: declare its Go input and output types with faltest.Schema, or give one with faltest.OpenAPI", a.id)},
				}}})
			}
		}
		if exp["enterprise_status"] {
			m.set("enterprise_status", a.plat.info.EnterpriseStatus)
		}
		models = append(models, m)
	}
	writeJSON(w, http.StatusOK, obj{{"models", models}, {"next_cursor", next}, {"has_more", next != nil}})
}

// knownApps resolves endpoint ids to registered apps; on an unknown id it
// has answered 404.
func (s *Server) knownApps(p *platformCall, ids []string) ([]*app, bool) {
	apps := s.appTable()
	var out []*app
	var unknown []string
	for _, id := range ids {
		if a := apps[id]; a != nil {
			out = append(out, a)
		} else {
			unknown = append(unknown, strconv.Quote(id))
		}
	}
	if len(unknown) > 0 {
		p.fail(http.StatusNotFound, "not_found", fmt.Sprintf("no endpoint %s on this server (GET /v1/models lists them)", strings.Join(unknown, ", ")))
		return nil, false
	}
	return out, true
}

// handlePricing serves GET /api/v1/models/pricing?endpoint_id=...
func (s *Server) handlePricing(w http.ResponseWriter, r *http.Request, p *platformCall) {
	ids, ok := p.endpointIDs(r.URL.Query(), true)
	if !ok {
		return
	}
	apps, ok := s.knownApps(p, ids)
	if !ok {
		return
	}
	prices := make([]obj, 0, len(apps))
	for _, a := range apps {
		prices = append(prices, obj{{"endpoint_id", a.id}, {"unit_price", a.plat.price}, {"unit", a.plat.unit}, {"currency", "USD"}})
	}
	writeJSON(w, http.StatusOK, obj{{"next_cursor", nil}, {"has_more", false}, {"prices", prices}})
}

// handleEstimate serves POST /api/v1/models/pricing/estimate.
func (s *Server) handleEstimate(w http.ResponseWriter, r *http.Request, p *platformCall) {
	var body struct {
		EstimateType *string                    `json:"estimate_type"`
		Endpoints    map[string]json.RawMessage `json:"endpoints"`
	}
	if !p.decodeBody(r, &body) {
		return
	}
	if body.EstimateType == nil {
		p.fail(http.StatusBadRequest, "validation_error", "estimate_type is required: historical_api_price or unit_price")
		return
	}
	typ := *body.EstimateType
	if typ != "historical_api_price" && typ != "unit_price" {
		p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("estimate_type %q: use historical_api_price (endpoints: {ID: {call_quantity}}) or unit_price (endpoints: {ID: {unit_quantity}})", typ))
		return
	}
	if len(body.Endpoints) == 0 {
		p.fail(http.StatusBadRequest, "validation_error", "endpoints is required: a map of endpoint ids to quantities, e.g. {\"fal-ai/flux/dev\": {\"unit_quantity\": 2}}")
		return
	}
	if len(body.Endpoints) > maxEndpointIDs {
		p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("endpoints: %d given; at most %d are allowed", len(body.Endpoints), maxEndpointIDs))
		return
	}
	ids := sortedKeys(body.Endpoints)
	apps, ok := s.knownApps(p, ids)
	if !ok {
		return
	}
	var total nanoUSD
	for i, id := range ids {
		var qty struct {
			CallQuantity *json.Number `json:"call_quantity"`
			UnitQuantity *json.Number `json:"unit_quantity"`
		}
		dec := json.NewDecoder(bytes.NewReader(body.Endpoints[id]))
		dec.DisallowUnknownFields()
		dec.UseNumber()
		if err := dec.Decode(&qty); err != nil {
			p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("endpoints[%q]: %s", id, strings.TrimPrefix(err.Error(), "json: ")))
			return
		}
		a := apps[i]
		if typ == "historical_api_price" {
			if qty.CallQuantity == nil || qty.UnitQuantity != nil {
				p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("endpoints[%q]: historical_api_price takes {\"call_quantity\": N} (the number of calls)", id))
				return
			}
			n, err := strconv.ParseInt(qty.CallQuantity.String(), 10, 64)
			if err != nil || n < 1 {
				p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("endpoints[%q].call_quantity %s: give a whole number of calls, 1 or more", id, qty.CallQuantity))
				return
			}
			total += nanoUSD(n) * s.costPerCall(a)
			continue
		}
		if qty.UnitQuantity == nil || qty.CallQuantity != nil {
			p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("endpoints[%q]: unit_price takes {\"unit_quantity\": N} (the number of billing units, %s)", id, a.plat.unit))
			return
		}
		u, err := qty.UnitQuantity.Float64()
		if err != nil || u < 0.000001 || u > 1e12 {
			p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("endpoints[%q].unit_quantity %s: give a number of units, at least 0.000001", id, qty.UnitQuantity))
			return
		}
		total += toNano(u * a.plat.price)
	}
	writeJSON(w, http.StatusOK, obj{{"estimate_type", typ}, {"total_cost", total.usd()}, {"currency", "USD"}})
}

// costPerCall is what one call of the app costs by this server's
// history: the average cost of its successful requests, or the price of
// one unit when it has none.
func (s *Server) costPerCall(a *app) nanoUSD {
	h := &s.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	var sum nanoUSD
	var n int64
	for _, r := range h.recs {
		if r.app == a.id && !r.ended.IsZero() && r.status >= 200 && r.status < 300 {
			sum += r.cost
			n++
		}
	}
	if n == 0 {
		return toNano(a.plat.price)
	}
	return nanoUSD((int64(sum) + n/2) / n)
}

// handleBilling serves GET /api/v1/account/billing[?expand=credits].
func (s *Server) handleBilling(w http.ResponseWriter, r *http.Request, p *platformCall) {
	exp, ok := p.expand(r.URL.Query(), []string{"credits"}, nil)
	if !ok {
		return
	}
	out := obj{{"username", WebhookUserID}}
	if exp["credits"] {
		out.set("credits", obj{{"current_balance", s.Credits()}, {"currency", "USD"}})
	}
	writeJSON(w, http.StatusOK, out)
}

// handleRequestsByEndpoint serves GET /api/v1/models/requests/by-endpoint.
func (s *Server) handleRequestsByEndpoint(w http.ResponseWriter, r *http.Request, p *platformCall) {
	q := r.URL.Query()
	ids, ok := p.endpointIDs(q, true)
	if !ok {
		return
	}
	limit, page, ok := p.paging(q, 50, 100)
	if !ok {
		return
	}
	exp, ok := p.expand(q, []string{"payloads"}, nil)
	if !ok {
		return
	}
	requestID := q.Get("request_id")
	span := 24 * time.Hour
	if requestID != "" {
		span = 90 * 24 * time.Hour
	}
	start, end, ok := p.timeRange(q, span)
	if !ok {
		return
	}
	status := q.Get("status")
	switch status {
	case "", "success", "error", "user_error":
	default:
		p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("status %q: use success (2xx), user_error (4xx) or error (5xx)", status))
		return
	}
	sortBy := q.Get("sort_by")
	switch sortBy {
	case "", "ended_at", "duration":
	default:
		p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("sort_by %q: use ended_at (the default) or duration", sortBy))
		return
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	h := &s.hist
	h.mu.Lock()
	var recs []*record
	var items []obj
	for _, rec := range h.recs {
		if !want[rec.app] || rec.sent.Before(start) || !rec.sent.Before(end) {
			continue
		}
		if requestID != "" && rec.id != requestID {
			continue
		}
		if status != "" && statusClass(rec.status) != status {
			continue
		}
		recs = append(recs, rec)
	}
	// Newest first. Requests still running have no end yet: they come
	// first by end time (they will end last) and last by duration.
	if sortBy == "duration" {
		sort.SliceStable(recs, func(i, j int) bool {
			a, b := recs[i], recs[j]
			if a.ended.IsZero() != b.ended.IsZero() {
				return b.ended.IsZero()
			}
			return a.ended.Sub(a.sent) > b.ended.Sub(b.sent)
		})
	} else {
		sort.SliceStable(recs, func(i, j int) bool {
			a, b := recs[i], recs[j]
			if a.ended.IsZero() != b.ended.IsZero() {
				return a.ended.IsZero()
			}
			if a.ended.IsZero() {
				return a.sent.After(b.sent)
			}
			return a.ended.After(b.ended)
		})
	}
	pageRecs, next := pageOf(recs, limit, page)
	for _, rec := range pageRecs {
		items = append(items, rec.item(exp["payloads"]))
	}
	h.mu.Unlock()
	if items == nil {
		items = []obj{}
	}
	writeJSON(w, http.StatusOK, obj{{"next_cursor", next}, {"has_more", next != nil}, {"items", items}})
}

// statusClass names a status as the request listing filters it.
func statusClass(code int) string {
	switch {
	case code >= 200 && code < 300:
		return "success"
	case code >= 400 && code < 500:
		return "user_error"
	case code >= 500:
		return "error"
	}
	return ""
}

// item is a record as GET /models/requests/by-endpoint lists it. Callers
// hold history.mu.
func (rec *record) item(payloads bool) obj {
	o := obj{
		{"request_id", rec.id},
		{"endpoint_id", rec.app},
		{"runner_id", nil},
		{"started_at", nil},
		{"sent_at", formatTime(rec.sent)},
		{"ended_at", nil},
		{"status_code", nil},
		{"duration", nil},
	}
	if !rec.started.IsZero() {
		o.set("runner_id", rec.runnerID)
		o.set("started_at", formatTime(rec.started))
	}
	if !rec.ended.IsZero() {
		o.set("ended_at", formatTime(rec.ended))
		o.set("status_code", rec.status)
		o.set("duration", rec.ended.Sub(rec.sent).Seconds())
	}
	if payloads {
		o.set("json_input", nullable(rec.input))
		o.set("json_output", nullable(rec.output))
	}
	return o
}

// nullable is raw JSON, or null for none.
func nullable(b json.RawMessage) any {
	if b == nil {
		return nil
	}
	return b
}

// idemEntry is a cached DELETE payloads answer (Idempotency-Key).
type idemEntry struct {
	requestID string
	body      []byte
	at        time.Time
}

// idemTTL is how long an Idempotency-Key's answer is kept (fal: 10 min).
const idemTTL = 10 * time.Minute

// handleDeletePayloads serves DELETE /api/v1/models/requests/{id}/payloads:
// it forgets the request's input and output and deletes the files on this
// server's CDN that the output links to.
func (s *Server) handleDeletePayloads(w http.ResponseWriter, r *http.Request, p *platformCall, id string) {
	idemKey := r.Header.Get("Idempotency-Key")
	h := &s.hist
	h.mu.Lock()
	if idemKey != "" {
		now := time.Now()
		for k, e := range h.idem {
			if now.Sub(e.at) > idemTTL {
				delete(h.idem, k)
			}
		}
		if e, ok := h.idem[idemKey]; ok {
			h.mu.Unlock()
			if e.requestID != id {
				p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("Idempotency-Key %q was used for request %s; use a new key for another request", idemKey, e.requestID))
				return
			}
			w.Header().Set("Idempotent-Replayed", "true")
			writeRawJSON(w, http.StatusOK, e.body)
			return
		}
	}
	rec := h.byID[id]
	if rec == nil {
		h.mu.Unlock()
		p.fail(http.StatusNotFound, "not_found", fmt.Sprintf("no request %q in this server's history", id))
		return
	}
	output := rec.output
	h.payloadBytes -= rec.payloadBytes
	rec.input, rec.output, rec.payloadBytes = nil, nil, 0
	h.mu.Unlock()

	results := []obj{}
	for _, link := range s.cdnLinks(output) {
		var exc any
		if !s.deleteFile(link) {
			exc = "the file was not found (already deleted?)"
		}
		results = append(results, obj{{"link", link}, {"exception", exc}})
	}
	body, _ := json.Marshal(obj{{"cdn_delete_results", results}})
	if idemKey != "" {
		h.mu.Lock()
		if h.idem == nil {
			h.idem = map[string]idemEntry{}
		}
		h.idem[idemKey] = idemEntry{requestID: id, body: body, at: time.Now()}
		h.mu.Unlock()
	}
	writeRawJSON(w, http.StatusOK, body)
}

// cdnLinks finds the URLs of files on this server's CDN in a JSON value.
func (s *Server) cdnLinks(out json.RawMessage) []string {
	if len(out) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(out, &v) != nil {
		return nil
	}
	prefix := s.URL + "/cdn/files/"
	seen := map[string]bool{}
	var links []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if strings.HasPrefix(x, prefix) && !seen[x] {
				seen[x] = true
				links = append(links, x)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, k := range sortedKeys(x) {
				walk(x[k])
			}
		}
	}
	walk(v)
	return links
}

// deleteFile removes a stored file by its URL; it reports whether there
// was one.
func (s *Server) deleteFile(link string) bool {
	u, err := url.Parse(link)
	if err != nil {
		return false
	}
	rest, ok := strings.CutPrefix(u.EscapedPath(), "/cdn/files/")
	if !ok {
		return false
	}
	id, _, _ := strings.Cut(rest, "/")
	st := &s.files
	st.mu.Lock()
	defer st.mu.Unlock()
	f := st.files[id]
	if f == nil {
		return false
	}
	delete(st.files, id)
	st.mem.release(f.data.claim)
	return true
}
