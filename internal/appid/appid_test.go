package appid

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in               string
		base, path, full string
	}{
		{"fal-ai/fast-sdxl", "fal-ai/fast-sdxl", "", "fal-ai/fast-sdxl"},
		{"fal-ai/flux/dev", "fal-ai/flux", "dev", "fal-ai/flux/dev"},
		{"fal-ai/fast-sdxl/image-to-image", "fal-ai/fast-sdxl", "image-to-image", "fal-ai/fast-sdxl/image-to-image"},
		{"workflows/fal-ai/wf/sub/x", "workflows/fal-ai/wf", "sub/x", "workflows/fal-ai/wf/sub/x"},
		{"comfy/me/graph", "comfy/me/graph", "", "comfy/me/graph"},
		{"1234-test", "1234/test", "", "1234/test"},
		{"123-my-app", "123/my-app", "", "123/my-app"},
	}
	for _, tc := range cases {
		id, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		if id.Base() != tc.base || id.Path != tc.path || id.String() != tc.full {
			t.Errorf("Parse(%q) = base %q path %q full %q", tc.in, id.Base(), id.Path, id.String())
		}
	}
}

func TestParseRejects(t *testing.T) {
	for in, want := range map[string]string{
		"":                "empty app id",
		"fast-sdxl":       "owner/alias",
		"workflows/x":     "workflows/owner/alias",
		"a//b":            "empty path segment",
		"/a/b":            "leading or trailing slash",
		"a/b/":            "leading or trailing slash",
		"a/../b":          `".."`,
		"a/b c":           "not allowed",
		"a/b?x":           "not allowed",
		"a/b#x":           "not allowed",
		"a/%2e%2e":        "not allowed",
		"https://fal.run": "not a URL",
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error mentioning %q", in, err, want)
		}
	}
	if err := Validate("fast-sdxl"); err != nil {
		t.Errorf("Validate accepts raw ids as the run endpoint does: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"fal-ai/flux/dev", "1234-x", "workflows/a/b/c", "a//b", "", "comfy/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			return
		}
		// A parsed id round-trips and never escapes its URL segment.
		if id.Owner == "" || id.Alias == "" {
			t.Fatalf("Parse(%q) gave empty owner or alias", s)
		}
		if again, err := Parse(id.String()); err != nil || again != id {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
		for _, seg := range strings.Split(id.String(), "/") {
			if seg == ".." || seg == "." || seg == "" {
				t.Fatalf("Parse(%q) produced a bad segment", s)
			}
		}
	})
}
