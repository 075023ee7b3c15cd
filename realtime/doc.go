// Package realtime is falgo's realtime client: a websocket to a fal app's
// realtime endpoint (wss://{run host}/{app}/realtime), over which each
// input sent with Send is answered by one or more outputs, read with
// Recv, RecvInto or Messages.
//
// # Opening a connection
//
// A connection is opened by a fal.Client, whose settings it uses:
//
//	c, err := fal.NewClient()
//	if err != nil { ... }
//	conn, err := c.Realtime(ctx, "fal-ai/fast-lcm-diffusion", realtime.WithMaxBuffering(4))
//	if err != nil { ... }
//	defer conn.Close()
//	err = conn.Send(ctx, map[string]any{"prompt": "a lighthouse", "seed": 7})
//	out, err := conn.Recv(ctx) // map[string]any
//
// fal.Client.Realtime returns a *fal.RealtimeConn, which is a *Conn. The
// connection uses the client's settings as given to fal.NewClient: its
// credentials, hosts, timeout (which bounds each token request and each
// handshake), retry policy (how often opening a connection is tried),
// HTTP client, logger, extra headers and user agent. For other settings
// build a client with them: the Options of this package only say what
// concerns the connection itself. App ids are parsed as the official
// clients do ("1234-app" is "1234/app"), and "/realtime" is not added
// twice. Options are checked before any request: WithMaxBuffering must be
// from 1 to 60. The context given to Realtime bounds only the opening; the
// connection lasts until Close.
//
// # Tokens
//
// By default the client first mints a temporary token (POST {rest
// host}/tokens/ with the client's credentials, valid 120 s;
// WithTokenExpiration) and puts it in the URL as fal_jwt_token, like both
// official clients. WithTokenProvider gets tokens elsewhere, for example
// from your backend; WithoutToken sends the client's credentials on the
// handshake instead (the Python client's use_jwt=False), for servers.
// fal.Client.RealtimeToken mints a token for code that must not see your
// key, such as a browser. Tokens and keys never appear in errors, logs or
// printed values: URLs show fal_jwt_token=REDACTED.
//
// # Frames
//
// Inputs are msgpack in binary frames: struct fields are named by their
// msgpack tag, else their json tag; []byte is sent as msgpack bin (raw
// bytes); a json.RawMessage or a json.Marshaler is converted from its
// JSON; a msgpack.RawMessage is sent as is; nil sends {}. Outputs are
// decoded from msgpack (or JSON text frames) into map[string]any with
// int64, float64, string, bool, []byte and nested maps and slices.
// RecvInto decodes into your type with encoding/json's rules, as
// fal.Result.Decode does. An incoming message is bounded by the client's
// fal.Limits.Event (64 MiB by default) unless WithReadLimit sets another
// limit. Nothing is throttled or dropped on the
// client side: every Send is one frame (the JS client collapses sends made
// within 128 ms).
//
// # Errors
//
// Meta frames ({"type":"x-fal-message"}, such as timings) are skipped
// (OnMeta sees them). An {"type":"x-fal-error"} frame is an *Error with
// its Code (BAD_REQUEST, INTERNAL_ERROR, ...) and Reason; the connection
// stays usable. A clean close by the server (status 1000, 1001, 1005) ends
// Recv with io.EOF. An idle timeout ends it with an *Error of Code
// CodeTimeout that matches both io.EOF and ErrIdle. Any other close, or a
// lost connection, gives an *Error with Code CodeConnectionClosed and the
// close status. A refused handshake gives an error wrapping a
// *fal.HTTPError (401 when the token or key is refused), and a handshake
// cut by the client's timeout a *fal.TimeoutError. After Close every
// method returns ErrClosed.
//
// # Reconnection
//
// Reconnection is lazy: after the server ends a connection, the next Send
// opens a new one. It reuses the token unless the token expires within
// 10 s, and asks for a fresh token once, at once, if the reused one is
// refused. A failed handshake is retried when the client's retry policy
// says so, by the same decision as every other request of the client
// (network errors, the per-attempt timeout, 408, 409, 429, the ingress's
// 502/503/504; a Retry-After is honoured up to the policy's
// MaxRetryAfter, and a longer one ends the attempts with an error that
// says how long the server asked for). A handshake is never redirected.
// Reconnections that follow short-lived connections wait with growing
// back-off, so a server that closes every connection at once is not
// hammered. After the end of a connection Recv waits for the next one,
// and Messages ends quietly at a clean end. Breaking out of Messages does
// not close the connection. An input sent while the server is already
// closing can be lost; Recv reports that close.
//
// # Concurrency
//
// Send may be called from several goroutines (frames never interleave);
// use Recv/RecvInto/Messages from one reader at a time; one reader and
// any senders may run together; Close may be called at any time and more
// than once. Up to 32 frames per connection are read ahead; keep reading,
// since unread outputs hold the connection back rather than being
// dropped. Close sends a normal closure (1000), releases a blocked Recv
// with ErrClosed, aborts a reconnection in progress and stops every
// goroutine.
//
// # Why a package of its own
//
// Programs that never open a realtime connection get a smaller root API:
// the options, errors and types of realtime connections live here rather
// than among package fal's names, which keeps only Client.Realtime,
// Client.RealtimeToken and RealtimeConn (the Go names of the Python
// client's realtime()). Package fal imports this package for those names
// and calls Dial and Token directly, so the linker drops this package's
// code and coder/websocket from a program that never calls
// Client.Realtime: measured with Go 1.26 on linux/amd64, a program that
// only calls fal.Run keeps 3 symbols of coder/websocket (its package
// state) and none of this package. msgpack is linked whole either way
// (about 74 KB), because its initialisation registers its encoders.
//
// Coming from the names in package fal: RealtimeOption is Option,
// RealtimeError is Error, ErrRealtimeIdle and ErrRealtimeClosed are
// ErrIdle and ErrClosed, RealtimeCodeTimeout and
// RealtimeCodeConnectionClosed are CodeTimeout and CodeConnectionClosed,
// RealtimeTokenProvider is TokenProvider, and the options drop their
// Realtime: WithRealtimePath is WithPath, WithRealtimeTokenExpiration
// WithTokenExpiration, WithRealtimeTokenProvider WithTokenProvider,
// WithoutRealtimeToken WithoutToken, WithRealtimeReadLimit WithReadLimit,
// OnRealtimeMeta OnMeta; WithMaxBuffering keeps its name. The
// RequestOptions of package fal are no longer options of a connection:
// set WithKey, the hosts, WithTimeout, WithRetryPolicy, WithLogger and
// the others on the client. A sub-path of the app, which fal.WithPath
// gave, is now realtime.WithPath("sub/realtime"), or part of the app id
// ("owner/alias/sub").
package realtime
