package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Nothing a server or an app sends reaches the terminal as a control
// character: error messages, log lines, request ids, file names, URLs and
// JSON all pass through escapeControls on their way out. The console's
// printing methods do it for their arguments (errorf, sprintf, paint,
// printOut, Write), and the JSON writers for what they print and store, so
// a command only builds messages and never escapes by hand. falgo's own
// colour codes are added after the escaping (see painted), so they keep
// working on a terminal.

// textForm says which whitespace controls a piece of text may keep.
type textForm int

const (
	// inline text is printed inside one line: messages, log lines, names,
	// ids, URLs. It keeps no control character at all: a tab is shown as
	// \t, a newline as \n, a carriage return as \r.
	inline textForm = iota
	// block text is multi-line by nature (a report, an answer printed as it
	// came): it keeps newlines and tabs.
	block
	// jsonText is valid JSON about to be printed or stored: such characters
	// can only be inside its strings, and are escaped the JSON way
	// (\u001b, \u009b), so the JSON keeps its meaning; invalid UTF-8
	// becomes \ufffd, as encoding/json decodes it. Newlines (indentation)
	// are kept.
	jsonText
)

// escapeControls returns s with every C0 control character (U+0000 to
// U+001F), DEL (U+007F), C1 control character (U+0080 to U+009F) and byte
// of invalid UTF-8 replaced by a visible escape, except the whitespace form
// keeps: ESC becomes \x1b, BEL \x07, CSI \u009b, a stray byte \xff (in
// jsonText: \u001b, \u0007, \u009b, \ufffd). Everything else, backslashes
// included, is left as it is; text with nothing to escape is returned
// without copying.
//
// This is the one place where falgo decides what is safe to print.
func escapeControls(s string, form textForm) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			if keeps(form, c) {
				i++
				continue
			}
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r >= 0x80 && r <= 0x9f {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
			i++
		case c < utf8.RuneSelf:
			switch {
			case keeps(form, c):
				b.WriteByte(c)
			case form == jsonText:
				fmt.Fprintf(&b, `\u%04x`, c)
			case c == '\t':
				b.WriteString(`\t`)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			default:
				fmt.Fprintf(&b, `\x%02x`, c)
			}
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1 && form == jsonText:
				b.WriteString(`\ufffd`)
			case r == utf8.RuneError && size == 1:
				fmt.Fprintf(&b, `\x%02x`, c)
			case r >= 0x80 && r <= 0x9f:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteString(s[i : i+size])
			}
			i += size
		}
	}
	return b.String()
}

// keeps reports whether form keeps the ASCII control character c.
func keeps(form textForm, c byte) bool {
	switch form {
	case block:
		return c == '\n' || c == '\t'
	case jsonText:
		return c == '\n'
	}
	return false
}

// escapeJSON is escapeControls for encoded JSON.
func escapeJSON(b []byte) []byte {
	s := string(b)
	if e := escapeControls(s, jsonText); e != s {
		return []byte(e)
	}
	return b
}

// painted is text that is safe for the terminal: escaped, then perhaps
// wrapped in falgo's own colour codes. Only paint and sprintf make it; the
// console prints it as it is.
type painted string

// safeArg formats one argument of errorf or sprintf, escaped: whatever the
// verb, the value's text has no control character left.
type safeArg struct{ v any }

func (a safeArg) Format(f fmt.State, verb rune) {
	io.WriteString(f, escapeControls(fmt.Sprintf(fmt.FormatString(f, verb), a.v), inline))
}

// safeArgs wraps every argument but the painted ones in safeArg.
func safeArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if p, ok := a.(painted); ok {
			out[i] = string(p)
		} else {
			out[i] = safeArg{a}
		}
	}
	return out
}

// sprintf formats a line for the terminal from falgo's own format and
// arguments that may hold anything: each argument is escaped (painted ones
// are already safe), the format is trusted.
func sprintf(format string, args ...any) painted {
	return painted(fmt.Sprintf(format, safeArgs(args)...))
}
