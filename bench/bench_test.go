package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
)

func TestParseExport(t *testing.T) {
	for _, tc := range []struct {
		line, name, value string
		bad               bool
	}{
		{line: "export FAL_KEY=faltest-key", name: "FAL_KEY", value: "faltest-key"},
		{line: "export FAL_RUN_HOST=http://127.0.0.1:8080/run", name: "FAL_RUN_HOST", value: "http://127.0.0.1:8080/run"},
		{line: `export X='it'\''s a key'`, name: "X", value: "it's a key"},
		{line: "FAL_KEY=x", bad: true},
		{line: "export =x", bad: true},
		{line: "export X='unterminated", bad: true},
	} {
		name, value, err := parseExport(tc.line)
		if tc.bad {
			if err == nil {
				t.Errorf("parseExport(%q) = %q, %q; want an error", tc.line, name, value)
			}
			continue
		}
		if err != nil || name != tc.name || value != tc.value {
			t.Errorf("parseExport(%q) = %q, %q, %v; want %q, %q", tc.line, name, value, err, tc.name, tc.value)
		}
	}
}

func TestMedianAndPercentile(t *testing.T) {
	if got := median([]float64{5, 1, 3}); got != 3 {
		t.Errorf("median of 5,1,3 = %v, want 3", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of 4,1,3,2 = %v, want 2.5", got)
	}
	if !math.IsNaN(median(nil)) || !math.IsNaN(percentile(nil, 99)) {
		t.Error("median and percentile of nothing must be NaN")
	}
	xs := make([]float64, 100)
	for i := range xs {
		xs[i] = float64(100 - i) // 100..1
	}
	if got := percentile(xs, 99); got != 99 {
		t.Errorf("p99 of 1..100 = %v, want 99 (nearest rank)", got)
	}
	if got := percentile(xs, 100); got != 100 {
		t.Errorf("p100 of 1..100 = %v, want 100", got)
	}
	if got := percentile([]float64{7}, 50); got != 7 {
		t.Errorf("p50 of one value = %v, want it", got)
	}
}

func TestFormatNumber(t *testing.T) {
	for _, tc := range []struct {
		v      float64
		digits int
		want   string
	}{
		{1234, 0, "1234"},
		{12345, 0, "12,345"},
		{1234567.25, 2, "1,234,567.25"},
		{-98765, 0, "-98,765"},
		{0.567, 2, "0.57"},
	} {
		if got := formatNumber(tc.v, tc.digits); got != tc.want {
			t.Errorf("formatNumber(%v, %d) = %q, want %q", tc.v, tc.digits, got, tc.want)
		}
	}
}

func TestRowTargets(t *testing.T) {
	rps := &row{dir: higherBetter, falgo: value(800), floor: value(1000), js: value(100),
		targets: []target{{"≥ 0.85× floor", "floor", 0.85}, {"≥ 5× JS", "js", 5}}}
	rps.setRatios()
	if got := rps.vsFloor.v; got != 0.8 {
		t.Fatalf("falgo ÷ floor = %v, want 0.8", got)
	}
	if v := rps.verdict(); !strings.Contains(v, "≥ 0.85× floor: MISSED by 6%") || !strings.Contains(v, "≥ 5× JS: met") {
		t.Errorf("verdict = %q", v)
	}
	mem := &row{dir: lowerBetter, falgo: value(100), targets: []target{{"< 128 MiB", "abs", 128}}}
	if met, _, ok := mem.check(mem.targets[0]); !met || !ok {
		t.Errorf("100 MiB against a 128 MiB limit: met %v ok %v", met, ok)
	}
	mem.falgo = value(160)
	if met, miss, _ := mem.check(mem.targets[0]); met || math.Abs(miss-0.25) > 1e-9 {
		t.Errorf("160 MiB against 128 MiB: met %v, miss %v; want missed by 25%%", met, miss)
	}
	none := &row{dir: lowerBetter, falgo: missing("failed"), targets: []target{{"≤ 10 ms", "abs", 10}}}
	if v := none.verdict(); v != "≤ 10 ms: not measured" {
		t.Errorf("verdict of a missing figure = %q", v)
	}
	if ratioOf(value(1), value(0)).ok() || ratioOf(missing(""), value(1)).ok() {
		t.Error("a ratio with a zero or missing figure must be missing")
	}
	paired := &row{falgo: value(2), floor: value(4), vsFloor: value(0.7)}
	paired.setRatios()
	if paired.vsFloor.v != 0.7 {
		t.Errorf("setRatios replaced a paired ratio: %v", paired.vsFloor.v)
	}
}

func TestReadUntilCompleted(t *testing.T) {
	done, err := readUntilCompleted(strings.NewReader(": ping\n\ndata: {\"status\":\"IN_PROGRESS\"}\n\ndata: {\"status\":\"COMPLETED\",\"logs\":null}\n\n"))
	if !done || err != nil {
		t.Errorf("a stream with COMPLETED: %v, %v", done, err)
	}
	done, err = readUntilCompleted(strings.NewReader("data: {\"status\":\"IN_PROGRESS\"}\n\n"))
	if done || err != nil {
		t.Errorf("a stream that ends early: %v, %v; want false, nil", done, err)
	}
	long := "data: {\"status\":\"IN_PROGRESS\",\"logs\":\"" + strings.Repeat("x", 10000) + "\"}\n\ndata: {\"status\":\"COMPLETED\"}\n\n"
	if done, err := readUntilCompleted(strings.NewReader(long)); !done || err != nil {
		t.Errorf("a stream with a long line: %v, %v", done, err)
	}
}

func TestStatusField(t *testing.T) {
	status := []byte("Name:\tbench\nVmPeak:\t  123456 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n")
	if v, err := statusField(status, "VmHWM"); err != nil || v != 20480 {
		t.Errorf("VmHWM = %v, %v", v, err)
	}
	if _, err := statusField(status, "VmSwap"); err == nil {
		t.Error("a missing field must be an error")
	}
	if kib, err := peakRSSKiB(); err != nil || kib <= 0 {
		t.Errorf("peakRSSKiB of this process = %v, %v", kib, err)
	}
	a := monoNow()
	time.Sleep(2 * time.Millisecond)
	if b := monoNow(); b-a < int64(2*time.Millisecond) {
		t.Errorf("CLOCK_MONOTONIC advanced %v over a 2 ms sleep", time.Duration(b-a))
	}
}

// localServer starts faltest and points the FAL_* variables at it, as the
// harness does for its children.
func localServer(t *testing.T) *faltest.Server {
	t.Helper()
	srv := faltest.NewServer()
	t.Cleanup(srv.Close)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return srv
}

// recorder collects what a child writes.
type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *recorder) enqueued(t *testing.T) []string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(r.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var l childLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("a child wrote %q, not a JSON line", line)
		}
		ids = append(ids, l.Enqueued)
	}
	return ids
}

func TestGoClientsRun(t *testing.T) {
	localServer(t)
	for _, v := range []string{vFalgo, vFloor, vFalgoH2C, vFloorH2C} {
		p := childParams{Workload: wlRun, Variant: v, Concurrency: 4, Warmup: 0.05, Duration: 0.2, MaxRequests: 1000, Input: runInput}
		res, err := goWorkload(context.Background(), p, &lineWriter{w: &recorder{}})
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if res.Requests == 0 || res.Errors != 0 || res.Seconds <= 0 || res.CPUSeconds <= 0 {
			t.Errorf("%s: %+v; want requests, no errors, time and CPU", v, res)
		}
	}
	p := childParams{Workload: wlRun, Variant: vFalgo, Concurrency: 2, Warmup: 0, Duration: 30, MaxRequests: 10, Input: runInput}
	res, err := goWorkload(context.Background(), p, &lineWriter{w: &recorder{}})
	if err != nil || res.Requests != 10 {
		t.Errorf("max_requests 10: %+v, %v; want exactly 10 requests", res, err)
	}
}

func TestGoClientsSubscribe(t *testing.T) {
	localServer(t)
	for _, v := range []string{vFalgo, vFalgoPoll, vFloor} {
		rec := &recorder{}
		p := childParams{Workload: wlSubscribe, Variant: v, Concurrency: 2, SleepsMS: []int{50, 80, 60}}
		res, err := goWorkload(context.Background(), p, &lineWriter{w: rec})
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		ids := rec.enqueued(t)
		if res.Requests != 3 || res.Errors != 0 || len(res.Finished) != 3 || len(ids) != 3 {
			t.Fatalf("%s: %+v, enqueued %v; want 3 jobs each announced and finished", v, res, ids)
		}
		for _, id := range ids {
			if res.Finished[id] == 0 {
				t.Errorf("%s: job %s was announced but has no finish time", v, id)
			}
		}
	}
}

// streamTap wraps a transport and notes, on the CLOCK_MONOTONIC clock,
// what the status stream read through it delivered and when its reader let
// go of it. It lets the test bound the observer's timestamp by events in
// the observer's own goroutine instead of by another client's progress.
type streamTap struct {
	base http.RoundTripper

	firstEvent chan struct{} // closed once a "data:" event has been delivered

	mu          sync.Mutex
	seen        []byte
	signalled   bool
	completedAt int64 // when the bytes holding the COMPLETED event were delivered
	closedAt    int64 // when the reader closed the stream
}

func newStreamTap(base http.RoundTripper) *streamTap {
	return &streamTap{base: base, firstEvent: make(chan struct{})}
}

func (tp *streamTap) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := tp.base.RoundTrip(req)
	if err == nil {
		res.Body = &tapBody{ReadCloser: res.Body, tap: tp}
	}
	return res, err
}

type tapBody struct {
	io.ReadCloser
	tap *streamTap
}

func (b *tapBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	now := monoNow()
	tp := b.tap
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.seen = append(tp.seen, p[:n]...)
	if !tp.signalled && bytes.Contains(tp.seen, []byte("data:")) {
		tp.signalled = true
		close(tp.firstEvent)
	}
	if tp.completedAt == 0 && bytes.Contains(tp.seen, completedMarker) {
		tp.completedAt = now
	}
	return n, err
}

func (b *tapBody) Close() error {
	err := b.ReadCloser.Close()
	now := monoNow()
	b.tap.mu.Lock()
	defer b.tap.mu.Unlock()
	if b.tap.closedAt == 0 {
		b.tap.closedAt = now
	}
	return err
}

// hangGuard bounds waits that only end too late if something hangs; it is
// far beyond anything a loaded machine needs.
const hangGuard = time.Minute

// TestObserverSeesCompletion checks that the observer follows a job
// announced by a client and stamps the moment the COMPLETED event reaches
// it: not earlier (an earlier event), not later (after it let go of the
// stream), and not marked late for a job that finished after it was
// listening.
//
// The job is held on the server until the observer has its first status
// event, so "finished after the observer was listening" holds by
// construction, and the timestamp is bounded by events in the observer's
// own goroutine. The client following the same job is another, independent
// watcher: which of the two learns of the completion first is up to the
// scheduler, so the test assumes no order between them.
func TestObserverSeesCompletion(t *testing.T) {
	srv := localServer(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseJob := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(releaseJob) // before srv.Close (cleanups run last first)
	if err := srv.Register(echoApp, func(ctx context.Context, req *faltest.Request) (any, error) {
		select {
		case <-release:
			return map[string]bool{"ok": true}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}); err != nil {
		t.Fatal(err)
	}
	env, err := serverEnvFromOS()
	if err != nil {
		t.Fatal(err)
	}
	obs := newObserver(env)
	tap := newStreamTap(obs.hc.Transport)
	obs.hc.Transport = tap
	fl := newFloor(env, false)

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	type subscribed struct {
		id, watched string
		err         error
	}
	sub := make(chan subscribed, 1)
	go func() {
		var watched string
		id, err := fl.subscribe(ctx, map[string]any{}, func(id string) {
			watched = id
			obs.watch(ctx, id)
		}, func() {})
		sub <- subscribed{id, watched, err}
	}()

	// The job cannot finish before it is released, so the observer's
	// first event is not COMPLETED.
	select {
	case <-tap.firstEvent:
	case s := <-sub:
		t.Fatalf("subscribe ended before the observer had a status event: %q, %v (announced %q)", s.id, s.err, s.watched)
	case <-time.After(hangGuard):
		t.Fatalf("hang: the observer had no status event after %v", hangGuard)
	}
	releaseJob()

	var s subscribed
	select {
	case s = <-sub:
	case <-time.After(hangGuard):
		t.Fatalf("hang: subscribe had not returned %v after the job was released", hangGuard)
	}
	if s.err != nil || s.id == "" || s.id != s.watched {
		t.Fatalf("subscribe: %q, %v (announced %q)", s.id, s.err, s.watched)
	}
	id := s.id
	done, late, errs := obs.results()
	if len(errs) > 0 || late[id] {
		t.Fatalf("observer: errors %v, late %v; want the completion of %s observed", errs, late, id)
	}
	tap.mu.Lock()
	completedAt, closedAt := tap.completedAt, tap.closedAt
	tap.mu.Unlock()
	if completedAt == 0 || closedAt == 0 {
		t.Fatalf("the observer's stream delivered COMPLETED at %d and was closed at %d; want both", completedAt, closedAt)
	}
	if got := done[id]; got < completedAt || got > closedAt {
		t.Errorf("observed completion at %d; want it between the COMPLETED event reaching the observer (%d) and the observer closing the stream (%d)", got, completedAt, closedAt)
	}
}

func TestGoClientsUpload(t *testing.T) {
	srv := localServer(t)
	path := filepath.Join(t.TempDir(), "payload.bin")
	const size = 3<<20 + 12345
	if err := writePayload(path, size); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{vFalgo, vFalgoReader, vFloor} {
		p := childParams{Workload: wlUpload, Variant: v, File: path}
		res, err := goWorkload(context.Background(), p, &lineWriter{w: &recorder{}})
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		f, ok := srv.File(res.URL)
		if !ok || !bytes.Equal(f.Data, want) || res.Bytes != size {
			t.Errorf("%s: stored %v (%d bytes), reported %d bytes; want the file", v, ok, len(f.Data), res.Bytes)
		}
		h := &harness{}
		if err := h.checkStored(context.Background(), res.URL, size); err != nil {
			t.Errorf("%s: checkStored: %v", v, err)
		}
		if err := h.checkStored(context.Background(), res.URL, size+1); err == nil {
			t.Errorf("%s: checkStored accepted the wrong size", v)
		}
	}
}

func TestGoClientsInflight(t *testing.T) {
	localServer(t)
	for _, v := range []string{vFalgo, vFloor, vFalgoH2C, vFloorH2C} {
		p := childParams{Workload: wlInflight, Variant: v, Jobs: 30, SleepMS: 1500}
		res, err := goWorkload(context.Background(), p, &lineWriter{w: &recorder{}})
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if res.Requests != 30 || res.Errors != 0 || res.PeakInflight != 30 {
			t.Errorf("%s: %+v; want 30 jobs, all in flight at once", v, res)
		}
		if res.Mem == nil || res.Mem.Goroutines < 30 || res.Mem.RSSMiB <= 0 || res.Mem.LivePerJobKB <= 0 {
			t.Errorf("%s: memory snapshot %+v; want one taken with every job followed", v, res.Mem)
		}
	}
}

// TestGoClientsMoreWorkloads runs the stream, realtime, small-upload and
// idle workloads of both Go clients, small, and checks what they report.
func TestGoClientsMoreWorkloads(t *testing.T) {
	localServer(t)
	for _, v := range []string{vFalgo, vFloor} {
		run := func(p childParams) *childResult {
			t.Helper()
			p.Variant = v
			res, err := goWorkload(context.Background(), p, &lineWriter{w: &recorder{}})
			if err != nil {
				t.Fatalf("%s %s: %v", p.Workload, v, err)
			}
			return res
		}
		// falgo/echo streams each of the 7 events: both clients count 7
		// per stream.
		if res := run(childParams{Workload: wlStream, Events: 7, Streams: 3}); res.Requests != 3*7 || res.CPUSeconds <= 0 || res.Seconds <= 0 {
			t.Errorf("stream %s: %+v; want 21 events, time and CPU", v, res)
		}
		if res := run(childParams{Workload: wlRealtime, Trips: 20}); res.Requests != 20 || len(res.TripsMS) != 20 || res.TripsMS[0] <= 0 {
			t.Errorf("realtime %s: %+v; want 20 timed round trips", v, res)
		}
		if res := run(childParams{Workload: wlUploads, Uploads: 4, UploadBytes: 5000}); res.Requests != 4 || res.Bytes != 20000 {
			t.Errorf("uploads %s: %+v; want 4 uploads of 5000 bytes", v, res)
		}
		if res := run(childParams{Workload: wlIdle}); res.Mem == nil || res.Mem.RSSMiB <= 0 || res.Mem.HeapLiveMiB <= 0 {
			t.Errorf("idle %s: %+v; want a memory snapshot", v, res)
		}
	}
}

// TestPinning checks the command lines of pinned and unpinned processes.
func TestPinning(t *testing.T) {
	p := pinning{taskset: "/usr/bin/taskset", srvCPU: "1", cCPU: "0"}
	if got := strings.Join(p.server("falgo"), " "); got != "/usr/bin/taskset -c 1 falgo" {
		t.Errorf("server: %q", got)
	}
	if got := strings.Join(p.client("bench", "child", "{}"), " "); got != "/usr/bin/taskset -c 0 bench child {}" {
		t.Errorf("client: %q", got)
	}
	if got := strings.Join(pinning{}.client("bench", "child"), " "); got != "bench child" {
		t.Errorf("unpinned: %q", got)
	}
	if !strings.Contains(p.describe(), "server on CPU 1") || !strings.Contains(pinning{}.describe(), "not pinned") {
		t.Errorf("describe: %q, %q", p.describe(), pinning{}.describe())
	}
}

// TestPairedRatio checks that ratios are paired round by round, rounds
// missing a client or its figure left out, with the spread of the per-round ratios.
func TestPairedRatio(t *testing.T) {
	res := func(req int64, cpu float64) *childResult {
		return &childResult{Requests: req, Seconds: 1, CPUSeconds: cpu}
	}
	byRound := []map[string]*childResult{
		{vFalgo: res(100, 1), vFloor: res(100, 2)},   // 0.5
		{vFalgo: res(100, 3), vFloor: res(100, 3)},   // 1
		{vFalgo: res(100, 3)},                        // no floor: left out
		{vFalgo: res(100, 0), vFloor: res(100, 2)},   // falgo not measured: left out
		{vFalgo: res(100, 1.5), vFloor: res(100, 2)}, // 0.75
		{vFalgo: res(100, 0.8), vFloor: res(100, 1)}, // 0.8
		{vFalgo: res(100, 0.9), vFloor: res(100, 1)}, // 0.9
	}
	c, spread := pairedRatio(byRound, vFalgo, vFloor, perRequestCPU)
	if !c.ok() || math.Abs(c.v-0.8) > 1e-9 {
		t.Errorf("median ratio %v, want 0.8", c)
	}
	if spread != "0.75–0.90 (all 0.50–1.00, 5 rounds)" {
		t.Errorf("spread %q", spread)
	}
	if c, _ := pairedRatio(byRound, vFalgo, vJS, perRequestCPU); c.ok() {
		t.Errorf("no JS rounds: %v, want missing", c)
	}
}

// TestParseSettings checks the defaults, -quick's shorter settings (a
// flag given explicitly wins), -only and the refusal of bad values.
func TestParseSettings(t *testing.T) {
	s, _, ok := parseSettings(nil)
	if !ok || s.rounds != 11 || s.duration != time.Second || !s.write || s.only != nil || s.uploadSize != 512<<20 {
		t.Errorf("defaults: %+v", s)
	}
	s, _, ok = parseSettings([]string{"-quick", "-rounds", "3", "-only", "run, idle"})
	if !ok || s.rounds != 3 || s.duration != 300*time.Millisecond || s.write || s.inflight != 1000 || !s.only[wlRun] || !s.only[wlIdle] || s.only[wlStream] {
		t.Errorf("-quick -rounds 3 -only run,idle: %+v", s)
	}
	for _, args := range [][]string{{"-only", "nope"}, {"-rounds", "0"}, {"-trips", "0"}, {"-upload-mib", "0"}, {"extra"}} {
		if _, code, ok := parseSettings(args); ok || code != 2 {
			t.Errorf("%q: ok %v, code %d; want refused with code 2", args, ok, code)
		}
	}
}

func TestUnknownVariant(t *testing.T) {
	localServer(t)
	_, err := goWorkload(context.Background(), childParams{Workload: wlRun, Variant: vJS, Input: runInput}, &lineWriter{w: &recorder{}})
	if err == nil || !strings.Contains(err.Error(), `no Go client variant "js"`) {
		t.Errorf("a JS variant in a Go child: %v", err)
	}
}

// sampleReport is a report with one row of each kind.
func sampleReport() *report {
	rep := &report{
		started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), took: 5 * time.Minute, command: "go run ./bench",
		settings: settings{rounds: 5, duration: 2 * time.Second, warmup: 2 * time.Second, jobs: 100, jobConc: 4, uploadSize: 1 << 30, uploadRounds: 2, inflight: 10000, inflightWait: 8000, inflightRounds: 2},
		env: environment{goVersion: "go1.26", cpuModel: "Test CPU", cores: 2, memory: "24 GiB", kernel: "Linux 6", node: "v20.0.0", jsClient: "1.10.1",
			loadStart: "0.5 1.0 1.5", loadEnd: "0.4 0.9 1.4", pinning: "server on CPU 1, each client on CPU 0 (taskset)"},
		notes: []string{"a note\n   over two lines"},
	}
	rows := []*row{
		{group: "Sync Run", metric: "requests/s, concurrency 64", unit: "req/s", dir: higherBetter, falgo: value(9000), floor: value(10000), js: value(900),
			spread:  spreadOf([]float64{0.85, 0.88, 0.90, 0.93, 0.95}),
			targets: []target{{"≥ 0.85× floor", "floor", 0.85}, {"≥ 5× JS", "js", 5}}, chart: "Run c=64 requests/s"},
		{group: "Sync Run", metric: "client CPU per request", unit: "µs", digits: 1, dir: lowerBetter, falgo: value(70), floor: value(50), js: value(1000),
			targets: []target{{"≤ 1.15× floor", "floor", 1.15}}, chart: "Run CPU/request"},
		{group: "Hand-off", metric: "median", unit: "ms", digits: 2, dir: lowerBetter, falgo: value(0.5), floor: value(0.4), js: missing("failed"),
			targets: []target{{"≤ 10 ms", "abs", 10}}, chart: "Hand-off median"},
	}
	for _, r := range rows {
		r.setRatios()
	}
	rep.rows = rows
	return rep
}

func TestChartAndMarkdown(t *testing.T) {
	rep := sampleReport()
	var buf bytes.Buffer
	if err := rep.chart(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("the chart is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != chartW || b.Dy() < 300 {
		t.Errorf("chart size %v", b)
	}
	// The CPU bar misses its target: some pixel must be the "missed" red.
	red := false
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y && !red; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == colBad.R && uint8(g>>8) == colBad.G && uint8(bl>>8) == colBad.B {
				red = true
				break
			}
		}
	}
	if !red {
		t.Error("the chart has no red bar although a target is missed")
	}
	panels := rep.chartPanels()
	if len(panels) != 3 || len(panels[0].bars) != 2 || len(panels[1].bars) != 2 || len(panels[2].bars) != 1 {
		t.Fatalf("panels: %+v", panels)
	}
	if cpu := panels[0].bars[1]; math.Abs(cpu.v-50.0/70) > 1e-9 || cpu.col != colBad {
		t.Errorf("the CPU bar is %v (%v); want floor ÷ falgo = %v, red", cpu.v, cpu.col, 50.0/70)
	}

	md := rep.markdown("")
	for _, want := range []string{
		"| command | `go run ./bench` |", "Test CPU, 2 cores", "go1.26", "2026-01-02 03:04 UTC",
		"| requests/s, concurrency 64 | req/s | 9000 | 10,000 | 900 | 0.90× | 0.88–0.93 (all 0.85–0.95, 5 rounds) | 10.0× | ≥ 0.85× floor: met; ≥ 5× JS: met |",
		"| client CPU per request | µs | 70.0 | 50.0 | 1000.0 | 1.40× | — | 0.070× |", "0.5 1.0 1.5 at the start, 0.4 0.9 1.4 at the end",
		"≤ 1.15× floor: MISSED by 22%", "![falgo vs the floor and the JS client](benchmarks.png)", "- a note over two lines\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the markdown lacks %q", want)
		}
	}
	dir := t.TempDir()
	rep.settings.docsDir = dir
	analysis := keepBegin + "\n## Analysis\n\nWritten by hand.\n" + keepEnd
	if err := os.WriteFile(filepath.Join(dir, "benchmarks.md"), []byte("# old\n\nold table\n\n"+analysis+"\n\nold footer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mdPath, pngPath, err := rep.write()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{mdPath, pngPath} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
	written, err := os.ReadFile(mdPath)
	if err != nil {
		t.Fatal(err)
	}
	if w := string(written); !strings.Contains(w, analysis) || strings.Contains(w, "old table") || !strings.Contains(w, "| requests/s, concurrency 64 |") {
		t.Errorf("rewriting must keep the analysis section and replace the rest:\n%s", w)
	}
}

func TestAxisTicks(t *testing.T) {
	a := panelAxis(chartPanel{log: true, ref: 1, bars: []chartBar{{v: 3, target: math.NaN()}, {v: 397, target: 5}}})
	if a.lo != 1 || a.hi != 1000 {
		t.Errorf("log axis %v..%v, want 1..1000", a.lo, a.hi)
	}
	ticks := a.ticks()
	if len(ticks) != 10 || ticks[0] != 1 || ticks[len(ticks)-1] != 1000 {
		t.Errorf("log ticks %v", ticks)
	}
	lin := panelAxis(chartPanel{ref: 1, bars: []chartBar{{v: 0.8, target: 0.85}}})
	if lin.lo != 0 || lin.hi < 1.2 || lin.x(0) != labelW || lin.x(lin.hi) != chartW-valueW {
		t.Errorf("linear axis %+v", lin)
	}
}
