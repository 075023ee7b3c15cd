package gen

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/falgo/fal/internal/openapi"
)

// maxDocChars bounds one piece of schema text in a comment.
const maxDocChars = 2000

// docText cleans schema text for a Go comment: line breaks kept, other
// control and invisible formatting characters turned into spaces (a
// document is not trusted to be plain text), runs of blank lines
// collapsed, and the whole trimmed and bounded.
func docText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteRune(r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	lines := strings.Split(b.String(), "\n")
	var out []string
	blank := false
	for _, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
			blank = len(out) > 0
			continue
		case blank:
			// A one-line paragraph without a full stop reads to gofmt
			// as a heading.
			if last := out[len(out)-1]; !listItem(last) {
				out[len(out)-1] = sentence(last)
			}
			out = append(out, "", l)
			blank = false
		case len(out) > 0 && out[len(out)-1] != "" && !listItem(l):
			// A line break inside a paragraph is a space.
			out[len(out)-1] += " " + l
		default:
			out = append(out, l)
		}
	}
	t := strings.Join(out, "\n")
	if len(t) > maxDocChars {
		cut := maxDocChars
		for cut > 0 && !utf8.RuneStart(t[cut]) {
			cut--
		}
		t = strings.TrimSpace(t[:cut]) + " …"
	}
	return t
}

// sentence ends s with a full stop when it ends in a letter or digit, so
// that gofmt does not take a one-line paragraph for a heading.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		return s + "."
	}
	return s
}

// sameWords reports whether a title only repeats the property name
// ("Num Images" for num_images).
func sameWords(title, name string) bool {
	return strings.EqualFold(strings.Join(words(title), ""), strings.Join(words(name), ""))
}

// listItem reports whether a line starts a list item ("- x", "* x", "1. x"),
// which keeps its own line.
func listItem(l string) bool {
	if strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "• ") {
		return true
	}
	i := 0
	for i < len(l) && l[i] >= '0' && l[i] <= '9' {
		i++
	}
	return i > 0 && i+1 < len(l) && (l[i] == '.' || l[i] == ')') && l[i+1] == ' '
}

// maxValueChars bounds a default or example shown in a comment.
const maxValueChars = 120

// fieldDoc is the documentation of a struct field: the description (or
// title), then one line of facts: required, default, range, example.
func fieldDoc(p *openapi.Property, t goType, input bool) []string {
	s := p.Schema
	desc := docText(s.Description)
	if t := docText(s.Title); desc == "" && !sameWords(t, p.Name) {
		desc = t
	}
	desc = sentence(desc)
	var facts []string
	if input && p.Required {
		facts = append(facts, "Required.")
	}
	if s.HasDefault {
		if v := docText(openapi.FormatValue(s.Default)); len(v) <= maxValueChars && !strings.Contains(v, "\n") {
			facts = append(facts, fact("Default", v))
		}
	}
	if r := openapi.RangeString(s); r != "" {
		facts = append(facts, "Range: "+r+".")
	}
	if len(s.Examples) > 0 {
		if v := docText(openapi.FormatValue(s.Examples[0])); len(v) <= maxValueChars && !strings.Contains(v, "\n") && !strings.Contains(desc, v) {
			facts = append(facts, fact("Example", v))
		}
	}
	if t.raw != "" {
		facts = append(facts, "Any JSON value, sent and received as is: the schema was not understood ("+docText(t.raw)+").")
	}
	var doc []string
	if desc != "" {
		doc = append(doc, desc)
	}
	if len(facts) > 0 {
		doc = append(doc, strings.Join(facts, " "))
	}
	return doc
}

// fact is "Label: value." (without a second full stop after a value that
// ends in one).
func fact(label, v string) string {
	if strings.HasSuffix(v, `."`) {
		return label + ": " + v
	}
	return label + ": " + v + "."
}

// writeComment writes paragraphs as a // comment at indent, wrapped at
// about 80 columns. Lines of the source text stay lines.
func writeComment(b *bytes.Buffer, indent string, paras []string) {
	width := 77 - 4*len(indent)
	first := true
	for _, p := range paras {
		if p == "" {
			continue
		}
		if !first {
			b.WriteString(indent + "//\n")
		}
		first = false
		for _, line := range strings.Split(p, "\n") {
			if line == "" {
				b.WriteString(indent + "//\n")
				continue
			}
			for _, l := range wrap(line, width) {
				b.WriteString(indent + "// " + l + "\n")
			}
		}
	}
}

// wrap breaks s at spaces into lines of at most width characters (longer
// words stay whole).
func wrap(s string, width int) []string {
	var out []string
	var cur strings.Builder
	n := 0
	for _, w := range strings.Fields(s) {
		wl := utf8.RuneCountInString(w)
		if n > 0 && n+1+wl > width {
			out = append(out, cur.String())
			cur.Reset()
			n = 0
		}
		if n > 0 {
			cur.WriteByte(' ')
			n++
		}
		cur.WriteString(w)
		n += wl
	}
	if n > 0 {
		out = append(out, cur.String())
	}
	return out
}
