package faltest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Realtime sessions: GET /run/{app}[/path]/realtime upgraded to a
// websocket. Each binary frame is one msgpack input; the app runs once per
// input, in order, and its output comes back as one msgpack binary frame
// followed (unless turned off) by a JSON text frame
// {"type":"x-fal-message","action":"timings","timing":<seconds>}, which
// clients skip. Inputs in a custom codec's JSON are taken too and answered
// the same way (see frameCodec): a text frame holding JSON is answered with
// JSON text frames (the JS client sends those when its encodeMessage returns
// a string), a binary frame holding JSON that is not msgpack with JSON binary
// frames (the Python client with encode_message=json.dumps(...).encode()).
// Events a handler passes to Request.Emit go out as frames of their own,
// before its output (fal's server-streaming realtime), and chunks passed to
// Request.EmitBytes as binary frames holding exactly those bytes; a null
// output after events is not sent.
//
// Inputs reach the app as JSON: msgpack maps keep their key order, bin
// values become base64 strings (what encoding/json makes of []byte) and
// timestamps RFC 3339 strings. Outputs go back as msgpack with integers
// kept as integers.
//
// Errors come as JSON text frames {"type":"x-fal-error","error":...,
// "reason":...} (plus "detail" and "error_type" when the app gave them):
// BAD_REQUEST for a frame that is not valid msgpack/JSON
// and for app errors with a 4xx status (validation errors), after which
// the session goes on; INTERNAL_ERROR for any other app failure, after
// which the server closes the connection (status 1000), as fal's runtime
// does. With no input for the idle timeout the server sends
// {"type":"x-fal-error","error":"TIMEOUT","reason":"no inputs, reconnect
// when needed!"} and closes (status 1000). max_buffering=n keeps only the
// newest n inputs waiting while the app is busy, dropping older ones.

// Realtime defaults.
const (
	defaultRealtimeIdle  = 60 * time.Second
	realtimeCloseGrace   = 2 * time.Second  // a closing handshake may take this long before the TCP connection is cut
	realtimeWriteTimeout = 30 * time.Second // a client that reads nothing for this long is disconnected
	realtimeReadLimit    = 64 << 20         // largest frame accepted
	realtimeMaxPending   = 64               // inputs read ahead without max_buffering (then reading pauses)
)

// realtimeState tracks realtime sessions and their settings. Its zero value
// is ready to use.
type realtimeState struct {
	mu        sync.Mutex
	secret    []byte // token signing key; made on first use
	conns     map[*rtConn]struct{}
	closed    bool
	idle      time.Duration
	idleSet   bool
	noTimings bool
	wg        sync.WaitGroup // one per live session
}

// rtConn is one realtime session.
type rtConn struct {
	ws *websocket.Conn
	// connCtx bounds reads and writes; cancelling it cuts the TCP
	// connection (coder/websocket closes a connection whose read or write
	// context ends, even just after the call returned), so it is cancelled
	// only at the very end or when a close handshake stalls.
	connCtx  context.Context
	connStop context.CancelFunc
	// workCtx is the context apps run under; cancelling it asks the session
	// to end (server close, CloseRealtimeConns). It never reaches a
	// connection call, for the reason above.
	workCtx  context.Context
	workStop context.CancelFunc
	done     chan struct{} // closed when the session has ended

	mu          sync.Mutex
	closeCode   websocket.StatusCode // requested by shutdown; 0: going away
	closeReason string
	abrupt      bool // shutdown cut the connection
}

// SetRealtimeIdleTimeout sets how long a realtime session may go without
// input before the server sends a TIMEOUT error and closes it (default 60
// s). d <= 0 disables the timeout. It applies to sessions opened later.
func (s *Server) SetRealtimeIdleTimeout(d time.Duration) {
	s.realtime.mu.Lock()
	s.realtime.idle, s.realtime.idleSet = d, true
	s.realtime.mu.Unlock()
}

// SetRealtimeTimings turns the x-fal-message timing frames sent after each
// realtime output on or off (default on). It applies to sessions opened
// later.
func (s *Server) SetRealtimeTimings(on bool) {
	s.realtime.mu.Lock()
	s.realtime.noTimings = !on
	s.realtime.mu.Unlock()
}

// RealtimeConns reports how many realtime websocket sessions are open.
func (s *Server) RealtimeConns() int {
	s.realtime.mu.Lock()
	defer s.realtime.mu.Unlock()
	return len(s.realtime.conns)
}

// CloseRealtimeConns closes every open realtime session the way a server
// going down does (close status 1001, "going away") and waits until they
// have ended. A client completes the closing handshake by reading; one that
// is not reading is cut after a 2 s grace period. The server keeps
// accepting new sessions.
func (s *Server) CloseRealtimeConns() {
	s.endSessions(func(c *rtConn) { c.shutdown(websocket.StatusGoingAway, "server closed the connection", false) })
}

// DropRealtimeConns cuts every open realtime session's TCP connection
// without a closing handshake, as a network failure would (clients see
// close status 1006), and waits until they have ended.
func (s *Server) DropRealtimeConns() {
	s.endSessions(func(c *rtConn) { c.shutdown(0, "", true) })
}

// closeRealtime ends every session and refuses new ones; Close calls it.
// Sessions get a 1001 close; one whose client does not finish the closing
// handshake promptly is cut.
func (s *Server) closeRealtime() {
	rs := &s.realtime
	rs.mu.Lock()
	rs.closed = true
	rs.mu.Unlock()
	s.endSessions(func(c *rtConn) { c.shutdown(websocket.StatusGoingAway, "server is shutting down", false) })
	rs.wg.Wait()
}

// endSessions applies end to every open session and waits for them to
// finish, cutting the connections of any that take longer than a closing
// handshake should.
func (s *Server) endSessions(end func(*rtConn)) {
	rs := &s.realtime
	rs.mu.Lock()
	conns := make([]*rtConn, 0, len(rs.conns))
	for c := range rs.conns {
		conns = append(conns, c)
	}
	rs.mu.Unlock()
	for _, c := range conns {
		end(c)
	}
	deadline := time.NewTimer(realtimeCloseGrace + 3*time.Second)
	defer deadline.Stop()
	for _, c := range conns {
		select {
		case <-c.done:
		case <-deadline.C:
			for _, c := range conns {
				_ = c.ws.CloseNow()
			}
			for _, c := range conns {
				<-c.done
			}
			return
		}
	}
}

// shutdown asks the session to end: with a closing handshake (code and
// reason), or abruptly, cutting the TCP connection at once.
func (c *rtConn) shutdown(code websocket.StatusCode, reason string, abrupt bool) {
	c.mu.Lock()
	if c.closeCode == 0 && !c.abrupt {
		c.closeCode, c.closeReason, c.abrupt = code, reason, abrupt
	}
	c.mu.Unlock()
	if abrupt {
		_ = c.ws.CloseNow()
	}
	c.workStop()
}

// closeStatus is the close status shutdown asked for (going away when the
// session ended because the server's context did), and whether the
// connection was cut instead.
func (c *rtConn) closeStatus() (websocket.StatusCode, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeCode == 0 {
		return websocket.StatusGoingAway, "server is shutting down", c.abrupt
	}
	return c.closeCode, c.closeReason, c.abrupt
}

// serveRealtime upgrades r to a realtime session for app (path is the
// sub-path below the app id, without the trailing "/realtime"). The handshake
// needs ?fal_jwt_token=<token from POST /rest/tokens/> or the header
// "Authorization: Key <Key>"; it is refused with 401 JSON otherwise, and
// with 422 when max_buffering is not an integer from 1 to 60.
func (s *Server) serveRealtime(w http.ResponseWriter, r *http.Request, app, path string) {
	rs := &s.realtime
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		writeError(w, http.StatusUpgradeRequired, "this is a realtime endpoint: connect with a websocket client (GET with Upgrade: websocket)", "")
		return
	}
	if err := s.authorizeRealtime(r, app); err != nil {
		writeError(w, http.StatusUnauthorized, err.Error(), "")
		return
	}
	buffering, ok := parseMaxBuffering(w, r)
	if !ok {
		return
	}
	rs.mu.Lock()
	closed := rs.closed
	idle := defaultRealtimeIdle
	if rs.idleSet {
		idle = rs.idle
	}
	timings := !rs.noTimings
	rs.mu.Unlock()
	if closed {
		writeError(w, http.StatusServiceUnavailable, "the server is shutting down", "")
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// A local test server: browsers on any origin may connect.
		InsecureSkipVerify: true,
	})
	if err != nil {
		return // Accept has answered the request
	}
	ws.SetReadLimit(realtimeReadLimit)
	c := &rtConn{ws: ws, done: make(chan struct{})}
	c.connCtx, c.connStop = context.WithCancel(context.WithoutCancel(r.Context()))
	c.workCtx, c.workStop = context.WithCancel(r.Context())
	defer c.connStop()
	defer c.workStop()

	rs.mu.Lock()
	if rs.closed {
		rs.mu.Unlock()
		c.closeWith(websocket.StatusGoingAway, "server is shutting down")
		return
	}
	if rs.conns == nil {
		rs.conns = make(map[*rtConn]struct{})
	}
	rs.conns[c] = struct{}{}
	rs.wg.Add(1)
	rs.mu.Unlock()
	defer func() {
		rs.mu.Lock()
		delete(rs.conns, c)
		rs.mu.Unlock()
		close(c.done)
		rs.wg.Done()
	}()

	key := s.authKey(r)
	header := r.Header.Clone()
	header.Del("Authorization")
	sess := &rtSession{srv: s, c: c, app: app, path: path, header: header, key: key, timings: timings}
	sess.run(newInbox(buffering), idle)
}

// authorizeRealtime checks the handshake's token or key.
func (s *Server) authorizeRealtime(r *http.Request, app string) error {
	if tok := r.URL.Query().Get("fal_jwt_token"); tok != "" {
		return s.realtime.verify(tok, app, time.Now())
	}
	if r.Header.Get("Authorization") != "" {
		if s.checkKey(r) {
			return nil
		}
		return errors.New("the Authorization header does not carry this server's key: send \"Authorization: Key <key>\" (faltest's key is in Server.Key) or ?fal_jwt_token=<token>")
	}
	return errors.New("realtime connections need ?fal_jwt_token=<token from POST /rest/tokens/> or the header \"Authorization: Key <key>\"")
}

// parseMaxBuffering reads the optional max_buffering query parameter (0
// when absent), answering 422 when it is not an integer from 1 to 60.
func parseMaxBuffering(w http.ResponseWriter, r *http.Request) (int, bool) {
	q := r.URL.Query()
	if !q.Has("max_buffering") {
		return 0, true
	}
	v := q.Get("max_buffering")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 60 {
		writeError(w, http.StatusUnprocessableEntity, []map[string]any{{
			"loc":  []string{"query", "max_buffering"},
			"msg":  fmt.Sprintf("max_buffering must be an integer from 1 to 60; got %q", v),
			"type": "value_error",
		}}, "")
		return 0, false
	}
	return n, true
}

// closeWith runs the closing handshake, cutting the connection if the
// client has not answered within realtimeCloseGrace.
func (c *rtConn) closeWith(code websocket.StatusCode, reason string) {
	t := time.AfterFunc(realtimeCloseGrace, c.connStop)
	defer t.Stop()
	_ = c.ws.Close(code, reason)
}

// write sends one frame, giving up (and dropping the connection) if the
// client does not take it within realtimeWriteTimeout.
func (c *rtConn) write(typ websocket.MessageType, b []byte) error {
	ctx, cancel := context.WithTimeout(c.connCtx, realtimeWriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, typ, b)
}

// rtInput is one frame read from the client.
type rtInput struct {
	input json.RawMessage
	codec frameCodec // how the input came: the answers go back the same way
	bad   string     // why the frame cannot be used; answered with BAD_REQUEST
}

// inbox holds inputs read ahead of the app. With a limit (max_buffering)
// it keeps the newest limit inputs, dropping older ones; without, the
// reader waits once realtimeMaxPending inputs are waiting.
type inbox struct {
	mu    sync.Mutex
	items []rtInput
	limit int
	ready chan struct{} // signalled after a push
	space chan struct{} // signalled after a pop
}

func newInbox(limit int) *inbox {
	return &inbox{limit: limit, ready: make(chan struct{}, 1), space: make(chan struct{}, 1)}
}

// push adds an input; it reports false if stop closed while it waited.
func (b *inbox) push(in rtInput, stop <-chan struct{}) bool {
	for {
		b.mu.Lock()
		switch {
		case b.limit > 0 && len(b.items) >= b.limit:
			b.items = append(b.items[1:], in)
		case b.limit == 0 && len(b.items) >= realtimeMaxPending:
			b.mu.Unlock()
			select {
			case <-b.space:
				continue
			case <-stop:
				return false
			}
		default:
			b.items = append(b.items, in)
		}
		b.mu.Unlock()
		select {
		case b.ready <- struct{}{}:
		default:
		}
		return true
	}
}

// pop takes the oldest waiting input.
func (b *inbox) pop() (rtInput, bool) {
	b.mu.Lock()
	if len(b.items) == 0 {
		b.mu.Unlock()
		return rtInput{}, false
	}
	in := b.items[0]
	b.items[0] = rtInput{}
	b.items = b.items[1:]
	b.mu.Unlock()
	select {
	case b.space <- struct{}{}:
	default:
	}
	return in, true
}

// rtSession runs one realtime connection.
type rtSession struct {
	srv      *Server
	c        *rtConn
	app      string
	path     string
	header   http.Header
	key      *apiKey // the handshake's key; nil for a temporary token
	timings  bool
	stop     chan struct{} // closed to stop the reader goroutine
	stopOnce sync.Once
}

// stopReader lets a reader waiting for inbox space give up, so that only
// the closing handshake reads from the connection.
func (ss *rtSession) stopReader() { ss.stopOnce.Do(func() { close(ss.stop) }) }

// end closes the connection with code and reason.
func (ss *rtSession) end(code websocket.StatusCode, reason string) {
	ss.stopReader()
	ss.c.closeWith(code, reason)
}

// outcome says how handling one input ended.
type outcome int

const (
	keepGoing  outcome = iota // answered; wait for the next input
	endSession                // the session is over (closed or gone)
)

// run reads frames in a goroutine and answers them in order until the
// client leaves, the idle timeout passes, an internal error happens or the
// server ends the session.
func (ss *rtSession) run(in *inbox, idle time.Duration) {
	c := ss.c
	ss.stop = make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		ss.readLoop(in, ss.stop)
	}()
	defer func() {
		ss.stopReader()
		c.connStop()
		<-readerDone
		_ = c.ws.CloseNow()
	}()

	var idleC <-chan time.Time
	var idleT *time.Timer
	if idle > 0 {
		idleT = time.NewTimer(idle)
		defer idleT.Stop()
		idleC = idleT.C
	}
	for {
		select {
		case <-readerDone:
			return // the client went away (or broke the protocol)
		default:
		}
		if item, ok := in.pop(); ok {
			if idleT != nil {
				idleT.Stop()
			}
			if ss.handle(item) == endSession {
				return
			}
			if idleT != nil {
				idleT.Reset(idle)
			}
			continue
		}
		select {
		case <-in.ready:
		case <-readerDone:
			return
		case <-idleC:
			_ = ss.sendError("TIMEOUT", "no inputs, reconnect when needed!", nil, "")
			ss.end(websocket.StatusNormalClosure, "idle timeout")
			return
		case <-c.workCtx.Done():
			ss.closeForShutdown()
			return
		}
	}
}

// closeForShutdown closes the connection with the status shutdown asked for.
func (ss *rtSession) closeForShutdown() {
	code, reason, abrupt := ss.c.closeStatus()
	if abrupt {
		return // already cut
	}
	ss.end(code, reason)
}

// readLoop turns frames into inputs until the connection ends or stop
// closes.
func (ss *rtSession) readLoop(in *inbox, stop <-chan struct{}) {
	for {
		typ, data, err := ss.c.ws.Read(ss.c.connCtx)
		if err != nil {
			return
		}
		var item rtInput
		item.input, item.codec, item.bad = decodeFrame(typ, data)
		if !in.push(item, stop) {
			return
		}
	}
}

// handle answers one input.
func (ss *rtSession) handle(in rtInput) outcome {
	c := ss.c
	if in.bad != "" {
		if ss.sendError("BAD_REQUEST", in.bad, nil, "") != nil {
			return endSession
		}
		return keepGoing
	}
	var (
		emitMu  sync.Mutex
		emitted bool
	)
	emit := func(event any) error {
		emitMu.Lock()
		defer emitMu.Unlock()
		if chunk, ok := event.(rawChunk); ok {
			emitted = true
			return ss.c.write(websocket.MessageBinary, chunk.data)
		}
		b, err := json.Marshal(event)
		if err != nil {
			return fmt.Errorf("faltest: encoding a realtime event as JSON: %w", err)
		}
		emitted = true
		return ss.sendOutput(b, in.codec)
	}
	start := time.Now()
	out, err := ss.srv.invoke(c.workCtx, ss.app, ss.path, in.input, ss.header, ss.key, emit)
	took := time.Since(start)
	emitMu.Lock()
	hadEvents := emitted
	emitMu.Unlock()
	if c.workCtx.Err() != nil {
		ss.closeForShutdown()
		return endSession
	}
	if err != nil {
		code, reason, detail, errType, fatal := realtimeError(err)
		if ss.sendError(code, reason, detail, errType) != nil {
			return endSession
		}
		if fatal {
			ss.end(websocket.StatusNormalClosure, "internal error")
			return endSession
		}
		return keepGoing
	}
	if !(hadEvents && string(out) == "null") {
		if err := ss.sendOutput(out, in.codec); err != nil {
			if errors.Is(err, errUnencodable) {
				if ss.sendError("INTERNAL_ERROR", err.Error(), nil, "") == nil {
					ss.end(websocket.StatusNormalClosure, "internal error")
				}
			}
			return endSession
		}
	}
	if ss.timings {
		b, _ := json.Marshal(map[string]any{"type": "x-fal-message", "action": "timings", "timing": took.Seconds()})
		if c.write(websocket.MessageText, b) != nil {
			return endSession
		}
	}
	return keepGoing
}

// errUnencodable marks output that cannot be turned into msgpack.
var errUnencodable = errors.New("faltest: the app's realtime output cannot be encoded as msgpack")

// sendOutput sends one output in the form its input came in (see
// frameCodec): msgpack or JSON, in a binary or a text frame.
func (ss *rtSession) sendOutput(out json.RawMessage, codec frameCodec) error {
	typ, b, err := codec.encode(out)
	if err != nil {
		return err
	}
	return ss.c.write(typ, b)
}

// sendError sends an x-fal-error text frame.
func (ss *rtSession) sendError(code, reason string, detail any, errType string) error {
	m := map[string]any{"type": "x-fal-error", "error": code, "reason": reason}
	if detail != nil {
		m["detail"] = detail
	}
	if errType != "" {
		m["error_type"] = errType
	}
	b, err := json.Marshal(m)
	if err != nil {
		delete(m, "detail")
		b, _ = json.Marshal(m)
	}
	return ss.c.write(websocket.MessageText, b)
}

// realtimeError maps an app error to an x-fal-error frame: BAD_REQUEST for
// invalid input and 4xx app errors (the session goes on), INTERNAL_ERROR
// for anything else (fatal: the session closes).
func realtimeError(err error) (code, reason string, detail any, errType string, fatal bool) {
	var (
		ie *InputError
		ae *AppError
	)
	switch {
	case errors.As(err, &ie):
		parts := make([]string, 0, len(ie.Details))
		for _, d := range ie.Details {
			loc := make([]string, len(d.Loc))
			for i, l := range d.Loc {
				loc[i] = fmt.Sprint(l)
			}
			parts = append(parts, strings.Join(loc, ".")+": "+d.Msg)
		}
		return "BAD_REQUEST", strings.Join(parts, "; "), ie.Details, "", false
	case errors.As(err, &ae):
		reason := fmt.Sprint(ae.Detail)
		if b, jerr := json.Marshal(ae.Detail); jerr == nil {
			if _, isString := ae.Detail.(string); !isString {
				reason = string(b)
			}
		}
		if ae.Status >= 400 && ae.Status < 500 {
			return "BAD_REQUEST", reason, ae.Detail, ae.Type, false
		}
		return "INTERNAL_ERROR", reason, ae.Detail, ae.Type, true
	}
	return "INTERNAL_ERROR", err.Error(), nil, "", true
}
