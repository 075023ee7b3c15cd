package main

import (
	"strings"
	"testing"
	"time"
)

func TestFormatElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		40 * time.Millisecond:     "0.04s",
		2500 * time.Millisecond:   "2.5s",
		12 * time.Second:          "12s",
		185 * time.Second:         "3m05s",
		time.Hour + 2*time.Minute: "1h02m",
	} {
		if got := formatElapsed(d); got != want {
			t.Errorf("formatElapsed(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestStatusLineFitsTheTerminal(t *testing.T) {
	var buf syncBuffer
	c := &console{stderr: &buf, stderrTTY: true, color: true, width: 20}
	c.setStatus(c.paint(ansiCyan, "⠋") + painted(" "+strings.Repeat("x", 50)))
	if got := visibleWidth(c.status); got > 19 {
		t.Errorf("status line is %d columns on a 20-column terminal: %q", got, c.status)
	}
	c.errorf("a log line")
	c.clearStatus()
	out := buf.String()
	if !strings.Contains(out, "a log line\n") || !strings.HasSuffix(out, "\r") {
		t.Errorf("output %q: want the log line printed and the status erased at the end", out)
	}
	// Without a terminal, status lines are never drawn.
	var plain syncBuffer
	p := &console{stderr: &plain}
	p.setStatus(painted("spinning"))
	p.errorf("line")
	if plain.String() != "line\n" {
		t.Errorf("not a terminal: %q", plain.String())
	}
}
