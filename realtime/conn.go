package realtime

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
	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
)

// Conn is a realtime connection to a fal app: a websocket over which each
// input sent with Send is answered by one or more outputs, read with Recv,
// RecvInto or Messages. Open one with fal.Client.Realtime (fal.RealtimeConn
// is this type).
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
//
// A Conn prints (with every fmt verb) as its app and URL with the token
// replaced by REDACTED.
type Conn struct {
	e    *engine.Config // the client's settings
	opts config
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
	sessions []*session    // connections whose outputs Recv has not finished; the last may be live
	cur      *session      // the connection Send writes to
	wake     chan struct{} // closed (and replaced) when a connection is added
}

// session is one websocket connection. A goroutine reads its frames into
// frames until the connection ends.
type session struct {
	ws       *websocket.Conn
	frames   chan rawFrame // closed when the connection has ended
	exited   chan struct{} // closed when the reader goroutine has returned
	stop     chan struct{} // closed by Close: the reader drops frames
	stopOnce sync.Once
	dead     atomic.Bool // the connection has ended (or failed a write)
	end      error       // why it ended; set before frames is closed
	idle     *Error      // the TIMEOUT frame Recv saw; touched only under recvSem
	secrets  []string    // the handshake's token and key, scrubbed from the server's error frames
}

// readAhead is how many frames are read ahead of Recv. When it is full the
// connection is not read until Recv catches up (back-pressure, never
// dropping outputs).
const readAhead = 32

func newSession(ws *websocket.Conn, secrets []string) *session {
	return &session{
		ws:      ws,
		secrets: secrets,
		frames:  make(chan rawFrame, readAhead),
		exited:  make(chan struct{}),
		stop:    make(chan struct{}),
	}
}

// readLoop reads frames until the connection ends. Reading all the time
// is also what answers the server's pings and close frames.
func (s *session) readLoop() {
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
		case s.frames <- rawFrame{text: typ == websocket.MessageText, data: data}:
		case <-s.stop:
		}
	}
}

func (s *session) stopReading() { s.stopOnce.Do(func() { close(s.stop) }) }

// open opens a connection to app with the client's settings e (see
// fal.Client.Realtime).
func open(ctx context.Context, e *engine.Config, app string, opts []Option) (*Conn, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.readLimit < 0 {
		cfg.readLimit = e.EventLimit()
	}
	id, err := appid.Parse(app)
	if err != nil {
		return nil, falerr.Wrap(err, "realtime")
	}
	// Redirects are not followed: the handshake may carry credentials,
	// and a websocket endpoint has no business redirecting.
	hc := *e.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	rc := &Conn{
		e:       e,
		opts:    cfg,
		app:     app,
		id:      id,
		url:     connURL(e, &cfg, id),
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
func (rc *Conn) register(s *session) error {
	rc.mu.Lock()
	if rc.closed {
		rc.mu.Unlock()
		_ = s.ws.CloseNow()
		return ErrClosed
	}
	rc.sessions = append(rc.sessions, s)
	rc.cur = s
	close(rc.wake)
	rc.wake = make(chan struct{})
	rc.mu.Unlock()
	rc.lastOpen = rc.e.Clock()
	go s.readLoop()
	return nil
}

// acquire takes a semaphore, giving up when ctx ends or Close is called.
func (rc *Conn) acquire(ctx context.Context, sem chan struct{}, what string) error {
	if rc.isClosed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		// Checked first: select picks at random among ready cases.
		return falerr.Wrap(err, "realtime %s: %s", rc.app, what)
	}
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return falerr.Wrap(ctx.Err(), "realtime %s: %s", rc.app, what)
	case <-rc.closeCtx.Done():
		return ErrClosed
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
func (rc *Conn) Send(ctx context.Context, v any) error {
	data, err := encode(v)
	if err != nil {
		return falerr.Wrap(err, "realtime %s: the input (%T) cannot be encoded as msgpack", rc.app, v)
	}
	if err := rc.acquire(ctx, rc.sendSem, "sending"); err != nil {
		return err
	}
	defer func() { <-rc.sendSem }()
	for try := 1; ; try++ {
		s, err := rc.live(ctx)
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
			return falerr.Wrap(ctx.Err(), "realtime %s: sending", rc.app)
		case rc.isClosed():
			return ErrClosed
		case try >= 2:
			return falerr.Wrap(werr, "realtime %s: sending: the connection broke twice", rc.app)
		}
		rc.e.Debug(ctx, "fal: realtime: write failed, reconnecting", slog.String("app", rc.app), slog.String("error", werr.Error()))
	}
}

// live returns the live connection, opening a new one if the last has
// ended. Guarded by sendSem.
func (rc *Conn) live(ctx context.Context) (*session, error) {
	rc.mu.Lock()
	closed, s := rc.closed, rc.cur
	rc.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if s != nil && !s.dead.Load() {
		return s, nil
	}
	rc.e.Debug(ctx, "fal: realtime: reconnecting", slog.String("app", rc.app))
	return rc.connect(ctx, true)
}

func (rc *Conn) isClosed() bool {
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
// "x-fal-message"}, e.g. timings) are skipped (see OnMeta).
//
// Errors:
//   - *Error for an {"type": "x-fal-error"} frame (and the gateway's
//     {"status": "error"} text frames), and an error for a frame that
//     cannot be decoded: the connection stays usable, call Recv again.
//   - io.EOF when the server closed the connection cleanly (close status
//     1000, 1001 or 1005); after an idle timeout the error is a TIMEOUT
//     *Error that matches both io.EOF and ErrIdle.
//   - *Error with Code CodeConnectionClosed when it closed otherwise or
//     the connection was lost.
//   - ErrClosed after Close; ctx's error, wrapped, when ctx ends.
//
// After the end of a connection, Recv waits for the one the next Send
// opens (it never reconnects by itself).
func (rc *Conn) Recv(ctx context.Context) (map[string]any, error) {
	out, err, _ := rc.next(ctx)
	if err != nil {
		return nil, err
	}
	return out.asMap(), nil
}

// RecvInto is Recv decoding the output into v with encoding/json's rules
// (json tags, Unmarshaler), as fal.Result.Decode does: a msgpack output is
// converted to JSON first (bin values become base64 strings, which decode
// into []byte fields). Its errors are Recv's, plus a decoding error that
// leaves the connection usable.
func (rc *Conn) RecvInto(ctx context.Context, v any) error {
	out, err, _ := rc.next(ctx)
	if err != nil {
		return err
	}
	if err := out.decode(v); err != nil {
		return falerr.Wrap(err, "realtime %s: decoding an output into %T", rc.app, v)
	}
	return nil
}

// Messages returns the outputs of the current connection as an iterator.
// Errors that concern one frame (*Error such as BAD_REQUEST, or an
// undecodable frame) are yielded and the iteration goes on. It ends
// silently when the connection ends cleanly (including an idle timeout)
// or Close is called; a lost connection or the end of ctx is yielded as
// the last error. Breaking out of the loop does not close the connection:
// call Close. Ranging again after the end waits for the connection the
// next Send opens.
func (rc *Conn) Messages(ctx context.Context) iter.Seq2[map[string]any, error] {
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
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrClosed) {
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
func (rc *Conn) next(ctx context.Context) (out output, err error, final bool) {
	if err := rc.acquire(ctx, rc.recvSem, "receiving"); err != nil {
		return out, err, true
	}
	defer func() { <-rc.recvSem }()
	for {
		rc.mu.Lock()
		if rc.closed {
			rc.mu.Unlock()
			return out, ErrClosed, true
		}
		var s *session
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
				return out, falerr.Wrap(ctx.Err(), "realtime %s: receiving", rc.app), true
			case <-rc.closeCtx.Done():
				return out, ErrClosed, true
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
					return out, ErrClosed, true
				}
				return out, rc.endError(s), true
			}
			kind, o, ferr := classify(rc.app, f)
			switch kind {
			case frameMeta:
				if rc.opts.onMeta != nil {
					if o.value == nil { // a text frame, which classify leaves undecoded
						if g, err := jsonToGeneric(f.data); err == nil {
							o.value = g
						}
					}
					rc.opts.onMeta(o.asMap())
				}
				continue
			case frameError:
				var re *Error
				if errors.As(ferr, &re) {
					re.scrub(s.secrets)
				}
				if re != nil && re.Code == CodeTimeout {
					// The server closes the connection next; report
					// the idle timeout as that end.
					s.idle = re
					continue
				}
				return out, ferr, false
			}
			return o, nil, false
		case <-ctx.Done():
			return out, falerr.Wrap(ctx.Err(), "realtime %s: receiving", rc.app), true
		case <-rc.closeCtx.Done():
			return out, ErrClosed, true
		}
	}
}

// endError says how connection s ended (see Recv).
func (rc *Conn) endError(s *session) error {
	code := websocket.CloseStatus(s.end)
	switch code {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatusRcvd:
		if s.idle != nil {
			return s.idle
		}
		return io.EOF
	}
	e := &Error{App: rc.app, Code: CodeConnectionClosed, CloseStatus: int(code)}
	if errors.Is(s.end, websocket.ErrMessageTooBig) {
		e.CloseStatus = int(websocket.StatusMessageTooBig)
		e.Reason = fmt.Sprintf("an incoming message exceeded the read limit of %d bytes (realtime.WithReadLimit, or the client's fal.Limits.Event)", rc.opts.readLimit)
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
// stops every goroutine of the Conn. Outputs not yet read are
// discarded; later calls of any method return ErrClosed, and a
// blocked Recv returns it at once. Close is idempotent and returns nil: a
// closing handshake that fails (the connection was already broken) leaves
// nothing to do.
func (rc *Conn) Close() error {
	rc.mu.Lock()
	if rc.closed {
		rc.mu.Unlock()
		return nil
	}
	rc.closed = true
	sessions := append([]*session(nil), rc.sessions...)
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

// Format prints the app and the URL, with the token replaced by
// REDACTED, for every verb: no verb reveals the token.
func (rc *Conn) Format(f fmt.State, _ rune) {
	if rc == nil {
		_, _ = io.WriteString(f, "realtime.Conn(nil)")
		return
	}
	tok := "REDACTED"
	if rc.opts.noToken {
		tok = ""
	}
	_, _ = fmt.Fprintf(f, "realtime.Conn{app: %s, url: %s}", rc.app, rc.withQuery(tok))
}
