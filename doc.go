// Package fal is a Go client for fal.ai, the hosted service that runs
// generative models (image, video, audio, LLM) behind one HTTP API.
//
// # Quick start
//
//	c, err := fal.NewClient() // credentials from FAL_KEY etc., resolved on first use
//	if err != nil { ... }
//	res, err := c.Run(ctx, "fal-ai/flux/schnell", map[string]any{"prompt": "a lighthouse at dusk"})
//	if err != nil { ... }
//	var out struct{ Images []struct{ URL string } }
//	err = res.Decode(&out)
//
// Every method takes a context first: its deadline bounds the whole call,
// retries included, and cancelling it returns promptly with ctx.Err()
// wrapped. A Client is safe for concurrent use. The package-level Run uses a
// client built from the environment on first use (DefaultClient).
//
// # Configuration
//
// Options (RequestOption, also called Option) work on the client and on a
// single call: a call starts from a copy of the client's settings. Hosts come
// from WithRunHost, WithQueueHost, WithRestHost and WithCDNHost, else from
// the environment, read when the client is built:
//
//	FAL_RUN_HOST        synchronous runs (default fal.run)
//	FAL_QUEUE_RUN_HOST  the queue (default queue.<run host>; the run host itself for an IP or localhost)
//	FAL_REST_HOST       tokens and storage (default rest.fal.ai; falgo's extension)
//	FAL_CDN_HOST        uploads (default v3.fal.media; falgo's extension)
//
// A bare host ("fal.run", "localhost:8443") is reached over https, as the
// Python client does; a value with a scheme and a path
// ("http://127.0.0.1:8080/run") is used as the base URL, which is how a
// client reaches a local server such as the one in package faltest.
//
// Each HTTP call is bounded by WithTimeout (default 120 s per attempt);
// when it fires the call returns *TimeoutError.
//
// # Credentials
//
// A client given WithKey or WithCredentials uses exactly that. Otherwise it looks
// for credentials when the first request needs them, in this order:
//
//  1. FAL_KEY: sent as "Authorization: Key <FAL_KEY>".
//  2. FAL_KEY_ID and FAL_KEY_SECRET: sent as "Key <id>:<secret>". If only one of
//     the two is set, that is reported in the error rather than silently ignored.
//  3. FAL_KEY_FILE: the path of a file holding the key (surrounding whitespace is
//     trimmed; a leading ~ is expanded). On Unix-like systems the file must not be
//     accessible by group or others (chmod 600), or it is refused.
//  4. The fal CLI login (`fal auth login`): the file auth0_token in $FAL_HOME_DIR
//     (default ~/.fal), sent as "Bearer <access token>". Unlike the Python client,
//     falgo refreshes the access token whenever it comes within five minutes of
//     expiry, so a long-lived client keeps working; the refreshed token is written
//     back to the file (mode 0600) under the same lock the fal CLI uses. The token
//     endpoint can be changed with FAL_AUTH_TOKEN_URL, a falgo extension (https
//     only, except for loopback addresses), or CLITokenCredentials.TokenURL.
//  5. Google Colab: detection only, see below.
//
// FAL_FORCE_AUTH_BY_USER=1 skips every API-key source: only the fal CLI login is
// used. Empty variables count as unset. A key source that is set but unusable (a
// malformed FAL_KEY, a key file that is too open, unreadable or empty) stops the
// lookup with an error instead of falling through to a different identity.
//
// The source found first is kept for the life of the client; a failed lookup is
// not, so setting FAL_KEY later works without rebuilding the client. When nothing
// is found, requests fail with a *MissingCredentialsError (errors.Is
// ErrMissingCredentials) that lists every source, its state (not set, partial,
// invalid, skipped) and why, with advice. Secrets never appear in errors or in
// printed values: only their lengths. InspectCredentials reports the same
// diagnosis without making a request. FetchCredentials returns the API key the
// environment provides, like the Python client's fetch_credentials.
//
// # Google Colab
//
// A Go program started from a notebook cell (`!go run .`) cannot
// read Colab secrets: only the notebook's Python kernel can
// (google.colab.userdata.get), and a program started with ! inherits nothing but
// the kernel's environment. falgo therefore never pretends to read the secret
// vault. IsGoogleColab recognises a Colab runtime from the environment variables
// it sets (a heuristic), and ColabToken returns FAL_KEY only once the notebook
// has exported it. To use a Colab secret, run this in a Python cell first:
//
//	import os; from google.colab import userdata; os.environ["FAL_KEY"] = userdata.get("FAL_KEY")
//
// with a secret named FAL_KEY in the Secrets panel and "Notebook access" switched
// on. Under the VS Code extension or the colab CLI, notebook secrets are not
// available; set FAL_KEY another way (e.g. `colab run --env`). When no key is
// found in Colab, the error says exactly this.
//
// # Errors
//
// A non-2xx answer is an *HTTPError with the status, the request id
// (x-fal-request-id), the error type (the body's error_type, else the
// X-Fal-Error-Type header) and a readable Message built from fal's detail,
// whether that is a string, a list of validation errors (see FieldErrors and
// FieldError) or an object; HTML and empty bodies still give a clear
// message. Missing credentials are a *MissingCredentialsError that lists
// every source tried (errors.Is(err, ErrMissingCredentials) holds).
//
// # Retries
//
// Calls are retried with the Python client's schedule (10 tries, 0.1 s
// doubling to 30 s, with jitter; see DefaultRetryPolicy), honouring
// Retry-After (and Retry-After-Ms) and waiting on the context. Unlike the
// official clients, falgo never resends a request that may already have
// started an app: run and submit POSTs are repeated only on 408, 429, a 503
// from fal's ingress proxy (no x-fal-request-id), or a connection that could
// not be opened. Reads (status, result, cancel) are also repeated on 409,
// ingress 502/504 and network errors. A 504 carrying
// X-Fal-Request-Timeout-Type (the start timeout expired) is never retried.
// WithMaxRetries(0) turns retries off; WithRetryPolicy tunes them.
//
// # The queue
//
// Real fal workloads go through the queue. Subscribe submits, waits and
// returns the output; Submit returns a *RequestHandle at once, whose
// Status, Events, Result and Cancel follow the request; Client.Handle (or
// Client.Status, Client.Result, Client.Cancel) rebuilds a handle from an app
// id and request id saved earlier, in another process or after a restart.
// Queue URLs are built from the app's owner and alias, as fal does: a
// sub-path is dropped, "workflows/" and "comfy/" keep their namespace, and
// the legacy "1234-alias" form becomes "1234/alias".
//
// Waiting uses fal's status stream (GET …/status/stream, server-sent
// events) and falls back to polling every 250 ms (WithPollInterval) when
// the stream is unavailable or drops more than twice; WithPolling polls
// from the start. Status is a sealed type (Queued, InProgress, Completed);
// with WithLogs(true) each status carries the log entries not delivered
// before, so no entry appears twice, even across reconnects. A request that
// completes with an error gives *RequestError. A context deadline (or
// WithClientTimeout) bounds the whole wait; when it runs out after the
// submit, Subscribe cancels the request on the server and returns
// *TimeoutError with the request id. Nothing polls after Subscribe returns.
//
// The status and response URLs a submit answers with are used only when
// they lie under the client's queue host; otherwise falgo builds them from
// the app id, so credentials never follow a server-supplied URL elsewhere.
//
// # Streams
//
// Stream posts to an app's /stream endpoint and yields its server-sent
// events as an iter.Seq2[Event, error]; breaking out of the loop closes the
// connection. Long streams are bounded by the context, not the per-call
// timeout; WithStreamIdleTimeout bounds silences.
//
// # Files
//
// Upload (and UploadFile, UploadImage) store content in fal storage and
// return its URL; uploads stream, in parallel parts above 100 MiB, and fall
// back to fal's REST storage when the CDN fails. Values made with LocalFile,
// FileBytes or FileReader anywhere in an input are uploaded automatically
// before Run, Submit, Subscribe and Stream. File describes output files;
// its Download streams them without sending credentials, and FindFiles
// lists every file in an output. Encode, EncodeFile and EncodeImage make
// data URIs. WithExpiration and WithStorageACL set the lifecycle of
// uploaded files and, sent as X-Fal-Object-Lifecycle-Preference, of the
// files an app generates.
//
// # Realtime
//
// Client.Realtime opens a websocket to an app's realtime endpoint
// (wss://{run host}/{app}/realtime). Each input sent with Send is answered
// by one or more outputs, read with Recv, RecvInto or Messages:
//
//	conn, err := c.Realtime(ctx, "fal-ai/fast-lcm-diffusion")
//	if err != nil { ... }
//	defer conn.Close()
//	err = conn.Send(ctx, map[string]any{"prompt": "a lighthouse", "seed": 7})
//	out, err := conn.Recv(ctx) // map[string]any
//
// By default the client first mints a temporary token (POST {rest
// host}/tokens/ with your key, valid 120 s; WithRealtimeTokenExpiration) and
// puts it in the URL as fal_jwt_token, like both official clients.
// WithRealtimeTokenProvider gets tokens elsewhere; WithoutRealtimeToken
// sends your credentials on the handshake instead. Client.RealtimeToken
// mints a token for code that must not see your key, such as a browser.
// App ids are parsed as the official clients do ("1234-app" is
// "1234/app"), and "/realtime" is not added twice. Options are checked
// before any request: WithMaxBuffering must be from 1 to 60. Every
// RequestOption also works as a RealtimeOption (WithKey, the hosts,
// WithTimeout for each token request and handshake, WithRetryPolicy,
// WithPath, WithLogger...). The context given to Realtime bounds only the
// opening; the connection lasts until Close.
//
// Inputs are msgpack in binary frames: struct fields are named by their
// msgpack tag, else their json tag; []byte is sent as msgpack bin (raw
// bytes); a json.RawMessage or a json.Marshaler is converted from its
// JSON; a msgpack.RawMessage is sent as is; nil sends {}. Outputs are
// decoded from msgpack (or JSON text frames) into map[string]any with
// int64, float64, string, bool, []byte and nested maps and slices.
// RecvInto decodes into your type with encoding/json's rules, as
// Result.Decode does. There is no size limit on incoming messages unless
// WithRealtimeReadLimit sets one. Nothing is throttled or dropped on the
// client side: every Send is one frame (the JS client collapses sends made
// within 128 ms).
//
// Meta frames ({"type":"x-fal-message"}, such as timings) are skipped
// (OnRealtimeMeta sees them). An {"type":"x-fal-error"} frame is a
// *RealtimeError with its Code (BAD_REQUEST, INTERNAL_ERROR, ...) and
// Reason; the connection stays usable. A clean close by the server (status
// 1000, 1001, 1005) ends Recv with io.EOF. An idle timeout ends it with a
// TIMEOUT *RealtimeError that matches both io.EOF and ErrRealtimeIdle.
// Any other close, or a lost connection, gives a *RealtimeError with Code
// CONNECTION_CLOSED and the close status. A refused handshake gives an
// *HTTPError (401 when the token or key is refused). Tokens and keys never
// appear in errors, logs or printed values: URLs show
// fal_jwt_token=REDACTED.
//
// Reconnection is lazy: after the server ends a connection, the next Send
// opens a new one. It reuses the token unless the token expires within
// 10 s, and asks for a fresh token once if the reused one is refused.
// Failed handshakes are retried per the retry policy (network errors,
// 408, 429, the ingress's 502/503/504, Retry-After honoured). Reconnections
// that follow short-lived connections wait with growing back-off, so a
// server that closes every connection at once is not hammered. After the
// end of a connection Recv waits for the next one, and Messages ends
// quietly at a clean end. Breaking out of Messages does not close the
// connection. An input sent while the server is already closing can be
// lost; Recv reports that close.
//
// Concurrency: Send may be called from several goroutines (frames never
// interleave); use Recv/RecvInto/Messages from one reader at a time; one
// reader and any senders may run together; Close may be called at any time
// and more than once. Up to 32 frames per connection are read ahead; keep
// reading, since unread outputs hold the connection back rather than being
// dropped. Close sends a normal closure (1000), releases a blocked Recv
// with ErrRealtimeClosed, aborts a reconnection in progress and stops
// every goroutine.
//
// # Security
//
// Credentials are attached only to requests for the client's own hosts, and
// never appear in errors, logs (WithLogger) or fmt output of the package's
// types: Credentials, Client and the errors redact them.
package fal
