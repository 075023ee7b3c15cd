package main

import (
	"context"
	"time"

	"github.com/falgo/fal/platform"

	"github.com/spf13/cobra"
)

// resultOptions holds the flags of `falgo result`.
type resultOptions struct {
	save  string
	quiet bool
}

// newResultCmd builds `falgo result`.
func newResultCmd(c *cli) *cobra.Command {
	var o resultOptions
	cmd := &cobra.Command{
		Use:   "result APP REQUEST_ID",
		Short: "Wait for a queued request and print its output",
		Long: `Wait for a queued request to complete and print its output as JSON, like
falgo run does: progress and log lines on stderr, the output on stdout. Use it
to reattach to a request after "falgo submit", a --timeout, or Ctrl-C.
--save DIR downloads the output's files, as with falgo run. What the request
billed is reported on stderr, as with falgo run.`,
		Example:           `  falgo result fal-ai/flux/dev 764cabcf-b745-4b3e-ae38-1200304cf45b --save out/`,
		Args:              usageArgs(cobra.ExactArgs(2)),
		ValidArgsFunction: completeApp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.result(cmd.Context(), args[0], args[1], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.save, "save", "", "download the output's files into `DIR`")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress, logs or cost on stderr")
	return cmd
}

// result is `falgo result`.
func (c *cli) result(ctx context.Context, app, id string, o resultOptions) error {
	if err := checkSaveDir(o.save); err != nil {
		return err
	}
	h, cl, s, release, err := c.handle(app, id)
	if err != nil {
		return err
	}
	defer release()
	wctx, stop := c.waitContext(ctx)
	defer stop()
	p := newProgress(c.con, app, "waiting", o.quiet)
	p.reattach(time.Time{}, time.Time{})
	// fal's request history knows when the request was sent (and ended):
	// asked beside the wait, it only improves the elapsed time shown.
	lookup := make(chan struct{})
	go func() {
		defer close(lookup)
		p.reattach(s.requestTimes(wctx, app, id))
	}()
	res, err := c.follow(wctx, h, p)
	<-lookup
	p.finish(err)
	if err != nil {
		s.reportFailedBilling(ctx, app, err)
		return c.waitError(wctx, app, id, c.notFound(err, app, id))
	}
	return c.printResult(ctx, cl, s, app, res, o.save, o.quiet)
}

// requestTimesTimeout bounds the history lookup of `falgo result`.
const requestTimesTimeout = 3 * time.Second

// requestTimes asks fal's request history when request id of app was sent
// and when it ended; zero times when the history cannot tell (not listed
// yet, no access, the Platform API unreachable).
func (s *platformSession) requestTimes(ctx context.Context, app, id string) (sent, ended time.Time) {
	lctx, cancel := context.WithTimeout(ctx, requestTimesTimeout)
	defer cancel()
	for rec, err := range s.quick.Requests(lctx, platform.RequestsParams{EndpointID: app, RequestID: id, Limit: 1}) {
		if err != nil {
			s.debugf("falgo: the request history does not say when %s started: %v", id, err)
			return time.Time{}, time.Time{}
		}
		if rec.RequestID == id {
			return rec.SentAt, rec.EndedAt
		}
	}
	return time.Time{}, time.Time{}
}
