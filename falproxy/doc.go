// Package falproxy is the server side of @fal-ai/client's proxyUrl: an
// http.Handler that lets a browser app call fal without ever seeing your
// fal key.
//
// The JavaScript client, configured with
//
//	fal.config({ proxyUrl: "/api/fal/proxy" })
//
// sends each request it would have sent to fal to the proxy URL instead,
// with the original URL in the x-fal-target-url header and no credentials.
// The Handler checks the target against an allowlist, asks your Authorize
// hook whether the caller may use it, adds your fal credentials and
// forwards the request, streaming the answer (server-sent events included)
// back as it arrives. Mount it like any handler:
//
//	proxy, err := falproxy.New(
//		falproxy.WithAuthorize(func(r *http.Request) error {
//			if _, err := sessions.User(r); err != nil { // your app's auth
//				return &falproxy.AuthError{Message: "sign in first", Err: err}
//			}
//			return nil
//		}),
//	)
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux.Handle(falproxy.DefaultRoute, proxy) // "/api/fal/proxy"
//
// # What goes through the proxy
//
// Every request of @fal-ai/client that goes through its request pipeline:
// runs and output streams (https://fal.run/...), the queue
// (https://queue.fal.run/...: submit, status, status stream, result,
// cancel), the storage upload initiation (single and multipart) and the
// realtime token (https://rest.fal.ai/tokens/). Those are the
// DefaultTargets. The upload itself (the PUT of the file, and the parts
// and completion of a multipart upload) goes from the browser straight to
// the signed URL the initiation returned, as does a realtime websocket
// with its token: neither needs your key, and neither passes through the
// proxy.
//
// # Checks, in order
//
//  1. The method is GET, HEAD, POST, PUT, PATCH or DELETE (else 405).
//  2. x-fal-target-url is present, once, and is an absolute https URL
//     without user info, fragment, or . and .. path segments (else 400);
//     http is accepted only for loopback hosts named in an http:// target
//     pattern.
//  3. The method and target match a pattern of the allowlist (else 403).
//     Hosts match exactly: evilfal.run, fal.run.evil.com, fal.run:8443 and
//     queue.fal.ai do not match fal.run/** or queue.fal.run/**. See
//     WithTargets for the pattern syntax.
//  4. The Authorize hook lets the caller through (else 401, or the status
//     of the *AuthError it returned). Target returns the checked target
//     inside the hook.
//  5. The body is no larger than WithMaxBodyBytes (else 413).
//  6. The credentials provider gives credentials (else 500 when there are
//     none, 503 when it failed); nothing is sent upstream without them.
//
// Every error answer is JSON with "message" (what @fal-ai/client shows),
// "detail" (what falgo and fal use) and an "error_type" starting with
// "falproxy_", also sent as X-Fal-Error-Type.
//
// # Forwarding
//
// The request keeps its method and its body, streamed as it arrives (not
// buffered), with only these headers: X-Fal-* (except x-fal-target-url),
// Accept, Accept-Encoding, Content-Type and User-Agent, plus
// Authorization with the proxy's credentials and X-Fal-Client-Proxy:
// falgo/<version>. The caller's Authorization and Cookie headers are your
// app's and are never forwarded.
//
// The answer keeps its status and headers, except hop-by-hop headers and
// headers about fal's origin that must not apply to yours (Set-Cookie,
// Access-Control-*, Strict-Transport-Security, Alt-Svc). A compressed
// answer is passed on compressed when the caller accepts the encoding,
// and decompressed (without Content-Length or Content-Encoding) when the
// caller did not ask for one. The body is streamed; event streams and
// answers of unknown length are flushed after every chunk (and carry
// X-Accel-Buffering: no), so each server-sent event reaches the browser
// when fal sends it. If fal's answer breaks off midway, the connection to
// the caller is aborted rather than ended cleanly, so the caller sees an
// error instead of a truncated answer.
//
// The Handler answers no CORS preflight (OPTIONS answers 405): a proxy is
// normally served from the browser app's own origin. If yours is not, wrap
// the Handler in your CORS middleware.
//
// Redirects from fal are never followed (they could take the key
// elsewhere): they answer 502. When the caller goes away, the upstream
// request is cancelled. Logs (WithLogger) name targets without their
// query and never contain a credential.
//
// # Differences from @fal-ai/server-proxy
//
// The official proxy (npm @fal-ai/server-proxy 1.2) does the same job for
// Node frameworks. This package fixes its weaknesses:
//
//   - Its default allowlist lacks the multipart upload initiation and the
//     realtime token route, so large uploads and realtime fail through it;
//     both are allowed here (WithoutRealtimeTokens removes the latter).
//   - Without FAL_KEY it sends "Authorization: Key undefined", and it
//     ignores FAL_KEY_ID and FAL_KEY_SECRET. Here credentials come from
//     fal.DefaultCredentialsChain (or WithKey, WithCredentials), and without
//     them the request is refused with a clear error and a log line.
//   - It forwards the caller's Authorization header to fal when present,
//     mixing your app's auth with fal's; here the caller's Authorization is
//     for your Authorize hook only.
//   - It lets unauthenticated callers through by default; here New fails
//     unless you choose WithAuthorize or AllowUnauthenticated.
//   - It replaces the caller's Accept with application/json, so a stream's
//     text/event-stream preference is lost; here Accept is passed on.
//   - Its glob patterns are matched against host+path+query as one string;
//     here the host is compared exactly and the path segment by segment,
//     after rejecting user info, fragments and dot segments.
//
// For tests and local development, WithUpstream maps fal's hosts to a
// faltest.Server or `falgo local`, while the allowlist is still checked
// against the real fal URLs the client sends.
package falproxy
