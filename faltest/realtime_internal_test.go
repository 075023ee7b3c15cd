package faltest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/vmihailenco/msgpack/v5"
)

func TestMsgpackToJSON(t *testing.T) {
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	cases := []struct {
		name string
		in   any
		want string
	}{
		{"ordered map", msgpack.RawMessage(rtMustPack(t, func(e *msgpack.Encoder) {
			_ = e.EncodeMapLen(3)
			_ = e.EncodeString("z")
			_ = e.EncodeInt(1)
			_ = e.EncodeString("a")
			_ = e.EncodeInt(-200)
			_ = e.EncodeString("m")
			_ = e.EncodeUint(1 << 63)
		})), `{"z":1,"a":-200,"m":9223372036854775808}`},
		{"scalars", []any{nil, true, false, "s\"q", 1.5, float32(0.25), int8(-5), int64(-1 << 40)}, `[null,true,false,"s\"q",1.5,0.25,-5,-1099511627776]`},
		{"bin", []byte{0xff, 0x00}, `"/wA="`},
		{"non-string keys", map[any]any{int64(7): "x"}, `{"7":"x"}`},
		{"timestamp", ts, `"2024-05-06T07:08:09.123456789Z"`},
		{"empty containers", map[string]any{"a": []any{}, "m": map[string]any{}}, ""},
	}
	for _, c := range cases {
		var b []byte
		if raw, ok := c.in.(msgpack.RawMessage); ok {
			b = raw
		} else {
			var err error
			if b, err = msgpack.Marshal(c.in); err != nil {
				t.Fatal(err)
			}
		}
		got, err := msgpackToJSON(b)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if c.want != "" && string(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
		if c.want == "" && string(got) != `{"a":[],"m":{}}` && string(got) != `{"m":{},"a":[]}` {
			t.Errorf("%s: got %s", c.name, got)
		}
	}
}

func rtMustPack(t *testing.T, f func(*msgpack.Encoder)) []byte {
	t.Helper()
	var sb strings.Builder
	enc := msgpack.NewEncoder(&sb)
	f(enc)
	return []byte(sb.String())
}

func TestMsgpackToJSONRejectsGarbage(t *testing.T) {
	for _, in := range [][]byte{
		{}, {0xc1}, {0xa3, 'a'}, {0xc6, 0xff, 0xff, 0xff, 0xff}, {0xdd, 0xff, 0xff, 0xff, 0xff},
		{0x81, 0xc4, 0x01, 0x00, 0x01}, {0xd6, 0xff, 0x00}, {0xc7, 0x03, 0xff, 0, 0, 0},
		{0xca, 0x7f, 0x80, 0x00, 0x00}, {0x90, 0x90},
		[]byte(strings.Repeat("\x91", maxNesting+2) + "\x01"),
	} {
		if out, err := msgpackToJSON(in); err == nil {
			t.Errorf("%x converted to %s, want an error", in, out)
		}
	}
}

func TestJSONToMsgpack(t *testing.T) {
	// 1e400 overflows to +Inf, which has no JSON form on the way back.
	b, err := jsonToMsgpack([]byte(`[1e400]`))
	if err != nil {
		t.Fatal(err)
	}
	if back, err := msgpackToJSON(b); err == nil {
		t.Fatalf("an infinity converted back to %s", back)
	}
	// Key order and integer values survive a round trip.
	b, err = jsonToMsgpack([]byte(`{"z":1,"a":[-1,18446744073709551615,1.5,"s",null,true],"big":123456789012}`))
	if err != nil {
		t.Fatal(err)
	}
	back, err := msgpackToJSON(b)
	if err != nil || string(back) != `{"z":1,"a":[-1,18446744073709551615,1.5,"s",null,true],"big":123456789012}` {
		t.Fatalf("round trip: %s, %v", back, err)
	}
	if b[0] != 0x83 || len(b) > 60 {
		t.Fatalf("encoding %x is not a compact 3-entry map", b)
	}
	for _, bad := range []string{`{`, `{"a":1} 2`, strings.Repeat("[", maxNesting+2) + strings.Repeat("]", maxNesting+2)} {
		if _, err := jsonToMsgpack([]byte(bad)); err == nil {
			t.Errorf("%.20s...: want an error", bad)
		}
	}
}

func TestInboxKeepsNewestWithinMaxBuffering(t *testing.T) {
	in := newInbox(2)
	stop := make(chan struct{})
	for i := 0; i < 5; i++ {
		if !in.push(rtInput{input: []byte{byte('0' + i)}}, stop) {
			t.Fatal("push refused")
		}
	}
	var got string
	for {
		x, ok := in.pop()
		if !ok {
			break
		}
		got += string(x.input)
	}
	if got != "34" {
		t.Fatalf("max_buffering 2 kept %q, want the newest two, %q", got, "34")
	}

	// Without max_buffering nothing is dropped; a full inbox makes the
	// reader wait, and stop releases it.
	in = newInbox(0)
	for i := 0; i < realtimeMaxPending; i++ {
		in.push(rtInput{}, stop)
	}
	done := make(chan bool)
	go func() { done <- in.push(rtInput{bad: "last"}, stop) }()
	close(stop)
	if <-done {
		t.Fatal("push into a full inbox succeeded after stop")
	}
}

func TestRealtimeExpiredTokenRejected(t *testing.T) {
	s := NewServer(WithoutDemoApps(), WithApp("test/echo", func(ctx context.Context, req *Request) (any, error) { return req.Input, nil }))
	defer s.Close()
	tok := s.realtime.issue(s.URL, []string{"echo"}, -time.Minute)
	// A hang guard only: the refusal comes at once.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/run/test/echo/realtime?fal_jwt_token="+tok, nil)
	if err == nil {
		c.CloseNow()
		t.Fatal("an expired token was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("response %v, err %v; want 401", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "expired") {
		t.Fatalf("401 body %s should say the token expired", body)
	}
	if err := s.realtime.verify(tok, "test/echo", time.Now().Add(-2*time.Minute)); err != nil {
		t.Fatalf("the same token before its expiry: %v", err)
	}
}
