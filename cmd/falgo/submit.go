package main

import (
	"context"
	"net/url"

	fal "github.com/falgo/fal"
	"github.com/spf13/cobra"
)

// submitOptions holds the flags of `falgo submit`.
type submitOptions struct {
	in         inputFlags
	webhook    string
	priority   string
	noValidate bool
}

// newSubmitCmd builds `falgo submit`.
func newSubmitCmd(c *cli) *cobra.Command {
	var o submitOptions
	cmd := &cobra.Command{
		Use:   "submit APP [-i key=value]... [--input FILE]",
		Short: "Queue a request and print its request id",
		Long: `Queue a request for an app and print its request id on stdout, without
waiting for it. Follow it with "falgo status APP ID --watch", fetch its output
with "falgo result APP ID", stop it with "falgo cancel APP ID". With --json,
stdout gets {"request_id", "app"}.

` + inputHelp + `

` + checkHelp,
		Example: `  id=$(falgo submit fal-ai/flux/dev -i prompt="a red fox")
  falgo status fal-ai/flux/dev "$id" --watch --logs
  falgo result fal-ai/flux/dev "$id" --save out/`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeApp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.submitApp(cmd.Context(), args[0], o)
		},
	}
	addInputFlags(cmd, &o.in)
	f := cmd.Flags()
	f.StringVar(&o.webhook, "webhook", "", "ask fal to POST the outcome to `URL` when the request ends")
	f.StringVar(&o.priority, "priority", "", "queue priority: normal or low")
	addNoValidate(cmd, &o.noValidate)
	return cmd
}

// submitApp is `falgo submit`.
func (c *cli) submitApp(ctx context.Context, app string, o submitOptions) error {
	if err := checkApp(app); err != nil {
		return err
	}
	var opts []fal.RequestOption
	if o.webhook != "" {
		u, err := url.Parse(o.webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("--webhook %q is not an absolute http(s) URL", o.webhook)
		}
		opts = append(opts, fal.WithWebhook(o.webhook))
	}
	switch o.priority {
	case "":
	case string(fal.PriorityNormal), string(fal.PriorityLow):
		opts = append(opts, fal.WithPriority(fal.Priority(o.priority)))
	default:
		return usageErrorf("--priority %q: use normal or low", o.priority)
	}
	k, err := c.startCall(ctx, app, o.in, o.noValidate)
	if err != nil {
		return err
	}
	defer k.done()
	in, cl, wctx := k.in, k.cl, k.ctx
	if err := c.uploadInputs(k); err != nil {
		return err
	}
	h, err := submitSafely(wctx, cl, app, in, opts...)
	if err != nil {
		return c.waitError(wctx, app, "", k.s.unknownApp(wctx, app, err))
	}
	if wctx.Err() != nil {
		return c.waitError(wctx, app, h.RequestID, wctx.Err())
	}
	if c.g.json {
		b, err := marshalJSON(map[string]string{"request_id": h.RequestID, "app": app})
		if err != nil {
			return err
		}
		if err := c.con.writeJSON(b, true); err != nil {
			return err
		}
	} else if err := c.con.printOut(h.RequestID); err != nil {
		return err
	}
	if c.g.local {
		c.con.errorf("falgo: note: the --local server stops with this command, and the request with it; for submit, status and result across commands, run `falgo local` and point falgo at it")
		return nil
	}
	c.con.errorf("falgo: queued; follow it with `falgo status %s %s --watch`, get its output with `falgo result %s %s`", app, h.RequestID, app, h.RequestID)
	return nil
}
