package faltest

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzMsgpackToJSON feeds arbitrary realtime frames to the server's msgpack
// decoder: it must never panic, and whatever it accepts must be valid JSON
// that means the same after the trip back to msgpack and again to JSON
// (invalid UTF-8 in strings becomes U+FFFD on the first trip).
func FuzzMsgpackToJSON(f *testing.F) {
	for _, s := range [][]byte{
		{0x81, 0xa6, 'p', 'r', 'o', 'm', 'p', 't', 0xa3, 'c', 'a', 't'}, // {"prompt":"cat"}
		{0x92, 0x01, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0},                // [1, 1.5]
		{0xc4, 0x03, 1, 2, 3},          // bin
		{0xdf, 0xff, 0xff, 0xff, 0xff}, // map claiming 4G entries
		{0xc0}, {0xc3}, {}, {0x91, 0x91, 0x91},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		js, err := msgpackToJSON(frame)
		if err != nil {
			return
		}
		if !json.Valid(js) {
			t.Fatalf("invalid JSON %q from %x", js, frame)
		}
		mp, err := jsonToMsgpack(js)
		if err != nil {
			t.Fatalf("re-encoding %s: %v", js, err)
		}
		again, err := msgpackToJSON(mp)
		if err != nil {
			t.Fatalf("decoding the re-encoded %s: %v", js, err)
		}
		var a, b any
		_ = json.Unmarshal(js, &a)
		_ = json.Unmarshal(again, &b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed %s into %s", js, again)
		}
	})
}
