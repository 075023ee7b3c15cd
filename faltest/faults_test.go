package faltest_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
)

func TestFaultTooManyRequests(t *testing.T) {
	srv := newServer(t, faltest.WithFaults(1, faltest.FaultRule{Route: "run", Kind: faltest.TooManyRequests, Count: 2, RetryAfter: 1500 * time.Millisecond}))
	for i := 0; i < 2; i++ {
		r := call(t, srv, "POST", "/run/falgo/echo", `{}`)
		if r.code != 429 || r.header.Get("Retry-After") != "2" || r.header.Get("x-fal-request-id") == "" {
			t.Fatalf("request %d: %d %v", i, r.code, r.header)
		}
		if d, _ := r.json(t)["detail"].(string); d == "" {
			t.Fatalf("429 without detail: %s", r.body)
		}
	}
	if r := call(t, srv, "POST", "/run/falgo/echo", `{}`); r.code != 200 {
		t.Fatalf("third request: %d", r.code)
	}
	// Other routes are untouched.
	if r := call(t, srv, "POST", "/queue/falgo/echo", `{}`); r.code != 200 {
		t.Fatalf("submit: %d", r.code)
	}
	st := srv.Stats()
	if st.Requests["run"] != 3 || st.Faults["run"] != 2 || st.Requests["submit"] != 1 || st.Faults["submit"] != 0 {
		t.Fatalf("stats %+v", st)
	}
	if n := srv.Executions("falgo/echo"); n < 1 || n > 2 {
		t.Fatalf("Executions = %d; the two faulted runs must not count", n)
	}
}

func TestFaultIngress(t *testing.T) {
	for _, c := range []struct {
		kind faltest.FaultKind
		code int
	}{{faltest.Ingress502, 502}, {faltest.Ingress503, 503}, {faltest.Ingress504, 504}} {
		srv := newServer(t, faltest.WithFaults(1, faltest.FaultRule{Route: "status", Kind: c.kind}))
		sub := submit(t, srv, "falgo/echo", `{}`)
		r := call(t, srv, "GET", sub["status_url"].(string), "")
		if r.code != c.code || !strings.Contains(string(r.body), "nginx") || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Fatalf("%v: %d %v %s", c.kind, r.code, r.header, r.body)
		}
		if _, ok := r.header["X-Fal-Request-Id"]; ok {
			t.Fatalf("%v: an ingress error carries x-fal-request-id", c.kind)
		}
	}
}

func TestFaultAppError500(t *testing.T) {
	srv := newServer(t, faltest.WithFaults(1, faltest.FaultRule{Route: "result", Kind: faltest.AppError500}))
	sub := submit(t, srv, "falgo/echo", `{}`)
	waitStatus(t, srv, sub, "", "completion", isCompleted)
	r := call(t, srv, "GET", sub["response_url"].(string), "")
	if r.code != 500 || r.header.Get("x-fal-request-id") == "" || strings.Contains(string(r.body), "nginx") {
		t.Fatalf("%d %v %s", r.code, r.header, r.body)
	}
	if _, ok := r.json(t)["detail"]; !ok {
		t.Fatalf("no detail: %s", r.body)
	}
}

func TestFaultConnReset(t *testing.T) {
	srv := newServer(t, faltest.WithFaults(1, faltest.FaultRule{Route: "*", Kind: faltest.ConnReset, Count: 1}))
	resp, err := send(srv, "POST", "/run/falgo/echo", `{}`)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got a response (%d), want a transport error", resp.StatusCode)
	}
	t.Logf("transport error: %v", err)
	var ne net.Error
	var oe *net.OpError
	if !errors.As(err, &oe) && !errors.As(err, &ne) && !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("error %v (%T) is not a transport error", err, err)
	}
	if r := call(t, srv, "POST", "/run/falgo/echo", `{}`); r.code != 200 {
		t.Fatalf("after the reset: %d", r.code)
	}
	if srv.Stats().Faults["run"] != 1 || srv.Executions("falgo/echo") != 1 {
		t.Fatalf("stats %+v, executions %d", srv.Stats(), srv.Executions("falgo/echo"))
	}
}

func TestFaultLatency(t *testing.T) {
	srv := newServer(t, faltest.WithFaults(1, faltest.FaultRule{Route: "run", Kind: faltest.Latency, Latency: 60 * time.Millisecond}))
	start := time.Now()
	if r := call(t, srv, "POST", "/run/falgo/echo", `{}`); r.code != 200 {
		t.Fatalf("%d", r.code)
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Fatalf("answered after %v, want at least 60ms", d)
	}
	// Latency before another fault.
	if err := srv.SetFaults(1, faltest.FaultRule{Route: "run", Kind: faltest.AppError500, Latency: 30 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if r := call(t, srv, "POST", "/run/falgo/echo", `{}`); r.code != 500 || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("%d after %v", r.code, time.Since(start))
	}
}

// faultPattern runs n sequential requests and marks the faulted ones.
func faultPattern(t *testing.T, srv *faltest.Server, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if call(t, srv, "POST", "/run/falgo/echo", `{}`).code == 200 {
			b.WriteByte('.')
		} else {
			b.WriteByte('x')
		}
	}
	return b.String()
}

func TestFaultRateIsDeterministic(t *testing.T) {
	rule := faltest.FaultRule{Route: "run", Kind: faltest.TooManyRequests, Rate: 0.5}
	a := faultPattern(t, newServer(t, faltest.WithFaults(42, rule)), 60)
	b := faultPattern(t, newServer(t, faltest.WithFaults(42, rule)), 60)
	c := faultPattern(t, newServer(t, faltest.WithFaults(7, rule)), 60)
	if a != b {
		t.Fatalf("same seed, different faults:\n%s\n%s", a, b)
	}
	if a == c {
		t.Fatalf("different seeds, same faults: %s", a)
	}
	if n := strings.Count(a, "x"); n < 10 || n > 50 {
		t.Fatalf("rate 0.5 faulted %d of 60: %s", n, a)
	}
	srv := newServer(t)
	_ = srv.SetFaults(42, rule)
	if got := faultPattern(t, srv, 60); got != a {
		t.Fatalf("SetFaults with the same seed: %s, want %s", got, a)
	}
}

func TestFaultEveryAndOff(t *testing.T) {
	srv := newServer(t, faltest.WithFaults(1, faltest.FaultRule{Route: "run", Kind: faltest.AppError500, Every: 3}))
	if got := faultPattern(t, srv, 9); got != "..x..x..x" {
		t.Fatalf("Every 3: %s", got)
	}
	if err := srv.SetFaults(0); err != nil {
		t.Fatal(err)
	}
	if got := faultPattern(t, srv, 4); got != "...." {
		t.Fatalf("after SetFaults(0): %s", got)
	}
	if err := srv.SetFaults(0, faltest.FaultRule{Kind: faltest.TooManyRequests, Rate: -1}); err == nil {
		t.Fatal("SetFaults accepted a negative rate")
	}
	if got := faltest.Ingress503.String(); got != "Ingress503" {
		t.Fatalf("String() = %q", got)
	}
}

func TestFaultFirstRuleWins(t *testing.T) {
	srv := newServer(t, faltest.WithFaults(1,
		faltest.FaultRule{Route: "run", Kind: faltest.Ingress502, Count: 1},
		faltest.FaultRule{Route: "run", Kind: faltest.TooManyRequests, Count: 1},
	))
	codes := []int{}
	for i := 0; i < 3; i++ {
		codes = append(codes, call(t, srv, "POST", "/run/falgo/echo", `{}`).code)
	}
	if codes[0] != 502 || codes[1] != 429 || codes[2] != 200 {
		t.Fatalf("codes %v, want [502 429 200]", codes)
	}
}
