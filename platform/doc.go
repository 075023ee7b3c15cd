// Package platform is a client for fal's Platform API
// (https://api.fal.ai/v1): the model catalogue with each endpoint's
// OpenAPI schema, prices and cost estimates, usage and request analytics,
// the request history, payload deletion, the credit balance, and API
// keys.
//
// # Tour
//
// A platform Client is built on a *fal.Client and uses its settings:
//
//	fc, err := fal.NewClient() // FAL_KEY, FAL_API_HOST, ... as usual
//	if err != nil { ... }
//	pc, err := platform.New(fc)
//	if err != nil { ... }
//
//	// The catalogue, page after page; break to stop.
//	for m, err := range pc.Models(ctx, platform.ModelsParams{Query: "flux"}) {
//		if err != nil { ... }
//		fmt.Println(m.EndpointID, m.Metadata.DisplayName)
//	}
//
//	// One model with its OpenAPI document.
//	m, err := pc.Model(ctx, "fal-ai/flux/dev", platform.ExpandOpenAPI)
//
//	// What it costs.
//	prices, err := pc.Pricing(ctx, "fal-ai/flux/dev", "fal-ai/flux/schnell")
//	est, err := pc.Estimate(ctx, platform.EstimateRequest{Calls: map[string]int{"fal-ai/flux/dev": 100}})
//
//	// What was spent, and what happened (admin key).
//	u, err := pc.Usage(ctx, platform.UsageParams{Expand: []string{platform.ExpandSummary}})
//	for r, err := range pc.Requests(ctx, platform.RequestsParams{EndpointID: "fal-ai/flux/dev"}) { ... }
//	b, err := pc.Billing(ctx) // b.Credits.CurrentBalance
//
// Every call takes a context first; its deadline bounds the whole call,
// pages and retries included.
//
// # Hosts, credentials and the request engine
//
// Every request goes through the *fal.Client's request engine: its
// credentials, HTTP client, per-attempt timeout, retry policy, limits,
// logger, extra headers and user agent. The base URL is the client's API
// host (fal.WithAPIHost, else $FAL_API_HOST, else api.fal.ai) followed by
// /v1, so FAL_API_HOST=<faltest URL>/api reaches a local server.
// Credentials go to that host only, and never appear in errors or logs.
//
// GET /v1/models works without a key: a client without credentials lists
// the catalogue anonymously (fal then applies lower rate limits); every
// other endpoint needs a key, and a client without one fails before any
// request with fal's *MissingCredentialsError.
//
// # Admin keys
//
// Usage, Analytics, DeletePayloads, Billing, Keys, CreateKey and DeleteKey
// need a key with the ADMIN scope. When fal answers one of them with 401
// or 403, the error says that an admin key is needed and where to create
// one (https://fal.ai/dashboard/keys); errors.Is(err, ErrAdminKeyRequired)
// holds and errors.As still finds the *fal.HTTPError, with fal's error
// type, message, docs URL and request id. To use an admin key for these
// calls only, build a second fal.Client with fal.WithKey and a platform
// Client on it.
//
// # Lists, pages and iterators
//
// Lists of things (Models, Requests) are iter.Seq2 iterators that follow
// next_cursor from page to page while fal says has_more; Limit sets the
// page size, not a total, and breaking out of the loop stops the listing
// (no further page is fetched). A cursor the server returns twice ends
// the listing with an error rather than looping.
//
// Usage and Analytics instead return one value with the time series and
// the summary, after reading every page: the two are different things (a
// series of buckets, and aggregates over the whole range), the summary is
// not a sequence, and fal does not document how either is split across
// pages, so only the merged answer is reliable. Buckets are few (fal's
// automatic timeframe keeps a range to about a hundred), and all pages
// together are bounded by the client's fal.Limits.Body. Keys and Pricing
// (whose lists are short) read every page as well.
//
// # Money
//
// Prices, costs, quantities and balances (Price.UnitPrice,
// UsageLine.Cost, Estimate.TotalCost, Credits.CurrentBalance, ...) are
// json.Number: the decimal text exactly as fal sent it ("0.025"), with
// the currency beside it as fal gives it. A float64 cannot hold most
// decimal prices exactly (0.1 is 0.1000000000000000055...), so sums of
// float64 costs drift, and a money type of our own would be one more
// thing to learn; json.Number loses nothing, prints as fal wrote it,
// converts with Float64 for display, and parses exactly with
// new(big.Rat).SetString(n.String()) for sums that must be right. It is
// empty when fal sent none.
//
// # Times
//
// Times are time.Time. Parameters are sent in RFC 3339 (UTC). Answers
// are read tolerantly (see "What is not confirmed"): RFC 3339 with or
// without fractional seconds or zone (no zone is UTC), a space for the
// T, a bare date, or Unix seconds; null is the zero time. Bucket times
// keep the offset fal sent.
//
// # Retries
//
// Reads (every GET) and Estimate (a POST without side effect) are retried
// like any read of the client: on 408, 409, 429, fal's ingress
// 502/503/504, network errors and per-attempt timeouts. DeletePayloads and
// DeleteKey are repeated only on 408, 429, a 503 without request id or a
// connection that could not be opened: deleting again deletes nothing
// more (at worst a DeleteKey repeated after a lost answer reports the key
// as not found), and DeletePayloads sends the Idempotency-Key header when
// given one, so that fal can tell a repeat. CreateKey is never retried on any 5xx, a 503
// included, nor after a timeout or a dropped connection: a second key
// must never be created silently.
//
// # Checks before any request
//
// Parameters are checked before anything is sent, and a call that fails
// a check makes no request. Checks that enforce a documented rule of fal:
// 1 to 50 endpoint ids (MaxEndpointIDs) where fal documents that range
// (Pricing requires at least one and batches longer lists; Analytics
// requires at least one; Models and Usage accept none); Requests requires
// an EndpointID and a Limit of at most 100; the expand values each
// endpoint documents; the documented enums (ModelStatus, RequestStatus,
// SortBy, Timeframe); Usage's Expand naming time_series or summary when
// it is set; Estimate's call quantities (an integer of at least 1) and
// unit quantities (at least 0.000001); a key alias of 1 to 255
// characters. Checks of our own, implied by the API rather than stated:
// Start before End (End is exclusive); no negative Limit; no empty
// endpoint id, nor one with spaces, control characters or a comma (fal
// splits endpoint_id values at commas); Estimate given exactly one of
// Calls and Units; request and key ids that are not empty, "." or "..",
// and have no slash (they are path segments: escaped, a slash would still
// reach another path on a server that decodes %2F); an Idempotency-Key and
// a timezone without control characters.
//
// # What is not confirmed
//
// No official client uses the Platform API, so the following rests on
// fal's documentation alone, which leaves these details open; where it
// does, the parsing is tolerant:
//
//   - Time formats: the docs say "ISO 8601" and show
//     "2025-01-01T00:00:05Z" for requests and "2025-01-15T00:00:00-05:00"
//     for buckets, but do not fix fractional seconds or zones; every
//     common form is accepted (see Times). Whether fal accepts fractional
//     seconds in start and end is not documented: they are sent only when
//     a time has them. The usage page says both that all timestamps in
//     responses are in UTC and that a bucket is in the requested timezone
//     with its offset: a bucket keeps whatever offset fal sends, and
//     compares correctly either way.
//   - The usage and analytics summary: documented as an array of lines
//     (for usage: endpoint_id, unit, quantity, unit_price, cost,
//     currency, auth_method), but not how it behaves across pages. A line
//     equal to one of an earlier page is taken as repeated and dropped; a
//     time bucket seen on an earlier page is merged into it.
//   - Analytics metric names: taken from fal's published OpenAPI (see
//     AnalyticsParams.Expand); Expand is checked against that list, and
//     every numeric field of an answer is kept in AnalyticsResult.Metrics,
//     whatever its name. Whether time_series is the default when Expand
//     names only metrics is not documented.
//   - Pricing pagination: the answer carries next_cursor and has_more, but
//     the endpoint documents no cursor parameter; when has_more is true,
//     the next page is asked for with cursor= like the other lists.
//   - Whether Usage needs endpoint ids: one version of the page says "at
//     least 1", the parameter is marked optional; none are required here.
//   - has_more is documented as derived from next_cursor: a page with a
//     next_cursor and no has_more is followed; has_more: false ends the
//     list even with a cursor.
//   - The Models metadata "date" field's format and the unit of
//     duration_estimate are not documented (Date stays a string).
//   - GET /keys is listed with creator_info as its expansion; Keys always
//     asks for it. The key scopes listed are documented as "API" only,
//     while admin keys exist: Scope is the string fal sends.
//   - runner_id of a request record appears in the endpoint list but not
//     in the published schema; it is read when present.
//   - Estimate is documented by one page as needing an admin key and by
//     another as needing an API key; it is not treated as an admin call.
package platform
