package main

import (
	"encoding/json"
	"time"
)

// Every measurement runs in a child process of the harness, so its CPU time
// and peak memory are the client's alone: the harness binary itself
// ("bench child '<params>'") for the Go clients, node bench/js/bench.mjs
// for the JS client. Both take the same params JSON as their argument,
// with the local server's FAL_* variables in the environment, and write
// JSON lines to stdout: {"enqueued": id} as queue requests are accepted,
// then one {"done": result} or {"error": message}.

// Workload names.
const (
	wlRun       = "run"       // sync Run of falgo/echo
	wlSubscribe = "subscribe" // Subscribe hand-off after the job finishes
	wlUpload    = "upload"    // upload of one large file
	wlInflight  = "inflight"  // many Subscribes in flight at once
	wlStream    = "stream"    // Stream events per second
	wlRealtime  = "realtime"  // realtime round trips
	wlUploads   = "uploads"   // many small uploads
	wlIdle      = "idle"      // memory of an idle client
	wlCLI       = "cli"       // `falgo --local run` wall time (run by the harness itself)
)

// allWorkloads lists the workloads in the order they run.
var allWorkloads = []string{wlRun, wlSubscribe, wlUpload, wlInflight, wlStream, wlRealtime, wlUploads, wlIdle, wlCLI}

// Client variants. The "floor" is a bare net/http loop doing the same
// requests; "-poll" variants poll the status, "-stream" ones follow the
// status stream (falgo's default).
const (
	vFalgo       = "falgo"        // falgo with its defaults (status stream for Subscribe)
	vFalgoPoll   = "falgo-poll"   // falgo with WithPolling (every 250 ms)
	vFalgoReader = "falgo-reader" // falgo Upload from a plain io.Reader
	vFloor       = "floor"        // bare net/http
	vFalgoH2C    = "falgo-h2c"    // falgo with WithHTTP2Cleartext: HTTP/2 to the plain-http local server
	vFloorH2C    = "floor-h2c"    // bare net/http with Protocols.SetUnencryptedHTTP2
	vJS          = "js"           // @fal-ai/client with its defaults (polling every 500 ms)
	vJSStream    = "js-stream"    // @fal-ai/client, subscribe mode "streaming"
)

// isJS reports whether variant v runs in Node.
func isJS(v string) bool { return v == vJS || v == vJSStream }

// childParams tells a child what to measure.
type childParams struct {
	Workload string `json:"workload"`
	Variant  string `json:"variant"`

	// run
	Concurrency int             `json:"concurrency"`
	Warmup      float64         `json:"warmup"`   // seconds, not measured
	Duration    float64         `json:"duration"` // seconds measured
	MaxRequests int             `json:"max_requests"`
	Input       json.RawMessage `json:"input"`

	// subscribe: one job per entry, each sleeping that long on the server
	SleepsMS []int `json:"sleeps_ms,omitempty"`

	// inflight
	Jobs    int `json:"jobs,omitempty"`
	SleepMS int `json:"sleep_ms,omitempty"`

	// upload
	File string `json:"file,omitempty"`

	// stream: Streams measured streams of Events events each
	Events  int `json:"events,omitempty"`
	Streams int `json:"streams,omitempty"`
	// realtime: round trips measured
	Trips int `json:"trips,omitempty"`
	// uploads: how many, of how many bytes each
	Uploads     int `json:"uploads,omitempty"`
	UploadBytes int `json:"upload_bytes,omitempty"`

	// ProfileDir, if set, makes a Go child write pprof profiles there: the
	// CPU profile of a measured sync-run phase, the heap profile of an
	// in-flight run once every job is in the queue.
	ProfileDir string `json:"profile_dir,omitempty"`

	// label names the variant in profile file names (the -h2c variants
	// run as their HTTP/1.1 twins with another transport).
	label string
}

// childResult is what a child reports.
type childResult struct {
	Requests   int64   `json:"requests"`    // completed successfully
	Errors     int64   `json:"errors"`      // failed
	FirstError string  `json:"first_error"` // the first failure's message
	Seconds    float64 `json:"seconds"`     // wall time measured
	CPUSeconds float64 `json:"cpu_seconds"` // user+system CPU during the measured phase (run)
	PeakRSSKiB int64   `json:"peak_rss_kib"`

	// subscribe: request id -> CLOCK_MONOTONIC ns when the result was in hand
	Finished map[string]int64 `json:"finished,omitempty"`
	// inflight: the most requests submitted and not yet answered at once
	PeakInflight int `json:"peak_inflight,omitempty"`
	// upload
	Bytes int64  `json:"bytes,omitempty"`
	URL   string `json:"url,omitempty"`
	// inflight, Go clients: where the memory is once every job is in flight
	// (idle: once the client is idle)
	Mem *memSnapshot `json:"mem,omitempty"`
	// realtime: each round trip, in ms
	TripsMS []float64 `json:"trips_ms,omitempty"`
}

// memSnapshot is a Go child's memory at one moment.
type memSnapshot struct {
	RSSMiB       float64 `json:"rss_mib"`        // VmRSS
	HeapInuseMiB float64 `json:"heap_inuse_mib"` // live and not yet collected heap spans
	HeapLiveMiB  float64 `json:"heap_live_mib"`  // heap still in use after a forced GC
	StackMiB     float64 `json:"stack_mib"`      // goroutine stacks
	Goroutines   int     `json:"goroutines"`
	// inflight: the heap live after a forced collection at full flight,
	// less that before the first job, per job, in KB (1,000 bytes)
	LivePerJobKB float64 `json:"live_per_job_kb,omitempty"`
}

// childLine is one line a child writes.
type childLine struct {
	Enqueued string       `json:"enqueued,omitempty"`
	Done     *childResult `json:"done,omitempty"`
	Error    string       `json:"error,omitempty"`
}

// secs converts a float number of seconds to a Duration.
func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
