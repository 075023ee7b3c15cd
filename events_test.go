package fal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// TestQueuePositionsDecreaseToZero follows the last of four jobs of an app
// with one runner slot. The jobs run one at a time, each released by the
// test when it sees the last job's status change, so every position is
// seen whatever the timing.
func TestQueuePositionsDecreaseToZero(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"stream", "polling"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			started, release := make(chan struct{}, 4), make(chan struct{})
			_, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/gated", func(ctx context.Context, req *faltest.Request) (any, error) {
				started <- struct{}{}
				select {
				case <-release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return map[string]string{"ok": "yes"}, nil
			}, faltest.Concurrency(1))})
			ctx := bg(t)
			var opts []fal.RequestOption
			if mode == "polling" {
				opts = append(opts, fal.WithPolling(5*time.Millisecond))
			}
			var last *fal.RequestHandle
			for i := 0; i < 4; i++ {
				h, err := c.Submit(ctx, "t/gated", map[string]int{"i": i})
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					<-started // the first job holds the slot: the others queue behind it
				}
				last = h
			}
			var positions []int
			var states []string
			for st, err := range last.Events(ctx, opts...) {
				if err != nil {
					t.Fatal(err)
				}
				states = append(states, st.State())
				if q, ok := st.(fal.Queued); ok {
					positions = append(positions, q.Position)
				}
				if _, done := st.(fal.Completed); !done {
					select {
					case release <- struct{}{}: // the running job ends: the next one starts
					case <-ctx.Done():
						t.Fatalf("no job took the release; states %v", states)
					}
				}
			}
			if fmt.Sprint(positions) != "[2 1 0]" {
				t.Fatalf("positions %v, want [2 1 0]: one per change, repeats are not news", positions)
			}
			if strings.Join(states, ",") != "IN_QUEUE,IN_QUEUE,IN_QUEUE,IN_PROGRESS,COMPLETED" {
				t.Fatalf("states %v", states)
			}
			res, err := last.Result(ctx)
			if err != nil || !strings.Contains(string(res.Data), `"ok"`) {
				t.Fatalf("Result: %v %v", err, res)
			}
		})
	}
}

// proxy sits between the client and faltest to break the status stream.
type proxy struct {
	*httptest.Server
	streams, polls atomic.Int32
	// firstEvent is closed when the first status stream has forwarded
	// an event, cut when it has been cut (mode "drop").
	firstEvent, cut chan struct{}
}

// newProxy forwards everything to srv; streamMode "drop" cuts the first
// status stream after two events, "disabled" answers 404 to every status
// stream request.
func newProxy(t *testing.T, srv *faltest.Server, streamMode string) *proxy {
	target, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1
	p := &proxy{firstEvent: make(chan struct{}), cut: make(chan struct{})}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/status/stream"):
			n := p.streams.Add(1)
			if streamMode == "disabled" {
				http.Error(w, `{"detail":"Not Found"}`, http.StatusNotFound)
				return
			}
			if streamMode == "drop" && n == 1 {
				rp.ServeHTTP(&cutter{ResponseWriter: w, after: 2, first: p.firstEvent, cut: p.cut}, r)
				return
			}
		case strings.HasSuffix(r.URL.Path, "/status"):
			p.polls.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// cutter aborts the response after a number of SSE events went through,
// closing first after the first one and cut just before it aborts.
type cutter struct {
	http.ResponseWriter
	after, seen int
	first, cut  chan struct{}
	once        sync.Once
}

func (c *cutter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.seen += strings.Count(string(b), "\n\n")
	c.Flush()
	if c.seen >= 1 {
		c.once.Do(func() { close(c.first) })
	}
	if c.seen >= c.after {
		close(c.cut)
		panic(http.ErrAbortHandler) // the connection drops mid-stream
	}
	return n, err
}

func (c *cutter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func clientVia(t *testing.T, p *proxy, tr *http.Transport, opts ...fal.Option) *fal.Client {
	c, err := fal.NewClient(append([]fal.Option{fal.WithKey(faltest.DefaultKey), fal.WithHTTPClient(&http.Client{Transport: tr}),
		fal.WithRunHost(p.URL + "/run"), fal.WithQueueHost(p.URL + "/queue")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// logMessages collects the log messages of every status OnQueueUpdate sees.
func logMessages(got *[]string) fal.RequestOption {
	return fal.OnQueueUpdate(func(st fal.Status) {
		switch s := st.(type) {
		case fal.InProgress:
			for _, l := range s.Logs {
				*got = append(*got, l.Message)
			}
		case fal.Completed:
			for _, l := range s.Logs {
				*got = append(*got, l.Message)
			}
		}
	})
}

// TestLogsInOrderWithoutDuplicatesAcrossStreamDrop cuts the status stream
// after its second event, while the job runs: the app logs its first line
// once the stream has delivered an event, and the rest once the stream was
// cut, so the cut happens mid-job whatever the timing.
func TestLogsInOrderWithoutDuplicatesAcrossStreamDrop(t *testing.T) {
	t.Parallel()
	var p *proxy
	ready := make(chan struct{})
	srv, _, tr := newLocal(t, []faltest.Option{faltest.WithApp("t/logger", func(ctx context.Context, req *faltest.Request) (any, error) {
		if !awaitOrDone(ctx, ready) || !awaitOrDone(ctx, p.firstEvent) {
			return nil, ctx.Err()
		}
		req.Log("INFO", "line 1")
		if !awaitOrDone(ctx, p.cut) {
			return nil, ctx.Err()
		}
		for i := 2; i <= 12; i++ {
			req.Log("INFO", fmt.Sprintf("line %d", i))
		}
		return map[string]int{"lines": 12}, nil
	})})
	p = newProxy(t, srv, "drop")
	close(ready)
	c := clientVia(t, p, tr)
	var got []string
	res, err := c.Subscribe(bg(t), "t/logger", nil, fal.WithLogs(true), logMessages(&got))
	if err != nil {
		t.Fatal(err)
	}
	if p.streams.Load() < 2 {
		t.Fatalf("the status stream was opened %d times; the drop did not happen", p.streams.Load())
	}
	var want []string
	for i := 1; i <= 12; i++ {
		want = append(want, fmt.Sprintf("line %d", i))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("logs = %v\nwant %v", got, want)
	}
	if string(res.Data) != `{"lines":12}` {
		t.Fatalf("result %s", res.Data)
	}
}

func TestPollingFallbackWhenStreamDisabled(t *testing.T) {
	t.Parallel()
	srv, _, tr := newLocal(t, []faltest.Option{faltest.WithApp("t/logger", func(ctx context.Context, req *faltest.Request) (any, error) {
		for i := 1; i <= 3; i++ {
			req.Log("INFO", fmt.Sprintf("line %d", i))
		}
		return map[string]int{"lines": 3}, nil
	})})
	p := newProxy(t, srv, "disabled")
	c := clientVia(t, p, tr)
	var logs []string
	res, err := c.Subscribe(bg(t), "t/logger", nil, fal.WithLogs(true), logMessages(&logs))
	if err != nil {
		t.Fatal(err)
	}
	if p.streams.Load() != 1 || p.polls.Load() < 1 {
		t.Fatalf("stream tried %d times, polled %d times; want 1 try then polling", p.streams.Load(), p.polls.Load())
	}
	if strings.Join(logs, ",") != "line 1,line 2,line 3" || string(res.Data) != `{"lines":3}` {
		t.Fatalf("logs %v result %s", logs, res.Data)
	}
}
