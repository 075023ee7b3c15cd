package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/platform"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpInstructions tell the agent how the tools fit together.
const mcpInstructions = `Tools for fal.ai's generative models (image, video, audio, LLM). Find a model with search_models, read its inputs with get_model_inputs, then call run_model with an input object that uses exactly those field names. Inputs are checked against the model's schema before anything is sent or billed: a refused input comes back as an error naming the field (with a "did you mean"); fix it and call again. Every result says what the request billed. A spending cap may refuse calls; the refusal says what is left. Pass local files to models by uploading them first with upload_file and using the URL.`

// Tool inputs. The jsonschema tags are the descriptions the agent reads.
type (
	searchIn struct {
		Query    string `json:"query,omitempty" jsonschema:"free-text search over model ids, names, descriptions and categories, e.g. flux or upscale video"`
		Category string `json:"category,omitempty" jsonschema:"only models of this category, e.g. text-to-image, image-to-video, text-to-speech"`
		Limit    int    `json:"limit,omitempty" jsonschema:"at most this many models (default 20, at most 100)"`
	}
	appIn struct {
		App string `json:"app" jsonschema:"the model's endpoint id, e.g. fal-ai/flux/schnell"`
	}
	estimateIn struct {
		appIn
		Calls int     `json:"calls,omitempty" jsonschema:"estimate this many calls at fal's historical price per call (default 1)"`
		Units float64 `json:"units,omitempty" jsonschema:"estimate this many billing units (images, megapixels, seconds: see unit) at the unit price, instead of calls"`
	}
	runIn struct {
		appIn
		Input map[string]any `json:"input" jsonschema:"the model's input: an object with the field names get_model_inputs lists, e.g. {\"prompt\": \"a lighthouse at dusk\"}"`
	}
	requestIn struct {
		App       string `json:"app" jsonschema:"the endpoint id the request was submitted to"`
		RequestID string `json:"request_id" jsonschema:"the request id submit_request or run_model returned"`
	}
	statusIn struct {
		requestIn
		Logs bool `json:"logs,omitempty" jsonschema:"include the model's log lines"`
	}
	uploadIn struct {
		Path string `json:"path" jsonschema:"the local file to upload, under the server's upload directory"`
	}
	listIn struct {
		App   string `json:"app,omitempty" jsonschema:"also list fal's request history of this endpoint id (last 24 hours)"`
		Limit int    `json:"limit,omitempty" jsonschema:"at most this many requests of fal's history (default 20, at most 100)"`
	}
)

// toolHandler is a tool's work: a result, or an error the wrapper turns
// into a tool error.
type toolHandler[In any] func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, error)

// addTool registers a tool whose every result, error or not, passes
// through finish: escaped and scrubbed of credentials. Each call waits no
// longer than --timeout.
func addTool[In any](m *mcpServer, srv *mcp.Server, t *mcp.Tool, h toolHandler[In]) {
	mcp.AddTool(srv, t, func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, any, error) {
		wctx, stop := m.c.waitContext(ctx)
		defer stop()
		res, err := h(wctx, req, in)
		if err != nil {
			res = errorResult(err)
		}
		m.finish(res)
		return res, nil, nil
	})
}

// errorResult is a tool error with err's one-line message.
func errorResult(err error) *mcp.CallToolResult {
	msg, _ := describeError(err)
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: oneLine(msg)}}}
}

// readOnly marks a tool that changes nothing.
func readOnly(title string) *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{Title: title, ReadOnlyHint: true}
}

// spends marks a tool that may bill the account.
func spends(title string) *mcp.ToolAnnotations {
	no := false
	return &mcp.ToolAnnotations{Title: title, DestructiveHint: &no}
}

// newServer builds the MCP server with every tool.
func (m *mcpServer) newServer() *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "falgo", Title: "fal.ai models (falgo)", Version: fal.Version},
		&mcp.ServerOptions{Instructions: mcpInstructions})
	addTool(m, srv, &mcp.Tool{Name: "search_models", Annotations: readOnly("Search fal models"),
		Description: "Search fal's model catalogue. Returns each model's endpoint id (what the other tools take as app), name, category, status and description."}, m.searchModels)
	addTool(m, srv, &mcp.Tool{Name: "get_model_inputs", Annotations: readOnly("Get a model's inputs"),
		Description: "List a model's input fields from its OpenAPI schema: name, type, required, default, allowed values (enum, range) and description; then its output fields and its price. Call it before run_model."}, m.modelInputs)
	addTool(m, srv, &mcp.Tool{Name: "estimate_cost", Annotations: readOnly("Estimate cost"),
		Description: "Estimate what calls of a model would cost (fal's pricing estimate), and show what the spending cap leaves. Nothing is run or billed."}, m.estimateCost)
	addTool(m, srv, &mcp.Tool{Name: "run_model", Annotations: spends("Run a model"),
		Description: "Run a model through fal's queue and wait for its output. The input is checked against the model's schema first; a refused input is an error naming the field to fix, and nothing is sent. Reports progress (when the call has a progress token) and the model's logs as log messages. Returns the output JSON, images as image content (small ones inline; larger ones saved, with their paths and URLs) and what the request billed. Subject to the spending cap."}, m.runModel)
	addTool(m, srv, &mcp.Tool{Name: "submit_request", Annotations: spends("Submit a request"),
		Description: "Queue a model request without waiting, after the same input check as run_model; returns its request_id for request_status, request_result and cancel_request. Subject to the spending cap."}, m.submitRequest)
	addTool(m, srv, &mcp.Tool{Name: "request_status", Annotations: readOnly("Request status"),
		Description: "Show a queued request's status: IN_QUEUE (with queue_position), IN_PROGRESS or COMPLETED (with error and error_type if it failed); with logs, the model's log lines."}, m.requestStatus)
	addTool(m, srv, &mcp.Tool{Name: "request_result", Annotations: readOnly("Request result"),
		Description: "Wait for a queued request to complete and return its output, as run_model does (images included), with what it billed."}, m.requestResult)
	addTool(m, srv, &mcp.Tool{Name: "cancel_request", Annotations: &mcp.ToolAnnotations{Title: "Cancel a request"},
		Description: "Cancel a queued or running request. A queued one never runs; a running one is told to stop."}, m.cancelRequest)
	addTool(m, srv, &mcp.Tool{Name: "upload_file", Annotations: &mcp.ToolAnnotations{Title: "Upload a file"},
		Description: "Upload a local file (under the server's upload directory) to fal storage and return its public URL, to pass as a model input such as image_url."}, m.uploadFile)
	addTool(m, srv, &mcp.Tool{Name: "list_requests", Annotations: readOnly("List recent requests"),
		Description: "List the requests this server made (newest first, with status and cost) and the spending cap; with app, also fal's request history of that endpoint for the last 24 hours."}, m.listRequests)
	return srv
}

// textResult is a result holding v as JSON text.
func textResult(v any) (*mcp.CallToolResult, error) {
	b, err := marshalJSON(v)
	if err != nil {
		return nil, err
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}}, nil
}

// modelView is one model of search_models.
type modelView struct {
	EndpointID  string `json:"endpoint_id"`
	Name        string `json:"name,omitempty"`
	Category    string `json:"category,omitempty"`
	Status      string `json:"status,omitempty"`
	Description string `json:"description,omitempty"`
}

// searchModels is the search_models tool.
func (m *mcpServer) searchModels(ctx context.Context, _ *mcp.CallToolRequest, in searchIn) (*mcp.CallToolResult, error) {
	limit := in.Limit
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	models, more, err := m.s.searchModels(ctx, platform.ModelsParams{Query: in.Query, Category: in.Category}, limit)
	if err != nil {
		return nil, err
	}
	found := []modelView{}
	for _, md := range models {
		v := modelView{EndpointID: md.EndpointID}
		if d := md.Metadata; d != nil {
			v.Name, v.Category, v.Status, v.Description = d.DisplayName, d.Category, string(d.Status), oneLineText(d.Description)
		}
		found = append(found, v)
	}
	out := map[string]any{"models": found}
	if more {
		out["note"] = fmt.Sprintf("more models match; showing the first %d", limit)
	}
	return textResult(out)
}

// inputView is one field of get_model_inputs.
type inputView struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Required    bool     `json:"required,omitempty"`
	Nullable    bool     `json:"nullable,omitempty"`
	Default     any      `json:"default,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Range       string   `json:"range,omitempty"`
	Description string   `json:"description,omitempty"`
}

// modelInputs is the get_model_inputs tool.
func (m *mcpServer) modelInputs(ctx context.Context, _ *mcp.CallToolRequest, in appIn) (*mcp.CallToolResult, error) {
	if err := checkApp(in.App); err != nil {
		return nil, err
	}
	ep, _, _, err := m.s.schema(ctx, in.App, false)
	if err != nil {
		return nil, m.s.unknownApp(ctx, in.App, err)
	}
	out := map[string]any{"app": in.App, "title": ep.Title, "category": ep.Category}
	var ins []inputView
	for _, f := range ep.Inputs() {
		v := inputView{Name: f.Name, Type: fieldType(f), Required: f.Required, Nullable: f.Nullable, Enum: f.Enum, Range: f.Range, Description: oneLineText(f.Description)}
		if f.HasDefault {
			v.Default = f.Default
		}
		ins = append(ins, v)
	}
	out["inputs"] = ins
	var outs []inputView
	for _, f := range ep.Outputs() {
		outs = append(outs, inputView{Name: f.Name, Type: fieldType(f), Description: oneLineText(f.Description)})
	}
	out["outputs"] = outs
	if p, err := m.s.price(ctx, in.App); err == nil {
		out["price"] = p
	}
	return textResult(out)
}

// estimateCost is the estimate_cost tool.
func (m *mcpServer) estimateCost(ctx context.Context, _ *mcp.CallToolRequest, in estimateIn) (*mcp.CallToolResult, error) {
	if err := checkApp(in.App); err != nil {
		return nil, err
	}
	if in.Calls < 0 || in.Units < 0 || (in.Calls > 0 && in.Units > 0) {
		return nil, errors.New("give calls (a whole number, 1 or more) or units (a positive number), not both")
	}
	calls, us := 0, ""
	if in.Units > 0 {
		_, us = unitsDecimal(in.Units)
	} else {
		calls = max(in.Calls, 1)
	}
	v, err := m.s.estimate(ctx, in.App, calls, in.Units, us)
	if err != nil {
		return nil, err
	}
	return textResult(map[string]any{"estimate": v, "cap": m.budget.view()})
}

// runModel is the run_model tool.
func (m *mcpServer) runModel(ctx context.Context, req *mcp.CallToolRequest, in runIn) (*mcp.CallToolResult, error) {
	h, r, err := m.admitAndSubmit(ctx, req, in.App)
	if err != nil {
		return nil, err
	}
	return m.await(ctx, req, in.App, h, r)
}

// submitRequest is the submit_request tool.
func (m *mcpServer) submitRequest(ctx context.Context, req *mcp.CallToolRequest, in runIn) (*mcp.CallToolResult, error) {
	h, _, err := m.admitAndSubmit(ctx, req, in.App)
	if err != nil {
		return nil, err
	}
	return textResult(map[string]any{"request_id": h.RequestID, "app": in.App, "status": "IN_QUEUE",
		"next": "request_status or request_result with this app and request_id", "cap": m.budget.view()})
}

// admitAndSubmit checks the input of a run or submit against the schema,
// admits it under the cap, and submits it.
func (m *mcpServer) admitAndSubmit(ctx context.Context, req *mcp.CallToolRequest, app string) (*fal.RequestHandle, *reservation, error) {
	if err := checkApp(app); err != nil {
		return nil, nil, err
	}
	raw, err := rawInput(req)
	if err != nil {
		return nil, nil, err
	}
	if err := m.checkInput(ctx, app, raw); err != nil {
		return nil, nil, err
	}
	var est *callEstimate
	if m.budget.maxCost != nil {
		if est, err = m.estimateCall(ctx, app); err != nil {
			return nil, nil, err
		}
	}
	r, err := m.budget.admit(est)
	if err != nil {
		return nil, nil, err
	}
	h, err := submitSafely(ctx, m.cl, app, raw)
	if err != nil {
		if judgeSubmit(err) != unknown {
			r.release() // fal did not queue it (batch's rule): nothing to count
		}
		return nil, nil, m.s.unknownApp(ctx, app, err)
	}
	m.track(app, h.RequestID, r)
	return h, r, nil
}

// rawInput is the "input" argument as the client sent it, numbers and
// all; an empty object when it is missing.
func rawInput(req *mcp.CallToolRequest) (json.RawMessage, error) {
	var args struct {
		Input json.RawMessage `json:"input"`
	}
	if len(req.Params.Arguments) > 0 {
		if err := json.Unmarshal(req.Params.Arguments, &args); err != nil {
			return nil, fmt.Errorf("the arguments are not a JSON object: %s", oneLine(err.Error()))
		}
	}
	if len(args.Input) == 0 || string(args.Input) == "null" {
		return json.RawMessage("{}"), nil
	}
	return args.Input, nil
}

// checkInput refuses an input that app's schema rejects, saying what to
// fix; without a schema it lets the input through, saying nothing.
func (m *mcpServer) checkInput(ctx context.Context, app string, raw json.RawMessage) error {
	dec, err := decodeObject(raw)
	if err != nil {
		return fmt.Errorf("input: %s", oneLine(err.Error()))
	}
	problems := m.s.checkAgainstSchema(ctx, app, dec).problems
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("the input does not match the schema of %s: %s; nothing was sent and nothing billed (fix the input and call again; get_model_inputs lists the fields)", app, problemList(problems, 8))
}

// requestStatus is the request_status tool.
func (m *mcpServer) requestStatus(ctx context.Context, _ *mcp.CallToolRequest, in statusIn) (*mcp.CallToolResult, error) {
	h, err := m.handle(in.App, in.RequestID)
	if err != nil {
		return nil, err
	}
	st, err := h.Status(ctx, fal.WithLogs(in.Logs))
	if err != nil {
		return nil, m.requestError(ctx, in.App, in.RequestID, err)
	}
	return textResult(viewStatus(in.RequestID, st))
}

// requestResult is the request_result tool.
func (m *mcpServer) requestResult(ctx context.Context, req *mcp.CallToolRequest, in requestIn) (*mcp.CallToolResult, error) {
	h, err := m.handle(in.App, in.RequestID)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	r := m.pending[in.RequestID]
	m.mu.Unlock()
	return m.await(ctx, req, in.App, h, r)
}

// cancelRequest is the cancel_request tool.
func (m *mcpServer) cancelRequest(ctx context.Context, _ *mcp.CallToolRequest, in requestIn) (*mcp.CallToolResult, error) {
	h, err := m.handle(in.App, in.RequestID)
	if err != nil {
		return nil, err
	}
	if err := h.Cancel(ctx); err != nil {
		if errors.Is(err, fal.ErrAlreadyCompleted) {
			return nil, fmt.Errorf("request %s already completed, so there is nothing to cancel; request_result returns its output", in.RequestID)
		}
		return nil, m.requestError(ctx, in.App, in.RequestID, err)
	}
	m.setRecord(in.RequestID, "cancellation requested", nil, "")
	return textResult(map[string]any{"request_id": in.RequestID, "app": in.App, "status": "CANCELLATION_REQUESTED"})
}

// handle checks an app and a request id and returns their handle.
func (m *mcpServer) handle(app, id string) (*fal.RequestHandle, error) {
	if err := checkApp(app); err != nil {
		return nil, err
	}
	if !validRequestID(id) {
		return nil, fmt.Errorf("%q is not a request id; use the request_id that submit_request or run_model returned", id)
	}
	return m.cl.Handle(app, id)
}

// requestError explains a failed call about request id of app.
func (m *mcpServer) requestError(ctx context.Context, app, id string, err error) error {
	if requestNotFound(err) {
		return fmt.Errorf("fal knows no request %s for %s (a wrong id or app, or the result has expired)", id, app)
	}
	if why, _ := m.c.waitCutShort(ctx, "the call was cancelled"); why != "" {
		return fmt.Errorf("%s; request %s keeps running: request_result fetches its output, cancel_request stops it", why, id)
	}
	return err
}
