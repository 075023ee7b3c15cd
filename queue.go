package fal

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/falgo/fal/internal/appid"
	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// RequestHandle refers to one request in fal's queue. Get one from Submit,
// or from Client.Handle with a request id saved earlier (another process, a
// restart). It is safe for concurrent use. Its URLs are fixed when it is
// made, under the queue host of the client or call that made it.
type RequestHandle struct {
	App       string // the app id the request was submitted to
	RequestID string // the queue's id of the request

	// cl is the call that made the handle: how the handle's calls reach
	// fal, and the defaults of their settings (WithLogs, WithPolling),
	// shared, not copied (a Subscribe's handle lives as long as its wait).
	cl *call

	// responseURL is the request's URL; own holds the status and cancel
	// URLs only when they are not responseURL with "/status" and "/cancel"
	// appended, as the queue's nearly always are: a long wait keeps one
	// URL, not three.
	responseURL string
	own         *ownURLs
}

// ownURLs are a handle's status and cancel URLs where they are its own
// ("" for the one that is not).
type ownURLs struct{ status, cancel string }

// statusURL is the request's status URL.
func (h *RequestHandle) statusURL() string {
	if h.own != nil && h.own.status != "" {
		return h.own.status
	}
	return h.responseURL + "/status"
}

// cancelURL is the request's cancel URL.
func (h *RequestHandle) cancelURL() string {
	if h.own != nil && h.own.cancel != "" {
		return h.own.cancel
	}
	return h.responseURL + "/cancel"
}

// setURLs sets the handle's URLs, keeping the status and cancel URLs only
// when they differ from the response URL's.
func (h *RequestHandle) setURLs(response, status, cancel string) {
	h.responseURL, h.own = response, nil
	if isJoin(status, response, "/status") {
		status = ""
	}
	if isJoin(cancel, response, "/cancel") {
		cancel = ""
	}
	if status != "" || cancel != "" {
		h.own = &ownURLs{status: status, cancel: cancel}
	}
	// The response URL ends with the id (…/requests/{id}): the id is kept
	// as its tail rather than as a string of its own.
	if id := h.RequestID; id != "" && len(response) > len(id) && strings.HasSuffix(response, id) && response[len(response)-len(id)-1] == '/' {
		h.RequestID = response[len(response)-len(id):]
	}
}

// isJoin reports whether u is base followed by suffix.
func isJoin(u, base, suffix string) bool {
	return len(u) == len(base)+len(suffix) && strings.HasPrefix(u, base) && strings.HasSuffix(u, suffix)
}

// describe names the request in messages: "app request id".
func (h *RequestHandle) describe() string { return h.App + " request " + h.RequestID }

// submitBody is the queue's answer to a submit.
type submitBody struct {
	RequestID   string `json:"request_id"`
	ResponseURL string `json:"response_url"`
	StatusURL   string `json:"status_url"`
	CancelURL   string `json:"cancel_url"`
}

// Submit puts a request for app in fal's queue and returns at once with a
// handle to follow it. Besides the options of every call (WithPath,
// WithHint, WithStartTimeout, the storage options) it takes WithWebhook
// and WithPriority; WithLogs and WithPolling become the handle's defaults.
//
// A submit is retried only when the server certainly did not accept it
// (see RetryPolicy), so a job is never queued twice by falgo.
func (c *Client) Submit(ctx context.Context, app string, input any, opts ...RequestOption) (*RequestHandle, error) {
	cl, err := c.newCall(callSubmit, opts)
	if err != nil {
		return nil, err
	}
	return c.submit(ctx, cl, app, input)
}

func (c *Client) submit(ctx context.Context, cl *call, app string, input any) (*RequestHandle, error) {
	req, err := c.jobRequest(ctx, cl, "submit", app, cl.eng.Hosts.Queue, input)
	if err != nil {
		return nil, err
	}
	op := req.Op
	job := cl.s.jobs()
	q := url.Values{}
	if job.webhook != "" {
		q.Set("fal_webhook", job.webhook)
	}
	if job.maxQueue > 0 {
		q.Set("fal_max_queue_length", strconv.Itoa(job.maxQueue))
		req.FinalStatus = http.StatusTooManyRequests
	}
	if len(q) > 0 {
		req.URL += "?" + q.Encode()
	}
	resp, err := cl.eng.Do(ctx, req)
	var he *HTTPError
	if job.maxQueue > 0 && errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests {
		return nil, &queueFullError{op: op, max: job.maxQueue, err: err}
	}
	if err != nil {
		return nil, err
	}
	var sb submitBody
	if err := json.Unmarshal(resp.Body, &sb); err != nil {
		return nil, falerr.Wrap(err, "%s: the queue's answer is not valid JSON (%s)", op, resp.Quote(200))
	}
	if sb.RequestID == "" {
		return nil, falerr.New("%s: the queue's answer has no request_id (%s)", op, resp.Quote(200))
	}
	if engine.ScrubString(sb.RequestID, resp.Secrets) != sb.RequestID {
		return nil, falerr.New("%s: the queue answered with a request id that holds the credentials; refusing it", op)
	}
	h, herr := cl.handle(app, sb.RequestID)
	var built string // the request's URL built from the id
	if herr == nil {
		built = h.responseURL
	} else {
		// The id cannot be parsed (e.g. a raw "alias" id): the URLs the
		// queue returned are all we have, and they must be ours.
		h = &RequestHandle{App: app, RequestID: sb.RequestID, cl: cl}
	}
	// The queue's URLs where they are ours, else those built from the id
	// (made only when needed: the queue nearly always returns all three).
	response, status, cancel := built, "", ""
	h.adopt(&status, sb.StatusURL)
	h.adopt(&response, sb.ResponseURL)
	h.adopt(&cancel, sb.CancelURL)
	if built != "" && status == "" {
		status = built + "/status"
	}
	if built != "" && cancel == "" {
		cancel = built + "/cancel"
	}
	if status == "" || response == "" || cancel == "" {
		return nil, falerr.Wrap(herr, "%s: request %s: the queue returned no usable status, response and cancel URLs under %s", op, sb.RequestID, cl.eng.Hosts.Queue)
	}
	h.setURLs(response, status, cancel)
	return h, nil
}

// adopt sets *dst to raw, a URL the queue returned, when it lies under the
// handle's queue base URL. Others are ignored: falgo never follows a
// server-supplied URL to another host (it would carry the credentials
// there), and keeps the URL built from the app id instead.
func (h *RequestHandle) adopt(dst *string, raw string) {
	switch {
	case raw == "":
	case engine.Under(raw, h.cl.eng.Hosts.Queue):
		*dst = raw
	default:
		h.cl.eng.Debug(context.Background(), "fal: ignoring a queue URL outside the queue host",
			slog.String("url", engine.RedactURL(raw)), slog.String("request_id", h.RequestID))
	}
}

// Handle returns a handle for a request submitted earlier, by app and
// request id. The URLs are built from the app's owner and alias (a sub-path
// is dropped, as the queue does; "workflows/" and "comfy/" ids keep their
// namespace; the legacy "1234-alias" form becomes "1234/alias"). No request
// is made. opts become the defaults of the handle's calls: the connection
// options (WithQueueHost, WithKey, ...) and WithLogs and WithPolling.
func (c *Client) Handle(app, requestID string, opts ...RequestOption) (*RequestHandle, error) {
	cl, err := c.newCall(callHandle, opts)
	if err != nil {
		return nil, err
	}
	return cl.handle(app, requestID)
}

// handle builds the handle of a request with the call's settings.
func (cl *call) handle(app, requestID string) (*RequestHandle, error) {
	id, err := appid.Parse(app)
	if err != nil {
		return nil, falerr.Wrap(err, "request %s", requestID)
	}
	if err := validRequestID(requestID); err != nil {
		return nil, err
	}
	return &RequestHandle{
		App: app, RequestID: requestID, cl: cl,
		responseURL: engine.Join(cl.eng.Hosts.Queue, id.Base(), "requests", requestID),
	}, nil
}

// validRequestID checks a request id before it goes into a URL: not empty,
// not "." or "..", and none of the characters that would change the URL's
// structure.
func validRequestID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/?#%\\ \t\r\n") || strings.ContainsFunc(id, isControl) {
		return falerr.New("invalid request id %q: expected the request_id returned by Submit", id)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// byID makes the call of kind for a request given by app and id: the
// per-call options apply to the handle too, so a per-call WithQueueHost
// reaches that host.
func (c *Client) byID(kind callKind, app, requestID string, opts []RequestOption) (*RequestHandle, *call, error) {
	cl, err := c.newCall(kind, opts)
	if err != nil {
		return nil, nil, err
	}
	h, err := cl.handle(app, requestID)
	return h, cl, err
}

// Status fetches the state of a request by app and id (see Client.Handle
// and RequestHandle.Status).
func (c *Client) Status(ctx context.Context, app, requestID string, opts ...RequestOption) (Status, error) {
	h, cl, err := c.byID(callStatus, app, requestID, opts)
	if err != nil {
		return nil, err
	}
	return h.status(ctx, cl)
}

// Result waits for a request (by app and id) to complete and returns its
// output; see RequestHandle.Result.
func (c *Client) Result(ctx context.Context, app, requestID string, opts ...RequestOption) (*Result, error) {
	h, cl, err := c.byID(callResult, app, requestID, opts)
	if err != nil {
		return nil, err
	}
	return h.result(ctx, cl)
}

// Cancel asks the queue to cancel a request (by app and id); see
// RequestHandle.Cancel.
func (c *Client) Cancel(ctx context.Context, app, requestID string, opts ...RequestOption) error {
	h, cl, err := c.byID(callCancel, app, requestID, opts)
	if err != nil {
		return err
	}
	return h.cancel(ctx, cl)
}

// newCall starts a call of kind on the handle, with its defaults and opts.
func (h *RequestHandle) newCall(kind callKind, opts []RequestOption) (*call, error) {
	if h == nil || h.cl == nil {
		return nil, falerr.New("the RequestHandle is nil or was not made by Submit or Client.Handle")
	}
	return newCall(kind, h.cl.eng, h.cl.s, opts)
}

// Status fetches the request's current state once. With WithLogs(true) the
// logs so far are included.
func (h *RequestHandle) Status(ctx context.Context, opts ...RequestOption) (Status, error) {
	cl, err := h.newCall(callStatus, opts)
	if err != nil {
		return nil, err
	}
	return h.status(ctx, cl)
}

func (h *RequestHandle) status(ctx context.Context, cl *call) (Status, error) {
	op := "status of " + h.describe()
	resp, err := cl.eng.Do(ctx, &engine.Request{
		Op: op, Method: http.MethodGet, URL: withLogs(h.statusURL(), cl.s.logs), Class: retry.Idempotent,
	})
	if err != nil {
		return nil, err
	}
	st, err := parseStatus(resp.Body, resp.Secrets)
	if err != nil {
		return nil, falerr.Wrap(err, "%s", op)
	}
	return st, nil
}

// Result waits until the request completes (as Events does) and returns
// its output. A request that completed with an error gives *RequestError.
// OnQueueUpdate sees every status on the way.
func (h *RequestHandle) Result(ctx context.Context, opts ...RequestOption) (*Result, error) {
	cl, err := h.newCall(callResult, opts)
	if err != nil {
		return nil, err
	}
	return h.result(ctx, cl)
}

func (h *RequestHandle) result(ctx context.Context, cl *call) (*Result, error) {
	done, logs, err := h.follow(ctx, cl)
	if err != nil {
		return nil, err
	}
	return h.finish(ctx, cl, done, logs)
}

// follow waits for the request to complete, calling OnQueueUpdate (if set)
// with each status, and returns the final status and, with WithLogs, the
// log entries seen.
func (h *RequestHandle) follow(ctx context.Context, cl *call) (Completed, []Log, error) {
	var (
		done Completed
		logs []Log
	)
	for st, err := range h.events(ctx, cl) {
		if err != nil {
			return Completed{}, logs, err
		}
		if cl.s.logs {
			logs = keepNewest(append(logs, statusLogs(st)...), cl.eng.LogLimit())
		}
		if cl.s.onQueueUpdate != nil {
			cl.s.onQueueUpdate(st)
		}
		if c, ok := st.(Completed); ok {
			done = c
		}
	}
	return done, logs, nil
}

// finish fetches the output of a completed request, or explains its failure.
func (h *RequestHandle) finish(ctx context.Context, cl *call, done Completed, logs []Log) (*Result, error) {
	resp, err := cl.eng.Do(ctx, &engine.Request{
		Op: "result of " + h.describe(), Method: http.MethodGet, URL: h.responseURL, Class: retry.Idempotent,
	})
	if done.Failed() {
		rerr := &RequestError{App: h.App, RequestID: h.RequestID, Message: done.Error, ErrorType: done.ErrorType, Logs: logs}
		var he *HTTPError
		if errors.As(err, &he) {
			rerr.Cause = he
		}
		return nil, rerr
	}
	if err != nil {
		return nil, err
	}
	rid := resp.RequestID
	if rid == "" {
		rid = h.RequestID
	}
	return &Result{RequestID: rid, Data: resp.Body, BillableUnits: billableUnits(resp.Header)}, nil
}

// cancelBody is the queue's answer to a cancel.
type cancelBody struct {
	Status string `json:"status"`
}

// Cancel asks the queue to cancel the request. A queued request is removed
// and never runs; a running one is sent a cancellation signal that the app
// handles. Cancelling a request that already finished returns an error
// matching ErrAlreadyCompleted.
func (h *RequestHandle) Cancel(ctx context.Context, opts ...RequestOption) error {
	cl, err := h.newCall(callCancel, opts)
	if err != nil {
		return err
	}
	return h.cancel(ctx, cl)
}

func (h *RequestHandle) cancel(ctx context.Context, cl *call) error {
	_, err := cl.eng.Do(ctx, &engine.Request{
		Op: "cancel " + h.describe(), Method: http.MethodPut, URL: h.cancelURL(), Class: retry.Idempotent,
	})
	var he *HTTPError
	if errors.As(err, &he) {
		var cb cancelBody
		if json.Unmarshal(he.Body, &cb) == nil && cb.Status == "ALREADY_COMPLETED" {
			return falerr.Wrap(ErrAlreadyCompleted, "cancel %s", h.describe())
		}
	}
	return err
}

// withLogs sets the logs query parameter of a status URL.
func withLogs(raw string, on bool) string {
	v := "0"
	if on {
		v = "1"
	}
	if !strings.ContainsAny(raw, "?#") {
		return raw + "?logs=" + v // the usual case: one string, no parsing
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("logs", v)
	u.RawQuery = q.Encode()
	return u.String()
}

// keepNewest bounds logs to the newest max entries, copied out so that the
// older ones can be freed.
func keepNewest(logs []Log, max int) []Log {
	if len(logs) <= max {
		return logs
	}
	return append(make([]Log, 0, max), logs[len(logs)-max:]...)
}

// statusLogs returns the logs a status carries.
func statusLogs(st Status) []Log {
	switch s := st.(type) {
	case InProgress:
		return s.Logs
	case Completed:
		return s.Logs
	}
	return nil
}
