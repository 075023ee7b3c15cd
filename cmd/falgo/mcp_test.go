package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpToolNames are the tools falgo mcp serves.
var mcpToolNames = []string{"cancel_request", "estimate_cost", "get_model_inputs", "list_requests", "request_result",
	"request_status", "run_model", "search_models", "submit_request", "upload_file"}

// pngMagic starts every PNG file.
var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// mcpTestKey is the fal key of the tests that check it never leaks.
const mcpTestKey = "sk-falgo-mcp-secret-0123456789abcdef"

// mcpClient is an MCP client session on a falgo mcp server, with the
// notifications the server sent.
type mcpClient struct {
	t        *testing.T
	cs       *mcp.ClientSession
	logs     chan string // log message data
	progress chan string // progress messages
	mu       sync.Mutex
	seen     []string // every notification, for the hygiene checks
}

// newMCPClient is an SDK client that records notifications.
func newMCPClient(c *mcpClient) *mcp.Client {
	c.logs, c.progress = make(chan string, 1000), make(chan string, 1000)
	note := func(ch chan string, s string) {
		c.mu.Lock()
		c.seen = append(c.seen, s)
		c.mu.Unlock()
		select {
		case ch <- s:
		default:
		}
	}
	return mcp.NewClient(&mcp.Implementation{Name: "falgo-test", Version: "1"}, &mcp.ClientOptions{
		LoggingMessageHandler: func(_ context.Context, r *mcp.LoggingMessageRequest) {
			note(c.logs, fmt.Sprint(r.Params.Data))
		},
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			note(c.progress, r.Params.Message)
		},
	})
}

// connect connects c over transport and asks for every log message.
func (c *mcpClient) connect(ctx context.Context, transport mcp.Transport) {
	c.t.Helper()
	cs, err := newMCPClient(c).Connect(ctx, transport, nil)
	if err != nil {
		c.t.Fatalf("initialize: %v", err)
	}
	c.cs = cs
	if err := cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "debug"}); err != nil {
		c.t.Fatalf("logging/setLevel: %v", err)
	}
}

// call calls a tool and returns its result and the text of its contents.
func (c *mcpClient) call(name string, args any, progressToken ...any) (*mcp.CallToolResult, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	p := &mcp.CallToolParams{Name: name, Arguments: args}
	if len(progressToken) > 0 {
		p.SetProgressToken(progressToken[0])
	}
	res, err := c.cs.CallTool(ctx, p)
	if err != nil {
		c.t.Fatalf("tools/call %s: %v", name, err)
	}
	var texts []string
	for _, ct := range res.Content {
		if tc, ok := ct.(*mcp.TextContent); ok {
			texts = append(texts, tc.Text)
		}
	}
	return res, strings.Join(texts, "\n")
}

// mustCall calls a tool that must succeed and decodes its JSON text.
func (c *mcpClient) mustCall(name string, args any, progressToken ...any) (*mcp.CallToolResult, map[string]any) {
	c.t.Helper()
	res, text := c.call(name, args, progressToken...)
	if res.IsError {
		c.t.Fatalf("%s failed: %s", name, text)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		c.t.Fatalf("%s: the text is not a JSON object: %v\n%s", name, err, text)
	}
	return res, v
}

// mustRefuse calls a tool that must fail and returns its error text.
func (c *mcpClient) mustRefuse(name string, args any) string {
	c.t.Helper()
	res, text := c.call(name, args)
	if !res.IsError {
		c.t.Fatalf("%s succeeded, want a tool error: %s", name, text)
	}
	return text
}

// images returns the image contents of a result.
func images(res *mcp.CallToolResult) []*mcp.ImageContent {
	var out []*mcp.ImageContent
	for _, c := range res.Content {
		if im, ok := c.(*mcp.ImageContent); ok {
			out = append(out, im)
		}
	}
	return out
}

// startMCP runs `falgo args...` (an mcp command on stdio) in-process, with
// an SDK client connected to it over pipes. It is stopped when the test
// ends; stderr is what it printed there.
func startMCP(t *testing.T, args ...string) (*mcpClient, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	stderr := &syncBuffer{}
	con := &console{stdin: inR, stdout: outW, stderr: stderr}
	done := make(chan int, 1)
	go func() {
		code := execute(ctx, args, con)
		outW.Close()
		inR.Close()
		done <- code
	}()
	c := &mcpClient{t: t}
	t.Cleanup(func() {
		if c.cs != nil {
			c.cs.Close()
		}
		inW.Close()
		outR.Close()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("falgo %s exited with %d: %s", strings.Join(args, " "), code, stderr.String())
			}
		case <-time.After(waitLimit):
			t.Errorf("falgo mcp did not stop when its client went away")
		}
		cancel()
	})
	c.connect(ctx, &mcp.IOTransport{Reader: outR, Writer: inW})
	return c, stderr
}

// httpURLPattern finds the address falgo mcp --http serves.
var httpURLPattern = regexp.MustCompile(`at (http://\S+/);`)

// startMCPHTTP runs `falgo args...` (with --http) in-process and returns
// the URL it serves, once it says so on stderr.
func startMCPHTTP(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	con := &console{stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: pw}
	done := make(chan int, 1)
	go func() {
		code := execute(ctx, args, con)
		pw.Close()
		done <- code
	}()
	urls := make(chan string, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintln(stderr, sc.Text())
			if m := httpURLPattern.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		close(urls)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(waitLimit):
			t.Errorf("falgo mcp --http did not stop")
		}
		<-drained
	})
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatalf("falgo mcp --http stopped: %s", stderr.String())
		}
		return u, stderr
	case <-time.After(waitLimit):
		t.Fatalf("falgo mcp --http did not say where it serves: %s", stderr.String())
	}
	return "", nil
}

// connectHTTP connects an SDK client to url, sending header values.
func connectHTTP(t *testing.T, url string, header http.Header) *mcpClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	hc := &http.Client{Transport: headerTransport{h: header, rt: &http.Transport{DisableKeepAlives: true}}}
	c := &mcpClient{t: t}
	c.connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, DisableStandaloneSSE: true, MaxRetries: -1})
	t.Cleanup(func() { c.cs.Close() })
	return c
}

// headerTransport adds headers to every request.
type headerTransport struct {
	h  http.Header
	rt http.RoundTripper
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.h {
		r.Header[k] = v
	}
	return t.rt.RoundTrip(r)
}

// TestMCPStdioLocalRunsFluxAndCaps drives the real binary, `falgo --local
// mcp --max-calls 1`, over stdio with the SDK's client: initialize,
// tools/list, a misspelt field refused before any request reaches the
// model, a run of fal-ai/flux/schnell that returns the image, and a second
// run refused by the cap with the reason.
func TestMCPStdioLocalRunsFluxAndCaps(t *testing.T) {
	isolateCredentials(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	defer cancel()
	cmd := exec.Command(os.Args[0], "--local", "mcp", "--max-calls", "1", "--save-dir", t.TempDir())
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	c := &mcpClient{t: t}
	c.connect(ctx, &mcp.CommandTransport{Command: cmd})
	defer c.cs.Close()
	if got := c.cs.InitializeResult().ServerInfo.Name; got != "falgo" {
		t.Errorf("server name %q, want falgo", got)
	}

	lt, err := c.cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range lt.Tools {
		names = append(names, tool.Name)
		if tool.Description == "" || tool.InputSchema == nil {
			t.Errorf("tool %s has no description or input schema", tool.Name)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, mcpToolNames) {
		t.Fatalf("tools %v, want %v", names, mcpToolNames)
	}

	msg := c.mustRefuse("run_model", map[string]any{"app": faltest.DemoFluxSchnell, "input": map[string]any{"promt": "a lighthouse"}})
	for _, want := range []string{`unknown field "promt"; did you mean "prompt"?`, "nothing was sent"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q does not say %q", msg, want)
		}
	}
	if n := historyLen(c, faltest.DemoFluxSchnell); n != 0 {
		t.Fatalf("after the refused call faltest recorded %d requests of %s, want 0", n, faltest.DemoFluxSchnell)
	}

	res, v := c.mustCall("run_model", map[string]any{"app": faltest.DemoFluxSchnell, "input": map[string]any{"prompt": "a lighthouse at dusk"}})
	ims := images(res)
	if len(ims) != 1 || !bytes.HasPrefix(ims[0].Data, pngMagic) || ims[0].MIMEType != "image/png" {
		t.Fatalf("run_model returned %d images (want one PNG): %v", len(ims), v)
	}
	billing, _ := v["billing"].(map[string]any)
	if billing["billable_units"] != "1" || billing["cost"] != "0.003" || billing["currency"] != "USD" {
		t.Errorf("billing %v, want 1 unit costing 0.003 USD", billing)
	}

	msg = c.mustRefuse("run_model", map[string]any{"app": faltest.DemoFluxSchnell, "input": map[string]any{"prompt": "again"}})
	for _, want := range []string{"refused by the spending cap", "--max-calls 1", "0 calls left", "nothing was sent"} {
		if !strings.Contains(msg, want) {
			t.Errorf("second run's refusal %q does not say %q", msg, want)
		}
	}
	if n := historyLen(c, faltest.DemoFluxSchnell); n != 1 {
		t.Errorf("faltest recorded %d requests of %s, want the 1 run", n, faltest.DemoFluxSchnell)
	}
	if strings.Contains(stderr.String(), faltest.DefaultKey) {
		t.Errorf("the key is on stderr: %s", stderr.String())
	}
}

// historyLen is how many requests of app fal's request history lists.
func historyLen(c *mcpClient, app string) int {
	c.t.Helper()
	_, v := c.mustCall("list_requests", map[string]any{"app": app})
	h, ok := v["history"].([]any)
	if !ok {
		c.t.Fatalf("list_requests has no history: %v", v)
	}
	return len(h)
}

// TestMCPHTTPSearchInputsRunAndRefuse drives `falgo mcp --http` against a
// fal-compatible server: search, the inputs of a model, a misspelt field
// refused with nothing reaching the app, and a run that returns the image
// with progress notifications.
func TestMCPHTTPSearchInputsRunAndRefuse(t *testing.T) {
	srv := startFal(t, faltest.WithKey(mcpTestKey))
	url, _ := startMCPHTTP(t, "mcp", "--http", "127.0.0.1:0", "--save-dir", t.TempDir())
	c := connectHTTP(t, url, nil)

	_, v := c.mustCall("search_models", map[string]any{"query": "flux"})
	if !strings.Contains(fmt.Sprint(v["models"]), faltest.DemoFluxSchnell) {
		t.Errorf("search for flux does not list %s: %v", faltest.DemoFluxSchnell, v)
	}
	_, v = c.mustCall("search_models", map[string]any{"category": "json"})
	if s := fmt.Sprint(v["models"]); !strings.Contains(s, faltest.DemoEcho) || strings.Contains(s, faltest.DemoFluxSchnell) {
		t.Errorf("category json: %v", v)
	}

	_, v = c.mustCall("get_model_inputs", map[string]any{"app": faltest.DemoFluxSchnell})
	fields := map[string]map[string]any{}
	for _, f := range v["inputs"].([]any) {
		m := f.(map[string]any)
		fields[m["name"].(string)] = m
	}
	if fields["prompt"]["required"] != true || fields["prompt"]["type"] != "string" {
		t.Errorf("prompt: %v", fields["prompt"])
	}
	if steps := fields["num_inference_steps"]; steps["default"] != 4.0 || !strings.Contains(fmt.Sprint(steps["range"]), "12") {
		t.Errorf("num_inference_steps: %v", steps)
	}
	if !slices.Contains(anyStrings(fields["image_size"]["enum"]), "square_hd") {
		t.Errorf("image_size enum: %v", fields["image_size"])
	}
	if p, _ := v["price"].(map[string]any); fmt.Sprint(p["unit_price"]) != "0.003" {
		t.Errorf("price: %v", v["price"])
	}
	msg := c.mustRefuse("get_model_inputs", map[string]any{"app": "fal-ai/flux/schnel"})
	if !strings.Contains(msg, "did you mean fal-ai/flux/schnell") {
		t.Errorf("unknown app: %q", msg)
	}

	msg = c.mustRefuse("run_model", map[string]any{"app": faltest.DemoFluxSchnell, "input": map[string]any{"prompt": "x", "num_inference_step": 4}})
	if !strings.Contains(msg, `did you mean "num_inference_steps"?`) {
		t.Errorf("refusal: %q", msg)
	}
	msg = c.mustRefuse("submit_request", map[string]any{"app": faltest.DemoFluxSchnell, "input": map[string]any{"prompt": "x", "num_inference_steps": 40}})
	if !strings.Contains(msg, "num_inference_steps") || !strings.Contains(msg, "12") {
		t.Errorf("out-of-range refusal: %q", msg)
	}
	if n, h := srv.Executions(faltest.DemoFluxSchnell), len(srv.History(faltest.DemoFluxSchnell)); n != 0 || h != 0 {
		t.Fatalf("refused inputs reached the app: %d executions, %d requests recorded", n, h)
	}

	res, v := c.mustCall("run_model", map[string]any{"app": faltest.DemoFluxSchnell, "input": map[string]any{"prompt": "a red fox", "seed": 12345678901234567}}, "tok-1")
	if ims := images(res); len(ims) != 1 || !bytes.HasPrefix(ims[0].Data, pngMagic) {
		t.Fatalf("run_model: no PNG image content: %v", v)
	}
	if rec := srv.History(faltest.DemoFluxSchnell); len(rec) != 1 || !strings.Contains(string(rec[0].Input), "12345678901234567") {
		t.Errorf("the input reached the app changed: %v", rec)
	}
	if got := receive(t, "a progress notification", c.progress); !strings.HasPrefix(got, faltest.DemoFluxSchnell+": ") {
		t.Errorf("progress message %q", got)
	}
}

// anyStrings turns a decoded JSON array into strings.
func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// TestMCPKeyAndControlCharactersNeverLeak calls every tool, in success and
// in failure, against a server whose app puts the key and terminal escapes
// into outputs, logs and errors, and checks that no result, log message or
// progress message holds the key or a raw control character.
func TestMCPKeyAndControlCharactersNeverLeak(t *testing.T) {
	startFal(t, faltest.WithKey(mcpTestKey))
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/photo.png", pngMagic, 0o600); err != nil {
		t.Fatal(err)
	}
	url, stderr := startMCPHTTP(t, "mcp", "--http", "127.0.0.1:0", "--upload-dir", dir, "--max-cost", "10")
	c := connectHTTP(t, url, nil)

	evil := "\x1b]0;owned\x07\x1b[31m" + mcpTestKey + "\u009b"
	echo := func(in map[string]any) map[string]any { return map[string]any{"app": faltest.DemoEcho, "input": in} }
	var outs []string
	record := func(res *mcp.CallToolResult, text string) {
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, text, string(b))
	}
	_, sub := c.mustCall("submit_request", echo(map[string]any{"x": evil, "_logs": []string{evil}}))
	id := sub["request_id"].(string)
	calls := []struct {
		tool string
		args any
		want string // in the text
	}{
		{"search_models", map[string]any{"query": "echo"}, faltest.DemoEcho},
		{"get_model_inputs", map[string]any{"app": faltest.DemoEcho}, `"inputs"`},
		{"get_model_inputs", map[string]any{"app": "nobody/nothing"}, "fal knows no app nobody/nothing"},
		{"estimate_cost", map[string]any{"app": faltest.DemoEcho, "calls": 3}, `"call_quantity":3`},
		{"run_model", echo(map[string]any{"x": evil, "_logs": []string{evil}}), `\u001b]0;owned\u0007`},
		{"run_model", echo(map[string]any{"_error": map[string]any{"status": 400, "detail": evil}}), `\x1b]0;owned\x07`},
		{"request_status", map[string]any{"app": faltest.DemoEcho, "request_id": id, "logs": true}, `"request_id":"` + id},
		{"request_result", map[string]any{"app": faltest.DemoEcho, "request_id": id}, `"billing"`},
		{"request_result", map[string]any{"app": faltest.DemoEcho, "request_id": "00000000-0000-0000-0000-000000000000"}, "fal knows no request"},
		{"cancel_request", map[string]any{"app": faltest.DemoEcho, "request_id": id}, "already completed"},
		{"upload_file", map[string]any{"path": "photo.png"}, `"url":"http`},
		{"upload_file", map[string]any{"path": "../outside"}, "outside the upload directory"},
		{"list_requests", map[string]any{"app": faltest.DemoEcho}, `"history"`},
	}
	tools := map[string]bool{"submit_request": true}
	for _, k := range calls {
		res, text := c.call(k.tool, k.args)
		if !strings.Contains(text, k.want) {
			t.Errorf("%s %v: %q does not hold %q", k.tool, k.args, text, k.want)
		}
		record(res, text)
		tools[k.tool] = true
	}
	if len(tools) != len(mcpToolNames) {
		t.Fatalf("the test calls %d of the %d tools", len(tools), len(mcpToolNames))
	}
	// The app's log line arrives as a log message, escaped and scrubbed.
	for {
		l := receive(t, "the app's log line", c.logs)
		if strings.Contains(l, "owned") {
			break
		}
	}
	c.mu.Lock()
	outs = append(outs, c.seen...)
	c.mu.Unlock()
	outs = append(outs, stderr.String())
	for _, o := range outs {
		if strings.Contains(o, mcpTestKey) {
			t.Errorf("the key is in %q", o)
		}
		if strings.ContainsAny(o, "\x1b\x07\u009b") {
			t.Errorf("a raw control character is in %q", o)
		}
	}
	joined := strings.Join(outs, "\n")
	for _, want := range []string{"[redacted]", `\x1b]0;owned\x07`} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %q in what the server sent", want)
		}
	}
}

// TestMCPMaxCostRefusesWithWhatIsLeft runs flux/schnell (0.003 USD a
// megapixel, 1 megapixel a run) under --max-cost 0.005: the first run is
// admitted and settles at what it billed, the second would pass the cap.
func TestMCPMaxCostRefusesWithWhatIsLeft(t *testing.T) {
	srv := startFal(t)
	c, _ := startMCP(t, "mcp", "--max-cost", "0.005")
	_, v := c.mustCall("run_model", map[string]any{"app": faltest.DemoFluxSchnell, "input": map[string]any{"prompt": "one"}})
	cp := v["cap"].(map[string]any)
	if cp["spent"] != "0.003" || cp["cost_left"] != "0.002" || cp["calls_used"] != 1.0 {
		t.Errorf("cap after one run: %v", cp)
	}
	msg := c.mustRefuse("run_model", map[string]any{"app": faltest.DemoFluxSchnell, "input": map[string]any{"prompt": "two"}})
	for _, want := range []string{"refused by the spending cap", "estimated at $0.003", "$0.003 is already spent of --max-cost $0.005", "$0.002 of $0.005 left", "nothing was sent"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q does not say %q", msg, want)
		}
	}
	if n := len(srv.History(faltest.DemoFluxSchnell)); n != 1 {
		t.Errorf("%d requests reached the app, want 1", n)
	}
	_, v = c.mustCall("estimate_cost", map[string]any{"app": faltest.DemoFluxSchnell, "units": 2})
	if e := v["estimate"].(map[string]any); fmt.Sprint(e["total_cost"]) != "0.006" || e["unit"] != "megapixels" {
		t.Errorf("estimate: %v", e)
	}
}

// TestMCPMaxCostRefusesWhatCannotBeEstimated: with --max-cost and no
// Platform API to price the call, a run is refused and nothing is sent;
// without a cap the same run goes through.
func TestMCPMaxCostRefusesWhatCannotBeEstimated(t *testing.T) {
	srv := startFal(t)
	t.Setenv("FAL_API_HOST", "http://127.0.0.1:1/api") // nothing answers
	c, _ := startMCP(t, "mcp", "--max-cost", "1")
	msg := c.mustRefuse("run_model", map[string]any{"app": faltest.DemoEcho, "input": map[string]any{}})
	if !strings.Contains(msg, "cannot be estimated") || !strings.Contains(msg, "nothing was sent") {
		t.Errorf("refusal: %q", msg)
	}
	if n := srv.Executions(faltest.DemoEcho); n != 0 {
		t.Errorf("the app ran %d times", n)
	}
	free, _ := startMCP(t, "mcp")
	_, v := free.mustCall("run_model", map[string]any{"app": faltest.DemoEcho, "input": map[string]any{}})
	if b := v["billing"].(map[string]any); b["billable_units"] != "1" || !strings.Contains(fmt.Sprint(b["note"]), "unit price is unknown") {
		t.Errorf("billing without a price: %v", b)
	}
}

// TestMCPSubmitThenResultSettlesTheCap: a submit counts at its estimate
// until request_result reports what it billed.
func TestMCPSubmitThenResultSettlesTheCap(t *testing.T) {
	startFal(t)
	c, _ := startMCP(t, "mcp", "--max-cost", "1", "--max-calls", "5")
	_, v := c.mustCall("submit_request", map[string]any{"app": faltest.DemoEcho, "input": map[string]any{"_billable_units": 3}})
	if cp := v["cap"].(map[string]any); cp["spent"] != "0.001" || cp["calls_left"] != 4.0 {
		t.Errorf("cap after submit: %v", cp)
	}
	_, v = c.mustCall("request_result", map[string]any{"app": faltest.DemoEcho, "request_id": v["request_id"]})
	if cp := v["cap"].(map[string]any); cp["spent"] != "0.003" {
		t.Errorf("cap after the result: %v", cp)
	}
	_, v = c.mustCall("list_requests", map[string]any{})
	mine := v["this_server"].([]any)
	if len(mine) != 1 || mine[0].(map[string]any)["status"] != "completed" {
		t.Errorf("this_server: %v", mine)
	}
}

// TestMCPCallRefusedByFalIsGivenBack: a submit fal refuses (an unknown
// app) queues nothing, so it does not use up --max-calls.
func TestMCPCallRefusedByFalIsGivenBack(t *testing.T) {
	startFal(t)
	c, _ := startMCP(t, "mcp", "--max-calls", "1")
	if msg := c.mustRefuse("run_model", map[string]any{"app": "nobody/nothing", "input": map[string]any{}}); !strings.Contains(msg, "fal knows no app nobody/nothing") {
		t.Errorf("unknown app: %q", msg)
	}
	_, v := c.mustCall("run_model", map[string]any{"app": faltest.DemoEcho, "input": map[string]any{"a": 1}})
	if cp := v["cap"].(map[string]any); cp["calls_left"] != 0.0 {
		t.Errorf("cap: %v", cp)
	}
}

// TestMCPCallNeverSentIsGivenBack: a submit that fails before anything is
// sent (no credentials) queues nothing either, so it does not use up
// --max-calls: the cap follows batch's rule of what fal did not queue.
func TestMCPCallNeverSentIsGivenBack(t *testing.T) {
	isolateCredentials(t)
	c, _ := startMCP(t, "mcp", "--max-calls", "1")
	for i := range 2 {
		if msg := c.mustRefuse("run_model", map[string]any{"app": faltest.DemoEcho, "input": map[string]any{"a": 1}}); !strings.Contains(msg, "no fal credentials") {
			t.Errorf("call %d without credentials: %q, want \"no fal credentials\"", i+1, msg)
		}
	}
}

// TestMCPLargeImageIsSavedNotInlined: an image over --inline-max is saved
// under --save-dir and returned as a path and a URL.
func TestMCPLargeImageIsSavedNotInlined(t *testing.T) {
	startFal(t)
	dir := t.TempDir()
	c, _ := startMCP(t, "mcp", "--inline-max", "100", "--save-dir", dir)
	res, v := c.mustCall("run_model", map[string]any{"app": faltest.DemoFluxSchnell, "input": map[string]any{"prompt": "big"}})
	if n := len(images(res)); n != 0 {
		t.Errorf("%d images inline, want none over --inline-max", n)
	}
	f := v["files"].([]any)[0].(map[string]any)
	p, _ := f["path"].(string)
	b, err := os.ReadFile(p)
	if err != nil || !strings.HasPrefix(p, dir) || !bytes.HasPrefix(b, pngMagic) || !strings.HasPrefix(f["url"].(string), "http") {
		t.Errorf("file %v: %v", f, err)
	}
}

// TestMCPDownloadIsBounded: an image over --max-download is neither inline
// nor saved, and the result says so.
func TestMCPDownloadIsBounded(t *testing.T) {
	startFal(t)
	dir := t.TempDir()
	c, _ := startMCP(t, "mcp", "--inline-max", "100", "--max-download", "200", "--save-dir", dir)
	res, v := c.mustCall("run_model", map[string]any{"app": faltest.DemoFluxSchnell, "input": map[string]any{"prompt": "big"}})
	f := v["files"].([]any)[0].(map[string]any)
	if len(images(res)) != 0 || f["path"] != nil || !strings.Contains(fmt.Sprint(f["note"]), "larger than 200 bytes") {
		t.Errorf("file %v", f)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("partial files left in the save dir: %v", ents)
	}
}

// TestMCPSyncModeDataURIsAreShortened: sync_mode images come as data URIs;
// the result's text does not repeat them, the image content carries them.
func TestMCPSyncModeDataURIsAreShortened(t *testing.T) {
	startFal(t)
	c, _ := startMCP(t, "mcp")
	res, text := c.call("run_model", map[string]any{"app": faltest.DemoFluxSchnell, "input": map[string]any{"prompt": "inline", "sync_mode": true}})
	if res.IsError || len(images(res)) != 1 {
		t.Fatalf("run: %s", text)
	}
	if strings.Contains(text, "base64,iVBOR") || !strings.Contains(text, "not repeated here") {
		t.Errorf("the data URI is in the text: %.300s", text)
	}
}

// TestMCPHTTPRefusesWithoutTokenAndCrossOrigin: with FALGO_MCP_TOKEN set,
// a client must send it; a browser's cross-origin request is refused.
func TestMCPHTTPRefusesWithoutTokenAndCrossOrigin(t *testing.T) {
	startFal(t)
	t.Setenv(mcpTokenEnv, "a-long-test-token-for-mcp")
	url, _ := startMCPHTTP(t, "mcp", "--http", "127.0.0.1:0")
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	post := func(h map[string]string) int {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := newHTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(nil); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if code := post(map[string]string{"Authorization": "Bearer wrong"}); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	auth := "Bearer a-long-test-token-for-mcp"
	if code := post(map[string]string{"Authorization": auth, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
		t.Errorf("cross-origin: %d, want 403", code)
	}
	c := connectHTTP(t, url, http.Header{"Authorization": {auth}})
	c.mustCall("search_models", map[string]any{"query": "flux"})
}
