package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/falgo/fal/faltest"
	"github.com/spf13/cobra"
)

// defaultLocalAddr is where `falgo local` listens unless --addr says otherwise.
// A fixed port keeps the printed environment valid across restarts, which is
// what a developer pointing another program at the server wants; scripts that
// only need some port pass --addr 127.0.0.1:0.
const defaultLocalAddr = "127.0.0.1:8080"

// localOptions holds the flags of `falgo local`.
type localOptions struct {
	addr        string
	key         string
	keySet      bool // --key was given, not defaulted
	allowRemote bool
	list        bool          // --list: print the apps and exit
	runners     int           // --runners: runner slots per app, 0 for no limit
	latency     time.Duration // --latency: how long a demo request works
	startup     time.Duration // --startup: cold start of each runner slot
	faults      string        // --faults: the fault spec
	faultSeed   int64         // --fault-seed
	tls         bool          // --tls: HTTPS, with bare run and queue hosts
	certFile    string        // --cert-file: where --tls writes its certificate
}

// newLocalCmd builds `falgo local`; the flags land in localOptions.
func newLocalCmd() *cobra.Command {
	var o localOptions
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Serve fal-compatible demo apps on this machine",
		Long: `Start a local fal-compatible server (the faltest package) with its demo apps
and serve until SIGINT (Ctrl-C) or SIGTERM.

Before serving, it prints to stdout one "export NAME=value" line per setting a
fal client needs (FAL_KEY, FAL_RUN_HOST, FAL_QUEUE_RUN_HOST, FAL_REST_HOST,
FAL_CDN_HOST, FAL_API_HOST), values shell-quoted, so a shell can source them;
nothing else is ever written to stdout. Diagnostics go to stderr.

One address serves every fal host as a path prefix: /run (fal.run), /queue
(queue.fal.run), /rest (rest.fal.ai), /cdn (the file CDN) and /api (the
Platform API, api.fal.ai: models, schemas, prices, usage, request history,
credits and keys). The exported FAL_KEY is the server's admin key, so every
Platform API endpoint works with it.

--addr defaults to 127.0.0.1:8080; use 127.0.0.1:0 for a free port (the exports
tell which one was chosen). Only loopback addresses are accepted unless
--allow-remote is given, which also requires --key: the server's default key
is a published test key (and its --tls certificate is self-signed), so on a
reachable address anyone could run apps and store files on it.

At start it lists the apps it serves on stderr; --list prints them on
stdout and exits without serving.

Making progress visible: the demo apps answer in about 30 ms. --latency D
makes each demo request work for D (its progress steps spread over it; the
echo app still answers at once unless its input asks with _sleep_ms),
--runners N gives each app N runners, so that requests beyond N wait in the
queue and report their position (--latency without --runners gives each
app one runner: a second request waits), and --startup D makes each
runner's first request wait D as a cold start (IN_QUEUE at position 0
meanwhile).

` + faultsHelp + `

` + localTLSHelp + `

Exit codes: 0 stopped cleanly by SIGINT/SIGTERM (or --list), 1 could not
start (for example the port is taken) or could not write to stdout, 2 bad
command line.`,
		Example: `  # Serve in the background and load the environment into this shell:
  falgo local --addr 127.0.0.1:0 >fal.env &
  until [ -s fal.env ]; do sleep 0.1; done; . ./fal.env

  # Serve on a fixed port with your own key:
  falgo local --addr 127.0.0.1:9090 --key my-test-key

  # A busy app: 2 s per request, one runner each, every third result fetch failing:
  falgo local --latency 2s --runners 1 --faults 'result:502:every=3'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.keySet = cmd.Flags().Changed("key")
			if cmd.Flags().Changed("latency") && !cmd.Flags().Changed("runners") {
				o.runners = 1 // slow apps with unlimited runners would never queue
			}
			return runLocal(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", defaultLocalAddr, "host:port to listen on; port 0 picks a free port")
	f.StringVar(&o.key, "key", faltest.DefaultKey, "API key the server accepts in \"Authorization: Key <key>\"")
	f.BoolVar(&o.allowRemote, "allow-remote", false, "allow a non-loopback --addr (requires --key)")
	f.BoolVar(&o.list, "list", false, "print the apps the server serves, and exit")
	f.IntVar(&o.runners, "runners", 0, "runners per app: requests beyond `N` wait in the queue (0: no limit; 1 when --latency is given)")
	f.DurationVar(&o.latency, "latency", faltest.DefaultDemoDelay, "how long each demo request works, e.g. 2s")
	f.DurationVar(&o.startup, "startup", 0, "cold start: each runner's first request waits this long, e.g. 5s")
	f.StringVar(&o.faults, "faults", "", "inject failures: `RULES` such as 'submit:429:count=2,result:502:every=3' (see --help)")
	f.Int64Var(&o.faultSeed, "fault-seed", 1, "seed of the rate=P fault draws")
	f.BoolVar(&o.tls, "tls", false, "serve HTTPS with a generated certificate, and bare run and queue hosts (for the Python and JS clients)")
	f.StringVar(&o.certFile, "cert-file", "", "with --tls, write the certificate to `PATH` (default: a new file in the temporary directory, removed at stop)")
	return cmd
}

// serverOptions are the faltest options the flags ask for.
func (o localOptions) serverOptions() ([]faltest.Option, error) {
	opts := []faltest.Option{faltest.WithAddr(o.addr), faltest.WithKey(o.key), faltest.WithDemoDelay(o.latency)}
	if o.tls {
		opts = append(opts, faltest.WithTLS())
	}
	var app []faltest.AppOption
	if o.runners > 0 {
		app = append(app, faltest.Concurrency(o.runners))
	}
	if o.startup > 0 {
		app = append(app, faltest.StartupDelay(o.startup))
	}
	if len(app) > 0 {
		opts = append(opts, faltest.WithDemoAppOptions(app...))
	}
	if o.faults != "" {
		rules, err := parseFaults(o.faults)
		if err != nil {
			return nil, err
		}
		opts = append(opts, faltest.WithFaults(o.faultSeed, rules...))
	}
	return opts, nil
}

// appList is the list of the demo apps, one "id  description" per line.
func appList() string {
	var b strings.Builder
	for _, a := range faltest.DemoApps() {
		fmt.Fprintf(&b, "%-31s %s\n", a.ID, a.Description)
	}
	return b.String()
}

// runLocal starts the server, prints the exports, and serves until ctx is done.
func runLocal(ctx context.Context, o localOptions, stdout, stderr io.Writer) error {
	if err := checkLocalOptions(o); err != nil {
		return err
	}
	if o.list {
		if _, err := io.WriteString(stdout, appList()); err != nil {
			return fmt.Errorf("cannot write to stdout: %w", err)
		}
		return nil
	}
	opts, err := o.serverOptions()
	if err != nil {
		return err
	}
	srv, err := faltest.Start(opts...)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("cannot listen on %s: the address is already in use (stop the other server, or pick another port with --addr; port 0 picks a free one)", o.addr)
		}
		return fmt.Errorf("cannot start the server: %s", strings.TrimPrefix(err.Error(), "faltest: "))
	}
	defer srv.Close()

	env, advice := srv.Env(), ""
	if o.tls {
		path, remove, err := writeCert(o.certFile, srv.CertPEM)
		if err != nil {
			return err
		}
		defer remove()
		env = append(env, "SSL_CERT_FILE="+path, "NODE_EXTRA_CA_CERTS="+path)
		advice = tlsAdvice(srv, path)
	}
	exports, err := formatExports(env)
	if err != nil {
		return err
	}
	// One write, straight to the writer: the whole environment is visible to a
	// reader at once, before the server is announced as serving.
	if _, err := io.WriteString(stdout, exports); err != nil {
		return fmt.Errorf("cannot write the environment to stdout: %w", err)
	}
	fmt.Fprintf(stderr, "falgo local: serving fal demo apps on %s%s; press Ctrl-C to stop\n", srv.URL, o.describe())
	for _, l := range strings.SplitAfter(strings.TrimSuffix(appList(), "\n"), "\n") {
		fmt.Fprint(stderr, "  "+l)
	}
	fmt.Fprintln(stderr)
	fmt.Fprint(stderr, advice)
	<-ctx.Done()
	fmt.Fprintln(stderr, "falgo local: stopping")
	return nil
}

// describe says how the flags change the demo apps, for the start line.
func (o localOptions) describe() string {
	var parts []string
	if o.latency != faltest.DefaultDemoDelay {
		parts = append(parts, fmt.Sprintf("%v per request", o.latency))
	}
	if o.runners > 0 {
		parts = append(parts, plural(o.runners, "runner")+" per app")
	}
	if o.startup > 0 {
		parts = append(parts, fmt.Sprintf("%v cold start", o.startup))
	}
	if o.faults != "" {
		parts = append(parts, "faults "+o.faults)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// checkLocalOptions validates the flags before anything listens.
func checkLocalOptions(o localOptions) error {
	switch {
	case o.runners < 0:
		return usageErrorf("--runners %d: give 1 or more runners per app, or 0 for no limit", o.runners)
	case o.latency < 0 || o.startup < 0:
		return usageErrorf("--latency and --startup must not be negative")
	}
	if !validKey(o.key) {
		return usageErrorf("--key must be non-empty printable ASCII without spaces")
	}
	host, port, err := net.SplitHostPort(o.addr)
	if err != nil {
		return usageErrorf("--addr %q is not host:port (for example 127.0.0.1:8080, or 127.0.0.1:0 for a free port)", o.addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return usageErrorf("--addr %q: the port must be a number from 0 to 65535", o.addr)
	}
	if isLoopbackHost(host) {
		return nil
	}
	if !o.allowRemote {
		return usageErrorf("--addr %q is not a loopback address; the server is meant for this machine only (pass --allow-remote, with --key, to listen there anyway)", o.addr)
	}
	if !o.keySet {
		return usageErrorf("--allow-remote requires --key: the default key is a published test key, so anyone who can reach %s could use the server", o.addr)
	}
	return nil
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP. Other
// names are not resolved: a name may resolve differently later, so only an
// address or "localhost" counts.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// validKey reports whether key can be sent as "Authorization: Key <key>":
// printable ASCII without spaces, as faltest.WithKey requires.
func validKey(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// formatExports turns NAME=value entries into "export NAME=value" lines, the
// values quoted for POSIX shells where needed.
func formatExports(env []string) (string, error) {
	var b strings.Builder
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !validEnvName(name) {
			// Report only the name part: the value may be a key.
			return "", fmt.Errorf("internal error: the server returned a malformed environment entry named %q", name)
		}
		fmt.Fprintf(&b, "export %s=%s\n", name, shellQuote(value))
	}
	return b.String(), nil
}

// validEnvName reports whether name is a portable environment variable name.
func validEnvName(name string) bool {
	if name == "" || (name[0] >= '0' && name[0] <= '9') {
		return false
	}
	for _, c := range []byte(name) {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// shellQuote returns s unchanged when a POSIX shell reads it as one literal
// word, and otherwise wrapped in single quotes, each single quote inside
// written as quote, backslash, quote, quote.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
