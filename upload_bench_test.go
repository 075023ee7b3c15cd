package fal_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// TestMain doubles as a faltest server process for benchmarks that must
// measure the client's memory alone: with FALGO_TEST_SERVER=1 it serves
// until its standard input closes.
func TestMain(m *testing.M) {
	if os.Getenv("FALGO_TEST_SERVER") == "1" {
		srv := faltest.NewServer()
		for _, kv := range srv.Env() {
			fmt.Println(kv)
		}
		fmt.Println("READY")
		_, _ = io.Copy(io.Discard, os.Stdin)
		srv.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serverProcess starts faltest in a child process and returns a client for it.
func serverProcess(b *testing.B, opts ...fal.Option) *fal.Client {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FALGO_TEST_SERVER=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	env := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "READY" {
		k, v, _ := strings.Cut(sc.Text(), "=")
		env[k] = v
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	c, err := fal.NewClient(append([]fal.Option{fal.WithKey(env["FAL_KEY"]), fal.WithRunHost(env["FAL_RUN_HOST"]),
		fal.WithQueueHost(env["FAL_QUEUE_RUN_HOST"]), fal.WithRestHost(env["FAL_REST_HOST"]), fal.WithCDNHost(env["FAL_CDN_HOST"])}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// genReader yields n deterministic bytes without holding them.
type genReader struct{ left, i int64 }

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > g.left {
		n = g.left
	}
	for j := int64(0); j < n; j++ {
		p[j] = byte(g.i + j)
	}
	g.i += n
	g.left -= n
	return int(n), nil
}

// BenchmarkUpload1GiB uploads 1 GiB from a generated plain io.Reader to a
// faltest server in another process, and reports throughput (MB/s) and the
// client's peak heap, sampled every 5 ms.
//
//	go test -run '^$' -bench Upload1GiB -benchtime 1x .
func BenchmarkUpload1GiB(b *testing.B) {
	const size = 1 << 30
	c := serverProcess(b)
	b.SetBytes(size)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	runtime.GC()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Upload(context.Background(), &genReader{left: size}, fal.WithContentType("application/octet-stream")); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak.Load())/(1<<20), "MiB-peak-heap")
}
