package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// parseSettings reads the flags. ok is false when the harness must stop
// at once with code (after -h, or a bad flag, which it reports).
func parseSettings(args []string) (s settings, code int, ok bool) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	uploadMiB, only := defineFlags(fs, &s)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return s, 0, false
		}
		return s, 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected argument %q (flags only; see -h)\n", fs.Arg(0))
		return s, 2, false
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	s.uploadSize = int64(*uploadMiB) << 20
	if s.quick {
		quickDefaults(&s, set)
	}
	if s.profileDir != "" && !set["write"] {
		s.write = false // profiled figures are for diagnosis, not for the docs
	}
	s.jobConc = 4
	if err := s.selectWorkloads(*only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return s, 2, false
	}
	if err := s.check(*uploadMiB); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return s, 2, false
	}
	if s.profileDir != "" {
		abs, err := filepath.Abs(s.profileDir)
		if err == nil {
			err = os.MkdirAll(abs, 0o755)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -profile:", err)
			return s, 2, false
		}
		s.profileDir = abs
	}
	return s, 0, true
}

// defineFlags defines the harness's flags on fs, filling s; the upload
// size and -only are returned for parseSettings to read.
func defineFlags(fs *flag.FlagSet, s *settings) (uploadMiB *int, only *string) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./bench [flags]\n\n"+
			"Measures falgo against a bare net/http loop and @fal-ai/client on one local server.\n"+
			"See bench/README.md.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.BoolVar(&s.quick, "quick", false, "short run for a smoke check (about a minute): 1 round of 0.3 s, 10 hand-off jobs, 64 MiB upload, 1,000 in flight, short streams; writes the docs only with -write")
	fs.IntVar(&s.rounds, "rounds", 11, "rounds of the sync-run workload (medians of per-round ratios are reported, with their spread)")
	fs.IntVar(&s.jsRounds, "js-rounds", 3, "rounds of the sync-run workload the JS client runs in (each needs its warm-up)")
	fs.DurationVar(&s.duration, "duration", time.Second, "measured time per sync-run variant and round")
	fs.IntVar(&s.smallRounds, "small-rounds", 3, "rounds of the stream, realtime, uploads and idle workloads")
	fs.IntVar(&s.streamEvents, "stream-events", 2000, "events per stream")
	fs.IntVar(&s.streams, "streams", 5, "streams per round")
	fs.IntVar(&s.trips, "trips", 2000, "realtime round trips per round")
	fs.IntVar(&s.uploads, "uploads", 300, "small uploads per round")
	fs.IntVar(&s.uploadKiB, "upload-kib", 16, "size of each small upload in KiB")
	fs.IntVar(&s.cliRuns, "cli-runs", 10, "measured runs of `falgo --local run`")
	fs.DurationVar(&s.warmup, "warmup", 2*time.Second, "unmeasured time before each sync-run measurement of the JS client (Node's JIT needs about 2 s); the Go clients get at most 0.3 s")
	fs.IntVar(&s.jobs, "jobs", 60, "Subscribe hand-off jobs per client variant")
	uploadMiB = fs.Int("upload-mib", 512, "upload size in MiB")
	fs.IntVar(&s.uploadRounds, "upload-rounds", 2, "rounds of the upload workload")
	fs.IntVar(&s.inflight, "inflight", 10000, "Subscribes in flight at once")
	fs.IntVar(&s.inflightWait, "inflight-sleep-ms", 10000, "how long each in-flight job runs on the server, in ms (long enough for all to be submitted first)")
	fs.IntVar(&s.inflightRounds, "inflight-rounds", 3, "rounds of the in-flight workload (Go clients only; medians, and the spread of the per-round ratios)")
	fs.BoolVar(&s.skipJS, "skip-js", false, "leave out the JS client (no Node.js needed)")
	only = fs.String("only", "", "comma-separated workloads to run: "+strings.Join(allWorkloads, ", ")+" (default all)")
	fs.BoolVar(&s.write, "write", true, "write docs/benchmarks.md and docs/benchmarks.png")
	fs.StringVar(&s.docsDir, "docs", "", "folder for benchmarks.md and benchmarks.png (default <repo>/docs)")
	fs.StringVar(&s.profileDir, "profile", "", "write pprof profiles of the Go clients to this folder: CPU of each measured sync run, heap of each in-flight run at full flight (profiling costs CPU: figures from such a run are for diagnosis, so the docs are written only with -write)")
	fs.StringVar(&s.falgoBin, "falgo", "", "use this falgo binary for the server instead of building ./cmd/falgo")
	return uploadMiB, only
}

// quickDefaults are -quick's settings, for the flags not given.
func quickDefaults(s *settings, set map[string]bool) {
	def := func(name string, apply func()) {
		if !set[name] {
			apply()
		}
	}
	def("rounds", func() { s.rounds = 1 })
	def("js-rounds", func() { s.jsRounds = 1 })
	def("duration", func() { s.duration = 300 * time.Millisecond })
	def("warmup", func() { s.warmup = time.Second })
	def("jobs", func() { s.jobs = 10 })
	def("upload-mib", func() { s.uploadSize = 64 << 20 })
	def("upload-rounds", func() { s.uploadRounds = 1 })
	def("inflight", func() { s.inflight = 1000 })
	def("inflight-sleep-ms", func() { s.inflightWait = 2000 })
	def("inflight-rounds", func() { s.inflightRounds = 1 })
	def("small-rounds", func() { s.smallRounds = 1 })
	def("stream-events", func() { s.streamEvents = 200 })
	def("streams", func() { s.streams = 2 })
	def("trips", func() { s.trips = 200 })
	def("uploads", func() { s.uploads = 30 })
	def("cli-runs", func() { s.cliRuns = 2 })
	def("write", func() { s.write = false })
}

// selectWorkloads reads -only.
func (s *settings) selectWorkloads(only string) error {
	if only == "" {
		return nil
	}
	s.only = map[string]bool{}
	for _, w := range strings.Split(only, ",") {
		w = strings.TrimSpace(w)
		if !slices.Contains(allWorkloads, w) {
			return fmt.Errorf("-only: unknown workload %q (use %s)", w, strings.Join(allWorkloads, ", "))
		}
		s.only[w] = true
	}
	return nil
}

// check bounds every setting.
func (s *settings) check(uploadMiB int) error {
	switch {
	case s.rounds < 1 || s.uploadRounds < 1 || s.inflightRounds < 1 || s.smallRounds < 1 || s.jsRounds < 0:
		return errors.New("-rounds, -upload-rounds, -inflight-rounds and -small-rounds must be at least 1, -js-rounds at least 0")
	case s.streamEvents < 1 || s.streamEvents > 100000 || s.streams < 1 || s.streams > 1000 || s.trips < 1 || s.trips > 1000000:
		return errors.New("-stream-events must be 1..100000, -streams 1..1000, -trips 1..1000000")
	case s.uploads < 1 || s.uploads > 100000 || s.uploadKiB < 1 || s.uploadKiB > 1<<20 || s.cliRuns < 1 || s.cliRuns > 1000:
		return errors.New("-uploads must be 1..100000, -upload-kib 1..1048576, -cli-runs 1..1000")
	case s.duration < 100*time.Millisecond || s.duration > 5*time.Minute:
		return errors.New("-duration must be between 100ms and 5m")
	case s.warmup < 0 || s.warmup > 5*time.Minute:
		return errors.New("-warmup must be between 0 and 5m")
	case s.jobs < 1 || s.jobs > 100000 || s.inflight < 1 || s.inflight > 50000:
		return errors.New("-jobs must be 1..100000 and -inflight 1..50000")
	case s.inflightWait < 100 || s.inflightWait > 600000:
		return errors.New("-inflight-sleep-ms must be between 100 and 600000")
	case uploadMiB < 1 || uploadMiB > 16384:
		return errors.New("-upload-mib must be between 1 and 16384")
	}
	return nil
}
