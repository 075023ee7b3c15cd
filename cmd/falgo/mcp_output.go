package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"strings"

	fal "github.com/falgo/fal"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// runView is the JSON text of a run_model or request_result result.
type runView struct {
	RequestID string          `json:"request_id"`
	App       string          `json:"app"`
	Output    json.RawMessage `json:"output"`
	Files     []fileView      `json:"files,omitempty"`
	Billing   *billingView    `json:"billing,omitempty"`
	Cap       capView         `json:"cap"`
}

// billingView is what a request billed.
type billingView struct {
	BillableUnits string `json:"billable_units,omitempty"`
	Unit          string `json:"unit,omitempty"`
	UnitPrice     string `json:"unit_price,omitempty"`
	Cost          string `json:"cost,omitempty"`
	Currency      string `json:"currency,omitempty"`
	Note          string `json:"note,omitempty"`

	summary string // "1 megapixels × $0.003 = $0.003", or the units alone
}

// fileView is one file of an output: where it is, and whether it is also
// in the result as image content.
type fileView struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type,omitempty"`
	Inline      bool   `json:"inline,omitempty"`
	Path        string `json:"path,omitempty"`
	Bytes       int64  `json:"bytes,omitempty"`
	Note        string `json:"note,omitempty"`
}

// await follows a submitted request to its output, reporting progress and
// logs to the session, and settles its reservation with what it billed.
func (m *mcpServer) await(ctx context.Context, req *mcp.CallToolRequest, app string, h *fal.RequestHandle, r *reservation) (*mcp.CallToolResult, error) {
	n := &mcpNotifier{m: m, ss: req.Session, token: req.Params.GetProgressToken(), app: app}
	var res *fal.Result
	var err error
	for st, serr := range h.Events(ctx, fal.WithLogs(true)) {
		if serr != nil {
			err = serr
			break
		}
		n.status(ctx, st)
	}
	if err == nil {
		res, err = h.Result(ctx)
	}
	if err != nil {
		var b *billingView
		if units := failureUnits(err); units > 0 {
			var cost *big.Rat
			b, cost = m.billing(context.WithoutCancel(ctx), app, units)
			r.settle(cost)
		}
		err = m.requestError(ctx, app, h.RequestID, err)
		m.setRecord(h.RequestID, "failed", b, oneLine(err.Error()))
		if b != nil {
			return nil, fmt.Errorf("%w (billed %s)", err, b.summary)
		}
		return nil, err
	}
	b, cost := m.billing(ctx, app, res.BillableUnits)
	r.settle(cost)
	m.setRecord(h.RequestID, "completed", b, "")
	files, images := m.outputFiles(ctx, app, h.RequestID, res.Data)
	v := runView{RequestID: h.RequestID, App: app, Output: shortenDataURIs(res.Data), Files: files, Billing: b, Cap: m.budget.view()}
	out, err := textResult(v)
	if err != nil {
		return nil, err
	}
	out.Content = append(out.Content, images...)
	return out, nil
}

// billing prices units of app: the view for the result and the cost for
// the cap (nil when the unit price is unknown). Without units (fal did not
// say), the view says so.
func (m *mcpServer) billing(ctx context.Context, app string, units float64) (*billingView, *big.Rat) {
	ur, us, ok := billableUnits(units)
	if !ok {
		return &billingView{Note: "fal reported no billable units for this request"}, nil
	}
	b, err := m.s.priceUnits(ctx, app, ur)
	v := &billingView{BillableUnits: us, summary: b.String()}
	var bad *badPriceError
	switch {
	case errors.As(err, &bad):
		v.Note = bad.Error()
	case err != nil:
		v.Note = "the unit price is unknown: " + oneLine(err.Error())
	default:
		v.Unit, v.UnitPrice, v.Cost, v.Currency = b.unit, b.unitPrice, formatDecimal(b.cost), b.currency
	}
	return v, b.cost
}

// mcpNotifier turns the statuses of a request into MCP progress
// notifications (when the client sent a progress token) and its log lines
// into MCP log messages.
type mcpNotifier struct {
	m     *mcpServer
	ss    *mcp.ServerSession
	token any
	app   string
	n     float64
	last  string
}

// status reports one status change.
func (p *mcpNotifier) status(ctx context.Context, st fal.Status) {
	if p.ss == nil {
		return
	}
	var msg string
	var logs []fal.Log
	switch s := st.(type) {
	case fal.Queued:
		msg = fmt.Sprintf("in queue at position %d", s.Position)
	case fal.InProgress:
		msg, logs = "running", s.Logs
	case fal.Completed:
		msg, logs = "completed", s.Logs
	}
	for _, l := range logs {
		_ = p.ss.Log(ctx, &mcp.LoggingMessageParams{Level: mcpLevel(l.Level), Logger: p.app, Data: p.m.clean(l.Message)})
	}
	if p.token == nil || msg == p.last {
		return
	}
	p.last = msg
	p.n++
	_ = p.ss.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: p.token, Progress: p.n, Message: p.m.clean(p.app + ": " + msg)})
}

// mcpLevel maps a fal log level to an MCP one.
func mcpLevel(level string) mcp.LoggingLevel {
	switch strings.ToUpper(level) {
	case "ERROR", "STDERR":
		return "error"
	case "WARN", "WARNING":
		return "warning"
	case "DEBUG":
		return "debug"
	}
	return "info"
}

// clean makes server text safe to hand to the client: control characters
// escaped (newlines and tabs kept), credentials removed.
func (m *mcpServer) clean(s string) string {
	s = escapeControls(s, block)
	for _, k := range m.secrets {
		if len(k) >= 8 {
			s = strings.ReplaceAll(s, k, "[redacted]")
		}
	}
	return s
}

// finish cleans every text of a result on its way out.
func (m *mcpServer) finish(res *mcp.CallToolResult) {
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			t.Text = m.clean(t.Text)
		}
	}
}

// outputFiles lists the files of an output and returns its images as
// image content: up to --inline-max bytes each (and maxInlineImages of
// them) inline; larger ones saved under --save-dir, up to --max-download.
func (m *mcpServer) outputFiles(ctx context.Context, app, requestID string, data json.RawMessage) ([]fileView, []mcp.Content) {
	files := fal.FindFiles(data)
	var views []fileView
	var images []mcp.Content
	for i, f := range files {
		v := fileView{URL: shortURL(f.URL), ContentType: f.ContentType}
		if !strings.HasPrefix(strings.ToLower(f.ContentType), "image/") {
			v.Note = "not an image: fetch it from the URL"
			views = append(views, v)
			continue
		}
		inline := m.o.inlineMax
		if len(images) >= maxInlineImages {
			inline = 0
		}
		w := &spillWriter{inline: inline, max: m.o.maxDownload}
		if m.o.saveDir != "" {
			w.open = func() (*os.File, string, error) {
				if err := os.MkdirAll(m.o.saveDir, 0o700); err != nil {
					return nil, "", err
				}
				return createUnique(m.o.saveDir, outputName(f, app, requestID, i, len(files)))
			}
		}
		err := m.cl.Download(ctx, f, w)
		v.Bytes = w.n
		if cerr := w.close(err); err == nil {
			err = cerr
		}
		switch {
		case w.tooBig:
			v.Bytes, v.Note = 0, fmt.Sprintf("larger than %d bytes: not saved, fetch it from the URL", m.o.maxDownload)
		case w.noRoom:
			v.Bytes, v.Note = 0, "larger than --inline-max and no --save-dir: fetch it from the URL"
		case err != nil:
			v.Bytes, v.Note = 0, "could not be downloaded: "+oneLine(err.Error())
		case w.path != "":
			v.Path = w.path
		case !strings.HasPrefix(http.DetectContentType(w.mem.Bytes()), "image/"):
			v.Note = "the content is not an image"
		default:
			v.Inline = true
			images = append(images, &mcp.ImageContent{Data: w.mem.Bytes(), MIMEType: http.DetectContentType(w.mem.Bytes())})
		}
		views = append(views, v)
	}
	return views, images
}

// errTooBig stops a download past --max-download.
var errTooBig = errors.New("the file is larger than --max-download")

// spillWriter keeps a download in memory up to inline bytes, then moves it
// to a file from open, and fails past max bytes.
type spillWriter struct {
	inline, max int64
	open        func() (*os.File, string, error) // nil: nowhere to spill
	mem         bytes.Buffer
	f           *os.File
	path        string
	n           int64
	tooBig      bool // past max
	noRoom      bool // past inline, with nowhere to spill
}

// Write stores p.
func (w *spillWriter) Write(p []byte) (int, error) {
	if w.n+int64(len(p)) > w.max {
		w.tooBig = true
		return 0, errTooBig
	}
	if w.f == nil && w.open == nil && w.n+int64(len(p)) > w.inline {
		w.noRoom = true
		return 0, errTooBig
	}
	w.n += int64(len(p))
	if w.f == nil && int64(w.mem.Len()+len(p)) <= w.inline {
		return w.mem.Write(p)
	}
	if w.f == nil {
		f, path, err := w.open()
		if err != nil {
			return 0, err
		}
		w.f, w.path = f, path
		if _, err := f.Write(w.mem.Bytes()); err != nil {
			return 0, err
		}
		w.mem.Reset()
	}
	return w.f.Write(p)
}

// close closes the file, removing it when the download failed.
func (w *spillWriter) close(failed error) error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	if failed != nil || err != nil {
		os.Remove(w.path)
		w.path = ""
	}
	return err
}

// shortURL is a URL for the result text: a data URI is shortened to its
// media type and size.
func shortURL(u string) string {
	if !strings.HasPrefix(u, "data:") || len(u) <= 256 {
		return u
	}
	head, _, _ := strings.Cut(u, ",")
	return fmt.Sprintf("%s,… (%d bytes of data, not repeated here)", head, len(u))
}

// shortenDataURIs shortens the long data URIs of an output (sync_mode
// images), which would fill the agent's context with base64.
func shortenDataURIs(data json.RawMessage) json.RawMessage {
	if !bytes.Contains(data, []byte(`"data:`)) {
		return data
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return data
	}
	b, err := json.Marshal(shortenValue(v))
	if err != nil {
		return data
	}
	return b
}

// shortenValue applies shortURL to every string of a decoded value.
func shortenValue(v any) any {
	switch t := v.(type) {
	case string:
		return shortURL(t)
	case []any:
		for i := range t {
			t[i] = shortenValue(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = shortenValue(t[k])
		}
	}
	return v
}
