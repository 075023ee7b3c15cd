package faltest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The request history: every request to an app (sync run, queue
// submission, output stream, realtime message) is recorded with its
// times, status, billable units and cost, and (unless X-Fal-Store-IO: 0)
// its input and output. The Platform API's request listing, usage,
// analytics and credits are computed from it.

// History limits. The oldest records (and, past the byte budget, the
// oldest payloads) are dropped first.
const (
	maxHistory        = 100_000
	maxStoredPayload  = 4 << 20  // larger inputs and outputs are not stored
	maxPayloadStorage = 64 << 20 // all stored payloads together
)

// DefaultCredits is the account balance (USD) a Server starts with unless
// WithCredits says otherwise.
const DefaultCredits = 100.0

// nanoUSD is money in billionths of a dollar, so that sums are exact.
type nanoUSD int64

func toNano(usd float64) nanoUSD { return nanoUSD(math.Round(usd * 1e9)) }
func (n nanoUSD) usd() float64   { return float64(n) / 1e9 }

// RequestRecord is one request in a Server's history (Server.History).
type RequestRecord struct {
	// RequestID is fal's id of the request (the queue request id, or the
	// x-fal-request-id of a sync run or stream).
	RequestID string
	// App is the id the app is registered under (the endpoint_id).
	App string
	// Path is the part of the called URL below App.
	Path string
	// Mode is how the request came: "run", "queue", "stream" or
	// "realtime".
	Mode string
	// SentAt is when the server received the request, StartedAt when the
	// app started on it (zero if it never did), EndedAt when it finished
	// (zero while it runs).
	SentAt, StartedAt, EndedAt time.Time
	// StatusCode is the HTTP status of the answer (0 while it runs).
	StatusCode int
	// Input and Output are the stored payloads (the request body, the
	// answer body), nil when not stored: X-Fal-Store-IO: 0, too large, or
	// deleted through the Platform API.
	Input, Output json.RawMessage
	// PayloadsStored is false when the request carried X-Fal-Store-IO: 0.
	PayloadsStored bool
	// BillableUnits is what the request billed, in units of the app's
	// price; Cost is BillableUnits × the unit price, in USD.
	BillableUnits float64
	Cost          float64
	// Unit and UnitPrice are the app's price when the request finished.
	Unit      string
	UnitPrice float64
	// Tags are the X-Fal-Tags key=value pairs, nil if none were sent.
	Tags map[string]string
	// NoRetry and DisableFallback record the X-Fal-No-Retry and
	// x-app-fal-disable-fallback request headers.
	NoRetry, DisableFallback bool
	// KeyID is the key_id of the key the request was made with, "" for a
	// temporary token.
	KeyID string
	// ColdStart reports that the request waited for a new runner
	// (StartupDelay).
	ColdStart bool
}

// record is the history's entry for one request. Its fields are guarded
// by history.mu.
type record struct {
	id, app, path, mode  string
	runnerID             string
	sent, started, ended time.Time
	status               int
	errorType            string
	input, output        json.RawMessage
	storeIO              bool
	payloadBytes         int64
	units                float64
	cost                 nanoUSD
	unit                 string
	unitPrice            float64
	tags                 []tagPair
	noRetry, noFallback  bool
	keyID, authLabel     string
	cold                 bool
	coldTime             time.Duration
	dropped              bool // evicted from the history
}

// history holds the records and the account balance.
type history struct {
	mu           sync.Mutex
	recs         []*record
	byID         map[string]*record
	payloadBytes int64
	credits      nanoUSD
	idem         map[string]idemEntry // DELETE payloads, by Idempotency-Key
}

func (h *history) init(credits float64) {
	h.byID = make(map[string]*record)
	h.credits = toNano(credits)
}

// requestControls are the request headers fal reads to decide how to
// handle a request, parsed.
type requestControls struct {
	storeIO    bool
	noRetry    bool
	noFallback bool
	tags       []tagPair
}

type tagPair struct{ k, v string }

// Limits of X-Fal-Tags (from fal-js's unreleased change).
const (
	maxTags     = 10
	maxTagBytes = 1 << 10
)

// parseControls reads X-Fal-Store-IO, X-Fal-No-Retry,
// x-app-fal-disable-fallback and X-Fal-Tags. On a bad value it has
// answered already (422 for the switches, 400 for tags).
func parseControls(w http.ResponseWriter, r *http.Request) (requestControls, bool) {
	c := requestControls{storeIO: true}
	h := r.Header
	for _, sw := range []struct {
		header, loc, use string
		dst              *bool
	}{
		{"X-Fal-Store-IO", "x-fal-store-io", "use 0 (do not store the input and output) or 1", &c.storeIO},
		{"X-Fal-No-Retry", "x-fal-no-retry", "use 1, true or yes (or 0, false, no)", &c.noRetry},
		{"X-App-Fal-Disable-Fallback", "x-app-fal-disable-fallback", "use true or false", &c.noFallback},
	} {
		v := h.Get(sw.header)
		if v == "" {
			continue
		}
		on, ok := parseSwitch(v)
		if !ok {
			headerError(w, "header", sw.loc, fmt.Sprintf("invalid value %q: %s", v, sw.use))
			return c, false
		}
		*sw.dst = on
	}
	if vals := h.Values("X-Fal-Tags"); len(vals) > 0 {
		tags, msg := parseTags(strings.Join(vals, ","))
		if msg != "" {
			writeError(w, http.StatusBadRequest, "Invalid X-Fal-Tags header: "+msg, "")
			return c, false
		}
		c.tags = tags
	}
	return c, true
}

// parseSwitch reads a boolean header: 1/true/yes or 0/false/no.
func parseSwitch(v string) (on, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes":
		return true, true
	case "0", "false", "no":
		return false, true
	}
	return false, false
}

// parseTags reads "k=v,k=v": at most 10 pairs and 1 KB, keys and values
// non-empty, keys unique.
func parseTags(v string) ([]tagPair, string) {
	if len(v) > maxTagBytes {
		return nil, fmt.Sprintf("%d bytes; at most %d are allowed", len(v), maxTagBytes)
	}
	parts := strings.Split(v, ",")
	if len(parts) > maxTags {
		return nil, fmt.Sprintf("%d tags; at most %d are allowed", len(parts), maxTags)
	}
	seen := map[string]bool{}
	tags := make([]tagPair, 0, len(parts))
	for _, p := range parts {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		if !ok || k == "" || val == "" || strings.Contains(val, "=") {
			return nil, fmt.Sprintf("%q is not key=value (the header is key=value pairs separated by commas)", p)
		}
		if seen[k] {
			return nil, fmt.Sprintf("the key %q appears twice", k)
		}
		seen[k] = true
		tags = append(tags, tagPair{k, val})
	}
	return tags, ""
}

// begin records a new request and returns its record.
func (s *Server) beginRecord(id string, a *app, path, mode string, input json.RawMessage, sent time.Time, c requestControls, key *apiKey) *record {
	rec := &record{
		id: id, app: a.id, path: path, mode: mode,
		runnerID: a.runnerID,
		sent:     sent,
		storeIO:  c.storeIO, noRetry: c.noRetry, noFallback: c.noFallback, tags: c.tags,
		authLabel: "Temporary token",
	}
	if key != nil {
		rec.keyID, rec.authLabel = key.id, key.alias
	}
	h := &s.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.storeIO && len(input) <= maxStoredPayload {
		rec.input = input
		rec.payloadBytes = int64(len(input))
		h.payloadBytes += rec.payloadBytes
	}
	h.recs = append(h.recs, rec)
	h.byID[id] = rec
	h.evictLocked()
	return rec
}

// markStarted records that the app started on the request.
func (s *Server) markStarted(rec *record, at time.Time, cold bool, coldTime time.Duration) {
	if rec == nil {
		return
	}
	s.hist.mu.Lock()
	rec.started, rec.cold, rec.coldTime = at, cold, coldTime
	s.hist.mu.Unlock()
}

// finishRecord records the answer and bills it: units × the app's unit
// price comes off the credits. It returns the units billed.
func (s *Server) finishRecord(rec *record, a *app, req *Request, status int, output json.RawMessage, errType string) float64 {
	units := req.billableUnits(status)
	if rec == nil {
		return units
	}
	price, unit := a.plat.price, a.plat.unit
	cost := toNano(units * price)
	h := &s.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	if !rec.ended.IsZero() {
		return rec.units
	}
	rec.ended = time.Now()
	rec.status, rec.errorType = status, errType
	rec.units, rec.cost, rec.unit, rec.unitPrice = units, cost, unit, price
	if rec.storeIO && len(output) <= maxStoredPayload && !rec.dropped {
		rec.output = output
		rec.payloadBytes += int64(len(output))
		h.payloadBytes += int64(len(output))
		h.evictLocked()
	}
	h.credits -= cost
	return units
}

// evictLocked drops the oldest records beyond maxHistory and the oldest
// payloads beyond maxPayloadStorage. Callers hold h.mu.
func (h *history) evictLocked() {
	if len(h.recs) > maxHistory {
		n := len(h.recs) - maxHistory + maxHistory/10
		for _, r := range h.recs[:n] {
			h.payloadBytes -= r.payloadBytes
			r.input, r.output, r.payloadBytes, r.dropped = nil, nil, 0, true
			if h.byID[r.id] == r {
				delete(h.byID, r.id)
			}
		}
		h.recs = append([]*record(nil), h.recs[n:]...)
	}
	for i := 0; h.payloadBytes > maxPayloadStorage && i < len(h.recs); i++ {
		r := h.recs[i]
		h.payloadBytes -= r.payloadBytes
		r.input, r.output, r.payloadBytes = nil, nil, 0
	}
}

// History returns the recorded requests to the app registered under
// appID (all apps for ""), oldest first, as they stand now: requests still
// queued or running have a zero EndedAt. The server keeps the latest
// 100 000 requests; inputs and outputs above 4 MiB are not kept, and past
// 64 MiB of them in all the oldest are dropped.
func (s *Server) History(appID string) []RequestRecord {
	h := &s.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []RequestRecord
	for _, r := range h.recs {
		if appID != "" && r.app != strings.Trim(appID, "/") {
			continue
		}
		out = append(out, r.export())
	}
	return out
}

// export copies a record. Callers hold history.mu.
func (r *record) export() RequestRecord {
	rr := RequestRecord{
		RequestID: r.id, App: r.app, Path: r.path, Mode: r.mode,
		SentAt: r.sent, StartedAt: r.started, EndedAt: r.ended,
		StatusCode:     r.status,
		Input:          append(json.RawMessage(nil), r.input...),
		Output:         append(json.RawMessage(nil), r.output...),
		PayloadsStored: r.storeIO,
		BillableUnits:  r.units, Cost: r.cost.usd(),
		Unit: r.unit, UnitPrice: r.unitPrice,
		NoRetry: r.noRetry, DisableFallback: r.noFallback,
		KeyID: r.keyID, ColdStart: r.cold,
	}
	if r.input == nil {
		rr.Input = nil
	}
	if r.output == nil {
		rr.Output = nil
	}
	if len(r.tags) > 0 {
		rr.Tags = make(map[string]string, len(r.tags))
		for _, t := range r.tags {
			rr.Tags[t.k] = t.v
		}
	}
	return rr
}

// Credits returns the account balance in USD: the starting credits
// (WithCredits) minus the cost of every finished request.
func (s *Server) Credits() float64 {
	s.hist.mu.Lock()
	defer s.hist.mu.Unlock()
	return s.hist.credits.usd()
}

// formatUnits is the X-Fal-Billable-Units form of a quantity.
func formatUnits(u float64) string {
	return strconv.FormatFloat(u, 'f', -1, 64)
}

// headerBillableUnits is the response header with the units billed.
const headerBillableUnits = "X-Fal-Billable-Units"
