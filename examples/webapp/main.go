// Command webapp is an example browser app on fal: a page that generates an
// image with fal-ai/flux/schnell using the official JavaScript client
// (@fal-ai/client with proxyUrl), served by a Go server that mounts falproxy,
// so the fal key stays on the server.
//
// Run it against a local fal-compatible server, in one command:
//
//	go run ./examples/webapp --local
//
// --local starts faltest (what `falgo local` serves) inside the process. To
// use a separate `falgo local`, or fal itself, leave --local out: the proxy
// then takes its key from FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET) and maps
// fal's hosts to FAL_RUN_HOST, FAL_QUEUE_RUN_HOST and FAL_REST_HOST when they
// are set, as `falgo local` exports them:
//
//	falgo local --addr 127.0.0.1:0 >fal.env &
//	. ./fal.env && go run ./examples/webapp
//
// Then open the URL it prints. The page's script is bundled from src/ into
// static/app.js (committed; see build.mjs) and embedded in the binary, so
// running the example needs no Node.js and downloads nothing.
//
// Only visitors holding a session cookie from the page may use the proxy (see
// session.go), and only for fal-ai/flux/schnell's queue. Every visitor gets a
// session, so the server listens on loopback addresses only.
package main

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/falgo/fal/falproxy"
	"github.com/falgo/fal/faltest"
)

//go:embed static
var staticFiles embed.FS

// model is the one app the page calls and the proxy allows.
const model = "fal-ai/flux/schnell"

// modelTargets are the proxy's allowlist: fal-ai/flux/schnell's queue
// (submit, status, status stream, result and cancel) and nothing else. Queue
// URLs after the submit name only owner/alias (fal-ai/flux).
var modelTargets = []string{
	"POST queue.fal.run/" + model,
	"GET queue.fal.run/fal-ai/flux/requests/*/status",
	"GET queue.fal.run/fal-ai/flux/requests/*/status/stream",
	"GET queue.fal.run/fal-ai/flux/requests/*",
	"PUT queue.fal.run/fal-ai/flux/requests/*/cancel",
}

// maxProxyBody bounds what the page may send through the proxy: its inputs
// are a prompt and a few numbers.
const maxProxyBody = 64 << 10

// localDemoDelay is how long a demo image takes under --local: long enough to
// watch the queue status and the logs go by.
const localDemoDelay = 2 * time.Second

// hostEnv names the environment variables that point fal's hosts elsewhere.
var hostEnv = []struct{ host, env string }{
	{"fal.run", "FAL_RUN_HOST"},
	{"queue.fal.run", "FAL_QUEUE_RUN_HOST"},
	{"rest.fal.ai", "FAL_REST_HOST"},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

// config is what the web app is built from.
type config struct {
	// upstreams maps fal hosts (fal.run, ...) to the base URLs that serve
	// them; hosts not in it go to fal.
	upstreams map[string]string
	// key is the fal key; empty means fal's default credential chain
	// (FAL_KEY, FAL_KEY_ID and FAL_KEY_SECRET, ...).
	key string
	// imageOrigins are origins besides https: ones the page may load images
	// from (a local CDN).
	imageOrigins []string
	logger       *slog.Logger
}

// run parses the command line, starts the server (and, with --local, a
// faltest server) and serves until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("webapp", flag.ContinueOnError)
	fset.SetOutput(stderr)
	addr := fset.String("addr", "127.0.0.1:3000", "loopback host:port to listen on; port 0 picks a free port")
	local := fset.Bool("local", false, "start a local fal-compatible server (faltest, as `falgo local`) in this process and use it")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(*addr); err != nil {
		return err
	}
	cfg := config{logger: slog.New(slog.NewTextHandler(stderr, nil))}
	if *local {
		srv, err := faltest.Start(faltest.WithDemoDelay(localDemoDelay))
		if err != nil {
			return err
		}
		defer srv.Close()
		cfg.key = srv.Key
		getenv = envLookup(srv.Env())
	}
	var err error
	if cfg.upstreams, cfg.imageOrigins, err = upstreamsFromEnv(getenv); err != nil {
		return err
	}
	handler, err := newHandler(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(stdout, "webapp: open http://%s/ (Ctrl-C stops)\n", ln.Addr())
	return serve(ctx, srv, ln)
}

// serve runs srv on ln until ctx ends, then shuts it down.
func serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return srv.Close()
	}
	return nil
}

// checkLoopback refuses addresses other machines could reach: the demo gives
// a session to every visitor, so anyone reaching it could spend your credits.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q is not host:port", addr)
	}
	if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %q is not a loopback address: this demo lets every visitor use your fal key, so it serves this machine only", addr)
	}
	return nil
}

// envLookup turns NAME=value lines into a getenv function.
func envLookup(env []string) func(string) string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return func(k string) string { return m[k] }
}

// upstreamsFromEnv reads FAL_RUN_HOST, FAL_QUEUE_RUN_HOST and FAL_REST_HOST:
// a URL (as `falgo local` exports) or a bare host (as fal's clients take)
// becomes the upstream of its fal host. An http URL's origin, and that of
// FAL_CDN_HOST, are returned as image origins: the page loads results from
// the CDN the app's output links to.
func upstreamsFromEnv(getenv func(string) string) (map[string]string, []string, error) {
	up := map[string]string{}
	var origins []string
	addOrigin := func(u *url.URL) {
		if u.Scheme == "http" {
			o := u.Scheme + "://" + u.Host
			for _, have := range origins {
				if have == o {
					return
				}
			}
			origins = append(origins, o)
		}
	}
	for _, h := range hostEnv {
		v := strings.TrimSpace(getenv(h.env))
		if v == "" || v == h.host {
			continue
		}
		if !strings.Contains(v, "://") {
			v = "https://" + v
		}
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			return nil, nil, fmt.Errorf("%s=%q is neither a host nor a URL", h.env, v)
		}
		up[h.host] = strings.TrimSuffix(v, "/")
		addOrigin(u)
	}
	if v := strings.TrimSpace(getenv("FAL_CDN_HOST")); v != "" {
		if u, err := url.Parse(v); err == nil && u.Host != "" {
			addOrigin(u)
		}
	}
	return up, origins, nil
}

// newHandler builds the web app: the page, its script and style, and the fal
// proxy at falproxy.DefaultRoute.
func newHandler(cfg config) (http.Handler, error) {
	sess, err := newSessions()
	if err != nil {
		return nil, err
	}
	opts := []falproxy.Option{
		falproxy.WithAuthorize(sess.authorize),
		falproxy.WithTargets(modelTargets...),
		falproxy.WithMaxBodyBytes(maxProxyBody),
	}
	if cfg.logger != nil {
		opts = append(opts, falproxy.WithLogger(cfg.logger))
	}
	if cfg.key != "" {
		opts = append(opts, falproxy.WithKey(cfg.key))
	}
	for host, base := range cfg.upstreams {
		opts = append(opts, falproxy.WithUpstream(host, base))
	}
	proxy, err := falproxy.New(opts...)
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	csp := contentSecurityPolicy(cfg.imageOrigins)
	mux := http.NewServeMux()
	mux.Handle(falproxy.DefaultRoute, proxy)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if err := sess.issue(w, r); err != nil {
			http.Error(w, "cannot start a session", http.StatusInternalServerError)
			return
		}
		securityHeaders(w, csp)
		http.ServeFileFS(w, r, static, "index.html")
	})
	files := http.FileServerFS(static)
	for _, name := range []string{"/app.js", "/style.css"} {
		mux.HandleFunc("GET "+name, func(w http.ResponseWriter, r *http.Request) {
			securityHeaders(w, csp)
			files.ServeHTTP(w, r)
		})
	}
	return mux, nil
}

// contentSecurityPolicy lets the page run only its own script and talk only
// to its own origin (so every fal call goes through the proxy), and load
// images from https origins (fal's CDN) and the given ones.
func contentSecurityPolicy(imageOrigins []string) string {
	img := append([]string{"'self'", "data:", "https:"}, imageOrigins...)
	return "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src " +
		strings.Join(img, " ") + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// securityHeaders sets the headers every page resource carries.
func securityHeaders(w http.ResponseWriter, csp string) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}
