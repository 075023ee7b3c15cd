package main

import (
	"context"

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
	if err := uploadInputs(wctx, cl, in); err != nil {
		return c.uploadError(wctx, err)
	}
	for ev, err := range cl.Stream(wctx, app, in) {
		if err != nil {
			return c.streamError(wctx, k.s.unknownApp(wctx, app, err))
		}
		if err := c.con.writeJSONLine(ev.Data); err != nil {
			return err
		}
	}
	return nil
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
