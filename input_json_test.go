package fal

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// jsonLikeInputs are inputs the fast path encodes, with the edge cases of
// encoding/json's output: escapes, invalid UTF-8, U+2028, float cut-offs,
// nil and empty containers.
func jsonLikeInputs() []any {
	many := map[string]any{}
	for i := 0; i < fastKeys+5; i++ {
		many["k"+strconv.Itoa(i)] = i
	}
	return []any{
		map[string]any{},
		map[string]any{"prompt": "a cat", "seed": 42, "steps": int64(4), "guidance": 3.5, "safe": true, "none": nil},
		map[string]any{"s": "quote \" backslash \\ nl \n cr \r tab \t bs \b ff \f nul \x00 esc \x1b del \x7f <&> \u2028 \u2029 é 🦊 bad \xff\xfe end"},
		map[string]any{"z": 1, "a": 2, "m": map[string]any{"y": []any{1, "two", 3.0, nil, false, map[string]any{"b": 1, "a": 2}}}},
		map[string]any{"nilmap": map[string]any(nil), "nilslice": []any(nil), "empty": []any{}, "strs": []string{"a", "b\n"}, "nilstrs": []string(nil)},
		map[string]any{"f": []any{0.0, -0.0, 1e-7, 1e-6, 123456789.0, 1e20, 1e21, 1.5e300, -2.5e-300, math.MaxFloat64, math.SmallestNonzeroFloat64}},
		map[string]any{"f32": []any{float32(0.1), float32(1e-7), float32(3.4e38), float32(1e21), float32(16777216)}},
		map[string]any{"ints": []any{int8(-8), int16(-16), int32(-32), int64(math.MinInt64), uint(7), uint8(8), uint16(16), uint32(32), uint64(math.MaxUint64)}},
		map[string]any{"key \"quoted\"\n": "v", "": "empty key", "é": 1},
		[]any{"top", "level", 1},
		[]string{"x"},
		"a string input",
		3.25,
		true,
		many,
	}
}

// TestFastJSONMatchesEncodingJSON checks that the fast path writes the
// bytes encoding/json writes (SetEscapeHTML(false), no newline), and that
// encodeInput, whichever path it takes, returns them.
func TestFastJSONMatchesEncodingJSON(t *testing.T) {
	for i, in := range jsonLikeInputs() {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(in); err != nil {
			t.Fatal(err)
		}
		wantS := strings.TrimSuffix(want.String(), "\n")
		got, err := encodeInput("run", in)
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		if string(got) != wantS {
			t.Errorf("input %d:\n got %s\nwant %s", i, got, wantS)
		}
		if fast, ok := appendFastJSON(nil, in, 0); ok && string(fast) != wantS {
			t.Errorf("input %d, fast path:\n got %s\nwant %s", i, fast, wantS)
		}
	}
}

// TestFastJSONDeclines checks that what the fast path does not encode
// goes to encoding/json, which encodes it or reports why not.
func TestFastJSONDeclines(t *testing.T) {
	type plain struct {
		A string `json:"a"`
	}
	deep := map[string]any{}
	cur := deep
	for i := 0; i < maxFastDepth+3; i++ {
		next := map[string]any{}
		cur["n"] = next
		cur = next
	}
	for _, in := range []any{
		map[string]any{"n": json.Number("12")},
		map[string]any{"s": plain{A: "x"}},
		map[string]any{"nan": math.NaN()},
		map[string]any{"inf": []any{math.Inf(1)}},
		map[string]any{"raw": json.RawMessage(`{"a":1}`)},
		deep,
	} {
		if _, ok := appendFastJSON(nil, in, 0); ok {
			t.Errorf("the fast path encoded %#v; it must decline", in)
		}
		_, jerr := json.Marshal(in)
		_, err := encodeInput("run", in)
		if (err == nil) != (jerr == nil) {
			t.Errorf("encodeInput(%#v) = %v; encoding/json says %v", in, err, jerr)
		}
	}
	if _, err := encodeInput("run", map[string]any{"nan": math.NaN()}); err == nil || !strings.Contains(err.Error(), "cannot be encoded as JSON") {
		t.Errorf("NaN in a map: %v, want the encoding error", err)
	}
}

// TestEncodeMapInputAllocations checks that a typical map input costs one
// allocation (the body) instead of encoding/json's reflection and key
// sorting.
func TestEncodeMapInputAllocations(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under coverage and the race detector")
	}
	in := map[string]any{"prompt": "a lighthouse", "image_size": "landscape_4_3", "num_inference_steps": 4, "seed": 42, "enable_safety_checker": true}
	if _, err := encodeInput("run", in); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = encodeInput("run", in) }); n > 1 {
		t.Errorf("encoding a map input made %.0f allocations, want 1", n)
	}
}

// FuzzFastJSONString checks string escaping against encoding/json.
func FuzzFastJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\x00\x1f\u2028\xff", "<&>", "é🦊"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		if got := appendJSONString(nil, s); string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Fatalf("%q: got %s, want %s", s, got, want.String())
		}
	})
}

// TestPlainStructSkipsFileWalk checks that a struct that cannot hold an
// *InputFile is not walked for files (no allocation), while one with an
// interface or *InputFile field still is.
func TestPlainStructSkipsFileWalk(t *testing.T) {
	type plain struct {
		Prompt string   `json:"prompt"`
		Steps  int      `json:"steps"`
		Tags   []string `json:"tags"`
		Next   *plain   `json:"next"`
	}
	type withAny struct{ Image any }
	type withFile struct{ Image *InputFile }
	if typeMayHoldFiles(reflect.TypeOf(plain{})) {
		t.Error("a plain struct may hold files")
	}
	if !typeMayHoldFiles(reflect.TypeOf(withAny{})) || !typeMayHoldFiles(reflect.TypeOf(withFile{})) || !typeMayHoldFiles(reflect.TypeOf(map[string][]withFile{})) {
		t.Error("a struct with an interface or *InputFile field cannot hold files")
	}
	if testing.CoverMode() != "" || raceEnabled {
		return
	}
	c, err := NewClient(WithKey("k"), WithRunHost("http://127.0.0.1:9/run"))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := c.newCall(callRun, nil)
	if err != nil {
		t.Fatal(err)
	}
	var in any = plain{Prompt: "a cat", Steps: 4}
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { _ = c.uploadInputs(ctx, cl, in) }); n != 0 {
		t.Errorf("looking for files in a plain struct made %.0f allocations, want 0", n)
	}
}
