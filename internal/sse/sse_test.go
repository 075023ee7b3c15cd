package sse

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"unsafe"
)

func decodeAll(t testing.TB, r io.Reader) ([]Event, error) {
	t.Helper()
	return decodeWith(t, NewDecoder(r))
}

// decodeWith reads every event of d.
func decodeWith(t testing.TB, d *Decoder) ([]Event, error) {
	t.Helper()
	var out []Event
	for {
		ev, err := d.Next()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		out = append(out, ev)
		if len(out) > 10000 {
			t.Fatal("runaway decoder")
		}
	}
}

func TestDecoder(t *testing.T) {
	long := strings.Repeat("x", 200_000)
	cases := []struct {
		name string
		in   string
		want []Event
	}{
		{"single", "data: {\"a\":1}\n\n", []Event{{Data: `{"a":1}`}}},
		{"multi-line data", "data: a\ndata: b\ndata:c\n\n", []Event{{Data: "a\nb\nc"}}},
		{"CRLF", "data: a\r\ndata: b\r\n\r\n", []Event{{Data: "a\nb"}}},
		{"CR only", "data: a\rdata: b\r\r", []Event{{Data: "a\nb"}}},
		{"mixed endings", "data: 1\r\n\rdata: 2\n\r\n", []Event{{Data: "1"}, {Data: "2"}}},
		{"comments ignored", ": ping\n: another\ndata: x\n: mid\n\n", []Event{{Data: "x"}}},
		{"comment-only keeps stream alive", ": ping\n\n: ping\n\ndata: y\n\n", []Event{{Data: "y"}}},
		{"event type", "event: error\ndata: {}\n\n", []Event{{Type: "error", Data: "{}"}}},
		{"type resets", "event: a\ndata: 1\n\ndata: 2\n\n", []Event{{Type: "a", Data: "1"}, {Data: "2"}}},
		{"id persists", "id: 7\ndata: 1\n\ndata: 2\n\n", []Event{{ID: "7", Data: "1"}, {ID: "7", Data: "2"}}},
		{"id with NUL ignored", "id: 1\ndata: a\n\nid: x\x00y\ndata: b\n\n", []Event{{ID: "1", Data: "a"}, {ID: "1", Data: "b"}}},
		{"retry", "retry: 1500\ndata: a\n\nretry: 1x\ndata: b\n\n", []Event{{Retry: 1500, Data: "a"}, {Retry: 1500, Data: "b"}}},
		{"no space after colon", "data:a\n\n", []Event{{Data: "a"}}},
		{"only one space stripped", "data:  a\n\n", []Event{{Data: " a"}}},
		{"field without colon", "data\n\n", []Event{{Data: ""}}},
		{"empty data dispatches", "data:\n\n", []Event{{Data: ""}}},
		{"event without data not dispatched", "event: done\n\ndata: z\n\n", []Event{{Data: "z"}}},
		{"unknown field ignored", "foo: bar\ndata: a\n\n", []Event{{Data: "a"}}},
		{"unterminated last event dropped", "data: a\n\ndata: b\n", []Event{{Data: "a"}}},
		{"BOM", "\xEF\xBB\xBFdata: a\n\n", []Event{{Data: "a"}}},
		{"colon in value", "data: a:b: c\n\n", []Event{{Data: "a:b: c"}}},
		{"long line", "data: " + long + "\n\n", []Event{{Data: long}}},
		{"blank lines between", "\n\n\ndata: a\n\n\n\n", []Event{{Data: "a"}}},
		{"empty stream", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range []string{"whole", "one byte at a time", "lazy 16-byte buffer", "lazy, one byte at a time", "lazy, data with EOF"} {
				var r io.Reader = strings.NewReader(tc.in)
				switch mode {
				case "one byte at a time", "lazy, one byte at a time":
					r = iotest.OneByteReader(r)
				case "lazy, data with EOF":
					r = iotest.DataErrReader(r)
				}
				d := NewDecoder(r)
				if strings.HasPrefix(mode, "lazy") {
					d = NewSizedDecoder(r, 0, 16)
				}
				got, err := decodeWith(t, d)
				if err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("%s: got %#v\nwant %#v", mode, got, tc.want)
				}
			}
		})
	}
}

func TestDecoderReaderError(t *testing.T) {
	boom := errors.New("boom")
	d := NewDecoder(io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom)))
	if ev, err := d.Next(); err != nil || ev.Data != "a" {
		t.Fatalf("first = %v, %v", ev, err)
	}
	if _, err := d.Next(); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if _, err := d.Next(); !errors.Is(err, boom) {
		t.Fatalf("error must be sticky, got %v", err)
	}
}

// FuzzDecoder checks that no input makes the decoder panic or loop, and
// that splitting the input into single bytes gives the same events.
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{"data: a\n\n", "data: a\r\ndata: b\r\n\r\n", ": c\n\nevent: e\ndata: {}\n\n", "id: 1\rretry: 10\rdata: x\r\r", "\xEF\xBB\xBFdata:\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		a, errA := decodeAll(t, strings.NewReader(string(in)))
		b, errB := decodeAll(t, iotest.OneByteReader(strings.NewReader(string(in))))
		c, errC := decodeWith(t, NewSizedDecoder(iotest.HalfReader(strings.NewReader(string(in))), 0, 16))
		if errA != nil || errB != nil || errC != nil {
			t.Fatalf("errors: %v %v %v", errA, errB, errC)
		}
		if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(a, c) {
			t.Fatalf("chunking changed the events: %#v vs %#v vs %#v", a, b, c)
		}
		// With a limit, the events are the unlimited decoder's, up to the
		// first one that does not fit, and none is over the limit.
		const limit = 16
		d := NewLimitedDecoder(iotest.OneByteReader(strings.NewReader(string(in))), limit)
		for i := 0; ; i++ {
			ev, err := d.Next()
			if err == io.EOF {
				if i != len(a) {
					t.Fatalf("the limited decoder ended after %d of %d events", i, len(a))
				}
				return
			}
			if errors.Is(err, ErrTooLarge) {
				return
			}
			if err != nil {
				t.Fatalf("limited decoder: %v", err)
			}
			if len(ev.Data) > limit || i >= len(a) || !reflect.DeepEqual(ev, a[i]) {
				t.Fatalf("limited event %d = %#v, want %#v within %d bytes", i, ev, a[min(i, len(a)-1)], limit)
			}
		}
	})
}

func TestLimitedDecoder(t *testing.T) {
	ok := "data: " + strings.Repeat("x", 100) + "\n\n"
	d := NewLimitedDecoder(strings.NewReader(ok+"data: "+strings.Repeat("y", 101)+"\n\n"), 100)
	if ev, err := d.Next(); err != nil || len(ev.Data) != 100 {
		t.Fatalf("an event at the limit: %v, %d bytes", err, len(ev.Data))
	}
	if _, err := d.Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a line over the limit: err = %v", err)
	}
	// Many short data lines that add up to more than the limit.
	many := strings.Repeat("data: "+strings.Repeat("z", 30)+"\n", 4) + "\n"
	if _, err := NewLimitedDecoder(strings.NewReader(many), 100).Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("an event over the limit: err = %v", err)
	}
	// A line that never ends is refused once it passes the limit, without
	// reading the rest of the stream.
	r := &countingReader{r: io.MultiReader(strings.NewReader("data: "), endless('q'))}
	if _, err := NewLimitedDecoder(r, 1<<20).Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("an endless line: err = %v", err)
	}
	if r.n > 2<<20 {
		t.Fatalf("read %d bytes of an endless line with a 1 MiB limit", r.n)
	}
}

type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestSizedDecoderReadsPastItsBuffer checks that a small read buffer only
// batches reads: lines and events far longer than it come out whole, with
// CRLF and CR line ends split across reads.
func TestSizedDecoderReadsPastItsBuffer(t *testing.T) {
	long := strings.Repeat("0123456789", 500)
	stream := "event: status\r\ndata: " + long + "\r\ndata: second\r\n\r\n: comment\rdata: short\r\rdata: " + long + "\n\n"
	d := NewSizedDecoder(strings.NewReader(stream), 1<<20, 16)
	want := []Event{{Type: "status", Data: long + "\nsecond"}, {Data: "short"}, {Data: long}}
	for i, w := range want {
		ev, err := d.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.Type != w.Type || ev.Data != w.Data {
			t.Errorf("event %d: type %q, %d bytes of data; want %q, %d bytes", i, ev.Type, len(ev.Data), w.Type, len(w.Data))
		}
	}
	if _, err := d.Next(); err != io.EOF {
		t.Errorf("after the last event: %v, want io.EOF", err)
	}
	small := NewSizedDecoder(strings.NewReader("data: "+long+"\n\n"), 100, 16)
	if _, err := small.Next(); err != ErrTooLarge {
		t.Errorf("a line over the limit: %v, want ErrTooLarge", err)
	}
}

// TestDecoderReusesBuffers checks that decoding a stream of small events
// allocates only the events' strings (the line and data buffers are
// reused), and that events decoded earlier are not changed by later ones.
func TestDecoderReusesBuffers(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("allocation counts differ under coverage")
	}
	const ev = "event: status\ndata: {\"status\":\"IN_PROGRESS\",\"request_id\":\"abc\"}\n\n"
	d := NewDecoder(strings.NewReader(strings.Repeat(ev, 300)))
	first, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(200, func() {
		if _, err := d.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if n > 2 { // the Type and Data strings
		t.Errorf("%.1f allocations per event, want at most 2", n)
	}
	if first.Type != "status" || first.Data != `{"status":"IN_PROGRESS","request_id":"abc"}` {
		t.Errorf("the first event changed: %+v", first)
	}
}

// eventReader returns one event per Read, as a mostly idle stream does.
type eventReader struct{ events []string }

func (r *eventReader) Read(p []byte) (int, error) {
	if len(r.events) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.events[0])
	r.events[0] = r.events[0][n:]
	if r.events[0] == "" {
		r.events = r.events[1:]
	}
	return n, nil
}

// TestDecoderReleasesBuffersWhenIdle checks that a sized decoder whose
// read buffer is empty after an event (the next read may wait for long)
// holds no line, data or read buffer meanwhile.
func TestDecoderReleasesBuffersWhenIdle(t *testing.T) {
	ev := "data: {\"status\":\"IN_QUEUE\",\"queue_position\":3}\n\n"
	d := NewSizedDecoder(&eventReader{events: []string{ev, ev}}, 0, 512)
	for i := 0; i < 2; i++ {
		if _, err := d.Next(); err != nil {
			t.Fatal(err)
		}
		if d.line != nil || cap(d.data) != 0 || d.r.buf != nil {
			t.Errorf("event %d: the decoder holds %d bytes of line, %d of data and %d of read buffer while waiting", i, cap(d.line), cap(d.data), cap(d.r.buf))
		}
	}
}

// stuck never returns data or an error.
type stuck struct{}

func (stuck) Read([]byte) (int, error) { return 0, nil }

// TestDecoderGivesUpOnAStuckReader: a reader that returns nothing and no
// error, again and again, ends the stream with io.ErrNoProgress instead
// of a loop without end, in both read modes.
func TestDecoderGivesUpOnAStuckReader(t *testing.T) {
	for _, d := range []*Decoder{NewDecoder(stuck{}), NewSizedDecoder(stuck{}, 0, 512)} {
		if _, err := d.Next(); !errors.Is(err, io.ErrNoProgress) {
			t.Errorf("err = %v, want io.ErrNoProgress", err)
		}
	}
}

// TestDecoderStaysSmall: a waiting Subscribe holds one decoder for its
// job's life, thousands at once; 176 bytes is a heap size class (the
// next is 192), so a field more costs every wait 16 bytes.
func TestDecoderStaysSmall(t *testing.T) {
	if n := unsafe.Sizeof(Decoder{}); n > 176 {
		t.Fatalf("a Decoder is %d bytes, more than 176", n)
	}
}

// TestSizedDecoderBoundsItsBuffer: a read buffer asked too small or too
// big is made 16 bytes or maxBuffer, and events still decode whole.
func TestSizedDecoderBoundsItsBuffer(t *testing.T) {
	for _, size := range []int{-1, 0, 1 << 40} {
		d := NewSizedDecoder(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\n"), 0, size)
		if d.r.size < 16 || d.r.size > maxBuffer {
			t.Fatalf("size %d: buffer of %d bytes", size, d.r.size)
		}
		if ev, err := d.Next(); err != nil || len(ev.Data) != 100 {
			t.Fatalf("size %d: %q, %v", size, ev.Data, err)
		}
	}
}
