// Command proxyserver serves falproxy in front of a `falgo local` server, for
// the JS conformance suite (test/proxy.test.mjs): the real @fal-ai/client,
// configured with proxyUrl and no credentials, talks to it as a browser app
// talks to its backend.
//
// It reads the environment `falgo local` exports: FAL_KEY (picked up by
// falproxy's default credential chain, as in production) and
// FAL_RUN_HOST, FAL_QUEUE_RUN_HOST and FAL_REST_HOST, to which fal.run,
// queue.fal.run and rest.fal.ai are mapped. Callers must send
// "Authorization: Bearer <session>" (the -session flag), standing in for
// the browser app's own login.
//
// Once listening it prints one line to stdout, PROXY_URL=<url>, and serves
// until SIGINT or SIGTERM. Logs go to stderr.
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/falgo/fal/falproxy"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "proxyserver:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "loopback host:port to listen on; port 0 picks a free port")
	session := flag.String("session", "", "the bearer token callers must send (required)")
	verbose := flag.Bool("v", false, "log every forwarded request")
	flag.Parse()
	if *session == "" {
		return errors.New("-session is required")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr %q is not host:port", *addr)
	}
	if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %q is not a loopback address", *addr)
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	opts := []falproxy.Option{
		falproxy.WithLogger(logger),
		falproxy.WithAuthorize(func(r *http.Request) error {
			want := "Bearer " + *session
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
				return &falproxy.AuthError{Message: "sign in to use the fal proxy"}
			}
			return nil
		}),
	}
	for _, m := range []struct{ host, env string }{
		{"fal.run", "FAL_RUN_HOST"},
		{"queue.fal.run", "FAL_QUEUE_RUN_HOST"},
		{"rest.fal.ai", "FAL_REST_HOST"},
	} {
		base := strings.TrimSpace(os.Getenv(m.env))
		if base == "" {
			return fmt.Errorf("%s is not set: start `falgo local` and pass its exports", m.env)
		}
		opts = append(opts, falproxy.WithUpstream(m.host, base))
	}
	proxy, err := falproxy.New(opts...)
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle(falproxy.DefaultRoute, proxy)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	if _, err := fmt.Printf("PROXY_URL=http://%s%s\n", ln.Addr(), falproxy.DefaultRoute); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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
