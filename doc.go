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
// Two kinds of options configure the client and its calls:
//
//   - An Option says how the client reaches fal: WithKey, WithCredentials,
//     WithTimeout, WithHTTPClient, WithRunHost, WithQueueHost, WithRestHost,
//     WithCDNHost, WithAPIHost, WithInsecureHTTP, WithLogger, WithHeader,
//     WithRetryPolicy, WithMaxRetries, WithLimits. Pass Options to NewClient. Every Option is also a
//     RequestOption: given to one call, it overrides the client's setting
//     for that call only (a per-call WithKey is how temporary credentials
//     are used; per-call hosts reach a second environment, by-id calls such
//     as Client.Status included).
//   - A RequestOption made for one kind of call (WithPath, WithHint,
//     WithStartTimeout, WithPriority, WithWebhook, WithLogs, WithPolling,
//     WithClientTimeout, OnEnqueue, OnQueueUpdate, WithStreamIdleTimeout,
//     fal's request controls WithoutPayloadStorage, WithoutServerRetries,
//     WithoutFallback, WithTags, WithMaxQueueLength and WithMethod, and the
//     storage options) is refused, before any request and with an error
//     that says where it applies, by a call it means nothing to: WithPriority
//     on Run, WithFileName on Run (a file input is named by FileBytes), and
//     so on. Options are never silently ignored.
//
// Hosts come from the host options, else from the environment, read when
// the client is built:
//
//	FAL_RUN_HOST        synchronous runs (default fal.run)
//	FAL_QUEUE_RUN_HOST  the queue (default queue.<run host>; the run host itself for an IP or localhost)
//	FAL_REST_HOST       tokens and storage (default rest.fal.ai; falgo's extension)
//	FAL_CDN_HOST        uploads (default v3.fal.media; falgo's extension)
//	FAL_API_HOST        the Platform API of package platform (default api.fal.ai)
//
// A bare host ("fal.run", "localhost:8443") is reached over https, as the
// Python client does; a value with a scheme and a path
// ("http://127.0.0.1:8080/run") is used as the base URL, which is how a
// client reaches a local server such as the one in package faltest.
//
// Each HTTP attempt is bounded by WithTimeout (default 120 s); when it
// fires the call returns *TimeoutError. For streams and downloads it
// bounds the wait for the answer's headers only.
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
//     trimmed; a leading ~ is expanded; at most 64 KiB).
//  4. The fal CLI login (`fal auth login`): the file auth0_token in $FAL_HOME_DIR
//     (default ~/.fal), sent as "Bearer <access token>". Unlike the Python client,
//     falgo refreshes the access token whenever it comes within five minutes of
//     expiry, so a long-lived client keeps working; the refreshed token is written
//     back to the file (mode 0600) under the same lock the fal CLI uses
//     ($FAL_HOME_DIR/.portalock: a call waits for it no longer than its context,
//     and falgo gives up on a lock held for over 20 s). The token endpoint can be
//     changed with FAL_AUTH_TOKEN_URL, a falgo extension (https only, except for
//     loopback addresses).
//  5. Google Colab: detection only, see below.
//
// The key file and auth0_token follow one rule. Each must be a regular file (a
// symbolic link to one is fine): a named pipe, a device, a socket or a directory
// is refused, and never opened in a way that could wait, so a credential file
// cannot hold a call past its deadline. On systems with Unix permissions, a file
// that group or others have any permission on (mode & 077) is refused too, with
// the chmod 600 command that fixes it: either file is a long-lived secret (the
// key, or a refresh token worth your login), so a file others can read has leaked
// it and one they can change lets them choose whose account your requests use; ssh
// refuses private keys for the same reason. The Python client reads auth0_token
// whatever its mode, and the fal CLI writes it with Python's default mode (0666
// less the umask, usually 0644, in a ~/.fal others can enter), so after `fal auth
// login` run `chmod 600 ~/.fal/auth0_token` once; it then stays private, since the
// fal CLI rewrites the file in place and falgo always writes it with mode 0600.
//
// FAL_FORCE_AUTH_BY_USER=1 skips every API-key source: only the fal CLI login is
// used. Empty variables count as unset. A key source that is set but unusable (a
// malformed FAL_KEY, a key file that is too open, not a regular file, unreadable or
// empty) stops the lookup with an error instead of falling through to a different
// identity; an unusable auth0_token is reported as invalid, with what to do.
//
// The source found first is kept for the life of the client; a failed lookup is
// not, so setting FAL_KEY later works without rebuilding the client. When nothing
// is found, requests fail with a *MissingCredentialsError (errors.Is
// ErrMissingCredentials) whose one-line message lists every source, its state
// (not set, partial, invalid, skipped) and why; its Advice method says what to
// do. Secrets never appear in errors or in printed values: only their lengths. InspectCredentials reports the same
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
// Every error starts with "fal: " once, whatever it wraps, and reads as one
// line; causes are wrapped, so errors.Is and errors.As see through. A
// non-2xx answer is an *HTTPError with the status, the request id
// (x-fal-request-id), the error type (the body's error_type, else the
// X-Fal-Error-Type header) and a readable Message built from fal's detail,
// whether that is a string, a list of validation errors (see FieldErrors and
// FieldError) or an object; HTML and empty bodies still give a clear
// message. A queued request that completed with an error is a
// *RequestError; a time limit that ran out a *TimeoutError (with the request
// id to reattach, when the queue accepted the request); missing credentials
// a *MissingCredentialsError.
//
// # Retries
//
// Every HTTP call goes through one request engine with one retry decision.
// Calls are retried with the Python client's schedule (10 tries, 0.1 s
// doubling to 30 s, with jitter; see RetryPolicy), honouring Retry-After
// (and Retry-After-Ms) up to RetryPolicy.MaxRetryAfter (60 s by default; a
// longer wait ends the retries with an error that says how long the server
// asked for) and waiting on the context. Unlike the official clients, falgo
// never resends a request that may already have started an app: run and
// submit POSTs are repeated only on 408, 429, a 503 from fal's ingress proxy
// (no x-fal-request-id), or a connection that could not be opened. Reads
// (status, result, cancel, downloads) are also repeated on 409, ingress
// 502/504, network errors and per-attempt timeouts. A 504 carrying
// X-Fal-Request-Timeout-Type (the start timeout expired) is never retried.
// Streams are retried only before their first byte. WithMaxRetries(0) turns
// retries off; WithRetryPolicy tunes them.
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
// events) and falls back to polling every 250 ms when the stream is
// unavailable or goes 60 s without an event more than twice; WithPolling
// polls from the start, at the interval it is given. Status is a sealed
// type (Queued, InProgress, Completed); with WithLogs(true) each status
// carries the log entries not delivered before, so no entry appears twice,
// even across reconnects; without WithLogs no log entry is kept, and with
// it a *RequestError keeps the newest 10,000 (Limits.Logs). A request that
// completes with an error gives *RequestError. A context deadline (or
// WithClientTimeout) bounds the whole wait; when it runs out after the
// submit, Subscribe returns *TimeoutError with the request id at once and
// cancels the request on the server in the background (for at most 5 s).
// Nothing polls after Subscribe returns.
//
// The status and response URLs a submit answers with are used only when
// they lie under the client's queue host; otherwise falgo builds them from
// the app id, so credentials never follow a server-supplied URL elsewhere.
//
// # Streams
//
// Stream posts to an app's /stream endpoint and yields its server-sent
// events as an iter.Seq2[Event, error]; breaking out of the loop closes the
// connection. Long streams are bounded by the context, not the per-attempt
// timeout; WithStreamIdleTimeout bounds silences.
//
// # Files
//
// Upload (and UploadFile, UploadImage) store content in fal storage and
// return its URL; uploads stream, in parallel parts above 100 MiB, and fall
// back to fal's REST storage when the CDN fails. Values made with LocalFile,
// FileBytes or FileReader anywhere in an input are uploaded automatically
// before Run, Submit, Subscribe and Stream. File describes output files and
// FindFiles lists every file in an output; Client.Download and DownloadTo
// stream them through the client (its HTTP client, user agent, logger and
// retries) without sending credentials. Encode, EncodeFile and EncodeImage make
// data URIs. WithExpiration and WithStorageACL set the lifecycle of
// uploaded files and, sent as X-Fal-Object-Lifecycle-Preference, of the
// files an app generates.
//
// # Realtime
//
// Client.Realtime opens a websocket to an app's realtime endpoint
// (wss://{run host}/{app}/realtime); the connection's methods, options and
// errors are in package github.com/falgo/fal/realtime:
//
//	conn, err := c.Realtime(ctx, "fal-ai/fast-lcm-diffusion", realtime.WithMaxBuffering(4))
//	if err != nil { ... }
//	defer conn.Close()
//	err = conn.Send(ctx, map[string]any{"prompt": "a lighthouse", "seed": 7})
//	out, err := conn.Recv(ctx) // map[string]any
//
// Client.RealtimeToken mints a temporary token for code that must not see
// your key, such as a browser.
//
// # Packages
//
// The root package holds what most programs use: the client, its options,
// credentials, runs, the queue, streams, storage, files and errors. Big
// features that most programs do not use get packages of their own, as in
// openai-go (whose realtime and webhooks are separate packages): realtime
// connections, their options and errors are in package realtime, and
// webhook verification is in package webhook, so neither adds to the names
// every reader of this package meets. Client.Realtime and RealtimeConn (an
// alias of realtime.Conn) stay in the root because they are the Go names of
// the Python client's realtime().
// Package fal calls into package realtime directly, so the linker drops the
// realtime client from a program that never calls Client.Realtime (in a
// program that only calls Run, 3 symbols of coder/websocket remain); msgpack
// is linked whole either way (about 74 KB), since its initialisation
// registers its encoders. The request engine, the retry decision, the
// SSE decoder and app-id parsing are internal packages shared by all of
// them; the fal Platform API and typed endpoints get packages of their own.
//
// # Security
//
// Credentials are attached only to requests for the client's own hosts, and
// never appear in errors, logs (WithLogger) or fmt output of the package's
// types: Credentials, Client and the errors redact them, and server text
// (bodies, headers, event data) is scrubbed of the token and of each half of
// an id:secret key before it reaches an error. Redirects follow one policy: a
// request with a body (run, submit, uploads) is never redirected, a request
// to the client's hosts only within them, and any redirect that leaves the
// client's hosts loses its Authorization and Referer (which may carry a
// webhook URL); https never redirects to http.
//
// # Limits
//
// Nothing a server sends can exhaust memory or hold a call forever: a
// response body is read up to Limits.Body (256 MiB), an error body up to
// 8 KiB, an event of a stream (and each of its lines) and a realtime frame
// up to Limits.Event (64 MiB), and the log entries kept while following a
// request up to Limits.Logs; a Content-Length is never trusted to size a
// buffer. An answer beyond a limit is an error naming the limit
// (errors.Is(err, ErrTooLarge)); WithLimits raises them. Every wait ends at
// the context's deadline, and the idle timeouts of streams
// (WithStreamIdleTimeout, and 60 s for the status stream) count time
// without a complete event, so a server trickling bytes cannot keep a call
// alive.
//
// # HTTP/2
//
// fal's hosts speak HTTP/2 over TLS, and the default client negotiates it,
// as net/http does: many calls in flight (Subscribes waiting on status
// streams) then share a few connections instead of holding one each. To a
// plain-http host (`falgo local`, faltest, which serve HTTP/2 cleartext and
// HTTP/1.1 on one port) the client speaks HTTP/1.1 unless
// WithHTTP2Cleartext asks for HTTP/2 with prior knowledge; it is not
// automatic, because a plain-http server that speaks only HTTP/1.1 could
// not answer at all. A transport of your own (WithHTTPClient) with a
// TLSClientConfig or a dialer of its own speaks HTTP/1.1 only unless it
// sets ForceAttemptHTTP2 or Protocols; with WithLogger, NewClient logs
// such a transport at debug level, and every exchange's debug line names
// the protocol it used.
//
// # Go version
//
// The module needs Go 1.26 or newer (go.mod). On 2026-12-01 the supported Go
// releases are 1.26 and 1.27, so 1.26 is the oldest still receiving security
// fixes; what falgo needs of a newer Go than the 1.23 it started on is
// http.Protocols (Go 1.24), which lets the client and faltest speak HTTP/2
// without TLS, as fal's hosts speak HTTP/2 with it.
package fal
