package engine

import (
	"net/url"
	"testing"
)

func TestOwnsURL(t *testing.T) {
	must := func(s string) *url.URL {
		u, err := ParseHost("test", s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	h := Hosts{Run: must("https://fal.run"), Queue: must("http://127.0.0.1:8080/queue"), Rest: must("rest.fal.ai"), CDN: must("v3.fal.media")}
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
		if got := h.OwnsURL(raw); got != want {
			t.Errorf("OwnsURL(%q) = %v, want %v", raw, got, want)
		}
		if u, err := url.Parse(raw); err == nil && u.Host != "" && h.Owns(u) != want {
			t.Errorf("Owns(%q) disagrees with OwnsURL", raw)
		}
	}
}
