package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/term"
)

// console holds the process's standard streams and what is known about
// them. Results go to stdout; progress, logs and errors to stderr.
//
// On a terminal stderr carries one redrawable status line (see setStatus);
// every other stderr write goes through Write, which takes the status line
// away first and draws it again after, so lines never mix. When stderr is
// not a terminal there is no status line: no carriage returns, no ANSI
// codes, only whole lines.
type console struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer // the raw stream; write through the console instead

	stdoutTTY bool // stdout is a terminal: pretty JSON
	stderrTTY bool // stderr is a terminal: animated progress
	color     bool // ANSI colours on stderr (a terminal, and not disabled)
	width     int  // stderr terminal width in columns, 0 if unknown

	mu     sync.Mutex
	status string // the status line on screen, "" for none
	shown  int    // its width in columns
}

// newConsole describes the process's streams: a stream counts as a
// terminal when it is an *os.File on a terminal and TERM is not "dumb".
func newConsole(stdin io.Reader, stdout, stderr io.Writer) *console {
	c := &console{stdin: stdin, stdout: stdout, stderr: stderr}
	dumb := os.Getenv("TERM") == "dumb"
	if _, ok := terminalFD(stdout); ok && !dumb {
		c.stdoutTTY = true
	}
	if fd, ok := terminalFD(stderr); ok && !dumb {
		c.stderrTTY = true
		c.color = true
		if w, _, err := term.GetSize(fd); err == nil {
			c.width = w
		}
	}
	return c
}

// terminalFD returns w's file descriptor if w is a terminal.
func terminalFD(w any) (int, bool) {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// disableColor turns colours off (--no-color, or NO_COLOR in the
// environment, see https://no-color.org).
func (c *console) disableColor() { c.color = false }

// Write writes whole lines to stderr, above the status line if one is
// shown, with their control characters escaped (newlines and tabs are
// kept). It implements io.Writer so that loggers and cobra can use it.
func (c *console) Write(p []byte) (int, error) {
	if _, err := c.writeLine(painted(escapeControls(string(p), block))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeLine writes s to stderr, above the status line if one is shown.
func (c *console) writeLine(s painted) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.eraseLocked()
	n, err := io.WriteString(c.stderr, string(s))
	c.drawLocked()
	return n, err
}

// errorf prints one line on stderr: format is falgo's own, and each
// argument is escaped (see sprintf), so server text in it is harmless.
func (c *console) errorf(format string, args ...any) {
	c.writeLine(sprintf(format, args...) + "\n")
}

// setStatus shows s as the status line, replacing the previous one. It
// does nothing unless stderr is a terminal.
func (c *console) setStatus(s painted) {
	if !c.stderrTTY {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.eraseLocked()
	c.status = c.fit(string(s))
	c.drawLocked()
}

// printOut prints one line of text on stdout (a request id, a URL), with
// its control characters escaped.
func (c *console) printOut(s string) error {
	if _, err := io.WriteString(c.stdout, escapeControls(s, inline)+"\n"); err != nil {
		return fmt.Errorf("writing to stdout: %w", err)
	}
	return nil
}

// clearStatus removes the status line.
func (c *console) clearStatus() {
	if !c.stderrTTY {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.eraseLocked()
	c.status = ""
}

// eraseLocked blanks the status line and returns the cursor to the start
// of the line. Spaces rather than an ANSI erase, so that --no-color output
// holds no escape codes at all.
func (c *console) eraseLocked() {
	if c.shown == 0 {
		return
	}
	io.WriteString(c.stderr, "\r"+strings.Repeat(" ", c.shown)+"\r")
	c.shown = 0
}

// drawLocked writes the status line, leaving the cursor at its end.
func (c *console) drawLocked() {
	if c.status == "" {
		return
	}
	io.WriteString(c.stderr, c.status)
	c.shown = visibleWidth(c.status)
}

// fit shortens s so that it stays on one line of the terminal; a status
// line that wrapped could not be redrawn in place.
func (c *console) fit(s string) string {
	w := c.width
	if w <= 0 {
		w = 80
	}
	max := w - 1
	if visibleWidth(s) <= max {
		return s
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		if s[i] == '\x1b' { // keep colour codes whole, they take no room
			j := strings.IndexByte(s[i:], 'm')
			if j < 0 {
				break
			}
			b.WriteString(s[i : i+j+1])
			i += j + 1
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if n+1 >= max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
		i += size
	}
	if c.color {
		b.WriteString(ansiReset)
	}
	return b.String()
}

// visibleWidth counts the runes of s outside ANSI colour codes.
func visibleWidth(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == '\x1b' {
			j := strings.IndexByte(s[i:], 'm')
			if j < 0 {
				return n
			}
			i += j + 1
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		n++
		i += size
	}
	return n
}

// ANSI colour codes, used only when console.color is true.
const (
	ansiReset  = "\x1b[0m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// paint escapes s and wraps it in a colour code when colours are on.
func (c *console) paint(code, s string) painted {
	s = escapeControls(s, inline)
	if !c.color {
		return painted(s)
	}
	return painted(code + s + ansiReset)
}

// writeJSON prints one JSON value on stdout: indented when stdout is a
// terminal and compact output was not asked for, else on one line.
func (c *console) writeJSON(data []byte, compact bool) error {
	var buf bytes.Buffer
	var err error
	if c.stdoutTTY && !compact {
		err = json.Indent(&buf, data, "", "  ")
	} else {
		err = json.Compact(&buf, data)
	}
	var out []byte
	if err == nil {
		out = escapeJSON(buf.Bytes())
	} else {
		// Not JSON after all (an app answering text): print it as it
		// came, escaped.
		out = []byte(escapeControls(string(bytes.TrimSpace(data)), block))
	}
	out = append(out, '\n')
	if _, err := c.stdout.Write(out); err != nil {
		return fmt.Errorf("writing to stdout: %w", err)
	}
	return nil
}

// writeJSONLine prints v as one line of compact JSON on stdout, for
// commands that print a sequence of values (stream, status --watch).
func (c *console) writeJSONLine(v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if raw, ok := v.(json.RawMessage); ok {
		if err := json.Compact(&buf, raw); err != nil {
			return fmt.Errorf("the server sent invalid JSON: %w", err)
		}
		buf.WriteByte('\n')
	} else if err := enc.Encode(v); err != nil {
		return err
	}
	if _, err := c.stdout.Write(escapeJSON(buf.Bytes())); err != nil {
		return fmt.Errorf("writing to stdout: %w", err)
	}
	return nil
}

// marshalJSON encodes v without HTML escaping, and without a raw control
// character (encoding/json leaves DEL and U+0080 to U+009F as they are).
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return escapeJSON(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}
