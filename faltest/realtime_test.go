package faltest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/falgo/fal/faltest"
	"github.com/vmihailenco/msgpack/v5"
	"go.uber.org/goleak"
)

// rtWait bounds every wait for a frame. It is a hang guard, not a
// correctness bound: a read waits for the frame itself, so a passing run
// never comes near it, however busy the machine.
const rtWait = waitLimit

// rtApps are the apps realtime tests talk to.
func rtApps() []faltest.Option {
	echo := func(ctx context.Context, req *faltest.Request) (any, error) {
		return map[string]any{"echo": req.Input, "path": req.Path}, nil
	}
	strict := func(ctx context.Context, req *faltest.Request) (any, error) {
		var in struct {
			Prompt string `json:"prompt"`
		}
		if err := req.Decode(&in); err != nil || in.Prompt == "" {
			return nil, faltest.ValidationError("prompt", "field required")
		}
		return map[string]string{"text": in.Prompt}, nil
	}
	crash := func(ctx context.Context, req *faltest.Request) (any, error) {
		return nil, errors.New("the model fell over")
	}
	streamer := func(ctx context.Context, req *faltest.Request) (any, error) {
		for i := 0; i < 3; i++ {
			if err := req.Emit(map[string]int{"i": i}); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	rawFrames := func(ctx context.Context, req *faltest.Request) (any, error) {
		for _, chunk := range [][]byte{{0xff, 0x00}, []byte("pcm")} {
			if err := req.EmitBytes("audio/pcm", chunk); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	return []faltest.Option{
		faltest.WithoutDemoApps(),
		faltest.WithApp("test/echo", echo),
		faltest.WithApp("test/raw", rawFrames),
		faltest.WithApp("test/strict", strict),
		faltest.WithApp("test/crash", crash),
		faltest.WithApp("test/streamer", streamer),
	}
}

// rtEnv is a server with the realtime test apps.
type rtEnv struct {
	t   *testing.T
	srv *faltest.Server
	hc  *http.Client
}

func newRtEnv(t *testing.T) *rtEnv {
	t.Helper()
	srv := faltest.NewServer(rtApps()...)
	tr := &http.Transport{}
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return &rtEnv{t: t, srv: srv, hc: &http.Client{Transport: tr, Timeout: rtWait}}
}

// tokenResponse posts to /rest/tokens/ and returns status and body.
func (e *rtEnv) tokenResponse(body string, withKey bool) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/rest/tokens/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if withKey {
		req.Header.Set("Authorization", "Key "+e.srv.Key)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// token gets a realtime token for alias.
func (e *rtEnv) token(alias string) string {
	e.t.Helper()
	status, body := e.tokenResponse(fmt.Sprintf(`{"allowed_apps": [%q], "token_expiration": 120}`, alias), true)
	if status != 200 {
		e.t.Fatalf("POST /rest/tokens/: %d %s", status, body)
	}
	var tok string
	if err := json.Unmarshal(body, &tok); err != nil {
		e.t.Fatalf("token response %s is not a JSON string: %v", body, err)
	}
	return tok
}

// dial opens a websocket to /run/<app>/realtime with the given query.
func (e *rtEnv) dial(app, query string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), rtWait)
	defer cancel()
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/run/" + app + "/realtime"
	if query != "" {
		u += "?" + query
	}
	c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: hdr, HTTPClient: e.hc})
	if c != nil {
		c.SetReadLimit(-1)
	}
	return c, resp, err
}

// connect dials app with a fresh token and fails the test on error.
func (e *rtEnv) connect(app string, extraQuery string) *websocket.Conn {
	e.t.Helper()
	alias := strings.Split(app, "/")[1]
	q := "fal_jwt_token=" + e.token(alias)
	if extraQuery != "" {
		q += "&" + extraQuery
	}
	c, _, err := e.dial(app, q, nil)
	if err != nil {
		e.t.Fatalf("dialing %s: %v", app, err)
	}
	e.t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func rtSend(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	rtSendRaw(t, c, websocket.MessageBinary, b)
}

func rtSendRaw(t *testing.T, c *websocket.Conn, typ websocket.MessageType, b []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rtWait)
	defer cancel()
	if err := c.Write(ctx, typ, b); err != nil {
		t.Fatalf("sending a frame: %v", err)
	}
}

// rtFrame reads one frame.
func rtFrame(t *testing.T, c *websocket.Conn) (websocket.MessageType, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rtWait)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		if ctx.Err() != nil {
			t.Fatalf("hang: no frame after %v: %v", rtWait, err)
		}
		t.Fatalf("reading a frame: %v", err)
	}
	return typ, b
}

// rtControl decodes a JSON text frame.
func rtControl(t *testing.T, typ websocket.MessageType, b []byte) map[string]any {
	t.Helper()
	if typ != websocket.MessageText {
		t.Fatalf("got a binary frame %x, want a JSON text frame", b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("text frame %q is not JSON: %v", b, err)
	}
	return m
}

// rtNext reads the next frame, which must be a JSON text frame.
func rtNext(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	typ, b := rtFrame(t, c)
	return rtControl(t, typ, b)
}

// rtOutput reads the next msgpack output, checking that the timings frame
// follows it.
func rtOutput(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	typ, b := rtFrame(t, c)
	if typ != websocket.MessageBinary {
		t.Fatalf("got text frame %s, want a msgpack output", b)
	}
	var out map[string]any
	if err := msgpack.Unmarshal(b, &out); err != nil {
		t.Fatalf("output frame is not msgpack: %v", err)
	}
	m := rtNext(t, c)
	if m["type"] != "x-fal-message" || m["action"] != "timings" {
		t.Fatalf("after an output got %v, want an x-fal-message timings frame", m)
	}
	if secs, ok := m["timing"].(float64); !ok || secs < 0 {
		t.Fatalf("timing %v is not a number of seconds", m["timing"])
	}
	return out
}

// rtCloseStatus waits for the connection to end and returns its status.
func rtCloseStatus(t *testing.T, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rtWait)
	defer cancel()
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("hang: the server had not ended the connection after %v", rtWait)
			}
			return websocket.CloseStatus(err)
		}
		t.Logf("frame before close: %v %s", typ, b)
	}
}

func TestRealtimeToken(t *testing.T) {
	e := newRtEnv(t)
	tok := e.token("echo")
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", tok)
	}
	head, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		AllowedApps []string `json:"allowed_apps"`
		Exp, Iat    int64
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("payload %s: %v", payload, err)
	}
	if !strings.Contains(string(head), `"HS256"`) || claims.Exp-claims.Iat != 120 || len(claims.AllowedApps) != 1 || claims.AllowedApps[0] != "echo" {
		t.Fatalf("header %s, claims %+v: want HS256, a 120 s lifetime and allowed_apps [echo]", head, claims)
	}

	if status, body := e.tokenResponse(`{"allowed_apps": ["echo"]}`, false); status != 401 {
		t.Fatalf("without a key: %d %s", status, body)
	}
	for _, body := range []string{
		``, `[]`, `{}`, `{"allowed_apps": []}`, `{"allowed_apps": [""]}`, `{"allowed_apps": "echo"}`,
		`{"allowed_apps": ["echo"], "token_expiration": 0}`,
		`{"allowed_apps": ["echo"], "token_expiration": -5}`,
		`{"allowed_apps": ["echo"], "token_expiration": 1.5}`,
		`{"allowed_apps": ["echo"], "token_expiration": "soon"}`,
	} {
		if status, resp := e.tokenResponse(body, true); status != 422 {
			t.Errorf("body %s: %d %s, want 422", body, status, resp)
		}
	}
}

func TestRealtimeRoundTrips(t *testing.T) {
	e := newRtEnv(t)
	c := e.connect("test/echo", "")
	for i := 0; i < 3; i++ {
		in := map[string]any{"i": i, "s": "héllo", "f": 1.5, "bin": []byte{0, 1, 2}, "nested": map[string]any{"list": []any{1, "two", nil, true}}}
		rtSend(t, c, in)
		out := rtOutput(t, c)
		echo, _ := out["echo"].(map[string]any)
		nested, _ := echo["nested"].(map[string]any)
		if fmt.Sprint(echo["i"]) != fmt.Sprint(i) || echo["s"] != "héllo" || echo["f"] != 1.5 ||
			echo["bin"] != base64.StdEncoding.EncodeToString([]byte{0, 1, 2}) ||
			fmt.Sprint(nested["list"]) != "[1 two <nil> true]" || out["path"] != "" {
			t.Fatalf("round trip %d: got %v", i, out)
		}
	}

	// Pipelined inputs are answered in order.
	for i := 0; i < 5; i++ {
		rtSend(t, c, map[string]int{"n": i})
	}
	for i := 0; i < 5; i++ {
		out := rtOutput(t, c)
		if got := fmt.Sprint(out["echo"].(map[string]any)["n"]); got != fmt.Sprint(i) {
			t.Fatalf("pipelined answer %d is for input %s", i, got)
		}
	}
	if n := e.srv.Executions("test/echo"); n != 8 {
		t.Fatalf("Executions = %d, want 8", n)
	}
	if n := e.srv.RealtimeConns(); n != 1 {
		t.Fatalf("RealtimeConns = %d, want 1", n)
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("client close: %v", err)
	}
}

func TestRealtimeSubPathAndKeyAuth(t *testing.T) {
	e := newRtEnv(t)
	// Python's use_jwt=False: the key in the handshake instead of a token.
	c, _, err := e.dial("test/echo/sub/path", "", http.Header{"Authorization": {"Key " + e.srv.Key}})
	if err != nil {
		t.Fatalf("dial with the key: %v", err)
	}
	defer c.CloseNow()
	rtSend(t, c, map[string]string{"a": "b"})
	if out := rtOutput(t, c); out["path"] != "sub/path" {
		t.Fatalf("app saw path %v, want sub/path", out["path"])
	}
}

func TestRealtimeHandshakeRejected(t *testing.T) {
	e := newRtEnv(t)
	tok := e.token("echo")
	tampered := tok[:len(tok)-4] + "AAAA"
	if tampered == tok {
		tampered = tok[:len(tok)-4] + "BBBB"
	}
	cases := []struct {
		name, app, query string
		hdr              http.Header
		status           int
		detail           string
	}{
		{"no credentials", "test/echo", "", nil, 401, "fal_jwt_token"},
		{"tampered token", "test/echo", "fal_jwt_token=" + tampered, nil, 401, "signature"},
		{"garbage token", "test/echo", "fal_jwt_token=abc", nil, 401, "not a JWT"},
		{"token for another app", "test/strict", "fal_jwt_token=" + tok, nil, 401, "does not allow"},
		{"wrong key", "test/echo", "", http.Header{"Authorization": {"Key nope"}}, 401, "key"},
		{"max_buffering 0", "test/echo", "fal_jwt_token=" + tok + "&max_buffering=0", nil, 422, "max_buffering"},
		{"max_buffering 61", "test/echo", "fal_jwt_token=" + tok + "&max_buffering=61", nil, 422, "max_buffering"},
		{"max_buffering abc", "test/echo", "fal_jwt_token=" + tok + "&max_buffering=abc", nil, 422, "max_buffering"},
	}
	for _, c := range cases {
		conn, resp, err := e.dial(c.app, c.query, c.hdr)
		if err == nil {
			conn.CloseNow()
			t.Errorf("%s: handshake succeeded", c.name)
			continue
		}
		if resp == nil || resp.StatusCode != c.status {
			t.Errorf("%s: response %v, err %v; want status %d", c.name, resp, err, c.status)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(string(body), c.detail) {
			t.Errorf("%s: body %s (%s), want JSON mentioning %q", c.name, body, resp.Header.Get("Content-Type"), c.detail)
		}
	}
	for _, n := range []string{"1", "60"} {
		conn, _, err := e.dial("test/echo", "fal_jwt_token="+tok+"&max_buffering="+n, nil)
		if err != nil {
			t.Fatalf("max_buffering=%s refused: %v", n, err)
		}
		rtSend(t, conn, map[string]int{"x": 1})
		rtOutput(t, conn)
		conn.CloseNow()
	}

	// A plain GET (no upgrade) gets a JSON explanation.
	resp, err := e.hc.Get(e.srv.URL + "/run/test/echo/realtime?fal_jwt_token=" + tok)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired || !strings.Contains(string(body), "websocket") {
		t.Fatalf("plain GET: %d %s", resp.StatusCode, body)
	}
}

func TestRealtimeValidationErrorKeepsSessionOpen(t *testing.T) {
	e := newRtEnv(t)
	c := e.connect("test/strict", "")
	rtSend(t, c, map[string]any{"nothing": true})
	m := rtNext(t, c)
	if m["type"] != "x-fal-error" || m["error"] != "BAD_REQUEST" || !strings.Contains(fmt.Sprint(m["reason"]), "prompt") {
		t.Fatalf("got %v, want an x-fal-error BAD_REQUEST about prompt", m)
	}
	rtSend(t, c, map[string]any{"prompt": "a cat"})
	if out := rtOutput(t, c); out["text"] != "a cat" {
		t.Fatalf("after the validation error got %v", out)
	}
}

func TestRealtimeInternalErrorClosesSession(t *testing.T) {
	e := newRtEnv(t)
	c := e.connect("test/crash", "")
	rtSend(t, c, map[string]any{})
	m := rtNext(t, c)
	if m["type"] != "x-fal-error" || m["error"] != "INTERNAL_ERROR" || !strings.Contains(fmt.Sprint(m["reason"]), "fell over") {
		t.Fatalf("got %v, want an x-fal-error INTERNAL_ERROR", m)
	}
	if code := rtCloseStatus(t, c); code != websocket.StatusNormalClosure {
		t.Fatalf("close status %v, want 1000", code)
	}
}

func TestRealtimeGarbageFrames(t *testing.T) {
	e := newRtEnv(t)
	c := e.connect("test/echo", "")
	deep := make([]byte, 2000)
	for i := range deep {
		deep[i] = 0x91 // an array holding the next array...
	}
	garbage := [][]byte{
		{},                                   // empty frame
		{0xc1},                               // never-used type code
		{0xdb, 0xff, 0xff, 0xff, 0xff},       // a 4 GiB string with no bytes
		{0xdf, 0xff, 0xff, 0xff, 0xff},       // a map of 4 billion entries
		{0x81, 0x91, 0x01, 0x01},             // a map keyed by an array
		{0xd4, 0x05, 0x00},                   // an unknown extension
		{0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, // NaN
		{0x01, 0x02},                         // two values in one frame
		deep,
	}
	for _, g := range garbage {
		rtSendRaw(t, c, websocket.MessageBinary, g)
		m := rtNext(t, c)
		if m["type"] != "x-fal-error" || m["error"] != "BAD_REQUEST" || !strings.Contains(fmt.Sprint(m["reason"]), "msgpack") {
			t.Fatalf("frame %x: got %v, want BAD_REQUEST about msgpack", g, m)
		}
	}
	rtSendRaw(t, c, websocket.MessageText, []byte("not json"))
	if m := rtNext(t, c); m["error"] != "BAD_REQUEST" {
		t.Fatalf("non-JSON text frame: got %v", m)
	}
	rtSend(t, c, map[string]string{"still": "alive"})
	rtOutput(t, c)
	if n := e.srv.Executions("test/echo"); n != 1 {
		t.Fatalf("Executions = %d: garbage frames must not reach the app", n)
	}
}

func TestRealtimeTextFramesAndEvents(t *testing.T) {
	e := newRtEnv(t)
	c := e.connect("test/echo", "")
	// The JS client with a custom encoder sends JSON text; it gets JSON text back.
	rtSendRaw(t, c, websocket.MessageText, []byte(`{"foo":"bar"}`))
	typ, b := rtFrame(t, c)
	if typ != websocket.MessageText || !strings.Contains(string(b), `"echo":{"foo":"bar"}`) {
		t.Fatalf("text input answered with %v %s", typ, b)
	}
	if m := rtNext(t, c); m["action"] != "timings" {
		t.Fatalf("want timings after the text answer, got %v", m)
	}

	// Emitted events stream out as frames of their own.
	s := e.connect("test/streamer", "")
	rtSend(t, s, map[string]any{})
	for i := 0; i < 3; i++ {
		typ, b := rtFrame(t, s)
		var ev map[string]int
		if typ != websocket.MessageBinary || msgpack.Unmarshal(b, &ev) != nil || ev["i"] != i {
			t.Fatalf("event %d: %v %x", i, typ, b)
		}
	}
	if m := rtNext(t, s); m["action"] != "timings" {
		t.Fatalf("after the events (and no null output) want timings, got %v", m)
	}
}

// TestRealtimeJSONBinaryFrames: a client with a custom JSON codec that sends
// bytes (Python's encode_message=lambda m: json.dumps(m).encode(), with
// decode_message=json.loads) sends JSON in binary frames; it gets its outputs
// and events as JSON in binary frames, while msgpack and JSON text inputs on
// the same connection keep their own forms.
func TestRealtimeJSONBinaryFrames(t *testing.T) {
	e := newRtEnv(t)
	c := e.connect("test/echo", "")
	jsonOut := func(want string) {
		t.Helper()
		typ, b := rtFrame(t, c)
		var out map[string]any
		if typ != websocket.MessageBinary || json.Unmarshal(b, &out) != nil || !strings.Contains(string(b), want) {
			t.Fatalf("got %v %q, want a binary frame of JSON holding %s", typ, b, want)
		}
		if m := rtNext(t, c); m["action"] != "timings" {
			t.Fatalf("after the JSON output want timings, got %v", m)
		}
	}
	rtSendRaw(t, c, websocket.MessageBinary, []byte(`{"prompt":"a cat","n":1}`))
	jsonOut(`"echo":{"prompt":"a cat","n":1}`)
	rtSendRaw(t, c, websocket.MessageBinary, []byte(" [1, 2]\n"))
	jsonOut(`"echo":[1,2]`)

	// The same connection still speaks msgpack and JSON text, input by input.
	rtSend(t, c, map[string]string{"as": "msgpack"})
	if out := rtOutput(t, c); fmt.Sprint(out["echo"]) != "map[as:msgpack]" {
		t.Fatalf("msgpack output %v", out)
	}
	rtSendRaw(t, c, websocket.MessageText, []byte(`{"as":"text"}`))
	if typ, b := rtFrame(t, c); typ != websocket.MessageText || !strings.Contains(string(b), `"echo":{"as":"text"}`) {
		t.Fatalf("text input answered with %v %s", typ, b)
	}
	rtNext(t, c) // timings

	// Events of a JSON-binary input are JSON binary frames too.
	s := e.connect("test/streamer", "")
	rtSendRaw(t, s, websocket.MessageBinary, []byte(`{}`))
	for i := 0; i < 3; i++ {
		typ, b := rtFrame(t, s)
		if typ != websocket.MessageBinary || string(b) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("event %d: %v %q, want JSON in a binary frame", i, typ, b)
		}
	}
	if m := rtNext(t, s); m["action"] != "timings" {
		t.Fatalf("after the events want timings, got %v", m)
	}

	// Bytes that are neither msgpack nor JSON are still refused.
	rtSendRaw(t, c, websocket.MessageBinary, []byte(`{"unterminated":`))
	if m := rtNext(t, c); m["error"] != "BAD_REQUEST" || !strings.Contains(fmt.Sprint(m["reason"]), "msgpack (nor JSON)") {
		t.Fatalf("broken JSON bytes: got %v", m)
	}
}

// TestRealtimeEmitBytes: chunks an app passes to EmitBytes go out as binary
// frames holding exactly those bytes (a fal app whose encode_message returns
// raw bytes).
func TestRealtimeEmitBytes(t *testing.T) {
	e := newRtEnv(t)
	c := e.connect("test/raw", "")
	rtSend(t, c, map[string]any{})
	for _, want := range []string{"\xff\x00", "pcm"} {
		if typ, b := rtFrame(t, c); typ != websocket.MessageBinary || string(b) != want {
			t.Fatalf("got %v %q, want the bytes %q", typ, b, want)
		}
	}
	if m := rtNext(t, c); m["action"] != "timings" {
		t.Fatalf("after the chunks want timings, got %v", m)
	}
}

func TestRealtimeTimingsOff(t *testing.T) {
	e := newRtEnv(t)
	e.srv.SetRealtimeTimings(false)
	c := e.connect("test/echo", "")
	rtSend(t, c, map[string]int{"n": 1})
	rtSend(t, c, map[string]int{"n": 2})
	for i := 1; i <= 2; i++ {
		typ, b := rtFrame(t, c)
		var out struct {
			Echo map[string]int `msgpack:"echo"`
		}
		if typ != websocket.MessageBinary || msgpack.Unmarshal(b, &out) != nil || out.Echo["n"] != i {
			t.Fatalf("frame %d: %v %s, want output %d with no timings frame between", i, typ, b, i)
		}
	}
}

func TestRealtimeIdleTimeout(t *testing.T) {
	e := newRtEnv(t)
	e.srv.SetRealtimeIdleTimeout(100 * time.Millisecond)
	c := e.connect("test/echo", "")
	m := rtNext(t, c)
	if m["type"] != "x-fal-error" || m["error"] != "TIMEOUT" || m["reason"] != "no inputs, reconnect when needed!" {
		t.Fatalf("got %v, want the TIMEOUT error", m)
	}
	if code := rtCloseStatus(t, c); code != websocket.StatusNormalClosure {
		t.Fatalf("close status %v, want 1000", code)
	}
}

func TestRealtimeServerInitiatedClose(t *testing.T) {
	e := newRtEnv(t)
	a := e.connect("test/echo", "")
	b := e.connect("test/echo", "")
	for _, c := range []*websocket.Conn{a, b} {
		rtSend(t, c, map[string]int{"x": 1})
		rtOutput(t, c)
	}
	// The clients read while the server closes, so the closing handshake
	// completes and CloseRealtimeConns returns without waiting out a timeout.
	codes := make(chan websocket.StatusCode, 2)
	for _, c := range []*websocket.Conn{a, b} {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), rtWait)
			defer cancel()
			_, _, err := c.Read(ctx)
			codes <- websocket.CloseStatus(err)
		}()
	}
	e.srv.CloseRealtimeConns()
	for range 2 {
		if code := <-codes; code != websocket.StatusGoingAway {
			t.Fatalf("close status %v, want 1001 going away", code)
		}
	}
	if n := e.srv.RealtimeConns(); n != 0 {
		t.Fatalf("RealtimeConns = %d after CloseRealtimeConns", n)
	}

	// New sessions still work; dropping them looks like a network failure.
	c := e.connect("test/echo", "")
	rtSend(t, c, map[string]int{"x": 2})
	rtOutput(t, c)
	e.srv.DropRealtimeConns()
	if code := rtCloseStatus(t, c); code != -1 {
		t.Fatalf("after DropRealtimeConns the close status is %v, want none (abnormal closure)", code)
	}
}

func TestRealtimeServerCloseEndsSessions(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	srv := faltest.NewServer(rtApps()...)
	tr := &http.Transport{}
	e := &rtEnv{t: t, srv: srv, hc: &http.Client{Transport: tr, Timeout: rtWait}}
	c1 := e.connect("test/echo", "")
	rtSend(t, c1, map[string]int{"x": 1})
	rtOutput(t, c1)
	c2 := e.connect("test/strict", "max_buffering=5")
	rtSend(t, c2, map[string]string{"prompt": "p"})
	rtOutput(t, c2)

	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	for _, c := range []*websocket.Conn{c1, c2} {
		if code := rtCloseStatus(t, c); code != websocket.StatusGoingAway {
			t.Fatalf("close status %v, want 1001 going away", code)
		}
	}
	select {
	case <-closed:
	case <-time.After(rtWait):
		t.Fatalf("hang: Server.Close had not returned after %v", rtWait)
	}
	tr.CloseIdleConnections()
}
