package main

import (
	"context"
	"errors"

	fal "github.com/falgo/fal"
	"github.com/spf13/cobra"
)

// newCancelCmd builds `falgo cancel`.
func newCancelCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel APP REQUEST_ID",
		Short: "Cancel a queued or running request",
		Long: `Ask fal to cancel a request. A request still in the queue is removed and never
runs; a running one is told to stop (the app decides how fast). Cancelling a
request that already completed fails with exit code 1.`,
		Example:           `  falgo cancel fal-ai/flux/dev 764cabcf-b745-4b3e-ae38-1200304cf45b`,
		Args:              usageArgs(cobra.ExactArgs(2)),
		ValidArgsFunction: completeApp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.cancel(cmd.Context(), args[0], args[1])
		},
	}
}

// cancel is `falgo cancel`.
func (c *cli) cancel(ctx context.Context, app, id string) error {
	h, _, _, release, err := c.handle(app, id)
	if err != nil {
		return err
	}
	defer release()
	wctx, stop := c.waitContext(ctx)
	defer stop()
	err = h.Cancel(wctx)
	switch {
	case errors.Is(err, fal.ErrAlreadyCompleted):
		return codedErrorf(exitError, "request %s already completed, so there is nothing to cancel; `falgo result %s %s` prints its output", id, app, id)
	case err != nil:
		if wctx.Err() != nil {
			return c.waitError(wctx, app, id, err)
		}
		return c.notFound(err, app, id)
	}
	c.con.errorf("falgo: cancellation of request %s requested", id)
	return nil
}
