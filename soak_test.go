package fal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// TestSoak runs many Subscribe calls at once against a faltest server that
// injects faults on every queue route: ingress 503s, 429s with Retry-After,
// connection resets before the response, and latency spikes. Every call must
// end with its own output or a typed error, and no job may run twice for one
// call. The CI form is small; FALGO_SOAK=long runs the long form and prints
// the figures.
func TestSoak(t *testing.T) {
	calls, concurrency := 200, 32
	if os.Getenv("FALGO_SOAK") == "long" {
		calls, concurrency = 5000, 128
	}
	if testing.Short() {
		calls = 50
	}
	var mu sync.Mutex
	runs := map[string]int{}
	app := faltest.WithApp("soak/job", func(ctx context.Context, req *faltest.Request) (any, error) {
		var in struct {
			ID string `json:"id"`
		}
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		mu.Lock()
		runs[in.ID]++
		mu.Unlock()
		req.Log("INFO", "working on "+in.ID)
		select {
		case <-time.After(time.Duration(rand.IntN(20)) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return map[string]string{"id": in.ID}, nil
	}, faltest.Concurrency(16))
	faults := []faltest.FaultRule{
		{Route: "*", Kind: faltest.Latency, Rate: 0.05, Latency: 150 * time.Millisecond},
		{Route: "submit", Kind: faltest.Ingress503, Rate: 0.05},
		{Route: "submit", Kind: faltest.TooManyRequests, Rate: 0.03, RetryAfter: time.Second},
		{Route: "submit", Kind: faltest.ConnReset, Rate: 0.02},
		{Route: "status", Kind: faltest.Ingress503, Rate: 0.05},
		{Route: "status", Kind: faltest.ConnReset, Rate: 0.03},
		{Route: "status_stream", Kind: faltest.ConnReset, Rate: 0.05},
		{Route: "status_stream", Kind: faltest.Ingress502, Rate: 0.05},
		{Route: "result", Kind: faltest.Ingress503, Rate: 0.05},
		{Route: "result", Kind: faltest.TooManyRequests, Rate: 0.03, RetryAfter: time.Second},
		{Route: "result", Kind: faltest.ConnReset, Rate: 0.03},
	}
	srv, c, _ := newLocal(t, []faltest.Option{faltest.WithoutDemoApps(), app, faltest.WithFaults(42, faults...)},
		fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 6, BaseDelay: 20 * time.Millisecond, MaxDelay: 500 * time.Millisecond}),
		fal.WithPollInterval(50*time.Millisecond))

	type outcome struct {
		id  string
		err error
		out string
	}
	results := make([]outcome, calls)
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i := 0; i < calls; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id := "job-" + strconv.Itoa(i)
			res, err := c.Subscribe(ctx, "soak/job", map[string]string{"id": id}, fal.WithLogs(i%2 == 0))
			o := outcome{id: id, err: err}
			if err == nil {
				var v struct {
					ID string `json:"id"`
				}
				_ = json.Unmarshal(res.Data, &v)
				o.out = v.ID
			}
			results[i] = o
		}()
	}
	wg.Wait()
	took := time.Since(start)

	kinds := map[string]int{}
	for _, o := range results {
		mu.Lock()
		n := runs[o.id]
		mu.Unlock()
		if n > 1 {
			t.Errorf("%s ran %d times for one call", o.id, n)
		}
		if o.err == nil {
			if o.out != o.id {
				t.Errorf("%s got the output of %q", o.id, o.out)
			}
			if n != 1 {
				t.Errorf("%s succeeded but ran %d times", o.id, n)
			}
			kinds["ok"]++
			continue
		}
		var he *fal.HTTPError
		var ne net.Error
		var te *fal.TimeoutError
		switch {
		case errors.As(o.err, &he):
			kinds[fmt.Sprintf("http %d", he.StatusCode)]++
		case errors.As(o.err, &te):
			kinds["timeout"]++
		case errors.As(o.err, &ne):
			kinds["network"]++
		default:
			t.Errorf("%s: untyped error %T: %v", o.id, o.err, o.err)
		}
	}
	st := srv.Stats()
	var faultNames []string
	total := 0
	for r, n := range st.Faults {
		faultNames = append(faultNames, fmt.Sprintf("%s=%d", r, n))
		total += n
	}
	sort.Strings(faultNames)
	t.Logf("soak: %d calls at concurrency %d in %v; outcomes %v; %d faults injected %v", calls, concurrency, took.Round(time.Millisecond), kinds, total, faultNames)
	if kinds["ok"] < calls*8/10 {
		t.Errorf("only %d of %d calls succeeded; retries should absorb most faults", kinds["ok"], calls)
	}
	if total == 0 {
		t.Error("no fault was injected: the soak proved nothing")
	}
}
