package engine

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// minSecret is the shortest secret scrubbed: shorter strings (an empty id
// half, say) would match ordinary text.
const minSecret = 4

// Scrub returns b with every secret, raw or URL-escaped, replaced by
// "[redacted]". b itself is not changed.
func Scrub(b []byte, secrets []string) []byte {
	for _, s := range secrets {
		for _, form := range forms(s) {
			if bytes.Contains(b, []byte(form)) {
				b = bytes.ReplaceAll(b, []byte(form), []byte("[redacted]"))
			}
		}
	}
	return b
}

// ScrubString is Scrub for a string.
func ScrubString(s string, secrets []string) string {
	for _, sec := range secrets {
		for _, form := range forms(sec) {
			s = strings.ReplaceAll(s, form, "[redacted]")
		}
	}
	return s
}

// ScrubHeader returns h, or a copy of it with every secret scrubbed from
// the values when one occurs.
func ScrubHeader(h http.Header, secrets []string) http.Header {
	var out http.Header
	for k, vs := range h {
		for i, v := range vs {
			if sv := ScrubString(v, secrets); sv != v {
				if out == nil {
					out = h.Clone()
				}
				out[k][i] = sv
			}
		}
	}
	if out == nil {
		return h
	}
	return out
}

// forms are the spellings of a secret that are scrubbed.
func forms(s string) []string {
	if len(s) < minSecret {
		return nil
	}
	if q := url.QueryEscape(s); q != s {
		return []string{s, q}
	}
	return []string{s}
}

// sensitiveQuery reports query parameter names whose values are
// credentials (realtime JWTs, signatures of signed URLs).
func sensitiveQuery(k string) bool {
	lk := strings.ToLower(k)
	for _, w := range []string{"token", "signature", "sig", "key", "credential"} {
		if strings.Contains(lk, w) {
			return true
		}
	}
	return false
}

// RedactURL hides query values that act as credentials.
func RedactURL(raw string) string {
	if !strings.Contains(raw, "?") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return raw
	}
	q := u.Query()
	changed := false
	for k := range q {
		if sensitiveQuery(k) {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if !changed {
		return raw
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Clip shortens s to at most n bytes on a rune boundary.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Quote is server text made fit for an error message: scrubbed of the
// secrets, folded onto one line (line breaks and other control characters
// become spaces) and clipped to n bytes.
func Quote(text string, secrets []string, n int) string {
	text = ScrubString(text, secrets)
	if strings.IndexFunc(text, isControl) >= 0 {
		text = strings.Join(strings.FieldsFunc(text, func(r rune) bool { return isControl(r) || r == ' ' }), " ")
	}
	return Clip(text, n)
}

// isControl reports C0 and C1 control characters and DEL.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
