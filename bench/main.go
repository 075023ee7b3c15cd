// Command bench measures falgo against the loopback floor — a bare net/http
// loop making the same requests — and the official JavaScript client
// (@fal-ai/client, pinned in bench/js), side by side, in one run, against
// one `falgo local` server on 127.0.0.1, and prints one table of ratios
// with the absolute figures:
//
//  1. sync Run of falgo/echo: requests/s and client CPU time per request at
//     concurrency 1 and 64;
//  2. Subscribe: time from the job finishing on the server to the caller
//     having the result (median and p99), with the status stream and with
//     polling;
//  3. upload of 1 GiB: throughput and peak RSS of the client process;
//  4. 10,000 Subscribes in flight at once: peak RSS and completion time.
//
// Run it from the repository root:
//
//	go run ./bench            # the full run (about 6 minutes); writes docs/benchmarks.{md,png}
//	go run ./bench -quick     # a short smoke run (about 1 minute); writes nothing unless -write
//
// It builds cmd/falgo, runs `npm ci` in bench/js when its node_modules is
// missing, and measures every client in a child process of its own so that
// CPU time and memory are the client's alone. See bench/README.md for the
// method and every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// settings are the knobs of one run.
type settings struct {
	quick          bool
	rounds         int           // rounds of the sync-run workload
	duration       time.Duration // measured per sync-run variant and round
	warmup         time.Duration
	jobs           int // Subscribe hand-off jobs per variant
	jobConc        int // of which this many at a time
	uploadSize     int64
	uploadRounds   int
	inflight       int // jobs in flight at once
	inflightWait   int // ms each in-flight job sleeps on the server
	inflightRounds int
	skipJS         bool
	only           map[string]bool // workloads to run; empty means all
	write          bool
	docsDir        string
	falgoBin       string // a prebuilt falgo binary; empty builds cmd/falgo
	profileDir     string // pprof profiles of the Go children go here
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		os.Exit(runChild(os.Args[2:]))
	}
	os.Exit(run())
}

func run() int {
	var s settings
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./bench [flags]\n\n"+
			"Measures falgo against a bare net/http loop and @fal-ai/client on one local server.\n"+
			"See bench/README.md.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.BoolVar(&s.quick, "quick", false, "short run for a smoke check: 1 round of 1 s, 20 hand-off jobs, 256 MiB upload, 2,000 in flight; writes the docs only with -write")
	fs.IntVar(&s.rounds, "rounds", 5, "rounds of the sync-run workload (medians are reported)")
	fs.DurationVar(&s.duration, "duration", 2*time.Second, "measured time per sync-run variant and round")
	fs.DurationVar(&s.warmup, "warmup", 2*time.Second, "unmeasured time before each sync-run measurement of the JS client (Node's JIT needs about 2 s); the Go clients get at most 0.5 s")
	fs.IntVar(&s.jobs, "jobs", 100, "Subscribe hand-off jobs per client variant")
	uploadMiB := fs.Int("upload-mib", 1024, "upload size in MiB")
	fs.IntVar(&s.uploadRounds, "upload-rounds", 2, "rounds of the upload workload")
	fs.IntVar(&s.inflight, "inflight", 10000, "Subscribes in flight at once")
	fs.IntVar(&s.inflightWait, "inflight-sleep-ms", 8000, "how long each in-flight job runs on the server, in ms (long enough for all to be submitted first)")
	fs.IntVar(&s.inflightRounds, "inflight-rounds", 2, "rounds of the in-flight workload for the Go clients (the JS client runs once)")
	fs.BoolVar(&s.skipJS, "skip-js", false, "leave out the JS client (no Node.js needed)")
	only := fs.String("only", "", "comma-separated workloads to run: run, subscribe, upload, inflight (default all)")
	fs.BoolVar(&s.write, "write", true, "write docs/benchmarks.md and docs/benchmarks.png")
	fs.StringVar(&s.docsDir, "docs", "", "folder for benchmarks.md and benchmarks.png (default <repo>/docs)")
	fs.StringVar(&s.profileDir, "profile", "", "write pprof profiles of the Go clients to this folder: CPU of each measured sync run, heap of each in-flight run at full flight (profiling costs CPU: figures from such a run are for diagnosis, so the docs are written only with -write)")
	fs.StringVar(&s.falgoBin, "falgo", "", "use this falgo binary for the server instead of building ./cmd/falgo")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected argument %q (flags only; see -h)\n", fs.Arg(0))
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	s.uploadSize = int64(*uploadMiB) << 20
	if s.quick {
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("rounds", func() { s.rounds = 1 })
		def("duration", func() { s.duration = time.Second })
		def("warmup", func() { s.warmup = time.Second })
		def("jobs", func() { s.jobs = 20 })
		def("upload-mib", func() { s.uploadSize = 256 << 20 })
		def("upload-rounds", func() { s.uploadRounds = 1 })
		def("inflight", func() { s.inflight = 2000 })
		def("inflight-sleep-ms", func() { s.inflightWait = 2000 })
		def("inflight-rounds", func() { s.inflightRounds = 1 })
		def("write", func() { s.write = false })
	}
	if s.profileDir != "" && !set["write"] {
		s.write = false // profiled figures are for diagnosis, not for the docs
	}
	s.jobConc = 4
	if *only != "" {
		s.only = map[string]bool{}
		for _, w := range strings.Split(*only, ",") {
			w = strings.TrimSpace(w)
			switch w {
			case wlRun, wlSubscribe, wlUpload, wlInflight:
				s.only[w] = true
			default:
				fmt.Fprintf(os.Stderr, "bench: -only: unknown workload %q (use run, subscribe, upload, inflight)\n", w)
				return 2
			}
		}
	}
	switch {
	case s.rounds < 1 || s.uploadRounds < 1 || s.inflightRounds < 1:
		fmt.Fprintln(os.Stderr, "bench: -rounds, -upload-rounds and -inflight-rounds must be at least 1")
		return 2
	case s.duration < 100*time.Millisecond || s.duration > 5*time.Minute:
		fmt.Fprintln(os.Stderr, "bench: -duration must be between 100ms and 5m")
		return 2
	case s.warmup < 0 || s.warmup > 5*time.Minute:
		fmt.Fprintln(os.Stderr, "bench: -warmup must be between 0 and 5m")
		return 2
	case s.jobs < 1 || s.jobs > 100000 || s.inflight < 1 || s.inflight > 50000:
		fmt.Fprintln(os.Stderr, "bench: -jobs must be 1..100000 and -inflight 1..50000")
		return 2
	case s.inflightWait < 100 || s.inflightWait > 600000:
		fmt.Fprintln(os.Stderr, "bench: -inflight-sleep-ms must be between 100 and 600000")
		return 2
	case *uploadMiB < 1 || *uploadMiB > 16384:
		fmt.Fprintln(os.Stderr, "bench: -upload-mib must be between 1 and 16384")
		return 2
	}
	if s.profileDir != "" {
		abs, err := filepath.Abs(s.profileDir)
		if err == nil {
			err = os.MkdirAll(abs, 0o755)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -profile:", err)
			return 2
		}
		s.profileDir = abs
	}
	if !sysSupported {
		fmt.Fprintln(os.Stderr, "bench: this harness runs on Linux only: it reads CLOCK_MONOTONIC, getrusage and /proc")
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := measure(ctx, s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	var out strings.Builder
	rep.printTable(&out)
	fmt.Print(out.String())
	for _, n := range rep.notes {
		fmt.Println("note:", n)
	}
	if s.write {
		md, png, err := rep.write()
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s and %s\n", md, png)
	}
	return 0
}

// logf reports progress on stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// findRoot returns the repository root: the nearest folder above the
// working directory whose go.mod declares module github.com/falgo/fal.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/falgo/fal\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run the harness from inside the falgo repository (no go.mod of module github.com/falgo/fal found above the working directory)")
		}
		dir = parent
	}
}

// measure sets everything up, runs the workloads and returns the report.
func measure(ctx context.Context, s settings) (*report, error) {
	start := time.Now()
	root, err := findRoot()
	if err != nil {
		return nil, err
	}
	if s.docsDir == "" {
		s.docsDir = filepath.Join(root, "docs")
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the harness binary: %w", err)
	}
	tmp, err := os.MkdirTemp("", "falgo-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	cpuModel, memory, kernel := machine()
	rep := &report{
		started: start.UTC(), settings: s,
		command: strings.Join(append([]string{"go run ./bench"}, os.Args[1:]...), " "),
		env: environment{
			goVersion: runtime.Version(), cpuModel: cpuModel, memory: memory, kernel: kernel,
			cores: runtime.NumCPU(),
		},
	}

	bin := s.falgoBin
	if bin == "" {
		logf("building cmd/falgo")
		if bin, err = buildFalgo(ctx, root, tmp); err != nil {
			return nil, err
		}
	}
	jsDir := filepath.Join(root, "bench", "js")
	if !s.skipJS {
		if rep.env.node, rep.env.jsClient, err = setupNode(ctx, jsDir); err != nil {
			return nil, fmt.Errorf("%w\n(pass -skip-js to measure without the JS client)", err)
		}
	}
	srv, err := startServer(bin, tmp)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	logf("falgo local serving at %s", srv.vars["FAL_RUN_HOST"])

	h := &harness{
		s:   s,
		rep: rep,
		l:   &launcher{self: self, jsDir: jsDir, env: srv.env(), server: srv},
		env: srv.serverEnv(),
		tmp: tmp,
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{wlRun, h.syncRun},
		{wlSubscribe, h.subscribeHandoff},
		{wlUpload, h.upload},
		{wlInflight, h.inflightJobs},
	}
	for _, st := range steps {
		if s.only != nil && !s.only[st.name] {
			continue
		}
		if err := st.fn(ctx); err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !srv.alive() {
			return nil, fmt.Errorf("the falgo local server exited during the %s workload: %s", st.name, srv.stderr)
		}
	}
	rep.took = time.Since(start)
	logf("done in %v", rep.took.Round(time.Second))
	return rep, nil
}
