package fal_test

import (
	"context"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falgo/fal"
)

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
	c := childClient(b, childServerEnv(b))
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
