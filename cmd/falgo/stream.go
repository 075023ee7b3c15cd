package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// newStreamCmd builds `falgo stream`.
func newStreamCmd(c *cli) *cobra.Command {
	var in inputFlags
	var noValidate bool
	cmd := &cobra.Command{
		Use:   "stream APP [-i key=value]... [--input FILE]",
		Short: "Call an app's streaming endpoint and print its events",
		Long: `Call an app's streaming endpoint (POST .../stream) and print each event's
data on stdout as it arrives, one line of JSON per event. Nothing else is
written to stdout, so the output can be piped to jq or read line by line.

On a terminal (and without --json), events with a text "output" field, as
fal's LLM apps send, are shown as the text being written: each event prints
only what it adds to the text, and the text ends with a newline.

` + inputHelp + `

` + checkHelp,
		Example: `  falgo --local stream fal-ai/any-llm -i prompt="why is the sky blue?"
  falgo stream fal-ai/any-llm -i prompt="hi" | jq -r --unbuffered .output`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeApp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.stream(cmd.Context(), args[0], in, noValidate)
		},
	}
	addInputFlags(cmd, &in)
	addNoValidate(cmd, &noValidate)
	return cmd
}

// stream is `falgo stream`.
func (c *cli) stream(ctx context.Context, app string, f inputFlags, noValidate bool) error {
	if err := checkApp(app); err != nil {
		return err
	}
	k, err := c.startCall(ctx, app, f, noValidate)
	if err != nil {
		return err
	}
	defer k.done()
	in, cl, wctx := k.in, k.cl, k.ctx
	if err := c.uploadInputs(k); err != nil {
		return err
	}
	// On a terminal the text is shown as it is written; a pipe and --json
	// get one JSON line per event.
	var text *streamText
	if c.con.stdoutTTY && !c.g.json {
		text = &streamText{con: c.con}
		defer text.end()
	}
	for ev, err := range cl.Stream(wctx, app, in) {
		if err != nil {
			return c.streamError(wctx, k.s.unknownApp(wctx, app, err))
		}
		if text != nil {
			err = text.event(ev.Data)
		} else {
			err = c.con.writeJSONLine(ev.Data)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// streamText prints a stream on a terminal as text being written: each
// event whose "output" is a string that extends the one before prints
// only what it adds. An event without a string "output" is printed as a
// JSON line, and an output that rewrites the text so far starts a new
// line with the whole text.
type streamText struct {
	con   *console
	shown string // the output printed so far
	open  bool   // the last thing printed is text without a final newline
}

// event prints one event's data.
func (t *streamText) event(data []byte) error {
	var ev struct {
		Output *string `json:"output"`
	}
	if json.Unmarshal(data, &ev) != nil || ev.Output == nil {
		t.end()
		return t.con.writeJSONLine(json.RawMessage(data))
	}
	delta, ok := strings.CutPrefix(*ev.Output, t.shown)
	if !ok {
		t.end()
		delta = *ev.Output
	}
	t.shown = *ev.Output
	if delta == "" {
		return nil
	}
	if _, err := io.WriteString(t.con.stdout, escapeControls(delta, block)); err != nil {
		return fmt.Errorf("writing to stdout: %w", err)
	}
	t.open = !strings.HasSuffix(delta, "\n")
	return nil
}

// end finishes the text with a newline, if it needs one.
func (t *streamText) end() {
	if t.open {
		io.WriteString(t.con.stdout, "\n")
		t.open = false
	}
}

// streamError explains a stream that ended with err.
func (c *cli) streamError(ctx context.Context, err error) error {
	switch {
	case timedOut(ctx):
		return codedErrorf(exitTimeout, "gave up after %v (--timeout); the stream was closed", c.g.timeout)
	case ctx.Err() != nil:
		return codedErrorf(exitInterrupted, "interrupted; the stream was closed")
	}
	return err
}
