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
// Server.Client returns a *fal.Client pointed at the server; Server.Env
// returns FAL_KEY and the FAL_*_HOST variables for code that builds its
// own client (or for the Python and JS clients in a subprocess).
//
// # What it serves
//
// One listener; each fal host is a path prefix of Server.URL:
//
//	POST /run/{app...}                      sync run: the app's JSON output
//	POST /run/{app...}/stream               output stream (SSE)
//	GET  /run/{app...}/realtime             realtime websocket (msgpack)
//	POST /queue/{app...}[?fal_webhook=URL]  queue submit
//	GET  /queue/{owner}/{alias}/requests/{id}/status[?logs=1]
//	GET  /queue/{owner}/{alias}/requests/{id}/status/stream[?logs=1]
//	GET  /queue/{owner}/{alias}/requests/{id}
//	PUT  /queue/{owner}/{alias}/requests/{id}/cancel
//	/rest/...  /cdn/...                     tokens, storage and stored files
//	GET  /rest/.well-known/jwks.json        webhook signing keys
//
// /run and /queue need "Authorization: Key <Server.Key>" (401 otherwise).
// Every response of the server (but not an injected ingress error) has an
// x-fal-request-id header; for queue operations it is the request id.
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
// per new runner) and ProcessingDelay.
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
//   - fal-ai/fast-lcm-diffusion: the realtime demo, the same text-to-image
//     app with a 512×512 default and a quarter of the delay.
//   - fal-ai/any-llm: input {prompt, model?}; output {"output": text,
//     "partial": false}; streamed, it emits {"output": <text so far>,
//     "partial": true} events and a last one with "partial": false.
//   - falgo/echo: returns its input. In an object input it acts on
//     "_logs" (lines to log), "_events" (values to emit when streamed),
//     "_sleep_ms", "_error" ({"status", "detail", "error_type"}: fail with
//     that answer) and "_headers": true (adds "_request" with the app, path,
//     request id and the X-Fal-*, User-Agent and Content-Type headers).
//
// Demo apps take about DefaultDemoDelay per request (WithDemoDelay);
// falgo/echo never waits unless asked to.
package faltest
