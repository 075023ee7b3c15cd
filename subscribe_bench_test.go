package fal_test

import (
	"context"
	"net/http"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// BenchmarkSubscribeHandoff measures the time from a job finishing on the
// server (the handler returning) to Subscribe returning its result, with
// the status stream and with polling at the default interval. It reports
// the median and p99 as custom metrics (ns/op is the whole Subscribe).
//
//	go test -run '^$' -bench SubscribeHandoff -benchtime 50x .
func BenchmarkSubscribeHandoff(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts []fal.RequestOption
	}{
		{"stream", nil},
		{"polling", []fal.RequestOption{fal.WithPolling(0)}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			var finished atomic.Int64
			srv := faltest.NewServer(faltest.WithoutDemoApps(), faltest.WithApp("bench/job", func(ctx context.Context, req *faltest.Request) (any, error) {
				time.Sleep(20 * time.Millisecond) // the job has to be running when the client starts waiting
				finished.Store(time.Now().UnixNano())
				return map[string]bool{"ok": true}, nil
			}))
			defer srv.Close()
			tr := http.DefaultTransport.(*http.Transport).Clone()
			defer tr.CloseIdleConnections()
			c := srv.Client(fal.WithHTTPClient(&http.Client{Transport: tr}))
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Subscribe(ctx, "bench/job", nil, mode.opts...); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Duration(time.Now().UnixNano()-finished.Load()))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-median-handoff")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "ms-p99-handoff")
		})
	}
}
