package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/falgo/fal"
)

// echoApp is the demo app every workload calls.
const echoApp = "falgo/echo"

// lineWriter writes whole JSON lines to stdout, one Write each, so the
// harness sees an "enqueued" line as soon as it is written.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lineWriter) write(l childLine) {
	b, err := json.Marshal(l)
	if err != nil {
		b, _ = json.Marshal(childLine{Error: "encoding a result: " + err.Error()})
	}
	lw.mu.Lock()
	defer lw.mu.Unlock()
	_, _ = lw.w.Write(append(b, '\n'))
}

// runChild is "bench child '<params JSON>'": one measurement of a Go
// client in a process of its own. It returns the exit code.
func runChild(args []string) int {
	out := &lineWriter{w: os.Stdout}
	if len(args) != 1 {
		out.write(childLine{Error: "usage: bench child '<params JSON>' (started by the harness, not by hand)"})
		return 2
	}
	var p childParams
	if err := json.Unmarshal([]byte(args[0]), &p); err != nil {
		out.write(childLine{Error: "bad params: " + err.Error()})
		return 2
	}
	res, err := goWorkload(context.Background(), p, out)
	if err != nil {
		out.write(childLine{Error: err.Error()})
		return 1
	}
	if res.PeakRSSKiB, err = peakRSSKiB(); err != nil {
		out.write(childLine{Error: "reading peak RSS: " + err.Error()})
		return 1
	}
	out.write(childLine{Done: res})
	return 0
}

// goWorkload runs p's workload with p's Go client variant.
func goWorkload(ctx context.Context, p childParams, out *lineWriter) (*childResult, error) {
	env, err := serverEnvFromOS()
	if err != nil {
		return nil, err
	}
	// FAL_KEY and the FAL_*_HOST variables, as a user's program would; the
	// -h2c variants speak HTTP/2 to the local server, the others HTTP/1.1.
	var opts []fal.Option
	h2c := p.Variant == vFalgoH2C || p.Variant == vFloorH2C
	if h2c {
		opts = append(opts, fal.WithHTTP2Cleartext())
	}
	c, err := fal.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	fl := newFloor(env, h2c)
	p.label = p.Variant
	switch p.Variant {
	case vFalgoH2C:
		p.Variant = vFalgo
	case vFloorH2C:
		p.Variant = vFloor
	}
	switch p.Workload {
	case wlRun:
		var input map[string]any
		if err := json.Unmarshal(p.Input, &input); err != nil {
			return nil, fmt.Errorf("run input: %w", err)
		}
		switch p.Variant {
		case vFalgo:
			return runLoop(ctx, p, func(ctx context.Context) error {
				_, err := c.Run(ctx, echoApp, input)
				return err
			})
		case vFloor:
			return runLoop(ctx, p, func(ctx context.Context) error { return fl.run(ctx, input) })
		}
	case wlSubscribe:
		sub := goSubscriber(c, fl, p.Variant)
		if sub == nil {
			break
		}
		return subscribeJobs(ctx, p, sub, out)
	case wlInflight:
		sub := goSubscriber(c, fl, p.Variant)
		if sub == nil {
			break
		}
		return inflightJobs(ctx, p, sub)
	case wlUpload:
		return uploadFile(ctx, p, c, fl)
	case wlStream:
		return streamEvents(ctx, p, c, fl)
	case wlRealtime:
		return realtimeTrips(ctx, p, c, env)
	case wlUploads:
		return smallUploads(ctx, p, c, fl)
	case wlIdle:
		return idleClient(ctx, p, c, fl)
	}
	return nil, fmt.Errorf("no Go client variant %q for workload %q", p.Variant, p.Workload)
}

// subscriber runs one queue job to completion and returns its request id.
// onEnqueue is called with the id as soon as the queue has accepted it,
// onWaiting once the client is following the job's status (the first
// status arrived).
type subscriber func(ctx context.Context, input any, onEnqueue func(id string), onWaiting func()) (string, error)

// goSubscriber returns the subscriber of a Go variant, or nil.
func goSubscriber(c *fal.Client, fl *floor, variant string) subscriber {
	switch variant {
	case vFalgo, vFalgoPoll:
		var opts []fal.RequestOption
		if variant == vFalgoPoll {
			opts = append(opts, fal.WithPolling(0))
		}
		return func(ctx context.Context, input any, onEnqueue func(string), onWaiting func()) (string, error) {
			first := true
			update := fal.OnQueueUpdate(func(fal.Status) {
				if first {
					first = false
					onWaiting()
				}
			})
			res, err := c.Subscribe(ctx, echoApp, input, append(opts, fal.OnEnqueue(onEnqueue), update)...)
			if err != nil {
				return "", err
			}
			return res.RequestID, nil
		}
	case vFloor:
		return fl.subscribe
	}
	return nil
}

// errorCount counts failures and keeps the first one's message.
type errorCount struct {
	n     atomic.Int64
	mu    sync.Mutex
	first string
}

func (e *errorCount) add(err error) {
	if e.n.Add(1) == 1 {
		e.mu.Lock()
		e.first = err.Error()
		e.mu.Unlock()
	}
}

func (e *errorCount) firstError() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.first
}

// runLoop calls do from p.Concurrency goroutines: first for p.Warmup
// seconds (connections, caches), then measured for p.Duration seconds or
// p.MaxRequests calls, whichever ends first.
func runLoop(ctx context.Context, p childParams, do func(context.Context) error) (*childResult, error) {
	if p.Concurrency < 1 || p.Duration <= 0 || p.MaxRequests < 1 {
		return nil, errors.New("run: concurrency, duration and max_requests must be positive")
	}
	phase := func(d time.Duration, errs *errorCount) (ok int64) {
		deadline := time.Now().Add(d)
		var started, done atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < p.Concurrency; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) && started.Add(1) <= int64(p.MaxRequests) {
					if err := do(ctx); err != nil {
						errs.add(err)
						continue
					}
					done.Add(1)
				}
			}()
		}
		wg.Wait()
		return done.Load()
	}
	phase(secs(p.Warmup), &errorCount{})
	stopProfile, err := startCPUProfile(p)
	if err != nil {
		return nil, err
	}
	var errs errorCount
	cpu0, t0 := cpuTime(), time.Now()
	ok := phase(secs(p.Duration), &errs)
	elapsed, cpu := time.Since(t0), cpuTime()-cpu0
	if err := stopProfile(); err != nil {
		return nil, err
	}
	return &childResult{
		Requests: ok, Errors: errs.n.Load(), FirstError: errs.firstError(),
		Seconds: elapsed.Seconds(), CPUSeconds: cpu.Seconds(),
	}, nil
}

// subscribeJobs runs one job per entry of p.SleepsMS, p.Concurrency at a
// time, and records when each result was in hand (CLOCK_MONOTONIC).
func subscribeJobs(ctx context.Context, p childParams, sub subscriber, out *lineWriter) (*childResult, error) {
	var (
		mu       sync.Mutex
		finished = map[string]int64{}
		next     atomic.Int64
		errs     errorCount
		wg       sync.WaitGroup
	)
	for w := 0; w < max(p.Concurrency, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(p.SleepsMS) {
					return
				}
				input := map[string]any{"job": i, "_sleep_ms": p.SleepsMS[i]}
				id, err := sub(ctx, input, func(id string) { out.write(childLine{Enqueued: id}) }, func() {})
				t := monoNow()
				if err != nil {
					errs.add(err)
					continue
				}
				mu.Lock()
				finished[id] = t
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return &childResult{Requests: int64(len(finished)), Errors: errs.n.Load(), FirstError: errs.firstError(), Finished: finished}, nil
}

// inflightJobs starts p.Jobs Subscribes at once, each job sleeping
// p.SleepMS on the server, and measures the time until the last result
// and the most jobs in the queue at one moment.
func inflightJobs(ctx context.Context, p childParams, sub subscriber) (*childResult, error) {
	var (
		inflight, peak atomic.Int64
		waiting        atomic.Int64 // jobs whose client has their first status
		ok             atomic.Int64
		errs           errorCount
		wg             sync.WaitGroup
	)
	start := make(chan struct{})
	finished := make(chan struct{})
	snap := make(chan *memSnapshot, 1)
	base := liveHeap()
	go func() { snap <- snapshotWhenFull(p, &waiting, finished, base) }()
	for i := 0; i < p.Jobs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			entered := false
			_, err := sub(ctx, map[string]any{"job": i, "_sleep_ms": p.SleepMS}, func(string) {
				entered = true
				n := inflight.Add(1)
				for {
					old := peak.Load()
					if n <= old || peak.CompareAndSwap(old, n) {
						break
					}
				}
			}, func() { waiting.Add(1) })
			if entered {
				inflight.Add(-1)
			}
			if err != nil {
				errs.add(err)
				return
			}
			ok.Add(1)
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	close(finished)
	return &childResult{
		Requests: ok.Load(), Errors: errs.n.Load(), FirstError: errs.firstError(),
		Seconds: elapsed.Seconds(), PeakInflight: int(peak.Load()), Mem: <-snap,
	}, nil
}

// snapshotWhenFull waits until the client is following the status of
// every job (each has had its first status: a status stream is open, or
// polling has begun) and records where the memory is (and writes a heap
// profile with -profile). It returns nil if a job finishes first.
func snapshotWhenFull(p childParams, waiting *atomic.Int64, finished <-chan struct{}, base uint64) *memSnapshot {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for waiting.Load() < int64(p.Jobs) {
		select {
		case <-finished:
			return nil
		case <-tick.C:
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := rssKiB()
	s := &memSnapshot{
		RSSMiB: float64(rss) / 1024, HeapInuseMiB: float64(ms.HeapInuse) / (1 << 20),
		StackMiB: float64(ms.StackInuse) / (1 << 20), Goroutines: runtime.NumGoroutine(),
	}
	// The heap marked live by the last collection; no GC is forced, so the
	// measurement is not disturbed.
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	if live[0].Value.Kind() == metrics.KindUint64 {
		s.HeapLiveMiB = float64(live[0].Value.Uint64()) / (1 << 20)
	}
	// What every job holds: the heap live after a collection now, less
	// the heap before the first job (the collection lowers the peak that
	// follows a little, for every client alike).
	if live := liveHeap(); live > base {
		s.LivePerJobKB = float64(live-base) / float64(p.Jobs) / 1000
	}
	if p.ProfileDir != "" {
		f, err := os.Create(filepath.Join(p.ProfileDir, fmt.Sprintf("heap-%s-%s.prof", p.Workload, p.label)))
		if err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	return s
}

// liveHeap collects garbage and returns the heap still allocated.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// startCPUProfile starts a CPU profile of a measured phase when
// p.ProfileDir is set, and returns the function that stops it.
func startCPUProfile(p childParams) (func() error, error) {
	if p.ProfileDir == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(filepath.Join(p.ProfileDir, fmt.Sprintf("cpu-%s-%s-c%d.prof", p.Workload, p.label, p.Concurrency)))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// plainReader hides every method but Read, so Upload has to stream.
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

// uploadFile uploads the file p.File with the variant's client and times it.
func uploadFile(ctx context.Context, p childParams, c *fal.Client, fl *floor) (*childResult, error) {
	f, err := os.Open(p.File)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	var url string
	switch p.Variant {
	case vFalgo:
		url, err = c.UploadFile(ctx, p.File)
	case vFalgoReader:
		url, err = c.Upload(ctx, plainReader{f}, fal.WithContentType("application/octet-stream"), fal.WithFileName("payload.bin"))
	case vFloor:
		url, err = fl.upload(ctx, f, st.Size())
	default:
		return nil, fmt.Errorf("no Go client variant %q for workload upload", p.Variant)
	}
	elapsed := time.Since(t0)
	if err != nil {
		return nil, err
	}
	return &childResult{Requests: 1, Seconds: elapsed.Seconds(), Bytes: st.Size(), URL: url}, nil
}

// serverEnv holds the local server's settings, from the FAL_* variables.
type serverEnv struct {
	key, run, queue, rest, cdn string
}

func serverEnvFromOS() (serverEnv, error) {
	e := serverEnv{
		key: os.Getenv("FAL_KEY"), run: os.Getenv("FAL_RUN_HOST"), queue: os.Getenv("FAL_QUEUE_RUN_HOST"),
		rest: os.Getenv("FAL_REST_HOST"), cdn: os.Getenv("FAL_CDN_HOST"),
	}
	if e.key == "" || e.run == "" || e.queue == "" || e.rest == "" || e.cdn == "" {
		return e, errors.New("FAL_KEY and FAL_{RUN,QUEUE_RUN,REST,CDN}_HOST must be set (the harness sets them from `falgo local`)")
	}
	return e, nil
}

// httpOK fails unless the response status is 2xx.
func httpOK(res *http.Response, body []byte) error {
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %.200s", res.Request.Method, res.Request.URL.Path, res.StatusCode, body)
	}
	return nil
}
