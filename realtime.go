package fal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/falgo/fal/internal/appid"
)

// RealtimeConn is a realtime connection to a fal app: a websocket over
// which each input sent with Send is answered by one or more outputs,
// read with Recv, RecvInto or Messages. Build one with Client.Realtime.
//
// The connection reconnects by itself, lazily: when the server ends it
// (after an idle timeout, an internal error, a restart or a network
// failure), Recv reports the end and the next Send opens a new connection,
// with a new token if the current one expires within 10 seconds. An input
// sent while the server is closing the connection can be lost, as with any
// websocket client; Recv reports that end.
//
// Outputs are read ahead of Recv, up to 32 frames per connection; read
// them: while they are not read, neither is the connection (back-pressure,
// nothing is dropped), and outputs of ended connections are kept until
// read or Close.
//
// Concurrency: Send may be called from several goroutines (calls are
// serialised; frames never interleave). Recv, RecvInto and Messages
// consume one stream of outputs: use them from one goroutine at a time (a
// second caller waits for the first). One reader and any number of
// senders may run concurrently. Close may be called at any time, from any
// goroutine, more than once.
type RealtimeConn struct {
	c    *Client
	cfg  *config
	opts realtimeConfig
	app  string   // the app argument as given, for messages
	id   appid.ID // the parsed app id
	url  string   // connection URL without query
	hc   *http.Client

	sendSem chan struct{} // held by Send (and the first connection)
	recvSem chan struct{} // held by Recv

	// Guarded by sendSem.
	tok      string
	tokExp   time.Time
	lastOpen time.Time
	quick    int // consecutive connections that ended quickly

	closeCtx  context.Context // cancelled by Close
	closeStop context.CancelFunc

	mu       sync.Mutex
	closed   bool
	sessions []*rtSession  // connections whose outputs Recv has not finished; the last may be live
	cur      *rtSession    // the connection Send writes to
	wake     chan struct{} // closed (and replaced) when a connection is added
}

// rtSession is one websocket connection. A goroutine reads its frames into
// frames until the connection ends.
type rtSession struct {
	ws       *websocket.Conn
	frames   chan rtFrame  // closed when the connection has ended
	exited   chan struct{} // closed when the reader goroutine has returned
	stop     chan struct{} // closed by Close: the reader drops frames
	stopOnce sync.Once
	dead     atomic.Bool    // the connection has ended (or failed a write)
	end      error          // why it ended; set before frames is closed
	idle     *RealtimeError // the TIMEOUT frame Recv saw; touched only under recvSem
}

// rtQueue is how many frames are read ahead of Recv. When it is full the
// connection is not read until Recv catches up (back-pressure, never
// dropping outputs).
const rtQueue = 32

func newRTSession(ws *websocket.Conn) *rtSession {
	return &rtSession{
		ws:     ws,
		frames: make(chan rtFrame, rtQueue),
		exited: make(chan struct{}),
		stop:   make(chan struct{}),
	}
}

// readLoop reads frames until the connection ends. Reading all the time
// is also what answers the server's pings and close frames.
func (s *rtSession) readLoop() {
	defer close(s.exited)
	defer close(s.frames)
	for {
		// Background: coder/websocket closes the connection when a read's
		// context ends, and the connection outlives any caller's context.
		typ, data, err := s.ws.Read(context.Background())
		if err != nil {
			s.end = err
			s.dead.Store(true)
			if websocket.CloseStatus(err) == -1 && !errors.Is(err, net.ErrClosed) {
				_ = s.ws.CloseNow() // lost without a closing handshake: release the socket
			}
			return
		}
		select {
		case s.frames <- rtFrame{text: typ == websocket.MessageText, data: data}:
		case <-s.stop:
		}
	}
}

func (s *rtSession) stopReading() { s.stopOnce.Do(func() { close(s.stop) }) }

// Realtime opens a realtime connection to app (spec §7): by default it
// gets a temporary token (POST {rest host}/tokens/, valid
// DefaultRealtimeTokenExpiration) and connects to
// wss://{run host}/{app}/realtime?fal_jwt_token=<token>. The app id is
// parsed as the official clients do ("1234-app" becomes "1234/app").
//
// ctx bounds opening the connection only; the connection lasts until
// Close. Options are checked before any request. A refused handshake is
// an error wrapping *HTTPError (401 when the token or key is refused).
//
// Inputs are msgpack-encoded (see Send); outputs are decoded from msgpack
// or JSON (see Recv). Unlike the JS client, nothing is throttled or
// dropped on the client side: every Send sends one frame.
func (c *Client) Realtime(ctx context.Context, app string, opts ...RealtimeOption) (*RealtimeConn, error) {
	rcfg := realtimeConfig{readLimit: -1}
	if err := rcfg.apply(opts); err != nil {
		return nil, err
	}
	id, err := appid.Parse(app)
	if err != nil {
		return nil, fmt.Errorf("fal: realtime: %w", err)
	}
	cfg, err := c.callConfig(rcfg.requestOpts)
	if err != nil {
		return nil, err
	}
	// Redirects are not followed: the handshake may carry credentials,
	// and a websocket endpoint has no business redirecting.
	hc := *cfg.httpClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	rc := &RealtimeConn{
		c:       c,
		cfg:     cfg,
		opts:    rcfg,
		app:     app,
		id:      id,
		url:     realtimeURL(cfg, &rcfg, id),
		hc:      &hc,
		sendSem: make(chan struct{}, 1),
		recvSem: make(chan struct{}, 1),
		wake:    make(chan struct{}),
	}
	rc.closeCtx, rc.closeStop = context.WithCancel(context.Background())
	rc.sendSem <- struct{}{}
	_, err = rc.connect(ctx, false)
	<-rc.sendSem
	if err != nil {
		rc.closeStop()
		return nil, err
	}
	return rc, nil
}

// register makes s the connection Send writes to and starts its reader.
func (rc *RealtimeConn) register(s *rtSession) error {
	rc.mu.Lock()
	if rc.closed {
		rc.mu.Unlock()
		_ = s.ws.CloseNow()
		return ErrRealtimeClosed
	}
	rc.sessions = append(rc.sessions, s)
	rc.cur = s
	close(rc.wake)
	rc.wake = make(chan struct{})
	rc.mu.Unlock()
	rc.lastOpen = now()
	go s.readLoop()
	return nil
}

// acquire takes a semaphore, giving up when ctx ends or Close is called.
func (rc *RealtimeConn) acquire(ctx context.Context, sem chan struct{}, what string) error {
	if rc.isClosed() {
		return ErrRealtimeClosed
	}
	if err := ctx.Err(); err != nil {
		// Checked first: select picks at random among ready cases.
		return fmt.Errorf("fal: realtime %s: %s: %w", rc.app, what, err)
	}
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("fal: realtime %s: %s: %w", rc.app, what, ctx.Err())
	case <-rc.closeCtx.Done():
		return ErrRealtimeClosed
	}
}

// Send encodes v as msgpack and sends it as one binary frame, opening a
// new connection first if the server ended the previous one.
//
// Encoding: maps and slices as they are; struct fields named by their
// msgpack tag, else their json tag (with omitempty and "-"), else their Go
// name; []byte as msgpack bin (raw bytes, e.g. an image); time.Time as a
// msgpack timestamp. A json.RawMessage or a value with a MarshalJSON
// method is converted from its JSON; a msgpack.RawMessage is sent as is;
// nil sends an empty map. A value that cannot be encoded is an error
// before anything is sent.
//
// If writing fails because the connection broke, the frame cannot have
// been processed, so Send reconnects and sends it once more. Cancelling
// ctx while a frame is being written ends that connection (the next Send
// reconnects).
func (rc *RealtimeConn) Send(ctx context.Context, v any) error {
	data, err := encodeRealtime(v)
	if err != nil {
		return fmt.Errorf("fal: realtime %s: the input (%T) cannot be encoded as msgpack: %w", rc.app, v, err)
	}
	if err := rc.acquire(ctx, rc.sendSem, "sending"); err != nil {
		return err
	}
	defer func() { <-rc.sendSem }()
	for try := 1; ; try++ {
		s, err := rc.session(ctx)
		if err != nil {
			return err
		}
		werr := s.ws.Write(ctx, websocket.MessageBinary, data)
		if werr == nil {
			return nil
		}
		s.dead.Store(true)
		_ = s.ws.CloseNow()
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("fal: realtime %s: sending: %w", rc.app, ctx.Err())
		case rc.isClosed():
			return ErrRealtimeClosed
		case try >= 2:
			return fmt.Errorf("fal: realtime %s: sending: the connection broke twice: %w", rc.app, werr)
		}
		if rc.cfg.logger != nil {
			rc.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "fal: realtime: write failed, reconnecting",
				slog.String("app", rc.app), slog.String("error", werr.Error()))
		}
	}
}

// session returns the live connection, opening a new one if the last has
// ended. Guarded by sendSem.
func (rc *RealtimeConn) session(ctx context.Context) (*rtSession, error) {
	rc.mu.Lock()
	closed, s := rc.closed, rc.cur
	rc.mu.Unlock()
	if closed {
		return nil, ErrRealtimeClosed
	}
	if s != nil && !s.dead.Load() {
		return s, nil
	}
	if rc.cfg.logger != nil {
		rc.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "fal: realtime: reconnecting", slog.String("app", rc.app))
	}
	return rc.connect(ctx, true)
}

func (rc *RealtimeConn) isClosed() bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.closed
}

// Recv returns the next output, in the order the server sent them.
//
// Binary frames are msgpack-decoded: maps become map[string]any (other
// key types are turned into strings), integers int64 (uint64 beyond its
// range), floats float64, bin []byte, timestamps time.Time. Text frames
// are JSON, with the same number types. An output that is not a map is
// returned as {"payload": value}; a text frame that is not JSON as
// {"type": "text", "payload": text}. Meta frames ({"type":
// "x-fal-message"}, e.g. timings) are skipped (see OnRealtimeMeta).
//
// Errors:
//   - *RealtimeError for an {"type": "x-fal-error"} frame (and the
//     gateway's {"status": "error"} text frames), and an error for a frame
//     that cannot be decoded: the connection stays usable, call Recv
//     again.
//   - io.EOF when the server closed the connection cleanly (close status
//     1000, 1001 or 1005); after an idle timeout the error is a TIMEOUT
//     *RealtimeError that matches both io.EOF and ErrRealtimeIdle.
//   - *RealtimeError with Code CONNECTION_CLOSED when it closed otherwise
//     or the connection was lost.
//   - ErrRealtimeClosed after Close; ctx's error, wrapped, when ctx ends.
//
// After the end of a connection, Recv waits for the one the next Send
// opens (it never reconnects by itself).
func (rc *RealtimeConn) Recv(ctx context.Context) (map[string]any, error) {
	out, err, _ := rc.next(ctx)
	if err != nil {
		return nil, err
	}
	return out.asMap(), nil
}

// RecvInto is Recv decoding the output into v with encoding/json's rules
// (json tags, Unmarshaler), as Result.Decode does: a msgpack output is
// converted to JSON first (bin values become base64 strings, which decode
// into []byte fields). Its errors are Recv's, plus a decoding error that
// leaves the connection usable.
func (rc *RealtimeConn) RecvInto(ctx context.Context, v any) error {
	out, err, _ := rc.next(ctx)
	if err != nil {
		return err
	}
	if err := out.decode(v); err != nil {
		return fmt.Errorf("fal: realtime %s: decoding an output into %T: %w", rc.app, v, err)
	}
	return nil
}

// Messages returns the outputs of the current connection as an iterator.
// Errors that concern one frame (*RealtimeError such as BAD_REQUEST, or an
// undecodable frame) are yielded and the iteration goes on. It ends
// silently when the connection ends cleanly (including an idle timeout)
// or Close is called; a lost connection or the end of ctx is yielded as
// the last error. Breaking out of the loop does not close the connection:
// call Close. Ranging again after the end waits for the connection the
// next Send opens.
func (rc *RealtimeConn) Messages(ctx context.Context) iter.Seq2[map[string]any, error] {
	return func(yield func(map[string]any, error) bool) {
		for {
			out, err, final := rc.next(ctx)
			if err == nil {
				if !yield(out.asMap(), nil) {
					return
				}
				continue
			}
			if final {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrRealtimeClosed) {
					yield(nil, err)
				}
				return
			}
			if !yield(nil, err) {
				return
			}
		}
	}
}

// next returns the next output, or an error; final reports that the error
// ends the current connection or the reading (see Recv).
func (rc *RealtimeConn) next(ctx context.Context) (out rtOutput, err error, final bool) {
	if err := rc.acquire(ctx, rc.recvSem, "receiving"); err != nil {
		return out, err, true
	}
	defer func() { <-rc.recvSem }()
	for {
		rc.mu.Lock()
		if rc.closed {
			rc.mu.Unlock()
			return out, ErrRealtimeClosed, true
		}
		var s *rtSession
		if len(rc.sessions) > 0 {
			s = rc.sessions[0]
		}
		wake := rc.wake
		rc.mu.Unlock()
		if s == nil {
			select {
			case <-wake:
				continue
			case <-ctx.Done():
				return out, fmt.Errorf("fal: realtime %s: receiving: %w", rc.app, ctx.Err()), true
			case <-rc.closeCtx.Done():
				return out, ErrRealtimeClosed, true
			}
		}
		select {
		case f, ok := <-s.frames:
			if !ok {
				rc.mu.Lock()
				if len(rc.sessions) > 0 && rc.sessions[0] == s {
					rc.sessions = rc.sessions[1:]
				}
				closed := rc.closed
				rc.mu.Unlock()
				if closed {
					return out, ErrRealtimeClosed, true
				}
				return out, rc.endError(s), true
			}
			kind, o, ferr := classify(rc.app, f)
			switch kind {
			case frameMeta:
				if rc.opts.onMeta != nil {
					rc.opts.onMeta(o.asMap())
				}
				continue
			case frameError:
				var re *RealtimeError
				if errors.As(ferr, &re) && re.Code == RealtimeCodeTimeout {
					// The server closes the connection next; report
					// the idle timeout as that end.
					s.idle = re
					continue
				}
				return out, ferr, false
			}
			return o, nil, false
		case <-ctx.Done():
			return out, fmt.Errorf("fal: realtime %s: receiving: %w", rc.app, ctx.Err()), true
		case <-rc.closeCtx.Done():
			return out, ErrRealtimeClosed, true
		}
	}
}

// endError says how connection s ended (see Recv).
func (rc *RealtimeConn) endError(s *rtSession) error {
	code := websocket.CloseStatus(s.end)
	switch code {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatusRcvd:
		if s.idle != nil {
			return s.idle
		}
		return io.EOF
	}
	e := &RealtimeError{App: rc.app, Code: RealtimeCodeConnectionClosed, CloseStatus: int(code)}
	if errors.Is(s.end, websocket.ErrMessageTooBig) {
		e.CloseStatus = int(websocket.StatusMessageTooBig)
		e.Reason = fmt.Sprintf("an incoming message exceeded the read limit of %d bytes (WithRealtimeReadLimit)", rc.opts.readLimit)
		return e
	}
	if code == -1 {
		e.CloseStatus = int(websocket.StatusAbnormalClosure)
		e.Reason = "the connection was lost"
		if s.end != nil {
			e.Reason += ": " + s.end.Error()
		}
	} else {
		var ce websocket.CloseError
		errors.As(s.end, &ce)
		e.Reason = ce.Reason
		if e.Reason == "" {
			e.Reason = "closed by the server"
		}
	}
	return e
}

// Close closes the connection with a normal closure (status 1000) and
// stops every goroutine of the RealtimeConn. Outputs not yet read are
// discarded; later calls of any method return ErrRealtimeClosed, and a
// blocked Recv returns it at once. Close is idempotent and returns nil: a
// closing handshake that fails (the connection was already broken) leaves
// nothing to do.
func (rc *RealtimeConn) Close() error {
	rc.mu.Lock()
	if rc.closed {
		rc.mu.Unlock()
		return nil
	}
	rc.closed = true
	sessions := append([]*rtSession(nil), rc.sessions...)
	if rc.cur != nil && (len(sessions) == 0 || sessions[len(sessions)-1] != rc.cur) {
		sessions = append(sessions, rc.cur)
	}
	rc.sessions, rc.cur = nil, nil
	rc.mu.Unlock()
	rc.closeStop()

	for _, s := range sessions {
		s.stopReading()
		if s.dead.Load() {
			_ = s.ws.CloseNow()
		} else {
			_ = s.ws.Close(websocket.StatusNormalClosure, "")
		}
		<-s.exited
	}
	return nil
}

// String describes the connection without its token.
func (rc *RealtimeConn) String() string {
	if rc == nil {
		return "fal.RealtimeConn(nil)"
	}
	u := rc.url
	if !rc.opts.noToken {
		u = rc.withQuery("REDACTED")
	}
	return fmt.Sprintf("fal.RealtimeConn{app: %s, url: %s}", rc.app, u)
}

// GoString is String, so %#v never reveals the token.
func (rc *RealtimeConn) GoString() string { return rc.String() }

// Format prints String for every verb, so no verb reveals the token.
func (rc *RealtimeConn) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(rc.String())) }

// LogValue describes the connection without its token.
func (rc *RealtimeConn) LogValue() slog.Value { return slog.StringValue(rc.String()) }
