package realtime

import "testing"

// TestTextMetaFramesAreNotDecoded: an x-fal-message text frame is known
// for what it is without decoding its values, and nothing else is taken
// for one — a frame whose text merely holds the marker, a frame that is
// not JSON, a binary frame.
func TestTextMetaFramesAreNotDecoded(t *testing.T) {
	cases := []struct {
		name string
		f    rawFrame
		want frameKind
	}{
		{"meta", rawFrame{text: true, data: []byte(`{"type":"x-fal-message","action":"timings","timing":0.1}`)}, frameMeta},
		{"marker in a value", rawFrame{text: true, data: []byte(`{"type":"output","note":"x-fal-message"}`)}, frameOutput},
		{"marker in a key", rawFrame{text: true, data: []byte(`{"x-fal-message":1}`)}, frameOutput},
		{"not JSON", rawFrame{text: true, data: []byte(`"x-fal-message" and more`)}, frameOutput},
	}
	for _, tc := range cases {
		kind, out, err := classify("falgo/echo", tc.f)
		if err != nil || kind != tc.want {
			t.Errorf("%s: kind %v, err %v; want %v", tc.name, kind, err, tc.want)
		}
		if kind == frameMeta && out.value != nil {
			t.Errorf("%s: a meta frame was decoded: %v", tc.name, out.value)
		}
	}
}
