// Package faltest is a fal-compatible HTTP server for tests, like
// net/http/httptest: a real server on 127.0.0.1 that speaks fal's wire
// protocol, with apps you write as Go functions.
//
// Test your own fal code in a few lines:
//
//	func TestCaption(t *testing.T) {
//		srv := faltest.NewServer(faltest.WithApp("me/captioner",
//			func(ctx context.Context, req *faltest.Request) (any, error) {
//				var in struct{ ImageURL string `json:"image_url"` }
//				if err := req.Decode(&in); err != nil {
//					return nil, err
//				}
//				if in.ImageURL == "" {
//					return nil, faltest.ValidationError("image_url", "field required")
//				}
//				return map[string]string{"caption": "a cat"}, nil
//			}))
//		defer srv.Close()
//
//		got, err := myapp.Caption(ctx, srv.Client(), "https://example.com/cat.png")
//		...
//	}
//
// Server.Client returns a *fal.Client pointed at the server (the Platform
// API host included); Server.Env returns FAL_KEY and the FAL_*_HOST
// variables, FAL_API_HOST among them, for code that builds its own client
// (or for the Python and JS clients in a subprocess).
//
// # What it serves
//
// One listener; each fal host is a path prefix of Server.URL:
//
//	POST /run/{app...}                      sync run: the app's JSON output
//	POST /run/{app...}/stream               output stream (SSE, or raw bytes)
//	GET  /run/{app...}/realtime             realtime websocket (msgpack or JSON)
//	POST /queue/{app...}[?fal_webhook=URL]  queue submit
//	GET  /queue/{owner}/{alias}/requests/{id}/status[?logs=1]
//	GET  /queue/{owner}/{alias}/requests/{id}/status/stream[?logs=1]
//	GET  /queue/{owner}/{alias}/requests/{id}
//	PUT  /queue/{owner}/{alias}/requests/{id}/cancel
//	/rest/...  /cdn/...                     tokens, storage and stored files
//	GET  /rest/.well-known/jwks.json        webhook signing keys
//	/api/v1/...                             the Platform API (see below)
//
// /run and /queue need "Authorization: Key <key>" (401 otherwise) with
// Server.Key or another key the server accepts (see Keys and scopes).
// Every response of the server (but not an injected ingress error) has an
// x-fal-request-id header; for queue operations it is the request id.
//
// A sync run may also come as PUT (the input as the body) or GET (the
// input as the query parameters, fal_* ones excepted, each value read as
// JSON when it parses as a number, true, false, null, an object or an
// array, else as a string): the forms of fal-js's method option.
//
// # Apps
//
// An app is a HandlerFunc registered under "owner/alias", optionally with
// a path ("fal-ai/flux/dev"), or under the "workflows/" and "comfy/"
// namespaces. A call to a longer path reaches the longest registered
// prefix, with the rest in Request.Path; an unknown app is a 404 with fal's
// error JSON. A handler returns its output (encoded as JSON) or an error:
// ValidationError and *InputError answer 422 with FastAPI's detail list,
// *AppError answers its Status with {"detail", "error_type"} and the
// x-fal-error-type header, any other error answers 500.
//
// The same handler serves every entry point. In a stream, each
// Request.Emit becomes an SSE event, and the output is sent as the only
// event if the handler emitted none. In the queue, Request.Log lines appear
// in the status responses. Request.Upload stores a file the output can link
// to. AppOptions simulate runners: Concurrency (runner slots: further
// requests wait, and queue positions are real), StartupDelay (a cold start
// per new runner) and ProcessingDelay; and describe the app to the
// Platform API: Info (metadata), Price (unit price and unit), Schema (the
// Go input and output types its OpenAPI document is generated from) or
// OpenAPI (a document given verbatim).
//
// An empty request body is the JSON value null. A body that is not JSON
// answers 422.
//
// # Queue semantics
//
// A submit answers {request_id, gateway_request_id, response_url,
// status_url, cancel_url, status: "IN_QUEUE", queue_position}; the URLs
// keep only [ns/]owner/alias of the app id, as fal's do. A request goes
// IN_QUEUE → IN_PROGRESS → COMPLETED. X-Fal-Queue-Priority "low" requests
// wait behind "normal" ones (any other value answers 422).
// X-Fal-Request-Timeout (seconds) is a start deadline: a request that has
// not started by then completes with error "Request timed out" (error_type
// "request_timeout") and its result answers 504 with
// X-Fal-Request-Timeout-Type: user; a sync run answers that 504 directly.
//
// Status answers 202 while queued or running and 200 once completed.
// Every status body has status, request_id and the three URLs; "logs" is
// always present (null unless logs=true or logs=1 was asked); IN_QUEUE has
// queue_position; COMPLETED has metrics {"inference_time": seconds or
// null} and, if the app failed, "error" and "error_type".
//
// The status stream sends one "data:" event per change (and per batch of
// new log lines while running), an SSE comment every 15 s (WithPingInterval)
// while nothing happens, and ends after the COMPLETED event. With logs,
// each event carries only the lines new since the previous event, which
// the JS client concatenates.
//
// The result endpoint answers the app's status and body once completed;
// before that it answers 400 {"detail": "Request is still in progress...",
// "error_type": "request_in_progress"}.
//
// Cancel answers 200 {"status":"OK"} for a queued request (it leaves the
// line and never runs), 202 {"status":"CANCELLATION_REQUESTED"} for a
// running one (its handler's context is cancelled), 400
// {"status":"ALREADY_COMPLETED"} and 404 {"status":"NOT_FOUND"}. A
// cancelled request completes with error "Request was cancelled"
// (error_type "request_cancelled"), and its result answers 400 with that
// detail; a running handler that finishes successfully despite the
// cancellation keeps its output.
//
// Unknown request ids answer 404, as do completed requests older than the
// retention (an hour by default; WithResultRetention).
//
// # Output streams
//
// POST .../stream answers text/event-stream with one "data: <JSON>" event
// per Request.Emit and ends when the handler returns. An error before the
// first event is a normal HTTP error answer; after it, the stream ends with
// an "event: error" event whose data is {"detail", "error_type",
// "status_code"}. When the caller disconnects, the handler's context is
// cancelled.
//
// A handler that calls Request.EmitBytes instead answers a raw byte stream
// (a Content-Type of its choosing, the chunks flushed as they come, no SSE
// framing), as fal apps that return a StreamingResponse of audio or text
// do.
//
// A realtime websocket takes each input as msgpack in a binary frame, or as
// JSON in a text frame or in a binary frame that is not msgpack (what the
// Python client sends with a custom encode_message), and answers in the
// form the input came in.
//
// # Webhooks
//
// A queue request submitted with ?fal_webhook=<http(s) URL> is POSTed to
// that URL when it completes: {"request_id", "gateway_request_id",
// "status": "OK", "payload": <output>} or {"status": "ERROR", "error":
// "Invalid status code: N", "payload": {"detail": ...}}. Deliveries are
// signed like fal's: headers X-Fal-Webhook-Request-Id,
// X-Fal-Webhook-User-Id (WebhookUserID), X-Fal-Webhook-Timestamp (Unix
// seconds) and X-Fal-Webhook-Signature, the hex Ed25519 signature of
// request_id + "\n" + user_id + "\n" + timestamp + "\n" +
// hex(sha256(body)). The key pair is generated per Server; its public key
// is served as a JWKS at Server.JWKSURL. Failed deliveries are retried a
// few times with doubling waits (WithWebhookRetries) and stop when the
// Server closes.
//
// # Fault injection
//
// WithFaults and Server.SetFaults inject faults per route, deterministically
// from a seed: 429 with Retry-After, ingress-style 502/503/504 (nginx HTML,
// no request id: retryable), app 500s (not retryable), connection resets
// and latency. See FaultRule. Server.Stats counts requests and faults per
// route; Server.Executions counts how often an app's handler really ran.
//
// # Request controls and billing
//
// The requests that start a job (run, submit, stream) may carry fal's
// request controls: X-Fal-Store-IO: 0 keeps the input and output out of
// the request history (1 stores them, the default); X-Fal-No-Retry
// (1/true/yes or 0/false/no) and x-app-fal-disable-fallback (true/false)
// are accepted and recorded (the server never retries or falls back
// anyway); X-Fal-Tags: k=v,k=v is recorded, and answered 400 beyond 10
// pairs or 1 KB, or when a pair is not key=value or a key repeats; other
// values of the switches answer 422. A submit with
// ?fal_max_queue_length=N answers 429 when more than N requests of the app
// are already waiting for a runner (an app has a queue only with
// Concurrency: requests beyond its runner slots wait), and is not
// recorded.
//
// Every request is billed when it finishes: the units its handler set
// with Request.SetBillableUnits, or 1 unit for a success and none for a
// failure without a call; a 5xx answer bills nothing, as on fal. The cost
// is the units times the app's unit price (Price), and comes off the
// account's credits (WithCredits, default DefaultCredits USD; the balance
// may go below zero). The units are in the X-Fal-Billable-Units header of
// the sync run's answer and of the queue result (errors included, "0"
// when nothing was billed), and in an output stream: as a trailer when
// the handler emitted events, as a header when the output is the only
// event or the stream failed before its first event.
//
// # Request history
//
// Every request to an app is recorded: sync runs, queue submissions,
// output streams and realtime messages, with its request id, app, times
// (sent: received by the server; started: the handler began, after any
// queue wait and cold start; ended), status code, billable units, cost,
// the key it used, its tags and controls, and its input and output JSON
// (unless X-Fal-Store-IO: 0 was sent; payloads above 4 MiB are not kept,
// and past 64 MiB in all the oldest payloads are dropped). Requests the
// server refuses before they reach the app (a bad key, an unknown app, a
// body that is not JSON, a bad header, a full queue) are not recorded.
// Server.History returns the records; the Platform API lists and
// aggregates them. The latest 100 000 requests are kept.
//
// # Platform API
//
// The server serves fal's Platform API (api.fal.ai/v1) under /api/v1, so
// FAL_API_HOST=<Server.URL>/api points a client at it. Answers follow
// fal's documented shapes; errors use the Platform API's envelope
// {"error": {"type", "message", "docs_url", "request_id"}} with type
// validation_error (400, the message names what is wrong),
// authorization_error (401 without a valid key, 403 when an admin key is
// needed), not_found (404), rate_limited and server_error (injected
// faults on the "platform" route). Lists take limit and an opaque cursor
// and answer next_cursor and has_more. Ids in endpoint_id may be repeated
// or comma-separated, 1 to 50. Times are ISO 8601 (a date means midnight
// UTC); end is exclusive; the timezone may only be UTC.
//
//	GET    /api/v1/models                       list, find (endpoint_id), search (q, category, status);
//	                                            expand=openapi-3.0, enterprise_status; key optional
//	GET    /api/v1/models/pricing               endpoint_id (required): unit_price, unit, currency
//	POST   /api/v1/models/pricing/estimate      unit_price: Σ unit_quantity × price;
//	                                            historical_api_price: Σ call_quantity × the average
//	                                            cost of the app's successful requests (one unit if none)
//	GET    /api/v1/models/usage                 admin; time_series (default), summary, auth_method
//	GET    /api/v1/models/analytics             endpoint_id (required); expand picks the metrics
//	GET    /api/v1/models/requests/by-endpoint  endpoint_id (required), start, end, status,
//	                                            request_id, sort_by, expand=payloads; limit ≤ 100
//	DELETE /api/v1/models/requests/{id}/payloads  admin; Idempotency-Key answers are replayed
//	                                            for 10 minutes
//	GET    /api/v1/account/billing              admin; expand=credits
//	GET    /api/v1/keys   POST /api/v1/keys {alias}   DELETE /api/v1/keys/{key_id}   admin
//
// GET /models lists every registered app (sorted by id) with its
// metadata (Info), and with expand=openapi-3.0 its OpenAPI document in
// fal's queue format, generated from the Go types given to Schema or
// given verbatim with OpenAPI; an app with neither answers fal's failed
// expansion, {"openapi": {"error": {"code": "expansion_failed", ...}}}.
// q matches when every word is in the id, display name, description,
// category or tags.
//
// Usage and analytics aggregate the finished requests of the history in
// the window [start, end) by when they ended, in buckets of the timeframe
// (minute, hour, day, week from Monday, month; by default picked from the
// window's length as fal does) aligned to the timeframe unless
// bound_to_timeframe=false; only buckets with requests are listed, and the
// time series is paginated by bucket. A usage line groups an app's
// requests billed at one unit price (and, with auth_method, one key):
// quantity, unit_price, cost (cost_total), no discounts, in USD. The
// analytics metrics are request_count, success_count (2xx),
// user_error_count (4xx), error_count (5xx), timeout_error_count (start
// timeouts), runtime_error_count (other 5xx), startup_error_count and
// connection_error_count (always 0), cold_boot_count (requests that paid
// a StartupDelay), the p25…p99 percentiles of duration (ended − started),
// prepare_duration (started − sent) and cold_boot_duration, and
// total_billable_duration; a percentile without data is null.
//
// The request listing shows requests from the moment they arrive, queued
// ones without started_at, ended_at, status_code and duration; duration is
// ended − sent. Deleting payloads forgets the input and output and
// deletes the files on the server's CDN that the output links to.
//
// # Keys and scopes
//
// Server.Key (the key falgo local exports) has the admin scope: every
// endpoint works with it. WithAPIKey adds keys of the API scope, and POST
// /api/v1/keys creates them (the answer's key is key_id:key_secret): they
// work on the model APIs, storage, tokens and the Platform API's models,
// pricing, estimate, analytics and request listing, and get 403
// authorization_error ("this endpoint needs an admin key") on usage,
// payload deletion, billing and keys. DELETE /api/v1/keys/{key_id} revokes
// a key at once; Server.Key cannot be revoked.
//
// # Demo apps
//
// Unless WithoutDemoApps is given, every Server has:
//
//   - fal-ai/flux/schnell, fal-ai/flux/dev, fal-ai/fast-sdxl: text-to-image
//     with the real endpoints' shapes. Input: prompt (required), image_size
//     (square_hd, square, portrait_4_3, portrait_16_9, landscape_4_3 (the
//     default; fast-sdxl: square_hd), landscape_16_9, or {"width",
//     "height"}), num_images (1-4), seed, num_inference_steps, sync_mode
//     (data URIs instead of CDN URLs). Output: {"images": [{"url", "width",
//     "height", "content_type": "image/png"}], "seed", "timings":
//     {"inference"}, "has_nsfw_concepts", "prompt"}. The PNGs are real and
//     deterministic: the same prompt and seed give the same bytes.
//   - fal-ai/fast-sdxl/image-to-image, fal-ai/fast-sdxl/inpainting and
//     fal-ai/flux/dev/image-to-image: the image-to-image endpoints of
//     those apps, registered apps of their own (each has its own runner
//     slots, Platform API entry and OpenAPI document). They require
//     image_url (inpainting: mask_url too; missing fields are a 422
//     "field required"), read it only from a data: URI or a file stored on
//     the same Server (<URL>/cdn/files/...) — never from the network, other
//     URLs are a 422 — and draw the demo PNG at the input image's size
//     (PNG, JPEG, GIF or WebP) unless image_size says otherwise. strength
//     is checked (0.05-1 for fast-sdxl, 0.01-1 otherwise) and ignored.
//   - fal-ai/fast-lcm-diffusion: the realtime demo, the same text-to-image
//     app with a 512×512 default and a quarter of the delay.
//   - fal-ai/any-llm: input {prompt, model?}; output {"output": text,
//     "partial": false}; streamed, it emits {"output": <text so far>,
//     "partial": true} events and a last one with "partial": false.
//   - falgo/echo: returns its input. In an object input it acts on
//     "_billable_units" (what the request bills), "_logs" (lines to log),
//     "_events" (values to emit when streamed), "_sleep_ms", "_error"
//     ({"status", "detail", "error_type"}: fail with that answer) and
//     "_headers": true (adds "_request" with the app, path, request id and
//     the X-Fal-*, User-Agent and Content-Type headers).
//
// The demo apps (falgo/echo excepted) answer only their own ids: a call
// with a sub-path below one (/run/fal-ai/fast-sdxl/no-such-endpoint) is a
// 404 {"detail": "Path /no-such-endpoint not found: ... the endpoints of
// fal-ai/fast-sdxl are ..."}, by every entry point (a queue request fails
// with it). falgo/echo answers any sub-path and reports it in "_request".
//
// Demo apps take about DefaultDemoDelay per request (WithDemoDelay);
// falgo/echo never waits unless asked to.
//
// The demo apps carry the metadata and (simplified) OpenAPI documents of
// the real endpoints, and enforce the ranges their documents declare:
// num_inference_steps 1-12 (schnell, default 4), 1-50 (dev, default 28;
// fast-sdxl, default 25), 1-32 (fast-lcm-diffusion, default 6);
// num_images 1-4 (flux) or 1-8; guidance_scale 1-20 (flux) or 0-20. Their
// prices: fal-ai/flux/schnell 0.003 and fal-ai/flux/dev 0.025 USD per
// "megapixels" (fal's prices; each image's megapixels, of 1024×1024
// pixels, rounded up), fal-ai/fast-sdxl 0.0025 and
// fal-ai/fast-lcm-diffusion 0.0005 USD per "images", fal-ai/any-llm
// 0.000001 USD per "tokens" (4 characters of prompt, system prompt and
// reply make a token), falgo/echo 0.001 USD per "requests". The last four
// are faltest's choices: fal bills the SDXL family by GPU time. The
// image-to-image endpoints cost what their text-to-image app does.
package faltest
