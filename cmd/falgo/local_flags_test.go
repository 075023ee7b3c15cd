package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// localClient is a fal client of the `falgo local` l, without retries.
func localClient(t *testing.T, l *localRun) *fal.Client {
	t.Helper()
	cl, err := fal.NewClient(fal.WithKey(l.env["FAL_KEY"]), fal.WithRunHost(l.env["FAL_RUN_HOST"]),
		fal.WithQueueHost(l.env["FAL_QUEUE_RUN_HOST"]), fal.WithRestHost(l.env["FAL_REST_HOST"]),
		fal.WithCDNHost(l.env["FAL_CDN_HOST"]), fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// startLocalClient starts `falgo local args...` and returns it, a client of
// it and a context for the test's calls.
func startLocalClient(t *testing.T, args ...string) (*localRun, *fal.Client, context.Context) {
	t.Helper()
	l := startLocal(t, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return l, localClient(t, l), ctx
}

// statusUntil polls h's status until want accepts it, within waitLimit.
func statusUntil(t *testing.T, ctx context.Context, h *fal.RequestHandle, what string, want func(fal.Status) bool) fal.Status {
	t.Helper()
	var st fal.Status
	ok := eventually(func() bool {
		var err error
		st, err = h.Status(ctx)
		return err == nil && want(st)
	})
	if !ok {
		t.Fatalf("request %s never got to %s (last status %#v)", h.RequestID, what, st)
	}
	return st
}

func TestLocalListPrintsTheApps(t *testing.T) {
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"local", "--list"}, &stdout, &stderr)
	if code != exitOK || stderr.String() != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing on stderr", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != len(faltest.DemoApps()) {
		t.Fatalf("%d lines, want one per demo app: %q", len(lines), stdout.String())
	}
	for i, a := range faltest.DemoApps() {
		if !strings.HasPrefix(lines[i], a.ID+" ") {
			t.Errorf("line %d = %q, want %s first", i+1, lines[i], a.ID)
		}
	}
}

func TestLocalPrintsTheAppsItServes(t *testing.T) {
	l := startLocal(t, "--addr", "127.0.0.1:0")
	// The list is written a line at a time: wait for all of it.
	listed := func() bool {
		for _, a := range faltest.DemoApps() {
			if !strings.Contains(l.stderr.String(), "  "+a.ID+" ") {
				return false
			}
		}
		return true
	}
	if !eventually(listed) {
		t.Fatalf("stderr %q; want every demo app listed at start", l.stderr.String())
	}
}

func TestLocalRunnersAndLatencyMakeAQueue(t *testing.T) {
	t.Run("--runners 1 --latency 10m", func(t *testing.T) { testLatencyMakesAQueue(t, "--runners", "1", "--latency", "10m") })
	// --latency alone gives each app one runner.
	t.Run("--latency 10m", func(t *testing.T) { testLatencyMakesAQueue(t, "--latency", "10m") })
}

func testLatencyMakesAQueue(t *testing.T, args ...string) {
	l, cl, ctx := startLocalClient(t, args...)
	in := map[string]any{"prompt": "x"}
	a, err := cl.Submit(ctx, faltest.DemoFluxSchnell, in)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Cancel(context.WithoutCancel(ctx)) //nolint:errcheck // cleanup
	statusUntil(t, ctx, a, "IN_PROGRESS", func(st fal.Status) bool { _, ok := st.(fal.InProgress); return ok })
	b, err := cl.Submit(ctx, faltest.DemoFluxSchnell, in)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Cancel(context.WithoutCancel(ctx)) //nolint:errcheck // cleanup
	if st, err := b.Status(ctx); err != nil {
		t.Fatal(err)
	} else if _, queued := st.(fal.Queued); !queued {
		t.Errorf("the second request is %#v while the one runner works for 10m; want it in the queue", st)
	}
	// A works for 10m (--latency): cancelled now, it was still running.
	if err := a.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Result(ctx); !errors.As(err, new(*fal.RequestError)) {
		t.Errorf("the first request's result after a cancel: %v; want it cancelled while still working", err)
	}
	// The start line goes to stderr after the exports to stdout, which
	// the client was started from: wait for it rather than race it.
	if !eventually(func() bool { return strings.Contains(l.stderr.String(), "10m0s per request, 1 runner per app") }) {
		t.Errorf("stderr %q; want the start line to say how the apps were changed", l.stderr.String())
	}
}

func TestLocalStartupDelayIsAColdStart(t *testing.T) {
	_, cl, ctx := startLocalClient(t, "--startup", "10m")
	h, err := cl.Submit(ctx, faltest.DemoEcho, map[string]any{"a": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Cancel(context.WithoutCancel(ctx)) //nolint:errcheck // cleanup
	if st, err := h.Status(ctx); err != nil {
		t.Fatal(err)
	} else if q, ok := st.(fal.Queued); !ok || q.Position != 0 {
		t.Errorf("status %#v during a 10m cold start; want IN_QUEUE at position 0", st)
	}
}

func TestLocalFaultsAreInjected(t *testing.T) {
	_, cl, ctx := startLocalClient(t, "--faults", "submit:429:count=1")
	_, err := cl.Submit(ctx, faltest.DemoEcho, map[string]any{"a": 1})
	var he *fal.HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("first submit: %v; want the injected 429", err)
	}
	if _, err := cl.Submit(ctx, faltest.DemoEcho, map[string]any{"a": 1}); err != nil {
		t.Errorf("second submit: %v; count=1 should let it through", err)
	}
}

func TestParseFaults(t *testing.T) {
	rules, err := parseFaults("submit:429:count=2:retry-after=1s,result:502:every=3,*:latency=50ms,status:reset:rate=0.5")
	if err != nil {
		t.Fatal(err)
	}
	want := []faltest.FaultRule{
		{Route: "submit", Kind: faltest.TooManyRequests, Count: 2, RetryAfter: time.Second},
		{Route: "result", Kind: faltest.Ingress502, Every: 3},
		{Route: "*", Kind: faltest.Latency, Latency: 50 * time.Millisecond},
		{Route: "status", Kind: faltest.ConnReset, Rate: 0.5},
	}
	if len(rules) != len(want) {
		t.Fatalf("%d rules, want %d", len(rules), len(want))
	}
	for i := range want {
		if rules[i] != want[i] {
			t.Errorf("rule %d = %+v, want %+v", i, rules[i], want[i])
		}
	}
	for _, bad := range []string{"submit", "submt:429", "submit:418", "submit:429:every=0", "submit:429:rate=2", "submit:429:often", "result:latency=soon"} {
		if _, err := parseFaults(bad); err == nil {
			t.Errorf("parseFaults(%q) accepted it", bad)
		}
	}
}
