package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fileMarker stands for an uploaded file in parser tests.
type fileMarker struct{ Path string }

// MarshalJSON encodes the marker as "@path", so results can be compared as
// JSON.
func (m fileMarker) MarshalJSON() ([]byte, error) { return json.Marshal("@" + m.Path) }

func markFile(path string) (any, error) { return fileMarker{Path: path}, nil }

// encode marshals a parsed input for comparison.
func encode(t *testing.T, in map[string]any) string {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("marshalling %v: %v", in, err)
	}
	return string(b)
}

func TestParseAssignments(t *testing.T) {
	tests := []struct {
		name string
		sets []string
		want string // JSON, keys sorted as encoding/json sorts them
	}{
		{"string", []string{"prompt=a lighthouse at dusk"}, `{"prompt":"a lighthouse at dusk"}`},
		{"number", []string{"num_images=2"}, `{"num_images":2}`},
		{"big integer keeps its digits", []string{"seed=123456789012345678901"}, `{"seed":123456789012345678901}`},
		{"float", []string{"guidance_scale=3.5"}, `{"guidance_scale":3.5}`},
		{"bool", []string{"sync_mode=true"}, `{"sync_mode":true}`},
		{"null", []string{"negative_prompt=null"}, `{"negative_prompt":null}`},
		{"quoted JSON string stays a string", []string{`seed="42"`}, `{"seed":"42"}`},
		{"array", []string{`loras=[{"path":"x","scale":1}]`}, `{"loras":[{"path":"x","scale":1}]}`},
		{"object", []string{`image_size={"width":512, "height":512}`}, `{"image_size":{"width":512,"height":512}}`},
		{"empty value is an empty string", []string{"negative_prompt="}, `{"negative_prompt":""}`},
		{"value with '='", []string{"prompt=a=b"}, `{"prompt":"a=b"}`},
		{"HTML characters kept", []string{"prompt=<b>&</b>"}, `{"prompt":"\u003cb\u003e\u0026\u003c/b\u003e"}`},
		{"text with braces is text", []string{"prompt=a {not json}"}, `{"prompt":"a {not json}"}`},
		{"spaces around JSON", []string{"n= 7 "}, `{"n":7}`},
		{"nested", []string{"image_size.width=768", "image_size.height=512"}, `{"image_size":{"height":512,"width":768}}`},
		{"deep", []string{"a.b.c.d=x"}, `{"a":{"b":{"c":{"d":"x"}}}}`},
		{"merge into a JSON object", []string{`image_size={"width":1}`, "image_size.height=2"}, `{"image_size":{"height":2,"width":1}}`},
		{"later wins", []string{"prompt=one", "prompt=two"}, `{"prompt":"two"}`},
		{"object replaced by a value", []string{"a.b=1", "a=2"}, `{"a":2}`},
		{"file", []string{"image_url=@cat.png"}, `{"image_url":"@cat.png"}`},
		{"nested file", []string{"input.image=@dir/cat.png"}, `{"input":{"image":"@dir/cat.png"}}`},
		{"unicode", []string{"prompt=灯台と夕暮れ"}, `{"prompt":"灯台と夕暮れ"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAssignments(nil, tt.sets, markFile)
			if err != nil {
				t.Fatalf("parseAssignments(%q): %v", tt.sets, err)
			}
			var want bytes.Buffer
			if err := json.Compact(&want, []byte(tt.want)); err != nil {
				t.Fatal(err)
			}
			if g := encode(t, got); g != want.String() {
				t.Errorf("parseAssignments(%q) = %s, want %s", tt.sets, g, want.String())
			}
		})
	}
}

func TestParseAssignmentsErrors(t *testing.T) {
	tests := []struct {
		set  string
		want string
	}{
		{"prompt", "expected key=value"},
		{"=x", "key before '=' is empty"},
		{".a=1", "empty part"},
		{"a..b=1", "empty part"},
		{"a.=1", "empty part"},
		{"image_url=@", "nothing after '@'"},
		{"bad\xffutf8=x", "UTF-8"},
		{`image_size={"width":512,"height":}`, "not valid JSON: at character 23: invalid character '}'"},
		{"tags=[1,2", "not valid JSON: it ends after character 4"},
		{`p="unclosed`, "not valid JSON"},
	}
	for _, tt := range tests {
		_, err := parseAssignments(nil, []string{tt.set}, markFile)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "-i ") {
			t.Errorf("parseAssignments(%q): err = %v, want an -i error containing %q", tt.set, err, tt.want)
		}
	}
	// A value in the way of a dotted key is not silently replaced.
	for _, sets := range [][]string{{"a=1", "a.b=2"}, {`a="x"`, "a.b.c=2"}, {"a=@f", "a.b=1"}, {"a=[1]", "a.b=1"}} {
		_, err := parseAssignments(nil, sets, markFile)
		if err == nil || !strings.Contains(err.Error(), "already set") {
			t.Errorf("parseAssignments(%q): err = %v, want an 'already set' error", sets, err)
		}
	}
}

func TestParseAssignmentsOnTopOfInputFile(t *testing.T) {
	base, err := decodeInputObject([]byte(`{"prompt": "from file", "seed": 18446744073709551617, "image_size": {"width": 1}}`), "test")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseAssignments(base, []string{"prompt=from flag", "image_size.height=2"}, markFile)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"image_size":{"height":2,"width":1},"prompt":"from flag","seed":18446744073709551617}`
	if g := encode(t, got); g != want {
		t.Errorf("got %s, want %s", g, want)
	}
}

func TestDecodeInputObjectErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":              "is empty",
		"   \n":         "is empty",
		"[1,2]":         "must hold a JSON object",
		`"text"`:        "must hold a JSON object",
		`{"a":`:         "not valid JSON",
		`{"a":1} {}`:    "more than one JSON value",
		`{"a":1}` + "x": "more than one JSON value",
	} {
		_, err := decodeInputObject([]byte(in), "--input x.json")
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), want) {
			t.Errorf("decodeInputObject(%q): err = %v, want a usage error containing %q", in, err, want)
		}
	}
}

func TestLocalFileChecksThePath(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cat.png")
	if err := os.WriteFile(p, []byte("png"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := localFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := v.(*fileInput); !ok || f.path != p {
		t.Fatalf("localFile returned %#v, want the *fileInput of %s", v, p)
	}
	if _, err := json.Marshal(map[string]any{"f": v}); err == nil {
		t.Error("a file that was not uploaded encoded without error")
	}
	if _, err := localFile(filepath.Join(dir, "missing.png")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := localFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: err = %v", err)
	}
}

// reencodeJSON re-encodes a JSON value with numbers kept as written, so
// two encodings of the same value compare equal.
func reencodeJSON(b []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	out, err := json.Marshal(v)
	return string(out), err
}

// FuzzParseAssignments checks the -i parser on arbitrary pairs of
// assignments: it never panics, what it accepts encodes to valid JSON, and
// a single plain assignment lands at its dotted path with the value it
// promises (the JSON value when the text is valid JSON, else the text).
func FuzzParseAssignments(f *testing.F) {
	f.Add("prompt=a lighthouse at dusk", "num_images=2")
	f.Add("image_size.width=512", `image_size={"height":1}`)
	f.Add("a=@file", "a.b=1")
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, sets := range [][]string{{a}, {a, b}} {
			got, err := parseAssignments(nil, sets, markFile)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "-i ") {
					t.Fatalf("error does not name the -i flag: %v", err)
				}
				continue
			}
			enc, err := json.Marshal(got)
			if err != nil || !json.Valid(enc) {
				t.Fatalf("parseAssignments(%q) gave an input that does not encode: %v", sets, err)
			}
		}
		key, raw, ok := strings.Cut(a, "=")
		got, err := parseAssignments(nil, []string{a}, markFile)
		if !ok || key == "" || strings.Contains("."+key+".", "..") {
			if err == nil {
				t.Fatalf("parseAssignments(%q) accepted a malformed key", a)
			}
			return
		}
		if err != nil || strings.HasPrefix(raw, "@") {
			return
		}
		var v any = got
		for _, part := range strings.Split(key, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("parseAssignments(%q) = %v: no object at %q", a, got, part)
			}
			v = m[part]
		}
		leaf, ok := v.(json.RawMessage)
		if !ok {
			t.Fatalf("parseAssignments(%q): leaf is %T", a, v)
		}
		if json.Valid([]byte(raw)) {
			want, err1 := reencodeJSON([]byte(raw))
			have, err2 := reencodeJSON(leaf)
			if err1 != nil || err2 != nil || want != have {
				t.Fatalf("parseAssignments(%q): value %s, want the JSON %s (%v, %v)", a, leaf, raw, err1, err2)
			}
			return
		}
		var s string
		if err := json.Unmarshal(leaf, &s); err != nil || s != raw {
			t.Fatalf("parseAssignments(%q): value %s, want the text %q", a, leaf, raw)
		}
	})
}
