package gen

import (
	"fmt"
	"go/token"
	"strings"
	"unicode"
)

// initialisms are the words Go spells in capitals (as golint and the
// standard library do), plus the abbreviations fal's schemas use most.
var initialisms = map[string]string{
	"2d": "2D", "3d": "3D", "ai": "AI", "api": "API", "ascii": "ASCII", "cfg": "CFG", "cpu": "CPU", "css": "CSS",
	"dpi": "DPI", "eof": "EOF", "fps": "FPS", "gif": "GIF", "gpt": "GPT", "gpu": "GPU", "hd": "HD", "hdr": "HDR",
	"html": "HTML", "http": "HTTP", "https": "HTTPS", "id": "ID", "ids": "IDs", "ip": "IP", "jpeg": "JPEG",
	"jpg": "JPG", "json": "JSON", "lcm": "LCM", "llm": "LLM", "mp3": "MP3", "mp4": "MP4", "nsfw": "NSFW",
	"ocr": "OCR", "pcm": "PCM", "png": "PNG", "rgb": "RGB", "rgba": "RGBA", "sd": "SD", "sdxl": "SDXL",
	"sql": "SQL", "ssh": "SSH", "svg": "SVG", "tcp": "TCP", "tls": "TLS", "ttl": "TTL", "tts": "TTS",
	"udp": "UDP", "ui": "UI", "uid": "UID", "uri": "URI", "url": "URL", "urls": "URLs", "utf8": "UTF8",
	"uuid": "UUID", "vae": "VAE", "wav": "WAV", "webp": "WEBP", "xl": "XL", "xml": "XML",
}

// words splits a JSON or schema name into words: at every character that
// is neither a letter nor a digit, and at camel-case boundaries
// ("IPAdapter" → IP, Adapter; "FluxProV11Input" → Flux, Pro, V11, Input).
// Digits stay with the letters before them ("mp4", "v1").
func words(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if len(cur) > 0 && unicode.IsUpper(r) {
			prev := cur[len(cur)-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return out
}

// pascal joins words into an exported Go name: "image_size" → ImageSize,
// "image_url" → ImageURL, "portrait_4_3" → Portrait4_3 (an underscore
// keeps two numbers apart). It returns "" when s has no letter or digit.
func pascal(s string) string {
	var b strings.Builder
	prevDigit := false
	for _, w := range words(s) {
		rs := []rune(w)
		if prevDigit && unicode.IsDigit(rs[0]) {
			b.WriteByte('_')
		}
		if up, ok := initialisms[strings.ToLower(w)]; ok {
			b.WriteString(up)
		} else {
			b.WriteRune(unicode.ToUpper(rs[0]))
			b.WriteString(string(rs[1:]))
		}
		prevDigit = unicode.IsDigit(rs[len(rs)-1])
	}
	return b.String()
}

// exported makes name a valid exported identifier: names that start with
// a digit or a letter without case get an X in front; an empty name gets
// fallback.
func exported(name, fallback string) string {
	if name == "" {
		return fallback
	}
	r := []rune(name)[0]
	if !unicode.IsUpper(r) {
		return "X" + name
	}
	return name
}

// goName is the Go name of a JSON property.
func goName(prop string) string { return exported(pascal(prop), "Field") }

// typeName is the Go name of a component schema. fal names some
// components after their Python module ("registry__image__fast_sdxl__models__Image",
// "fal__toolkit__image__image__Image"): the last part is the name.
func typeName(component string) string {
	if i := strings.LastIndex(component, "__"); i >= 0 && i+2 < len(component) {
		component = component[i+2:]
	}
	return exported(pascal(component), "Schema")
}

// longTypeName is typeName without shortening, for a second component
// whose last part is taken.
func longTypeName(component string) string { return exported(pascal(component), "Schema") }

// constName is the name of an enum constant: the type's name and the
// value's ("OutputFormat" + "jpeg" → OutputFormatJPEG; "16:9" → 16_9).
func constName(typ string, v any) string {
	s := fmt.Sprint(v)
	if str, ok := v.(string); ok {
		s = str
		if s == "" {
			return typ + "Empty"
		}
	}
	p := pascal(s)
	if strings.HasPrefix(strings.TrimSpace(s), "-") && p != "" {
		p = "Neg" + p
	}
	if p == "" {
		return ""
	}
	return typ + p
}

// PackageName derives a Go package name from an endpoint id: its last
// segment, lower-cased with only letters and digits kept
// ("fal-ai/flux/schnell" → schnell, "fal-ai/fast-sdxl" → fastsdxl). A last
// segment that is a version ("v2", "v1.1-ultra") is joined to the one
// before it ("fal-ai/ideogram/v2" → ideogramv2), since a package called
// v2 says nothing and reads as a module's major version.
func PackageName(id string) string {
	segs := strings.Split(strings.Trim(id, "/"), "/")
	name := ""
	for i := len(segs) - 1; i >= 0; i-- {
		name = clean(segs[i]) + name
		if !isVersion(segs[i]) || i == 0 {
			break
		}
	}
	if name == "" {
		return "endpoint"
	}
	if name[0] >= '0' && name[0] <= '9' {
		name = "fal" + name
	}
	if token.IsKeyword(name) || name == "main" {
		name += "api"
	}
	return name
}

// clean keeps the ASCII letters and digits of s, lower-cased.
func clean(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isVersion reports whether an id segment is a version: v and a digit
// ("v2", "v1.1-ultra", "v5.6").
func isVersion(seg string) bool {
	return len(seg) >= 2 && (seg[0] == 'v' || seg[0] == 'V') && seg[1] >= '0' && seg[1] <= '9'
}

// ValidPackageName reports whether name can be a Go package name.
func ValidPackageName(name string) bool {
	if name == "" || name == "_" || token.IsKeyword(name) {
		return false
	}
	for i, r := range name {
		if !(unicode.IsLetter(r) || r == '_' || (i > 0 && unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// validJSONTag reports whether a property name can be the name in a json
// struct tag: encoding/json's rule, without spaces (go vet refuses them).
func validJSONTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// namer hands out the package-level identifiers of one generated file, so
// that no two declarations share a name.
type namer struct{ taken map[string]bool }

func newNamer(reserved ...string) *namer {
	n := &namer{taken: make(map[string]bool)}
	for _, r := range reserved {
		n.taken[r] = true
	}
	return n
}

// claim returns the first free candidate (the first one with a number
// after it when all are taken) and marks it taken.
func (n *namer) claim(candidates ...string) string {
	for _, c := range candidates {
		if c != "" && !n.taken[c] {
			n.taken[c] = true
			return c
		}
	}
	base := candidates[0]
	for i := 2; ; i++ {
		c := fmt.Sprintf("%s%d", base, i)
		if !n.taken[c] {
			n.taken[c] = true
			return c
		}
	}
}
