package fal

import (
	"net/url"
	"testing"
)

func TestOwnsURL(t *testing.T) {
	must := func(s string) *url.URL {
		u, err := parseHost("test", s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	h := hosts{run: must("https://fal.run"), queue: must("http://127.0.0.1:8080/queue"), rest: must("rest.fal.ai"), cdn: must("v3.fal.media")}
	for raw, want := range map[string]bool{
		"https://fal.run/fal-ai/flux":         true,
		"https://FAL.RUN/x":                   true,
		"HTTPS://fal.run":                     true,
		"https://fal.run?x=1":                 true,
		"http://fal.run/x":                    false, // scheme differs
		"https://fal.run.evil.com/x":          false,
		"https://fal.runx/x":                  false,
		"https://fal.run@evil.com/x":          false,
		"https://evilfal.run/x":               false,
		"http://127.0.0.1:8080/queue/a":       true,
		"http://127.0.0.1:8080/anything":      true, // same origin
		"http://127.0.0.1:80801/queue":        false,
		"http://127.0.0.1:8080@evil.com/":     false,
		"https://rest.fal.ai/storage/upload":  true,
		"https://v3.fal.media/files/upload":   true,
		"https://storage.googleapis.com/x?s=": false,
		"":                                    false,
		"https:":                              false,
	} {
		if got := h.ownsURL(raw); got != want {
			t.Errorf("ownsURL(%q) = %v, want %v", raw, got, want)
		}
		if u, err := url.Parse(raw); err == nil && u.Host != "" && h.owns(u) != want {
			t.Errorf("owns(%q) disagrees with ownsURL", raw)
		}
	}
}

func TestMayHoldFiles(t *testing.T) {
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
