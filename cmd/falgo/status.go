package main

import (
	"context"
	"time"

	fal "github.com/falgo/fal"
	"github.com/spf13/cobra"
)

// statusOptions holds the flags of `falgo status`.
type statusOptions struct {
	logs  bool
	watch bool
}

// newStatusCmd builds `falgo status`.
func newStatusCmd(c *cli) *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status APP REQUEST_ID",
		Short: "Show the status of a queued request",
		Long: `Show the status of a queued request as JSON: {"status": "IN_QUEUE" |
"IN_PROGRESS" | "COMPLETED", "request_id", "queue_position" (in the queue),
"logs" (with --logs), "metrics", "error" and "error_type" (when it failed)}.

--watch follows the request until it completes, printing each change as one
line of JSON (with --logs, each line carries only the new log lines), and
exits with 1 if the request failed. On a terminal, stderr shows its state
and elapsed time (counted from the request's own start when fal's request
history or its logs tell it) while it runs, and how it ended.`,
		Example: `  falgo status fal-ai/flux/dev 764cabcf-b745-4b3e-ae38-1200304cf45b
  falgo status fal-ai/flux/dev 764cabcf-b745-4b3e-ae38-1200304cf45b --watch --logs`,
		Args:              usageArgs(cobra.ExactArgs(2)),
		ValidArgsFunction: completeApp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.status(cmd.Context(), args[0], args[1], o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.logs, "logs", false, "include the app's log lines")
	f.BoolVarP(&o.watch, "watch", "w", false, "follow the request until it completes, one JSON line per change")
	return cmd
}

// statusView is the JSON falgo prints for a status, in fal's field names.
type statusView struct {
	Status        string      `json:"status"`
	RequestID     string      `json:"request_id"`
	QueuePosition *int        `json:"queue_position,omitempty"`
	Logs          []logView   `json:"logs,omitempty"`
	Metrics       fal.Metrics `json:"metrics,omitempty"`
	Error         string      `json:"error,omitempty"`
	ErrorType     string      `json:"error_type,omitempty"`
}

// logView is one log line in a statusView.
type logView struct {
	Message   string `json:"message"`
	Level     string `json:"level,omitempty"`
	Source    string `json:"source,omitempty"`
	Timestamp string `json:"timestamp,omitempty"`
}

// viewStatus turns a status into its JSON form.
func viewStatus(id string, st fal.Status) statusView {
	v := statusView{Status: st.State(), RequestID: id}
	var logs []fal.Log
	switch s := st.(type) {
	case fal.Queued:
		pos := s.Position
		v.QueuePosition = &pos
	case fal.InProgress:
		logs = s.Logs
	case fal.Completed:
		logs = s.Logs
		v.Metrics = s.Metrics
		v.Error = s.Error
		v.ErrorType = s.ErrorType
	}
	for _, l := range logs {
		lv := logView{Message: l.Message, Level: l.Level, Source: l.Source}
		if !l.Timestamp.IsZero() {
			lv.Timestamp = l.Timestamp.UTC().Format(time.RFC3339Nano)
		}
		v.Logs = append(v.Logs, lv)
	}
	return v
}

// status is `falgo status`.
func (c *cli) status(ctx context.Context, app, id string, o statusOptions) error {
	h, _, s, release, err := c.handle(app, id)
	if err != nil {
		return err
	}
	defer release()
	wctx, stop := c.waitContext(ctx)
	defer stop()
	if !o.watch {
		st, err := h.Status(wctx, fal.WithLogs(o.logs))
		if err != nil {
			return c.waitError(wctx, app, id, c.notFound(err, app, id))
		}
		b, err := marshalJSON(viewStatus(id, st))
		if err != nil {
			return err
		}
		return c.con.writeJSON(b, c.g.json)
	}
	p := c.watchProgress(wctx, s, app, id)
	var last fal.Status
	for st, err := range h.Events(wctx, fal.WithLogs(o.logs)) {
		if err != nil {
			err = c.waitError(wctx, app, id, c.notFound(err, app, id))
			p.finish(err)
			return err
		}
		last = st
		p.update(st)
		if err := c.con.writeJSONLine(viewStatus(id, st)); err != nil {
			p.finish(err)
			return err
		}
	}
	if done, ok := last.(fal.Completed); ok && done.Failed() {
		msg := done.Error
		if done.ErrorType != "" {
			msg += " (error type " + done.ErrorType + ")"
		}
		err := codedErrorf(exitError, "request %s failed: %s", id, oneLine(msg))
		p.finish(err)
		return err
	}
	p.finish(nil)
	return nil
}

// watchProgress is the status line of `status --watch` on a terminal:
// the request's state and its elapsed time since its own start (from
// fal's request history or its logs, else since falgo began watching),
// on stderr beside the JSON lines. Without a terminal it reports nothing.
func (c *cli) watchProgress(ctx context.Context, s *platformSession, app, id string) *progress {
	p := newProgress(c.con, app, "waiting", !c.con.stderrTTY)
	p.hideLogs = true
	p.reattach(time.Time{}, time.Time{})
	if !c.con.stderrTTY {
		return p
	}
	sent, ended := s.requestTimes(ctx, app, id)
	p.reattach(sent, ended)
	return p
}
