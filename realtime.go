package fal

import (
	"context"
	"time"

	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/realtime"
)

// RealtimeConn is a realtime connection opened with Client.Realtime. It is
// realtime.Conn, where its methods (Send, Recv, RecvInto, Messages, Close)
// are documented.
type RealtimeConn = realtime.Conn

// Realtime opens a realtime connection to app (spec §7): by default it
// gets a temporary token (POST {rest host}/tokens/, valid 120 s unless
// realtime.WithTokenExpiration says otherwise) and connects to
// wss://{run host}/{app}/realtime?fal_jwt_token=<token>. The app id is
// parsed as the official clients do ("1234-app" becomes "1234/app"), and
// "/realtime" is not added twice. Package realtime documents the
// connection, its options, errors and reconnection.
//
// The connection uses the client's settings: its credentials (which mint
// the tokens, or go on the handshake with realtime.WithoutToken), hosts,
// timeout (which bounds each token request and each handshake), retry
// policy (how often opening a connection is tried), HTTP client, logger,
// extra headers and user agent. For other settings build a client with
// them. A sub-path of the app goes in the app id or in realtime.WithPath.
//
// ctx bounds opening the connection only; the connection lasts until
// Close. Options are checked before any request. A refused handshake is
// an error wrapping *HTTPError (401 when the token or key is refused); a
// handshake cut by the timeout is a *TimeoutError.
//
// Inputs are msgpack-encoded (see realtime.Conn.Send); outputs are
// decoded from msgpack or JSON (see realtime.Conn.Recv). Unlike the JS
// client, nothing is throttled or dropped on the client side: every Send
// sends one frame.
func (c *Client) Realtime(ctx context.Context, app string, opts ...realtime.Option) (*RealtimeConn, error) {
	if c == nil || c.eng == nil {
		return nil, falerr.New("the Client is nil or was not built with NewClient")
	}
	return realtime.Dial(ctx, c.eng, app, opts...)
}

// RealtimeToken mints a temporary token that lets its bearer open realtime
// connections to app for ttl (0 means 120 seconds; at least one second,
// rounded up to whole seconds), with POST {rest host}/tokens/ and the
// client's credentials. It is what Realtime does by default; call it
// yourself to hand tokens to code that must not see your key, such as a
// browser. The options are the client's (WithKey, WithRestHost,
// WithTimeout, WithRetryPolicy, ...), changed for this call. The token is
// a secret: it is never logged nor put in errors by this package.
func (c *Client) RealtimeToken(ctx context.Context, app string, ttl time.Duration, opts ...RequestOption) (token string, expires time.Time, err error) {
	cl, err := c.newCall(callToken, opts)
	if err != nil {
		return "", time.Time{}, err
	}
	return realtime.Token(ctx, cl.eng, app, ttl)
}
