package fal_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
)

// The benchmarks in this file compare a sync Run with the same request
// written by hand with net/http, against a faltest server in a child
// process (TestMain in upload_bench_test.go serves when FALGO_TEST_SERVER=1),
// so that -benchmem's allocations and -cpuprofile's samples are the
// client's alone:
//
//	go test -run '^$' -bench 'Run(Echo|Parallel)' -benchmem .
//	go test -run '^$' -bench 'RunParallel64/falgo' -cpuprofile cpu.prof . && go tool pprof -top cpu.prof

// benchInput is a typical text-to-image input; falgo/echo returns it.
var benchInput = map[string]any{
	"prompt":                "a lighthouse on a cliff at dusk, oil painting, dramatic light",
	"image_size":            "landscape_4_3",
	"num_inference_steps":   4,
	"seed":                  42,
	"num_images":            1,
	"enable_safety_checker": true,
}

// benchServerEnv starts a faltest server in a child process and returns
// its FAL_* settings.
func benchServerEnv(b *testing.B) map[string]string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FALGO_TEST_SERVER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	env := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "READY" {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if env["FAL_RUN_HOST"] == "" {
		b.Fatal("the server process printed no FAL_RUN_HOST")
	}
	return env
}

// benchClient is a falgo client for env.
func benchClient(b *testing.B, env map[string]string) *fal.Client {
	b.Helper()
	c, err := fal.NewClient(fal.WithKey(env["FAL_KEY"]), fal.WithRunHost(env["FAL_RUN_HOST"]), fal.WithQueueHost(env["FAL_QUEUE_RUN_HOST"]),
		fal.WithRestHost(env["FAL_REST_HOST"]), fal.WithCDNHost(env["FAL_CDN_HOST"]))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// bareRun is the floor: the same request by hand, with a transport that
// keeps as many idle connections as falgo's default.
func bareRun(env map[string]string) func(ctx context.Context) error {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	hc := &http.Client{Transport: tr}
	url := env["FAL_RUN_HOST"] + "/falgo/echo"
	auth := "Key " + env["FAL_KEY"]
	return func(ctx context.Context) error {
		body, err := json.Marshal(benchInput)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "bench")
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
		return err
	}
}

// runVariant is one way of making the request.
type runVariant struct {
	name string
	do   func(context.Context) error
}

// runVariants starts a server and returns the ways of making the request:
// falgo's Run; the floor; and the floor with a 120 s per-request context
// timeout, as falgo sets on every attempt (WithTimeout), which shows how
// much of falgo's overhead that timeout accounts for.
func runVariants(b *testing.B) []runVariant {
	env := benchServerEnv(b)
	c := benchClient(b, env)
	return []runVariant{
		{"falgo", func(ctx context.Context) error {
			_, err := c.Run(ctx, "falgo/echo", benchInput)
			return err
		}},
		{"nethttp", bareRun(env)},
		{"nethttp-timeout", func() func(context.Context) error {
			do := bareRun(env)
			return func(ctx context.Context) error {
				ctx, cancel := context.WithTimeout(ctx, 120*time.Second)
				defer cancel()
				return do(ctx)
			}
		}()},
	}
}

// cpuMeter reports the process's CPU time per operation as the custom
// metric "cpu-ns/op": the client's CPU cost of a call, which ns/op (wall
// time, server included) does not show.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
	ok    bool
}

// startCPU resets the benchmark timer and starts measuring CPU time.
func startCPU(b *testing.B) cpuMeter {
	b.ResetTimer()
	t, ok := processCPU()
	return cpuMeter{b: b, start: t, ok: ok}
}

func (m cpuMeter) report() {
	m.b.StopTimer()
	if t, ok := processCPU(); ok && m.ok && m.b.N > 0 {
		m.b.ReportMetric(float64(t-m.start)/float64(m.b.N), "cpu-ns/op")
	}
}

// BenchmarkRunEcho is one sync Run after another: the latency, the
// client's CPU time (cpu-ns/op) and the allocations of one call (allocs/op
// with -benchmem is "allocations per sync Run"; the nethttp sub-benchmark
// is the floor to compare with).
func BenchmarkRunEcho(b *testing.B) {
	ctx := context.Background()
	for _, v := range runVariants(b) {
		b.Run(v.name, func(b *testing.B) {
			if err := v.do(ctx); err != nil { // connect before timing
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu := startCPU(b)
			for i := 0; i < b.N; i++ {
				if err := v.do(ctx); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report()
		})
	}
}

// BenchmarkRunParallel64 runs sync Runs from 64 goroutines, the harness's
// concurrency-64 workload.
func BenchmarkRunParallel64(b *testing.B) {
	ctx := context.Background()
	for _, v := range runVariants(b) {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0))) // 64 goroutines in all
			cpu := startCPU(b)
			defer cpu.report()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := v.do(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
