package realtime_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/vmihailenco/msgpack/v5"
	"go.uber.org/goleak"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
	"github.com/falgo/fal/realtime"
)

// testKey is the key of the scripted servers' clients.
const testKey = "falgo-TESTKEY-7f3a9c2e:s3cr3t-9d8e7f"

// defaultUserAgent is the User-Agent a client sends unless told otherwise.
const defaultUserAgent = "falgo/" + fal.Version + " (go)"

// rtWait bounds every wait of the realtime tests; generous for a loaded
// machine.
const rtWait = 30 * time.Second

func rtCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rtWait)
	t.Cleanup(cancel)
	return ctx
}

// rtFixture is a faltest server and a client with its own transport (so
// that the goroutine check can close its idle connections).
type rtFixture struct {
	srv *faltest.Server
	tr  *http.Transport
	c   *fal.Client
}

func newRT(t *testing.T, srvOpts []faltest.Option, cliOpts ...fal.Option) *rtFixture {
	t.Helper()
	srv := faltest.NewServer(srvOpts...)
	tr := &http.Transport{}
	f := &rtFixture{srv: srv, tr: tr}
	f.c = srv.Client(append([]fal.Option{fal.WithHTTPClient(&http.Client{Transport: tr})}, cliOpts...)...)
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return f
}

func (f *rtFixture) dial(t *testing.T, app string, opts ...realtime.Option) *realtime.Conn {
	t.Helper()
	conn, err := f.c.Realtime(rtCtx(t), app, opts...)
	if err != nil {
		t.Fatalf("Realtime(%s): %v", app, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func (f *rtFixture) count(route string) int { return f.srv.Stats().Requests[route] }

func mustSend(t *testing.T, conn *realtime.Conn, v any) {
	t.Helper()
	if err := conn.Send(rtCtx(t), v); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func mustRecv(t *testing.T, conn *realtime.Conn) map[string]any {
	t.Helper()
	out, err := conn.Recv(rtCtx(t))
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return out
}

type echoIn struct {
	I      int    `json:"i"`
	Name   string `json:"name,omitempty"`
	Hidden string `json:"-"`
	Tagged string `msgpack:"mp_name" json:"json_name"`
}

func TestRealtimeEchoRoundTripInOrder(t *testing.T) {
	f := newRT(t, nil)
	var metas []map[string]any
	conn := f.dial(t, faltest.DemoEcho, realtime.OnMeta(func(m map[string]any) { metas = append(metas, m) }))
	const n = 25
	for i := 0; i < n; i++ {
		mustSend(t, conn, echoIn{I: i, Hidden: "secret", Tagged: "t"})
	}
	for i := 0; i < n; i++ {
		out := mustRecv(t, conn)
		if out["i"] != int64(i) {
			t.Fatalf("output %d: i = %#v (%T), want int64 %d; output %v", i, out["i"], out["i"], i, out)
		}
		if _, ok := out["name"]; ok {
			t.Errorf("omitempty field sent: %v", out)
		}
		if _, ok := out["Hidden"]; ok {
			t.Errorf(`json:"-" field sent: %v`, out)
		}
		if out["mp_name"] != "t" || out["json_name"] != nil {
			t.Errorf("msgpack tag should win over json tag: %v", out)
		}
		if out["type"] != nil {
			t.Errorf("a meta frame was returned as an output: %v", out)
		}
	}
	// The server sent a timing frame after every output; Recv skipped them
	// all, handing them to the callback instead.
	if len(metas) < n-1 {
		t.Fatalf("OnMeta saw %d frames, want at least %d", len(metas), n-1)
	}
	if metas[0]["type"] != "x-fal-message" || metas[0]["action"] != "timings" {
		t.Errorf("meta frame = %v", metas[0])
	}
	if got := f.count("realtime_token"); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
	if got := f.count("realtime"); got != 1 {
		t.Errorf("handshakes = %d, want 1", got)
	}
}

func TestRealtimeDemoLCMOutputShape(t *testing.T) {
	f := newRT(t, nil)
	conn := f.dial(t, faltest.DemoRealtimeLCM)
	mustSend(t, conn, map[string]any{"prompt": "a red fox in snow", "seed": 7})
	var out struct {
		Images []struct {
			URL         string `json:"url"`
			Width       int    `json:"width"`
			Height      int    `json:"height"`
			ContentType string `json:"content_type"`
		} `json:"images"`
		Seed   int64  `json:"seed"`
		Prompt string `json:"prompt"`
	}
	if err := conn.RecvInto(rtCtx(t), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 1 {
		t.Fatalf("images = %+v", out.Images)
	}
	img := out.Images[0]
	if img.Width != 512 || img.Height != 512 || img.ContentType != "image/png" || img.URL == "" {
		t.Errorf("image = %+v, want a 512x512 PNG with a URL", img)
	}
	if out.Seed != 7 || out.Prompt != "a red fox in snow" {
		t.Errorf("seed %d prompt %q", out.Seed, out.Prompt)
	}
}

func TestRealtimeErrorFrameKeepsConnectionUsable(t *testing.T) {
	f := newRT(t, nil)
	conn := f.dial(t, faltest.DemoRealtimeLCM)
	mustSend(t, conn, map[string]any{"seed": 1}) // no prompt
	_, err := conn.Recv(rtCtx(t))
	var re *realtime.Error
	if !errors.As(err, &re) {
		t.Fatalf("Recv error = %v (%T), want *realtime.Error", err, err)
	}
	if re.Code != "BAD_REQUEST" || !strings.Contains(re.Reason, "prompt") || re.Payload["type"] != "x-fal-error" {
		t.Errorf("error = %+v", re)
	}
	if !strings.Contains(err.Error(), "BAD_REQUEST") || !strings.Contains(err.Error(), faltest.DemoRealtimeLCM) {
		t.Errorf("message = %q", err)
	}
	if errors.Is(err, io.EOF) {
		t.Error("a BAD_REQUEST must not look like the end of the connection")
	}
	mustSend(t, conn, map[string]any{"prompt": "now valid"})
	if out := mustRecv(t, conn); out["prompt"] != "now valid" {
		t.Errorf("output after the error = %v", out)
	}
	if got := f.count("realtime"); got != 1 {
		t.Errorf("handshakes = %d, want 1 (the connection should have stayed open)", got)
	}
}

func TestRealtimeInternalErrorEndsConnectionThenReconnects(t *testing.T) {
	f := newRT(t, nil)
	conn := f.dial(t, faltest.DemoEcho)
	mustSend(t, conn, map[string]any{"_error": map[string]any{"status": 500, "detail": "boom"}})
	_, err := conn.Recv(rtCtx(t))
	var re *realtime.Error
	if !errors.As(err, &re) || re.Code != "INTERNAL_ERROR" || re.Reason != "boom" {
		t.Fatalf("Recv = %v, want INTERNAL_ERROR boom", err)
	}
	if _, err := conn.Recv(rtCtx(t)); err != io.EOF {
		t.Fatalf("Recv after INTERNAL_ERROR = %v, want io.EOF (the server closes with 1000)", err)
	}
	mustSend(t, conn, map[string]any{"again": true})
	if out := mustRecv(t, conn); out["again"] != true {
		t.Errorf("output = %v", out)
	}
	if got := f.count("realtime"); got != 2 {
		t.Errorf("handshakes = %d, want 2", got)
	}
}

func TestRealtimeRefusedTokenIs401(t *testing.T) {
	f := newRT(t, nil)
	ctx := rtCtx(t)
	otherTok, _, err := f.c.RealtimeToken(ctx, "falgo/other-app", 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"garbage": "not-a-jwt", "other app": otherTok} {
		calls := 0
		_, err := f.c.Realtime(ctx, faltest.DemoEcho, realtime.WithTokenProvider(func(ctx context.Context, app string) (string, time.Time, error) {
			calls++
			if app != faltest.DemoEcho {
				t.Errorf("provider got app %q", app)
			}
			return tok, time.Now().Add(time.Hour), nil
		}))
		var he *fal.HTTPError
		if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: err = %v, want a 401 *HTTPError", name, err)
		}
		if !strings.Contains(err.Error(), "refused the token") {
			t.Errorf("%s: message does not say the token was refused: %v", name, err)
		}
		if strings.Contains(err.Error(), tok) || !strings.Contains(he.URL, "fal_jwt_token=REDACTED") {
			t.Errorf("%s: token not redacted: %v", name, err)
		}
		if calls != 1 {
			t.Errorf("%s: provider called %d times, want 1 (a fresh token that is refused is final)", name, calls)
		}
	}
	if got := f.count("realtime_token"); got != 1 {
		t.Errorf("token requests = %d, want only the one RealtimeToken made", got)
	}
}

func TestRealtimeOptionsCheckedBeforeAnyRequest(t *testing.T) {
	f := newRT(t, nil)
	ctx := rtCtx(t)
	cases := []struct {
		opts []realtime.Option
		want string
	}{
		{[]realtime.Option{realtime.WithMaxBuffering(0)}, "1 to 60"},
		{[]realtime.Option{realtime.WithMaxBuffering(61)}, "1 to 60"},
		{[]realtime.Option{realtime.WithMaxBuffering(-3)}, "1 to 60"},
		{[]realtime.Option{realtime.WithTokenExpiration(0)}, "at least 1 second"},
		{[]realtime.Option{realtime.WithTokenExpiration(500 * time.Millisecond)}, "at least 1 second"},
		{[]realtime.Option{realtime.WithPath("a?b")}, "invalid path"},
		{[]realtime.Option{realtime.WithReadLimit(0)}, "positive"},
		{[]realtime.Option{realtime.WithTokenProvider(nil)}, "nil"},
		{[]realtime.Option{realtime.WithoutToken(), realtime.WithTokenExpiration(time.Minute)}, "no effect"},
		{[]realtime.Option{realtime.WithoutToken(), realtime.WithTokenProvider(func(context.Context, string) (string, time.Time, error) { return "", time.Time{}, nil })}, "exclude"},
		{nil, ""}, // the app id below is invalid
	}
	for i, tc := range cases {
		app := faltest.DemoEcho
		if tc.want == "" {
			app, tc.want = "not-an-app-id!", "invalid app id"
		}
		conn, err := f.c.Realtime(ctx, app, tc.opts...)
		if err == nil {
			conn.Close()
			t.Fatalf("case %d: no error", i)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("case %d: error %q does not mention %q", i, err, tc.want)
		}
	}
	// The client's settings are no longer options of a connection: a
	// negative timeout is refused where it is given, by fal.NewClient.
	if _, err := fal.NewClient(fal.WithTimeout(-time.Second)); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("NewClient(WithTimeout(-1s)) = %v, want an error mentioning %q", err, "negative")
	}
	st := f.srv.Stats()
	if st.Requests["realtime_token"] != 0 || st.Requests["realtime"] != 0 {
		t.Errorf("requests were made: %v", st.Requests)
	}
}

func TestRealtimeServerCloseEndsRecvAndSendReconnectsWithNewToken(t *testing.T) {
	f := newRT(t, nil)
	conn := f.dial(t, faltest.DemoEcho, realtime.WithTokenExpiration(5*time.Second))
	mustSend(t, conn, map[string]any{"n": 1})
	mustRecv(t, conn)

	f.srv.CloseRealtimeConns() // status 1001, going away
	if _, err := conn.Recv(rtCtx(t)); err != io.EOF {
		t.Fatalf("Recv after the server closed = %v, want io.EOF", err)
	}
	// A reader waiting now gets the output of the connection Send opens.
	got := make(chan map[string]any, 1)
	go func() {
		out, err := conn.Recv(rtCtx(t))
		if err != nil {
			t.Errorf("Recv on the new connection: %v", err)
		}
		got <- out
	}()
	mustSend(t, conn, map[string]any{"n": 2})
	select {
	case out := <-got:
		if out["n"] != int64(2) {
			t.Errorf("output = %v", out)
		}
	case <-time.After(rtWait):
		t.Fatal("no output after reconnecting")
	}
	// The 5 s token was within 10 s of expiring: a new one was fetched.
	if tok, hs := f.count("realtime_token"), f.count("realtime"); tok != 2 || hs != 2 {
		t.Errorf("token requests %d, handshakes %d; want 2 and 2", tok, hs)
	}
}

func TestRealtimeIdleTimeoutIsDistinctAndTokenReused(t *testing.T) {
	f := newRT(t, nil)
	f.srv.SetRealtimeIdleTimeout(200 * time.Millisecond)
	conn := f.dial(t, faltest.DemoEcho)
	mustSend(t, conn, map[string]any{"n": 1})
	mustRecv(t, conn)
	_, err := conn.Recv(rtCtx(t))
	var re *realtime.Error
	if !errors.Is(err, io.EOF) || !errors.Is(err, realtime.ErrIdle) || !errors.As(err, &re) || re.Code != realtime.CodeTimeout {
		t.Fatalf("Recv after the idle timeout = %v, want a TIMEOUT error matching io.EOF and ErrIdle", err)
	}
	if !strings.Contains(re.Reason, "reconnect when needed") {
		t.Errorf("reason = %q, want the server's", re.Reason)
	}
	f.srv.SetRealtimeIdleTimeout(time.Minute)
	mustSend(t, conn, map[string]any{"n": 2})
	if out := mustRecv(t, conn); out["n"] != int64(2) {
		t.Errorf("output = %v", out)
	}
	// The 120 s token was still good: reused.
	if tok, hs := f.count("realtime_token"), f.count("realtime"); tok != 1 || hs != 2 {
		t.Errorf("token requests %d, handshakes %d; want 1 and 2", tok, hs)
	}
}

func TestRealtimeDroppedConnection(t *testing.T) {
	f := newRT(t, nil)
	conn := f.dial(t, faltest.DemoEcho)
	mustSend(t, conn, map[string]any{"n": 1})
	mustRecv(t, conn)
	f.srv.DropRealtimeConns()
	_, err := conn.Recv(rtCtx(t))
	var re *realtime.Error
	if !errors.As(err, &re) || re.Code != realtime.CodeConnectionClosed || re.CloseStatus != 1006 {
		t.Fatalf("Recv after a drop = %v, want CONNECTION_CLOSED (1006)", err)
	}
	if errors.Is(err, io.EOF) {
		t.Error("a lost connection must not look like a clean end")
	}
	mustSend(t, conn, map[string]any{"n": 2})
	// Messages yields the new connection's outputs.
	for out, err := range conn.Messages(rtCtx(t)) {
		if err != nil {
			t.Fatal(err)
		}
		if out["n"] != int64(2) {
			t.Errorf("output = %v", out)
		}
		break
	}
	if hs := f.count("realtime"); hs != 2 {
		t.Errorf("handshakes = %d, want 2", hs)
	}
}

func TestRealtimeWithoutTokenSendsCredentials(t *testing.T) {
	f := newRT(t, nil)
	conn := f.dial(t, faltest.DemoEcho, realtime.WithoutToken())
	mustSend(t, conn, map[string]any{"_headers": true})
	out := mustRecv(t, conn)
	req, _ := out["_request"].(map[string]any)
	hdr, _ := req["headers"].(map[string]any)
	if hdr["User-Agent"] != defaultUserAgent {
		t.Errorf("handshake headers = %v, want User-Agent %q", hdr, defaultUserAgent)
	}
	if got := f.count("realtime_token"); got != 0 {
		t.Errorf("token requests = %d, want 0", got)
	}
	if s := fmt.Sprintf("%v %+v %#v", conn, conn, conn); strings.Contains(s, "fal_jwt_token") || !strings.Contains(s, faltest.DemoEcho) {
		t.Errorf("conn prints as %s", s)
	}

	// A wrong key is refused at the handshake.
	wrong := f.srv.Client(fal.WithKey("wrong-key-123"), fal.WithHTTPClient(&http.Client{Transport: f.tr}))
	_, err := wrong.Realtime(rtCtx(t), faltest.DemoEcho, realtime.WithoutToken())
	var he *fal.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 401 || !strings.Contains(err.Error(), "refused the credentials") {
		t.Fatalf("err = %v, want 401 refusing the credentials", err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, he), "wrong-key-123") {
		t.Errorf("key in error: %v", err)
	}
}

func TestRealtimeBinaryAndSpecialInputs(t *testing.T) {
	var mu sync.Mutex
	var inputs []string
	app := func(ctx context.Context, req *faltest.Request) (any, error) {
		mu.Lock()
		inputs = append(inputs, string(req.Input))
		mu.Unlock()
		return map[string]any{"path": req.Path, "ok": true}, nil
	}
	f := newRT(t, []faltest.Option{faltest.WithApp("me/inputs", app)})
	conn := f.dial(t, "me/inputs")
	type withBytes struct {
		Data []byte `json:"data"`
	}
	raw, _ := msgpack.Marshal(map[string]string{"pre": "encoded"})
	for _, in := range []any{
		withBytes{Data: []byte("abc")},
		json.RawMessage(`{"big": 12345678901234, "f": 1.5}`),
		nil,
		msgpack.RawMessage(raw),
	} {
		mustSend(t, conn, in)
		mustRecv(t, conn)
	}
	if err := conn.Send(rtCtx(t), map[string]any{"ch": make(chan int)}); err == nil || !strings.Contains(err.Error(), "cannot be encoded") {
		t.Errorf("unencodable input: err = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		`{"data":"` + base64.StdEncoding.EncodeToString([]byte("abc")) + `"}`, // bin, which faltest shows as base64
		`{"big":12345678901234,"f":1.5}`,
		`{}`,
		`{"pre":"encoded"}`,
	}
	if len(inputs) != len(want) {
		t.Fatalf("app saw %d inputs: %q", len(inputs), inputs)
	}
	for i := range want {
		var a, b any
		_ = json.Unmarshal([]byte(inputs[i]), &a)
		_ = json.Unmarshal([]byte(want[i]), &b)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("input %d: app saw %s, want %s", i, inputs[i], want[i])
		}
	}
}

func TestRealtimePathHandling(t *testing.T) {
	app := func(ctx context.Context, req *faltest.Request) (any, error) {
		return map[string]any{"path": req.Path}, nil
	}
	f := newRT(t, []faltest.Option{faltest.WithApp("me/paths", app)})
	for _, tc := range []struct {
		app  string
		opts []realtime.Option
		want string
	}{
		{"me/paths", nil, ""},
		{"me/paths/realtime", nil, ""}, // "/realtime" is not added twice
		{"me/paths/sub", nil, "sub"},
		{"me/paths", []realtime.Option{realtime.WithPath("deep/er/realtime")}, "deep/er"},
	} {
		conn := f.dial(t, tc.app, tc.opts...)
		mustSend(t, conn, map[string]any{})
		if out := mustRecv(t, conn); out["path"] != tc.want {
			t.Errorf("%s %d opts: app path = %q, want %q", tc.app, len(tc.opts), out["path"], tc.want)
		}
		conn.Close()
	}
}

func TestRealtimeLargeMessagesAndReadLimit(t *testing.T) {
	f := newRT(t, nil)
	conn := f.dial(t, faltest.DemoEcho)
	big := strings.Repeat("x", 300<<10) // far above coder/websocket's 32 KiB default
	mustSend(t, conn, map[string]any{"s": big})
	if out := mustRecv(t, conn); out["s"] != big {
		t.Fatalf("large output not received intact")
	}

	small := f.dial(t, faltest.DemoEcho, realtime.WithReadLimit(1024))
	mustSend(t, small, map[string]any{"s": big})
	_, err := small.Recv(rtCtx(t))
	var re *realtime.Error
	if !errors.As(err, &re) || re.CloseStatus != 1009 || !strings.Contains(err.Error(), "read limit") {
		t.Fatalf("Recv over the read limit = %v, want CONNECTION_CLOSED 1009", err)
	}
}

func TestRealtimeContextsDoNotKillTheConnection(t *testing.T) {
	f := newRT(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := f.c.Realtime(ctx, faltest.DemoEcho)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cancel() // ctx bounded the opening only

	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := conn.Recv(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv with nothing to read = %v, want the context's deadline", err)
	}
	done, cancel3 := context.WithCancel(context.Background())
	cancel3()
	if err := conn.Send(done, map[string]any{"x": 1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with a cancelled context = %v", err)
	}
	mustSend(t, conn, map[string]any{"still": "open"})
	if out := mustRecv(t, conn); out["still"] != "open" {
		t.Errorf("output = %v", out)
	}
	if hs := f.count("realtime"); hs != 1 {
		t.Errorf("handshakes = %d, want 1", hs)
	}
}

func TestRealtimeConcurrentSendersOneReader(t *testing.T) {
	f := newRT(t, nil)
	conn := f.dial(t, faltest.DemoEcho)
	const senders, each = 4, 25
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := conn.Send(rtCtx(t), map[string]any{"s": s, "i": i}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]int64, senders)
	n := 0
	for out, err := range conn.Messages(rtCtx(t)) {
		if err != nil {
			t.Fatal(err)
		}
		s := out["s"].(int64)
		if out["i"] != next[s] {
			t.Fatalf("sender %d: got i=%v, want %d (per-sender order lost)", s, out["i"], next[s])
		}
		next[s]++
		if n++; n == senders*each {
			break
		}
	}
	wg.Wait()
}

func TestRealtimeCloseIsIdempotentAndLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	func() {
		f := newRT(t, nil)
		f.srv.SetRealtimeIdleTimeout(200 * time.Millisecond)
		conn, err := f.c.Realtime(rtCtx(t), faltest.DemoEcho)
		if err != nil {
			t.Fatal(err)
		}
		// Several connections: one idles out, one is dropped.
		mustSend(t, conn, map[string]any{"n": 1})
		mustRecv(t, conn)
		if _, err := conn.Recv(rtCtx(t)); !errors.Is(err, realtime.ErrIdle) {
			t.Fatalf("want the idle end, got %v", err)
		}
		mustSend(t, conn, map[string]any{"n": 2})
		mustRecv(t, conn)
		f.srv.DropRealtimeConns()
		// Lands on the dropped connection or a new one, whichever the
		// client sees first; either way there is something to clean up.
		mustSend(t, conn, map[string]any{"n": 3})

		// A reader blocked in Recv is released by Close.
		recvErr := make(chan error, 1)
		go func() {
			for {
				if _, err := conn.Recv(rtCtx(t)); err != nil && !errors.Is(err, io.EOF) {
					var re *realtime.Error
					if errors.As(err, &re) {
						continue
					}
					recvErr <- err
					return
				}
			}
		}()
		if err := conn.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := conn.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		select {
		case err := <-recvErr:
			if !errors.Is(err, realtime.ErrClosed) {
				t.Errorf("blocked Recv ended with %v, want ErrClosed", err)
			}
		case <-time.After(rtWait):
			t.Fatal("Close did not release a blocked Recv")
		}
		if err := conn.Send(rtCtx(t), map[string]any{}); !errors.Is(err, realtime.ErrClosed) {
			t.Errorf("Send after Close = %v", err)
		}
		for range conn.Messages(rtCtx(t)) {
			t.Error("Messages after Close yielded something")
		}
		deadline := time.Now().Add(rtWait)
		for f.srv.RealtimeConns() != 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := f.srv.RealtimeConns(); n != 0 {
			t.Errorf("server still has %d realtime connections after Close", n)
		}
		f.srv.Close()
		f.tr.CloseIdleConnections()
	}()
}

// rtScripted is a loopback server whose websocket side is a script, for
// frames faltest never sends. It records the handshakes it saw.
type rtScripted struct {
	*httptest.Server
	mu         sync.Mutex
	handshakes []*http.Request
	tokens     []string // answers of POST /rest/tokens/, in turn (the last repeats)
	tokenReqs  [][]byte
	script     []func(*websocket.Conn, *http.Request) // one per handshake (the last repeats)
}

func newRTScripted(t *testing.T, tokens []string, script ...func(*websocket.Conn, *http.Request)) *rtScripted {
	t.Helper()
	s := &rtScripted{tokens: tokens, script: script}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/rest/tokens") {
			body, _ := io.ReadAll(r.Body)
			s.mu.Lock()
			n := len(s.tokenReqs)
			s.tokenReqs = append(s.tokenReqs, body)
			ans := s.tokens[min(n, len(s.tokens)-1)]
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, ans)
			return
		}
		s.mu.Lock()
		n := len(s.handshakes)
		s.handshakes = append(s.handshakes, r.Clone(context.Background()))
		step := s.script[min(n, len(s.script)-1)]
		s.mu.Unlock()
		if step == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"detail":"token refused"}`)
			return
		}
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		step(ws, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *rtScripted) client(t *testing.T, opts ...fal.Option) *fal.Client {
	t.Helper()
	c, err := fal.NewClient(append([]fal.Option{
		fal.WithKey(testKey),
		fal.WithRunHost(s.URL + "/run"),
		fal.WithQueueHost(s.URL + "/queue"),
		fal.WithRestHost(s.URL + "/rest"),
		fal.WithCDNHost(s.URL + "/cdn"),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seen returns copies of the handshakes and token request bodies so far.
func (s *rtScripted) seen() ([]*http.Request, [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.handshakes...), append([][]byte(nil), s.tokenReqs...)
}

// closeNormally finishes a scripted connection with status 1000.
func closeNormally(ws *websocket.Conn, _ *http.Request) {
	_ = ws.Close(websocket.StatusNormalClosure, "")
}

func TestRealtimeURLTokenBodyAndHeaders(t *testing.T) {
	s := newRTScripted(t, []string{`"jwt-token"`}, closeNormally)
	c := s.client(t)
	conn, err := c.Realtime(rtCtx(t), "1234-test", realtime.WithMaxBuffering(10))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Recv(rtCtx(t)); err != io.EOF {
		t.Errorf("Recv = %v, want io.EOF", err)
	}
	conn.Close()
	// Spec §11 item 32: legacy id, token in the query first, then
	// max_buffering; the token is asked for the alias.
	handshakes, tokenReqs := s.seen()
	hs := handshakes[0]
	if hs.URL.Path != "/run/1234/test/realtime" || hs.URL.RawQuery != "fal_jwt_token=jwt-token&max_buffering=10" {
		t.Errorf("handshake = %s?%s", hs.URL.Path, hs.URL.RawQuery)
	}
	if hs.Header.Get("Authorization") != "" {
		t.Error("the token handshake carried credentials")
	}
	var body struct {
		AllowedApps     []string `json:"allowed_apps"`
		TokenExpiration int      `json:"token_expiration"`
	}
	if err := json.Unmarshal(tokenReqs[0], &body); err != nil || len(body.AllowedApps) != 1 || body.AllowedApps[0] != "test" || body.TokenExpiration != 120 {
		t.Errorf("token body = %s", tokenReqs[0])
	}

	// Spec item 33: a custom path replaces /realtime.
	conn, err = c.Realtime(rtCtx(t), "1234-test", realtime.WithPath("/custom"))
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	handshakes, _ = s.seen()
	if p := handshakes[1].URL.Path; p != "/run/1234/test/custom" {
		t.Errorf("custom path handshake = %s", p)
	}

	// Spec item 34: no token request, no token in the URL, the key and the
	// User-Agent on the handshake.
	conn, err = c.Realtime(rtCtx(t), "1234-test", realtime.WithoutToken())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	handshakes, tokenReqs = s.seen()
	hs = handshakes[2]
	if hs.URL.RawQuery != "" || hs.Header.Get("Authorization") != "Key "+testKey || hs.Header.Get("User-Agent") != defaultUserAgent {
		t.Errorf("handshake without token: query %q, headers %v", hs.URL.RawQuery, hs.Header)
	}
	if len(tokenReqs) != 2 {
		t.Errorf("token requests = %d, want 2", len(tokenReqs))
	}
}

func TestRealtimeTokenResponseForms(t *testing.T) {
	for _, tc := range []struct {
		answer, want, wantErr string
	}{
		{`"plain"`, "plain", ""},
		{`{"token":"from-token"}`, "from-token", ""},
		{`{"detail":"from-detail"}`, "from-detail", ""},
		{`{"other":"hush-hush-value"}`, "", `keys ["other"]`},
		{`123`, "", "JSON number"},
		{`""`, "", "empty"},
		{`not json`, "", "not JSON"},
	} {
		s := newRTScripted(t, []string{tc.answer}, closeNormally)
		tok, exp, err := s.client(t).RealtimeToken(rtCtx(t), "fal-ai/x", 30*time.Second)
		if tc.wantErr == "" {
			if err != nil || tok != tc.want {
				t.Errorf("%s: token %q, err %v; want %q", tc.answer, tok, err, tc.want)
			}
			if until := time.Until(exp); until < 20*time.Second || until > 31*time.Second {
				t.Errorf("%s: expires in %v, want about 30 s", tc.answer, until)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.answer, err, tc.wantErr)
		} else if strings.Contains(err.Error(), "hush-hush") {
			t.Errorf("%s: the error quotes the body: %v", tc.answer, err)
		}
	}
}

func TestRealtimeFrameClassification(t *testing.T) {
	send := func(ws *websocket.Conn, typ websocket.MessageType, b []byte) {
		_ = ws.Write(context.Background(), typ, b)
	}
	pack := func(v any) []byte { b, _ := msgpack.Marshal(v); return b }
	s := newRTScripted(t, []string{`"t"`}, func(ws *websocket.Conn, r *http.Request) {
		send(ws, websocket.MessageText, []byte(`{"type":"x-fal-message","action":"timings","timing":0.1}`))
		send(ws, websocket.MessageText, []byte(`hello, not json`))
		send(ws, websocket.MessageText, []byte(`{"status":"error","error":"Unauthorized"}`))
		send(ws, websocket.MessageText, []byte(`[1,2]`))
		send(ws, websocket.MessageText, []byte(`{"json":"output","n":3}`))
		send(ws, websocket.MessageBinary, pack(map[any]any{1: "int key", "bin": []byte{0, 1}, "neg": -5, "big": uint64(1 << 63)}))
		send(ws, websocket.MessageBinary, pack(map[string]any{"type": "x-fal-error", "error": "BAD_REQUEST", "reason": map[string]any{"why": "nope"}}))
		send(ws, websocket.MessageBinary, []byte{0xc1}) // never valid msgpack
		send(ws, websocket.MessageBinary, pack("just a string"))
		_ = ws.Close(4000, "custom going")
	})
	c := s.client(t)
	conn, err := c.Realtime(rtCtx(t), "me/frames")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var got []string
	for out, err := range conn.Messages(rtCtx(t)) {
		if err != nil {
			got = append(got, "error: "+err.Error())
			continue
		}
		b, _ := json.Marshal(out)
		got = append(got, string(b))
	}
	want := []string{
		`{"payload":"hello, not json","type":"text"}`,
		`error: fal: realtime me/frames: Unauthorized`,
		`{"payload":[1,2]}`,
		`{"json":"output","n":3}`,
		`{"1":"int key","big":9223372036854775808,"bin":"AAE=","neg":-5}`,
		`error: fal: realtime me/frames: BAD_REQUEST: {"why":"nope"}`,
		`error: fal: realtime me/frames: a binary frame of 1 bytes is not valid msgpack`,
		`{"payload":"just a string"}`,
		`error: fal: realtime me/frames: CONNECTION_CLOSED (close status 4000): custom going`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d items:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("item %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

func TestRealtimeRefusedCachedTokenIsRenewedOnce(t *testing.T) {
	readOne := func(ws *websocket.Conn, r *http.Request) {
		_, _, _ = ws.Read(context.Background())
		_ = ws.Close(websocket.StatusNormalClosure, "")
	}
	s := newRTScripted(t, []string{`"x"`}, closeNormally, nil, readOne)
	var calls []string
	provider := func(ctx context.Context, app string) (string, time.Time, error) {
		tok := fmt.Sprintf("tok-%d", len(calls)+1)
		calls = append(calls, tok)
		return tok, time.Now().Add(time.Hour), nil
	}
	conn, err := s.client(t).Realtime(rtCtx(t), "me/app", realtime.WithTokenProvider(provider))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Recv(rtCtx(t)); err != io.EOF {
		t.Fatalf("Recv = %v", err)
	}
	// Reconnect: the cached token is refused (401), so a new one is asked
	// for and used straight away.
	mustSend(t, conn, map[string]any{"x": 1})
	if len(calls) != 2 {
		t.Fatalf("provider calls = %v, want 2", calls)
	}
	var q []string
	handshakes, _ := s.seen()
	for _, h := range handshakes {
		q = append(q, h.URL.Query().Get("fal_jwt_token"))
	}
	if strings.Join(q, ",") != "tok-1,tok-1,tok-2" {
		t.Errorf("handshake tokens = %v", q)
	}
}

func TestRealtimeHandshakeRetriesAndBackoff(t *testing.T) {
	var n int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		if k <= 2 { // ingress-style 503 without a request id: retryable
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		_ = ws.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()
	c, err := fal.NewClient(fal.WithKey(testKey), fal.WithRunHost(srv.URL), fal.WithQueueHost(srv.URL),
		fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.Realtime(rtCtx(t), "me/app", realtime.WithoutToken())
	if err != nil {
		t.Fatalf("Realtime after two 503s: %v", err)
	}
	conn.Close()
	mu.Lock()
	n = 0
	mu.Unlock()
	c1, err := fal.NewClient(fal.WithKey(testKey), fal.WithRunHost(srv.URL), fal.WithQueueHost(srv.URL),
		fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}), fal.WithMaxRetries(1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c1.Realtime(rtCtx(t), "me/app", realtime.WithoutToken())
	var he *fal.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 503 {
		t.Fatalf("with one retry: %v, want the 503", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 2 {
		t.Errorf("handshakes = %d, want 2", n)
	}
}

func TestRealtimeCloseAbortsAReconnection(t *testing.T) {
	hanging := make(chan struct{}, 1)
	release := make(chan struct{})
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		if k > 1 { // the reconnection's handshake never gets an answer
			hanging <- struct{}{}
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		ws, err := websocket.Accept(w, r, nil)
		if err == nil {
			_ = ws.Close(websocket.StatusNormalClosure, "")
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := fal.NewClient(fal.WithKey(testKey), fal.WithRunHost(srv.URL), fal.WithQueueHost(srv.URL), fal.WithTimeout(0))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.Realtime(rtCtx(t), "me/app", realtime.WithoutToken())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Recv(rtCtx(t)); err != io.EOF {
		t.Fatalf("Recv = %v", err)
	}
	sendErr := make(chan error, 1)
	go func() { sendErr <- conn.Send(rtCtx(t), map[string]any{}) }()
	select {
	case <-hanging:
	case <-time.After(rtWait):
		t.Fatal("Send did not reconnect")
	}
	conn.Close()
	select {
	case err := <-sendErr:
		if !errors.Is(err, realtime.ErrClosed) {
			t.Errorf("Send = %v, want ErrClosed", err)
		}
	case <-time.After(rtWait):
		t.Fatal("Close did not abort the handshake in progress")
	}
}

func TestRealtimeQuickReconnectionsArePaced(t *testing.T) {
	// Every connection answers one input and closes at once.
	s := newRTScripted(t, []string{`"t"`}, func(ws *websocket.Conn, r *http.Request) {
		typ, b, err := ws.Read(context.Background())
		if err == nil {
			_ = ws.Write(context.Background(), typ, b)
		}
		_ = ws.Close(websocket.StatusNormalClosure, "")
	})
	c := s.client(t, fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 3, BaseDelay: 40 * time.Millisecond, MaxDelay: time.Second}))
	conn, err := c.Realtime(rtCtx(t), "me/app")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	const rounds = 4
	for i := 0; i < rounds; i++ {
		mustSend(t, conn, map[string]any{"i": i})
		if out := mustRecv(t, conn); out["i"] != int64(i) {
			t.Fatalf("round %d: %v", i, out)
		}
		if _, err := conn.Recv(rtCtx(t)); err != io.EOF {
			t.Fatalf("round %d: Recv = %v, want io.EOF", i, err)
		}
	}
	// Three reconnections of connections that lived less than 2 s wait at
	// least half of 40, 80 and 160 ms (jitter is in [0.5, 1.5)).
	if took, least := time.Since(start), 140*time.Millisecond; took < least {
		t.Errorf("%d quick reconnections took %v, want at least %v of back-off", rounds-1, took, least)
	}
	if hs, _ := s.seen(); len(hs) != rounds {
		t.Errorf("handshakes = %d, want %d", len(hs), rounds)
	}
}

func TestRealtimeSecretsNeverInErrorsOrLogs(t *testing.T) {
	const key = "rt-TESTKEY-5b1e0c9d7a"
	f := newRT(t, []faltest.Option{faltest.WithKey(key)})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := f.srv.Client(fal.WithLogger(logger), fal.WithHTTPClient(&http.Client{Transport: f.tr}))
	ctx := rtCtx(t)

	var tokens []string
	minted := func(app string) realtime.TokenProvider {
		return func(ctx context.Context, _ string) (string, time.Time, error) {
			tok, exp, err := c.RealtimeToken(ctx, app, 0)
			tokens = append(tokens, tok)
			return tok, exp, err
		}
	}
	var errs []error
	add := func(_ any, err error) {
		if err == nil {
			t.Fatal("want an error")
		}
		errs = append(errs, err)
	}
	// A token for another app, refused at the handshake (URL in the error).
	add(c.Realtime(ctx, faltest.DemoEcho, realtime.WithTokenProvider(minted("falgo/other"))))
	// A valid token, but nothing listens on the run host.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String() + "/run"
	ln.Close()
	deadRun := f.srv.Client(fal.WithLogger(logger), fal.WithHTTPClient(&http.Client{Transport: f.tr}), fal.WithRunHost(dead), fal.WithMaxRetries(0))
	add(deadRun.Realtime(ctx, faltest.DemoEcho, realtime.WithTokenProvider(minted(faltest.DemoEcho))))
	add(deadRun.Realtime(ctx, faltest.DemoEcho, realtime.WithoutToken()))
	// The key refused by the token endpoint and at the handshake.
	wrongKey := f.srv.Client(fal.WithLogger(logger), fal.WithHTTPClient(&http.Client{Transport: f.tr}), fal.WithKey(key+"-wrong"))
	add(wrongKey.Realtime(ctx, faltest.DemoEcho))
	add(wrongKey.Realtime(ctx, faltest.DemoEcho, realtime.WithoutToken()))

	// A live connection's printed forms.
	conn, err := c.Realtime(ctx, faltest.DemoEcho, realtime.WithTokenProvider(minted(faltest.DemoEcho)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var outputs []string
	for _, e := range errs {
		outputs = append(outputs, fmt.Sprintf("%v|%+v|%#v|%s", e, e, e, e))
		var he *fal.HTTPError
		if errors.As(e, &he) {
			outputs = append(outputs, fmt.Sprintf("%#v|%s|%s", *he, he.URL, he.Body))
		}
		for u := errors.Unwrap(e); u != nil; u = errors.Unwrap(u) {
			outputs = append(outputs, u.Error())
		}
	}
	outputs = append(outputs, fmt.Sprintf("%v|%+v|%#v|%s", conn, conn, conn, conn), logs.String())
	if len(tokens) < 3 || !strings.Contains(logs.String(), "fal_jwt_token=REDACTED") {
		t.Fatalf("the test did not exercise what it should: tokens %d, logs %q", len(tokens), logs.String())
	}
	for _, o := range outputs {
		if strings.Contains(o, key) {
			t.Errorf("key leaked: %s", o)
		}
		for _, tok := range tokens {
			if tok != "" && strings.Contains(o, tok) {
				t.Errorf("token leaked: %s", o)
			}
		}
	}
	if !strings.Contains(errs[1].Error(), "fal_jwt_token=REDACTED") {
		t.Errorf("the connection error should name the redacted URL: %v", errs[1])
	}
}

// Example opens a connection with fal.Client.Realtime to the echo app of a
// local faltest server: inputs go out as msgpack, outputs come back in
// order.
func Example() {
	srv := faltest.NewServer()
	defer srv.Close()
	c := srv.Client()
	ctx := context.Background()

	conn, err := c.Realtime(ctx, faltest.DemoEcho)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	for i := 1; i <= 3; i++ {
		if err := conn.Send(ctx, map[string]any{"prompt": "frame", "i": i}); err != nil {
			fmt.Println(err)
			return
		}
	}
	for i := 0; i < 3; i++ {
		out, err := conn.Recv(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(out["prompt"], out["i"])
	}
	// Output:
	// frame 1
	// frame 2
	// frame 3
}
