// Command bench measures falgo against the loopback floor — a bare net/http
// loop making the same requests — and the official JavaScript client
// (@fal-ai/client, pinned in bench/js), side by side, in one run, against
// one `falgo local` server on 127.0.0.1 in a process of its own (pinned to
// its own core where the machine allows), and prints one table of ratios
// with the absolute figures:
//
//  1. sync Run of falgo/echo over HTTP/1.1 and HTTP/2 cleartext: client CPU
//     time per request (the headline) and requests/s at concurrency 1 and
//     64, in interleaved rounds (median of per-round ratios, with spread);
//  2. Subscribe: time from the job finishing on the server to the caller
//     having the result, with the status stream and with polling;
//  3. a large upload: throughput and peak RSS;
//  4. 10,000 Subscribes in flight at once over HTTP/2 and HTTP/1.1: peak
//     RSS, live heap per job, goroutines, completion time;
//  5. Stream events/s and CPU per event; 6. realtime round trips; 7. many
//     small uploads; 8. the memory of an idle client; 9. the wall time of
//     `falgo --local run`.
//
// Run it from the repository root:
//
//	go run ./bench            # the full run (about 5 minutes); writes docs/benchmarks.{md,png}
//	go run ./bench -quick     # a short smoke run (about 30 s); writes nothing unless -write
//
// It builds cmd/falgo, runs `npm ci` in bench/js when its node_modules is
// missing, and measures every client in a child process of its own so that
// CPU time and memory are the client's alone. See bench/README.md for the
// method and every flag.
package main

import (
	"context"
	"errors"
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
	jsRounds       int           // of which the JS client runs in this many
	smallRounds    int           // rounds of the stream, realtime, uploads and idle workloads
	streamEvents   int           // events per stream
	streams        int           // streams per round
	trips          int           // realtime round trips per round
	uploads        int           // small uploads per round
	uploadKiB      int           // size of each
	cliRuns        int           // measured `falgo --local run`s
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
	s, code, ok := parseSettings(os.Args[1:])
	if !ok {
		return code
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

// newReport starts the report of a run that started at start.
func newReport(start time.Time, s settings, pin pinning) *report {
	cpuModel, memory, kernel := machine()
	return &report{
		started: start.UTC(), settings: s,
		command: strings.Join(append([]string{"go run ./bench"}, os.Args[1:]...), " "),
		env: environment{
			goVersion: runtime.Version(), cpuModel: cpuModel, memory: memory, kernel: kernel,
			cores: runtime.NumCPU(), loadStart: loadAverage(), pinning: pin.describe(),
		},
	}
}

// step is one workload of the harness.
type step struct {
	name string
	fn   func(context.Context) error
}

// steps are the workloads, in the order they run.
func (h *harness) steps() []step {
	return []step{
		{wlRun, h.syncRun},
		{wlSubscribe, h.subscribeHandoff},
		{wlUpload, h.upload},
		{wlInflight, h.inflightJobs},
		{wlStream, h.streamWorkload},
		{wlRealtime, h.realtimeWorkload},
		{wlUploads, h.uploadsWorkload},
		{wlIdle, h.idleWorkload},
		{wlCLI, h.cliWorkload},
	}
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

	pin := newPinning()
	rep := newReport(start, s, pin)

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
	srv, err := startServer(pin.server(bin), tmp)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	logf("falgo local serving at %s", srv.vars["FAL_RUN_HOST"])

	h := &harness{
		s:        s,
		rep:      rep,
		l:        &launcher{self: self, jsDir: jsDir, env: srv.env(), server: srv, pin: pin},
		env:      srv.serverEnv(),
		tmp:      tmp,
		falgoBin: bin,
	}
	steps := h.steps()
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
	rep.env.loadEnd = loadAverage()
	logf("done in %v", rep.took.Round(time.Second))
	return rep, nil
}
