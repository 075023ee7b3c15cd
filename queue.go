package fal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/falgo/fal/internal/appid"
)

// RequestHandle refers to one request in fal's queue. Get one from Submit,
// or from Client.Handle with a request id saved earlier (another process, a
// restart). It is safe for concurrent use.
type RequestHandle struct {
	App         string // the app id the request was submitted to
	RequestID   string
	StatusURL   string
	ResponseURL string
	CancelURL   string

	client *Client
	cfg    *config
}

// String is "app/request-id".
func (h *RequestHandle) String() string { return h.App + " request " + h.RequestID }

// submitBody is the queue's answer to a submit.
type submitBody struct {
	RequestID     string `json:"request_id"`
	ResponseURL   string `json:"response_url"`
	StatusURL     string `json:"status_url"`
	CancelURL     string `json:"cancel_url"`
	QueuePosition *int   `json:"queue_position"`
}

// Submit puts a request for app in fal's queue and returns at once with a
// handle to follow it. Options: WithWebhook, WithPriority, WithHint,
// WithStartTimeout, WithHeader, WithPath.
//
// A submit is retried only when the server certainly did not accept it
// (see RetryPolicy), so a job is never queued twice by falgo.
func (c *Client) Submit(ctx context.Context, app string, input any, opts ...RequestOption) (*RequestHandle, error) {
	cfg, err := c.callConfig(opts)
	if err != nil {
		return nil, err
	}
	return c.submit(ctx, cfg, app, input)
}

func (c *Client) submit(ctx context.Context, cfg *config, app string, input any) (*RequestHandle, error) {
	op := "submit " + app
	if err := validateApp(app); err != nil {
		return nil, err
	}
	body, err := c.prepare(ctx, cfg, op, input)
	if err != nil {
		return nil, err
	}
	u := join(cfg.hosts.queue, app, cfg.path)
	if cfg.webhook != "" {
		u += "?" + url.Values{"fal_webhook": {cfg.webhook}}.Encode()
	}
	hdr := lifecycleHeader(cfg)
	if cfg.priority != "" {
		if hdr == nil {
			hdr = http.Header{}
		}
		hdr.Set("X-Fal-Queue-Priority", string(cfg.priority))
	}
	resp, err := c.do(ctx, cfg, &apiRequest{op: op, method: http.MethodPost, url: u, body: body, header: hdr, class: once})
	if err != nil {
		return nil, err
	}
	var sb submitBody
	if err := json.Unmarshal(resp.body, &sb); err != nil {
		return nil, fmt.Errorf("fal: %s: the queue's answer is not valid JSON: %w (%s)", op, err, clip(string(resp.body), 200))
	}
	if sb.RequestID == "" {
		return nil, fmt.Errorf("fal: %s: the queue's answer has no request_id (%s)", op, clip(string(resp.body), 200))
	}
	h, err := c.handle(cfg, app, sb.RequestID)
	if err != nil {
		// The id cannot be parsed (e.g. a raw "alias" id): the URLs the
		// queue returned are all we have, and they must be ours.
		h = &RequestHandle{App: app, RequestID: sb.RequestID, client: c, cfg: cfg}
	}
	h.adoptServerURLs(sb)
	if h.StatusURL == "" || h.ResponseURL == "" || h.CancelURL == "" {
		return nil, fmt.Errorf("fal: %s: request %s: %v, and the queue returned no usable status/response/cancel URLs under %s", op, sb.RequestID, err, cfg.hosts.queue)
	}
	return h, nil
}

// adoptServerURLs uses the URLs the queue returned when they lie under the
// client's queue base URL. Others are ignored: falgo never follows a
// server-supplied URL to another host (it would carry the credentials
// there), and builds the URL from the app id instead.
func (h *RequestHandle) adoptServerURLs(sb submitBody) {
	base := h.cfg.hosts.queue
	under := func(raw string) bool {
		u, err := url.Parse(raw)
		if err != nil || !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
			return false
		}
		return strings.HasPrefix(u.Path, base.Path+"/") && !strings.Contains(u.Path, "/../")
	}
	adopt := func(dst *string, raw string) {
		if raw != "" && under(raw) {
			*dst = raw
		} else if raw != "" && h.cfg.logger != nil {
			h.cfg.logger.Debug("fal: ignoring a queue URL outside the queue host", "url", redactURL(raw), "request_id", h.RequestID)
		}
	}
	adopt(&h.StatusURL, sb.StatusURL)
	adopt(&h.ResponseURL, sb.ResponseURL)
	adopt(&h.CancelURL, sb.CancelURL)
}

// Handle returns a handle for a request submitted earlier, by app and
// request id. The URLs are built from the app's owner and alias (a sub-path
// is dropped, as the queue does; "workflows/" and "comfy/" ids keep their
// namespace; the legacy "1234-alias" form becomes "1234/alias"). No request
// is made. opts become the handle's defaults.
func (c *Client) Handle(app, requestID string, opts ...RequestOption) (*RequestHandle, error) {
	cfg, err := c.callConfig(opts)
	if err != nil {
		return nil, err
	}
	return c.handle(cfg, app, requestID)
}

func (c *Client) handle(cfg *config, app, requestID string) (*RequestHandle, error) {
	id, err := appid.Parse(app)
	if err != nil {
		return nil, fmt.Errorf("fal: %s", err)
	}
	if requestID == "" || strings.ContainsAny(requestID, "/?#%\\ \t\r\n") {
		return nil, fmt.Errorf("fal: invalid request id %q: expected the request_id returned by Submit", requestID)
	}
	base := join(cfg.hosts.queue, id.Base(), "requests", requestID)
	return &RequestHandle{
		App: app, RequestID: requestID,
		StatusURL: base + "/status", ResponseURL: base, CancelURL: base + "/cancel",
		client: c, cfg: cfg,
	}, nil
}

// Status fetches the state of a request by app and id (see Client.Handle).
func (c *Client) Status(ctx context.Context, app, requestID string, opts ...RequestOption) (Status, error) {
	h, err := c.Handle(app, requestID)
	if err != nil {
		return nil, err
	}
	return h.Status(ctx, opts...)
}

// Result waits for a request (by app and id) to complete and returns its
// output; see RequestHandle.Result.
func (c *Client) Result(ctx context.Context, app, requestID string, opts ...RequestOption) (*Result, error) {
	h, err := c.Handle(app, requestID)
	if err != nil {
		return nil, err
	}
	return h.Result(ctx, opts...)
}

// Cancel asks the queue to cancel a request (by app and id); see
// RequestHandle.Cancel.
func (c *Client) Cancel(ctx context.Context, app, requestID string, opts ...RequestOption) error {
	h, err := c.Handle(app, requestID)
	if err != nil {
		return err
	}
	return h.Cancel(ctx, opts...)
}

// config returns the handle's settings with per-call options applied.
func (h *RequestHandle) config(opts []RequestOption) (*config, error) {
	if h == nil || h.client == nil {
		return nil, errors.New("fal: the RequestHandle is nil or was not made by Submit or Client.Handle")
	}
	if len(opts) == 0 {
		return h.cfg, nil
	}
	cfg := h.cfg.clone()
	if err := cfg.apply(opts); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Status fetches the request's current state once. With WithLogs(true) the
// logs so far are included.
func (h *RequestHandle) Status(ctx context.Context, opts ...RequestOption) (Status, error) {
	cfg, err := h.config(opts)
	if err != nil {
		return nil, err
	}
	return h.status(ctx, cfg)
}

func (h *RequestHandle) status(ctx context.Context, cfg *config) (Status, error) {
	resp, err := h.client.do(ctx, cfg, &apiRequest{
		op: "status of " + h.String(), method: http.MethodGet,
		url: withQuery(h.StatusURL, "logs", logsParam(cfg.logs)), class: idempotent,
	})
	if err != nil {
		return nil, err
	}
	st, err := parseStatus(resp.body)
	if err != nil {
		return nil, fmt.Errorf("fal: status of %s: %w", h, err)
	}
	return st, nil
}

// Result waits until the request completes (as Events does) and returns
// its output. A request that completed with an error gives *RequestError.
func (h *RequestHandle) Result(ctx context.Context, opts ...RequestOption) (*Result, error) {
	cfg, err := h.config(opts)
	if err != nil {
		return nil, err
	}
	done, logs, err := h.follow(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	return h.finish(ctx, cfg, done, logs)
}

// follow waits for the request to complete, calling update (if not nil)
// with each status, and returns the final status and every log entry seen.
func (h *RequestHandle) follow(ctx context.Context, cfg *config, update func(Status)) (Completed, []Log, error) {
	var (
		done Completed
		logs []Log
	)
	for st, err := range h.events(ctx, cfg) {
		if err != nil {
			return Completed{}, logs, err
		}
		logs = append(logs, statusLogs(st)...)
		if update != nil {
			update(st)
		}
		if c, ok := st.(Completed); ok {
			done = c
		}
	}
	return done, logs, nil
}

// finish fetches the output of a completed request, or explains its failure.
func (h *RequestHandle) finish(ctx context.Context, cfg *config, done Completed, logs []Log) (*Result, error) {
	res, err := h.fetchResult(ctx, cfg)
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
	return res, nil
}

// fetchResult gets the response of a completed request.
func (h *RequestHandle) fetchResult(ctx context.Context, cfg *config) (*Result, error) {
	resp, err := h.client.do(ctx, cfg, &apiRequest{
		op: "result of " + h.String(), method: http.MethodGet, url: h.ResponseURL, class: idempotent,
	})
	if err != nil {
		return nil, err
	}
	rid := resp.requestID
	if rid == "" {
		rid = h.RequestID
	}
	return &Result{RequestID: rid, Data: resp.body}, nil
}

// cancelBody is the queue's answer to a cancel.
type cancelBody struct {
	Status string `json:"status"`
}

// ErrAlreadyCompleted is returned by Cancel when the request had already
// finished; errors.Is(err, ErrAlreadyCompleted) tells it apart.
var ErrAlreadyCompleted = errors.New("fal: the request already completed")

// Cancel asks the queue to cancel the request. A queued request is removed
// and never runs; a running one is sent a cancellation signal that the app
// handles. Cancelling a request that already finished returns an error
// matching ErrAlreadyCompleted.
func (h *RequestHandle) Cancel(ctx context.Context, opts ...RequestOption) error {
	cfg, err := h.config(opts)
	if err != nil {
		return err
	}
	_, err = h.client.do(ctx, cfg, &apiRequest{
		op: "cancel " + h.String(), method: http.MethodPut, url: h.CancelURL, class: idempotent,
	})
	var he *HTTPError
	if errors.As(err, &he) {
		var cb cancelBody
		if json.Unmarshal(he.Body, &cb) == nil && cb.Status == "ALREADY_COMPLETED" {
			return fmt.Errorf("%w: %s", ErrAlreadyCompleted, h)
		}
	}
	return err
}

func logsParam(on bool) string {
	if on {
		return "1"
	}
	return "0"
}

// withQuery sets one query parameter on a URL string.
func withQuery(raw, k, v string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
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

// DefaultPollInterval is how often Events polls the status when the status
// stream is not available.
const DefaultPollInterval = 250 * time.Millisecond
