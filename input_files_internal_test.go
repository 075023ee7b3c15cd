package fal

import "testing"

func TestMayHoldFiles(t *testing.T) {
	t.Parallel()
	f := FileBytes("a", nil)
	for _, tc := range []struct {
		in   any
		want bool
	}{
		{map[string]any{"a": 1, "b": []any{"x", 2.5, map[string]any{"c": true}}}, false},
		{map[string]any{"a": []any{f}}, true},
		{f, true},
		{struct{ F *InputFile }{f}, true}, // structs are walked by reflection
		{"s", false}, {nil, false}, {[]string{"a"}, false},
	} {
		if got := mayHoldFiles(tc.in); got != tc.want {
			t.Errorf("mayHoldFiles(%#v) = %v", tc.in, got)
		}
	}
}
