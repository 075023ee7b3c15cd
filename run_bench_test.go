package fal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/falgo/fal"
)

// The Run benchmarks compare a sync Run with the same request written by
// hand with net/http, against a faltest server in a child process (see
// childServerEnv), so that -benchmem's allocations and -cpuprofile's
// samples are the client's alone:
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

// bareRun is the floor: the same request by hand, with a transport that
// keeps as many idle connections as falgo's default.
func bareRun(env map[string]string) func(ctx context.Context) error { return bareRunWith(env, false) }

// bareRunWith is bareRun over HTTP/1.1, or over HTTP/2 cleartext with
// prior knowledge when h2c is set.
func bareRunWith(env map[string]string, h2c bool) func(ctx context.Context) error {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	if h2c {
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		tr.Protocols = p
	}
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

// serverWarmup is how many requests warm a benchmark's server up.
const serverWarmup = 5000

// runVariant is one way of making the request.
type runVariant struct {
	name string
	do   func(context.Context) error
}

// runVariants starts a server and returns the ways of making the request:
// falgo's Run; the floor; falgo and the floor over HTTP/2 cleartext; and
// the floor with a 120 s per-request context timeout, as falgo sets on
// every attempt (WithTimeout), which shows how much of falgo's overhead
// that timeout accounts for.
func runVariants(b *testing.B) []runVariant {
	env := childServerEnv(b)
	c := childClient(b, env)
	// Warm the new server up first (its goroutine stacks, buffers and
	// collector pacing): otherwise the variant measured first pays for it.
	warm := bareRun(env)
	for i := 0; i < serverWarmup; i++ {
		if err := warm(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	return []runVariant{
		{"falgo", func(ctx context.Context) error {
			_, err := c.Run(ctx, "falgo/echo", benchInput)
			return err
		}},
		{"nethttp", bareRun(env)},
		{"falgo-h2c", func() func(context.Context) error {
			c := childClient(b, env, fal.WithHTTP2Cleartext())
			b.Cleanup(fal.CloseCleartextIdle)
			return func(ctx context.Context) error {
				_, err := c.Run(ctx, "falgo/echo", benchInput)
				return err
			}
		}()},
		{"nethttp-h2c", bareRunWith(env, true)},
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

// benchOutput is a text-to-image output the size of a real fal answer
// (two images, timings, the prompt echoed back).
var benchOutput = json.RawMessage(`{"images":[{"url":"https://v3.fal.media/files/lion/8dBq0cP4oX1a7nKz3sYt2_image-0.png","width":1024,"height":768,"content_type":"image/png"},{"url":"https://v3.fal.media/files/zebra/Qm2vT9xLr5Hh0pWc1dJk8_image-1.png","width":1024,"height":768,"content_type":"image/png"}],"timings":{"inference":2.4816},"seed":1234567890,"has_nsfw_concepts":[false,false],"prompt":"a lighthouse on a cliff at dusk, oil painting, dramatic light, highly detailed, golden hour"}`)

// benchOutputStruct is how a caller declares that output.
type benchOutputStruct struct {
	Images          []fal.File         `json:"images"`
	Timings         map[string]float64 `json:"timings"`
	Seed            int64              `json:"seed"`
	HasNSFWConcepts []bool             `json:"has_nsfw_concepts"`
	Prompt          string             `json:"prompt"`
}

// BenchmarkResultDecode decodes a result the ways a caller reads it: into
// a struct with fal.File fields, into a generic map, and with FindFiles.
//
//	go test -run '^$' -bench ResultDecode -benchmem .
func BenchmarkResultDecode(b *testing.B) {
	res := &fal.Result{RequestID: "5e1f0c1a-9d4b-4c52-8a55-2b8f1c9e7d31", Data: benchOutput}
	b.Run("struct", func(b *testing.B) {
		b.SetBytes(int64(len(benchOutput)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var out benchOutputStruct
			if err := res.Decode(&out); err != nil {
				b.Fatal(err)
			}
			if len(out.Images) != 2 {
				b.Fatalf("decoded %d images, want 2", len(out.Images))
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		b.SetBytes(int64(len(benchOutput)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var out map[string]any
			if err := res.Decode(&out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("findfiles", func(b *testing.B) {
		b.SetBytes(int64(len(benchOutput)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if files := fal.FindFiles(res.Data); len(files) != 2 {
				b.Fatalf("found %d files, want 2", len(files))
			}
		}
	})
}
