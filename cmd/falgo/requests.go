package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/falgo/fal/platform"
	"github.com/spf13/cobra"
)

// requestsOptions holds the flags of `falgo requests`.
type requestsOptions struct {
	status   string
	limit    int
	payloads bool
}

// defaultRequestsLimit is how many requests `falgo requests` lists by
// default.
const defaultRequestsLimit = 20

// newRequestsCmd builds `falgo requests`.
func newRequestsCmd(c *cli) *cobra.Command {
	var o requestsOptions
	cmd := &cobra.Command{
		Use:   "requests APP [--status success|error|user_error] [--limit N] [--payloads]",
		Short: "List an app's recent requests from fal's request history",
		Long: `List the requests made to an app in the last 24 hours, newest first (fal's
request history, GET /v1/models/requests/by-endpoint): request id, HTTP
status, when fal received it, when it ended and how long it took.
--status keeps successes (2xx), errors (5xx) or user errors (4xx);
--payloads adds each request's input and output (requests made with
payload storage off have none). --limit N lists at most N (default 20).

` + platformOutputHelp,
		Example: `  falgo requests fal-ai/flux/dev --status error
  falgo requests fal-ai/flux/dev --payloads --json | jq '.[].json_input.prompt'`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeApp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.requests(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.status, "status", "", "only requests with this outcome: success, error or user_error")
	f.IntVar(&o.limit, "limit", defaultRequestsLimit, "list at most `N` requests")
	f.BoolVar(&o.payloads, "payloads", false, "include each request's input and output")
	return cmd
}

// requests is `falgo requests`.
func (c *cli) requests(ctx context.Context, app string, o requestsOptions) error {
	if err := checkApp(app); err != nil {
		return err
	}
	switch platform.RequestStatus(o.status) {
	case "", platform.StatusSuccess, platform.StatusError, platform.StatusUserError:
	default:
		return usageErrorf("--status %q: use success, error or user_error", o.status)
	}
	if o.limit < 1 {
		return usageErrorf("--limit %d: give 1 or more", o.limit)
	}
	_, s, release, err := c.connect()
	if err != nil {
		return err
	}
	defer release()
	p := platform.RequestsParams{EndpointID: app, Status: platform.RequestStatus(o.status)}
	if o.payloads {
		p.Expand = []string{platform.ExpandPayloads}
	}
	recs, err := s.requestHistory(ctx, p, o.limit)
	if err != nil {
		return err
	}
	if !c.wantTable() {
		return c.printJSON(recs)
	}
	header := []string{"REQUEST ID", "STATUS", "SENT", "ENDED", "DURATION"}
	if o.payloads {
		header = append(header, "INPUT", "OUTPUT")
	}
	t := newTable(header...)
	t.right[4] = true
	t.clip[5], t.clip[6] = 50, 50
	for _, r := range recs {
		status := "running"
		if r.StatusCode != 0 {
			status = strconv.Itoa(r.StatusCode)
		} else if r.StartedAt.IsZero() {
			status = "queued"
		}
		row := []string{r.RequestID, status, clock(r.SentAt), clock(r.EndedAt), ""}
		if r.Duration > 0 {
			row[4] = fmt.Sprintf("%.2fs", r.Duration)
		}
		if o.payloads {
			row = append(row, payloadText(r.JSONInput), payloadText(r.JSONOutput))
		}
		t.add(row...)
	}
	if len(recs) == 0 {
		defer c.con.errorf("falgo: fal's request history has no request of %s in the last 24 hours", app)
	}
	return c.printTable(t)
}

// clock prints a time of the history in UTC, "" for none.
func clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// payloadText is a payload for a table cell: compact JSON, "-" for none.
func payloadText(raw []byte) string {
	if len(raw) == 0 {
		return "-"
	}
	if c, err := canonicalJSON(raw); err == nil {
		return string(c)
	}
	return oneLineText(string(raw))
}

// requestHistory lists up to limit records of fal's request history that
// match p, in pages of at most platform.MaxRequestsLimit. On failure it
// returns the records read so far and the error, explained.
func (s *platformSession) requestHistory(ctx context.Context, p platform.RequestsParams, limit int) ([]platform.RequestRecord, error) {
	p.Limit = min(limit, platform.MaxRequestsLimit)
	recs := []platform.RequestRecord{}
	for r, err := range s.pc.Requests(ctx, p) {
		if err != nil {
			return recs, platformError("fal's request history", err)
		}
		recs = append(recs, r)
		if len(recs) == limit {
			break
		}
	}
	return recs, nil
}
