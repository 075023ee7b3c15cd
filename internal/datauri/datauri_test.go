package datauri

import "testing"

func TestDecode(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"data:text/plain;base64,aGk=", "hi", true},
		{"data:text/plain;base64,aGk", "hi", true},   // unpadded
		{"data:text/plain;BASE64,aGk=", "hi", true},  // the marker in any case
		{"DATA:,a%20b", "a b", true},                 // the scheme in any case
		{"text/plain;base64,aGk=", "hi", true},       // without the scheme
		{"data:,plain", "plain", true},               // no media type
		{"data:image/png;base64", "", false},         // no comma
		{"data:image/png;base64,!!!", "", false},     // bad base64
		{"data:text/plain,%zz", "", false},           // bad percent-encoding
		{"data:text/plain;base64,aGk=\n", "", false}, // stray bytes are not ignored
	} {
		got, err := Decode(c.in)
		if (err == nil) != c.ok || string(got) != c.want {
			t.Errorf("Decode(%q) = %q, %v; want %q, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}
