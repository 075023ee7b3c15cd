package main

import (
	"context"
	"net/http"
	"time"

	fal "github.com/falgo/fal"
	"github.com/spf13/cobra"
)

// runOptions holds the flags of `falgo run`.
type runOptions struct {
	in         inputFlags
	sync       bool
	save       string
	quiet      bool
	noValidate bool
}

// newRunCmd builds `falgo run`.
func newRunCmd(c *cli) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run APP [-i key=value]... [--input FILE]",
		Short: "Run an app and print its output",
		Long: `Run an app and print its output as JSON on stdout.

By default the request goes through fal's queue: falgo submits it, shows its
request id, queue position, elapsed time and the app's log lines on stderr,
and prints the output when it completes. --sync calls the app's direct
endpoint instead (one HTTP request, no queue, no logs).

If the wait ends early (--timeout, Ctrl-C), the request keeps running on fal
and the error line says how to fetch it: falgo result APP REQUEST_ID.

--save DIR downloads every file in the output (images, audio, video, found
anywhere in the JSON) into DIR and prints each path on stderr, so that stdout
stays pure JSON. DIR is checked before anything is submitted: it must be a
writable directory, or one that can be created. With --local, the output's
URLs point at the demo server inside falgo, which stops with the command:
use --save to keep the files.

Cost: when fal says what the request billed (X-Fal-Billable-Units), a line on
stderr says so, priced where the app's unit price is known (fal's Platform
API, cached like the schemas): "falgo: billed 1 megapixels × $0.003 =
$0.003". An app fal has no price for gets the units alone; -q leaves the
line out.

An app id fal does not know gets a "did you mean" from fal's model search.

` + inputHelp + `

` + checkHelp,
		Example: `  falgo --local run fal-ai/flux/schnell -i prompt="a lighthouse at dusk" --save out/
  falgo run fal-ai/flux/dev -i prompt="a red fox" -i image_size.width=768 -i image_size.height=512
  falgo run fal-ai/flux/dev/image-to-image -i image_url=@photo.jpg -i prompt="as a watercolor"
  echo '{"prompt": "hello"}' | falgo run fal-ai/any-llm --input - --json | jq -r .output`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeApp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runApp(cmd.Context(), args[0], o)
		},
	}
	addInputFlags(cmd, &o.in)
	f := cmd.Flags()
	f.BoolVar(&o.sync, "sync", false, "call the app's direct endpoint instead of the queue")
	f.StringVar(&o.save, "save", "", "download the output's files into `DIR`")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress, logs or cost on stderr")
	addNoValidate(cmd, &o.noValidate)
	return cmd
}

// runApp is `falgo run`.
func (c *cli) runApp(ctx context.Context, app string, o runOptions) error {
	if err := checkApp(app); err != nil {
		return err
	}
	if err := checkSaveDir(o.save); err != nil {
		return err
	}
	k, err := c.startCall(ctx, app, o.in, o.noValidate)
	if err != nil {
		return err
	}
	defer k.done()
	in, cl, wctx, s := k.in, k.cl, k.ctx, k.s

	var res *fal.Result
	state := "running"
	if !o.sync {
		state = "submitting"
	}
	if hasFiles(in) {
		state = "uploading input files"
	}
	p := newProgress(c.con, app, state, o.quiet)
	if err := c.uploadInputs(k); err != nil {
		p.finish(err)
		return err
	}
	if o.sync {
		p.setState("running")
		res, err = cl.Run(wctx, app, in)
		p.finish(err)
		if err != nil {
			s.reportFailedBilling(ctx, app, err)
			return c.syncError(wctx, s.unknownApp(wctx, app, err))
		}
	} else {
		p.setState("submitting")
		h, err := submitSafely(wctx, cl, app, in)
		if err != nil {
			p.finish(err)
			return c.waitError(wctx, app, "", s.unknownApp(wctx, app, err))
		}
		p.submitted(h.RequestID)
		res, err = c.follow(wctx, h, p)
		p.finish(err)
		if err != nil {
			s.reportFailedBilling(ctx, app, err)
			return c.waitError(wctx, app, h.RequestID, err)
		}
	}
	return c.printResult(ctx, cl, s, app, res, o.save, o.quiet)
}

// submitGrace bounds a submit that was under way when the command was
// interrupted: it may finish, so that its request id is known.
const submitGrace = 30 * time.Second

// submitSafely submits a request and lets the submit finish even if ctx
// ends meanwhile (Ctrl-C, --timeout), for at most submitGrace: a submit cut
// short could be queued by fal without falgo learning its request id, and
// then nobody could fetch or cancel it.
func submitSafely(ctx context.Context, cl *fal.Client, app string, in any, opts ...fal.RequestOption) (*fal.RequestHandle, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), submitGrace)
	defer cancel()
	return cl.Submit(sctx, app, in, opts...)
}

// uploadInputs uploads the files of k's input (key=@path values), saying
// on failure that nothing was submitted.
func (c *cli) uploadInputs(k *call) error {
	if err := uploadInputs(k.ctx, k.cl, k.in); err != nil {
		return c.uploadError(k.ctx, err)
	}
	return nil
}

// uploadError explains a failed upload of the input's files.
func (c *cli) uploadError(ctx context.Context, err error) error {
	switch {
	case timedOut(ctx):
		return codedErrorf(exitTimeout, "gave up uploading the input files after %v (--timeout); nothing was submitted", c.g.timeout)
	case ctx.Err() != nil:
		return codedErrorf(exitInterrupted, "interrupted while uploading the input files; nothing was submitted")
	}
	return err
}

// follow waits for a queued request to complete, reporting each status
// change and log line to p, and returns its output.
func (c *cli) follow(ctx context.Context, h *fal.RequestHandle, p *progress) (*fal.Result, error) {
	for st, err := range h.Events(ctx, fal.WithLogs(true)) {
		if err != nil {
			return nil, err
		}
		p.update(st)
	}
	return h.Result(ctx)
}

// printResult prints a result's JSON on stdout, what it billed on
// stderr and, with --save, downloads its files.
func (c *cli) printResult(ctx context.Context, cl *fal.Client, s *platformSession, app string, res *fal.Result, save string, quiet bool) error {
	if err := c.con.writeJSON(res.Data, c.g.json); err != nil {
		return err
	}
	if !quiet {
		s.reportBilled(ctx, app, res.BillableUnits)
	}
	if save == "" {
		c.localURLNote(res.Data, quiet)
		return nil
	}
	_, err := c.saveOutputs(ctx, cl, save, app, res.RequestID, res.Data)
	return err
}

// localURLNote tells, after a --local output with files and no --save,
// that the files' URLs die with the command's own server.
func (c *cli) localURLNote(data []byte, quiet bool) {
	if !c.g.local || quiet || len(fal.FindFiles(data)) == 0 {
		return
	}
	c.con.errorf("falgo: --local: these file URLs work only while this command runs (its demo server stops with it); add --save DIR to keep the files")
}

// syncError explains a --sync run that ended with err.
func (c *cli) syncError(ctx context.Context, err error) error {
	switch {
	case timedOut(ctx):
		return codedErrorf(exitTimeout, "gave up after %v (--timeout) and abandoned the synchronous run; without --sync, requests go through the queue and can be fetched later", c.g.timeout)
	case ctx.Err() != nil:
		return codedErrorf(exitInterrupted, "interrupted; the synchronous run was abandoned")
	}
	return err
}

// requestNotFound reports fal's answer that it knows no such request: a
// wrong id or app, or a result that has expired.
func requestNotFound(err error) bool {
	return httpStatus(err) == http.StatusNotFound
}

// notFound rewrites a 404 for request id of app into advice.
func (c *cli) notFound(err error, app, id string) error {
	if !requestNotFound(err) {
		return err
	}
	msg := "fal knows no request " + id + " for " + app + " (a wrong id or app, or the result has expired)"
	if c.g.local {
		msg += "; with --local every falgo command has its own server, so requests do not outlive a command: run `falgo local` and point falgo at it instead"
	}
	return codedErrorf(exitError, "%s", msg)
}

// completeApp completes an APP argument with the demo app ids.
func completeApp(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return demoApps, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}
