package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"
)

// mcpTokenEnv names the environment variable holding the bearer token an
// HTTP client must send. It is read from the environment rather than a flag
// so that it stays out of the process list.
const mcpTokenEnv = "FALGO_MCP_TOKEN"

// Defaults of the output bounds of `falgo mcp`.
const (
	defaultInlineMax   = 1 << 20  // an image up to this size is returned inline
	defaultMaxDownload = 64 << 20 // a larger output file is saved up to this size
	maxInlineImages    = 8        // images returned inline per result
)

// mcpOptions holds the flags of `falgo mcp`.
type mcpOptions struct {
	http        string // --http ADDR: streamable HTTP instead of stdio
	allowRemote bool
	maxCost     string
	maxCalls    int
	saveDir     string
	uploadDir   string
	inlineMax   int64
	maxDownload int64
}

// mcpLong is the help of `falgo mcp`.
const mcpLong = `Serve fal's model catalogue as tools for AI agents over the Model Context
Protocol: on stdin and stdout by default (what Claude Desktop, Claude Code and
Cursor start), or over streamable HTTP with --http ADDR.

Tools: search_models, get_model_inputs, estimate_cost, run_model (queued,
with MCP progress notifications and the app's logs as MCP log messages),
submit_request, request_status, request_result, cancel_request,
upload_file and list_requests. An input is checked against the model's
OpenAPI schema before anything is sent: a misspelt field, a missing required
one or a value out of range comes back as a tool error with a "did you mean"
the agent can act on, and nothing is billed. Results carry the output JSON,
what the request billed (units and cost, where fal says), and images as MCP
image content up to --inline-max bytes each; larger ones are saved under
--save-dir and returned as paths and URLs.

Spending cap: --max-cost AMOUNT (in the account's currency, e.g. 0.50) and
--max-calls N bound what the agent may spend while this server runs. Before
each run or submit, the cost of one call is estimated from fal's prices (the
larger of the historical price per call and one billing unit at the unit
price); a call that would take the spending past --max-cost, or past
--max-calls, is refused with the reason and what is left. Once a request
completes, its estimate is replaced by what it billed. A call may bill more
than its estimate (more images than the average call, say), so the last call
admitted can overshoot --max-cost by that difference; with --max-cost set, a
model whose cost cannot be estimated is refused.

--local runs everything against the demo server inside falgo: no key, no
network. The fal key is never part of a tool result, log message or error,
and control characters sent by servers are escaped.

HTTP: --http listens on a loopback address only (127.0.0.1:PORT, [::1]:PORT,
localhost:PORT); anyone who reaches the server spends on your fal key and may
upload the files under --upload-dir, so --allow-remote is needed for any
other address, and then requires ` + mcpTokenEnv + ` (clients send
"Authorization: Bearer <token>") and a cap (--max-cost or --max-calls). The
server has no TLS: put a TLS proxy in front of a remote one. When
` + mcpTokenEnv + ` is set, loopback clients must send it too. Browser
cross-origin requests and DNS rebinding are refused. The address served is
printed on stderr.

upload_file reads only regular files under --upload-dir (default: the
current directory for stdio; none, so no uploads, for HTTP unless given).`

// newMCPCmd builds `falgo mcp`.
func newMCPCmd(c *cli) *cobra.Command {
	var o mcpOptions
	cmd := &cobra.Command{
		Use:   "mcp [--http ADDR] [--max-cost AMOUNT] [--max-calls N]",
		Short: "Serve fal models as MCP tools for AI agents, with a spending cap",
		Long:  mcpLong,
		Example: `  falgo --local mcp                       # try it: no key, no network
  falgo mcp --max-cost 0.50 --max-calls 20 # stdio, for Claude Desktop / Code
  falgo mcp --http 127.0.0.1:8765 --max-cost 1`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.serveMCP(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.http, "http", "", "serve streamable HTTP on `ADDR` (host:port; port 0 picks one) instead of stdio")
	f.BoolVar(&o.allowRemote, "allow-remote", false, "allow a non-loopback --http address (requires "+mcpTokenEnv+" and a cap)")
	f.StringVar(&o.maxCost, "max-cost", "", "refuse runs that would take the spending past `AMOUNT` (account currency)")
	f.IntVar(&o.maxCalls, "max-calls", 0, "refuse runs and submits after `N` of them (0: no limit)")
	f.StringVar(&o.saveDir, "save-dir", "", "save output images larger than --inline-max under `DIR` (default: falgo/mcp under the user cache directory)")
	f.StringVar(&o.uploadDir, "upload-dir", "", "upload_file reads only files under `DIR`")
	f.Int64Var(&o.inlineMax, "inline-max", defaultInlineMax, "return images up to `BYTES` inline as MCP image content")
	f.Int64Var(&o.maxDownload, "max-download", defaultMaxDownload, "save output files up to `BYTES`; larger ones are returned as URLs only")
	return cmd
}

// serveMCP is `falgo mcp`.
func (c *cli) serveMCP(ctx context.Context, o mcpOptions) error {
	token := os.Getenv(mcpTokenEnv)
	budget, err := checkMCPOptions(&o, token)
	if err != nil {
		return err
	}
	var ln net.Listener
	if o.http != "" {
		// Listen before anything else, so a taken port fails at once.
		if ln, err = net.Listen("tcp", o.http); err != nil {
			return fmt.Errorf("--http %s: cannot listen: %s", o.http, oneLine(err.Error()))
		}
		defer ln.Close()
	}
	cl, s, release, err := c.connect()
	if err != nil {
		return err
	}
	defer release()
	m := &mcpServer{c: c, o: o, cl: cl, s: s, budget: budget, secrets: c.mcpSecrets(), pending: map[string]*reservation{}}
	srv := m.newServer()
	if ln == nil {
		t := &mcp.IOTransport{Reader: io.NopCloser(c.con.stdin), Writer: nopWriteCloser{c.con.stdout}}
		err := srv.Run(ctx, t)
		if err != nil && ctx.Err() == nil && !errors.Is(err, io.EOF) && !errors.Is(err, mcp.ErrConnectionClosed) {
			return fmt.Errorf("the MCP session ended: %s", oneLine(err.Error()))
		}
		return nil
	}
	return m.serveHTTP(ctx, srv, ln, token)
}

// nopWriteCloser keeps the console's stdout open when the transport closes.
type nopWriteCloser struct{ io.Writer }

// Close does nothing.
func (nopWriteCloser) Close() error { return nil }

// checkMCPOptions validates the flags and builds the spending cap.
func checkMCPOptions(o *mcpOptions, token string) (*spendCap, error) {
	if o.maxCalls < 0 {
		return nil, usageErrorf("--max-calls %d: give 0 (no limit) or more", o.maxCalls)
	}
	if o.inlineMax < 0 || o.maxDownload < 0 {
		return nil, usageErrorf("--inline-max and --max-download must not be negative")
	}
	budget, err := newSpendCap(o.maxCost, o.maxCalls)
	if err != nil {
		return nil, err
	}
	if o.saveDir == "" {
		if base, err := os.UserCacheDir(); err == nil && base != "" {
			o.saveDir = filepath.Join(base, "falgo", "mcp")
		}
	}
	if o.http == "" {
		if o.allowRemote {
			return nil, usageErrorf("--allow-remote needs --http")
		}
		if o.uploadDir == "" {
			o.uploadDir = "."
		}
		return budget, nil
	}
	host, _, err := net.SplitHostPort(o.http)
	if err != nil {
		return nil, usageErrorf("--http %q is not host:port (for example 127.0.0.1:8765, or 127.0.0.1:0 for a free port)", o.http)
	}
	if isLoopbackHost(host) {
		return budget, nil
	}
	if !o.allowRemote {
		return nil, usageErrorf("--http %q is not a loopback address: whoever reaches the server spends on your fal key (pass --allow-remote, with %s and --max-cost or --max-calls, to listen there anyway)", o.http, mcpTokenEnv)
	}
	if token == "" {
		return nil, usageErrorf("--allow-remote requires %s: set it to a long random token that clients send as \"Authorization: Bearer <token>\"", mcpTokenEnv)
	}
	if len(token) < 16 || !validKey(token) {
		return nil, usageErrorf("%s must be at least 16 printable characters without spaces", mcpTokenEnv)
	}
	if !budget.limited() {
		return nil, usageErrorf("--allow-remote requires a cap: pass --max-cost or --max-calls")
	}
	return budget, nil
}

// mcpSecrets are the credentials that must never appear in what the
// server returns: the key in use, and the secret half of an id:secret key.
func (c *cli) mcpSecrets() []string {
	var keys []string
	switch {
	case c.g.local:
		keys = append(keys, faltest.DefaultKey)
	case c.g.keySet:
		keys = append(keys, c.g.key)
	default:
		if k, err := fal.FetchCredentials(); err == nil {
			keys = append(keys, k)
		}
	}
	var out []string
	for _, k := range keys {
		out = append(out, k)
		if _, secret, ok := strings.Cut(k, ":"); ok {
			out = append(out, secret)
		}
	}
	return out
}

// serveHTTP serves srv over streamable HTTP on ln until ctx ends.
func (m *mcpServer) serveHTTP(ctx context.Context, srv *mcp.Server, ln net.Listener, token string) error {
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{SessionTimeout: 30 * time.Minute})
	// A web page the user visits must not drive the server from the browser.
	handler := http.NewCrossOriginProtection().Handler(h)
	if token != "" {
		handler = requireBearer(token, handler)
	}
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	m.c.con.errorf("falgo mcp: serving MCP (streamable HTTP) at http://%s/; press Ctrl-C to stop", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving HTTP: %s", oneLine(err.Error()))
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if hs.Shutdown(sctx) != nil {
		hs.Close() // open event streams do not end by themselves
	}
	<-errc
	m.c.con.errorf("falgo mcp: stopping")
	return nil
}

// requireBearer refuses requests without "Authorization: Bearer <token>".
func requireBearer(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="falgo mcp"`)
			http.Error(w, "falgo mcp: send the token of "+mcpTokenEnv+" as \"Authorization: Bearer <token>\"", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// mcpServer is the state of `falgo mcp` shared by every session: the fal
// client, the Platform API session, the spending cap and the requests made.
type mcpServer struct {
	c       *cli
	o       mcpOptions
	cl      *fal.Client
	s       *platformSession
	budget  *spendCap
	secrets []string

	mu      sync.Mutex
	pending map[string]*reservation // submitted requests whose cost is not settled
	recent  []*mcpRecord            // the requests this server made, oldest first
}
