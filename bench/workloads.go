package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// harness runs the workloads and fills the report.
type harness struct {
	s   settings
	rep *report
	l   *launcher
	env serverEnv
	tmp string
}

// note records a failure or a skipped part in the report and on stderr.
func (h *harness) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	h.rep.notes = append(h.rep.notes, msg)
	logf("%s", msg)
}

// goProfileDir is the -profile folder for Go variants, empty for JS ones.
func (h *harness) goProfileDir(v string) string {
	if isJS(v) {
		return ""
	}
	return h.s.profileDir
}

// variants returns the Go variants plus the JS ones unless -skip-js.
func (h *harness) variants(goVariants []string, jsVariants ...string) []string {
	out := append([]string(nil), goVariants...)
	if !h.s.skipJS {
		out = append(out, jsVariants...)
	}
	return out
}

// jsMissing is the JS cell when the JS client was left out.
func (h *harness) jsMissing() cell {
	if h.s.skipJS {
		return missing("skipped")
	}
	return missing("failed")
}

// runInput is the input of every sync run: the shape of a typical
// text-to-image request (falgo/echo returns it as its output).
var runInput = json.RawMessage(`{"prompt":"a lighthouse on a cliff at dusk, oil painting, dramatic light","image_size":"landscape_4_3","num_inference_steps":4,"seed":42,"num_images":1,"enable_safety_checker":true}`)

// goWarmup is the longest warm-up a Go client gets before a sync-run
// measurement.
const goWarmup = 500 * time.Millisecond

// syncRun measures workload 1: sync Run of falgo/echo at concurrency 1
// and 64. Each round runs every client once, in a rotating order; the
// figures are medians over rounds, and each ratio is the median of the
// per-round ratios (clients measured seconds apart share most of the noise).
func (h *harness) syncRun(ctx context.Context) error {
	const group = "Sync Run of falgo/echo"
	for _, conc := range []int{1, 64} {
		variants := h.variants([]string{vFalgo, vFloor}, vJS)
		rps := map[string][]float64{}
		cpu := map[string][]float64{}
		byRound := make([]map[string]*childResult, h.s.rounds)
		for r := 0; r < h.s.rounds; r++ {
			byRound[r] = map[string]*childResult{}
			for i := range variants {
				v := variants[(i+r)%len(variants)]
				warmup := h.s.warmup
				if !isJS(v) {
					warmup = min(warmup, goWarmup) // no JIT to warm: connections and the GC pacer settle at once
				}
				p := childParams{Workload: wlRun, Variant: v, Concurrency: conc, Warmup: warmup.Seconds(),
					Duration: h.s.duration.Seconds(), MaxRequests: 5_000_000, Input: runInput, ProfileDir: h.goProfileDir(v)}
				res, err := h.l.child(ctx, p, warmup+h.s.duration+2*time.Minute, nil)
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					h.note("run c=%d %s: %v", conc, v, err)
					continue
				}
				if res.Errors > 0 {
					h.note("run c=%d %s: %d of %d requests failed; first: %s", conc, v, res.Errors, res.Errors+res.Requests, res.FirstError)
				}
				if res.Requests == 0 || res.Seconds <= 0 {
					continue
				}
				byRound[r][v] = res
				rps[v] = append(rps[v], float64(res.Requests)/res.Seconds)
				cpu[v] = append(cpu[v], res.CPUSeconds/float64(res.Requests)*1e6)
				logf("run c=%-2d %-6s round %d/%d: %8.0f req/s, %6.1f µs CPU/request", conc, v, r+1, h.s.rounds,
					float64(res.Requests)/res.Seconds, res.CPUSeconds/float64(res.Requests)*1e6)
			}
		}
		fig := func(m map[string][]float64, v string) cell {
			if len(m[v]) == 0 {
				if isJS(v) {
					return h.jsMissing()
				}
				return missing("failed")
			}
			return value(median(m[v]))
		}
		paired := func(other string, perRequest bool) cell {
			var rs []float64
			for _, round := range byRound {
				a, b := round[vFalgo], round[other]
				if a == nil || b == nil {
					continue
				}
				if perRequest {
					rs = append(rs, (a.CPUSeconds/float64(a.Requests))/(b.CPUSeconds/float64(b.Requests)))
				} else {
					rs = append(rs, (float64(a.Requests)/a.Seconds)/(float64(b.Requests)/b.Seconds))
				}
			}
			if len(rs) == 0 {
				return missing("")
			}
			return value(median(rs))
		}
		throughput := &row{group: group, metric: fmt.Sprintf("requests/s, concurrency %d", conc), unit: "req/s", digits: 0, dir: higherBetter,
			falgo: fig(rps, vFalgo), floor: fig(rps, vFloor), js: fig(rps, vJS),
			vsFloor: paired(vFloor, false), vsJS: paired(vJS, false),
			targets: []target{{"≥ 0.85× floor", "floor", 0.85}},
			chart:   fmt.Sprintf("Run c=%d requests/s", conc)}
		if conc == 64 {
			throughput.targets = append(throughput.targets, target{"≥ 5× JS", "js", 5})
		}
		cpuRow := &row{group: group, metric: fmt.Sprintf("client CPU per request, concurrency %d", conc), unit: "µs", digits: 1, dir: lowerBetter,
			falgo: fig(cpu, vFalgo), floor: fig(cpu, vFloor), js: fig(cpu, vJS),
			vsFloor: paired(vFloor, true), vsJS: paired(vJS, true),
			targets: []target{{"≤ 1.15× floor", "floor", 1.15}},
			chart:   fmt.Sprintf("Run c=%d CPU/request", conc)}
		throughput.setRatios()
		cpuRow.setRatios()
		h.rep.rows = append(h.rep.rows, throughput, cpuRow)
	}
	return nil
}

// handoffSample is the hand-off statistics of one client variant.
type handoffSample struct {
	median, p99 float64 // ms
	n, late     int
}

// subscribeHandoff measures workload 2: jobs whose run time on the server
// is drawn uniformly from 100–600 ms (the same sequence for every client,
// so polling clients see every phase of their interval), submitted
// through Subscribe four at a time. The hand-off of a job is the time from
// the server announcing it COMPLETED (seen by the observer) to the client
// having its result.
func (h *harness) subscribeHandoff(ctx context.Context) error {
	const group = "Subscribe hand-off (job done on server → result in caller)"
	rng := rand.New(rand.NewPCG(8, 2024))
	sleeps := make([]int, h.s.jobs)
	for i := range sleeps {
		sleeps[i] = 100 + rng.IntN(500)
	}
	got := map[string]handoffSample{}
	for _, v := range h.variants([]string{vFalgo, vFalgoPoll, vFloor}, vJS, vJSStream) {
		obs := newObserver(h.env)
		p := childParams{Workload: wlSubscribe, Variant: v, Concurrency: h.s.jobConc, SleepsMS: sleeps}
		timeout := time.Duration(len(sleeps)/h.s.jobConc+1)*2*time.Second + 2*time.Minute
		res, err := h.l.child(ctx, p, timeout, func(id string) { obs.watch(ctx, id) })
		done, late, errs := obs.results()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			h.note("subscribe %s: %v", v, err)
			continue
		}
		if res.Errors > 0 {
			h.note("subscribe %s: %d of %d jobs failed; first: %s", v, res.Errors, int64(len(sleeps)), res.FirstError)
		}
		if len(errs) > 0 {
			h.note("subscribe %s: the observer lost %d jobs; first: %s", v, len(errs), errs[0])
		}
		var ms []float64
		for id, t := range res.Finished {
			if t0, ok := done[id]; ok {
				ms = append(ms, float64(t-t0)/1e6)
			}
		}
		if len(late) > 0 {
			h.note("subscribe %s: %d jobs finished before the observer was listening; left out", v, len(late))
		}
		if len(ms) == 0 {
			h.note("subscribe %s: no hand-off could be measured", v)
			continue
		}
		s := handoffSample{median: median(ms), p99: percentile(ms, 99), n: len(ms), late: len(late)}
		got[v] = s
		logf("subscribe %-10s %3d jobs: hand-off median %7.2f ms, p99 %7.2f ms", v, s.n, s.median, s.p99)
	}
	fig := func(v string, p99 bool) cell {
		s, ok := got[v]
		switch {
		case !ok && isJS(v):
			return h.jsMissing()
		case !ok:
			return missing("failed")
		case p99:
			return value(s.p99)
		}
		return value(s.median)
	}
	none := missing("—")
	rows := []*row{
		{metric: "median, status stream (falgo default)", falgo: fig(vFalgo, false), floor: fig(vFloor, false), js: fig(vJSStream, false),
			targets: []target{{"≤ 10 ms", "abs", 10}}, chart: "Hand-off median, stream vs stream"},
		{metric: "p99, status stream", falgo: fig(vFalgo, true), floor: fig(vFloor, true), js: fig(vJSStream, true)},
		{metric: "median, polling (falgo 250 ms, JS 500 ms default)", falgo: fig(vFalgoPoll, false), floor: none, js: fig(vJS, false),
			chart: "Hand-off median, poll vs poll"},
		{metric: "p99, polling", falgo: fig(vFalgoPoll, true), floor: none, js: fig(vJS, true)},
		{metric: "median, each client's default (stream vs 500 ms poll)", falgo: fig(vFalgo, false), floor: none, js: fig(vJS, false),
			chart: "Hand-off median, defaults"},
	}
	for _, r := range rows {
		r.group, r.unit, r.digits, r.dir = group, "ms", 2, lowerBetter
		r.setRatios()
		h.rep.rows = append(h.rep.rows, r)
	}
	return nil
}

// upload measures workload 3: one file of -upload-mib MiB uploaded by
// falgo (UploadFile, and Upload from a plain io.Reader that hides the
// file), by the floor (ask for a signed URL, PUT the file in one request)
// and by the JS client (storage.upload of a file-backed Blob). Every
// upload is checked by the size the server then serves.
func (h *harness) upload(ctx context.Context) error {
	const group = "Upload"
	path := filepath.Join(h.tmp, "payload.bin")
	logf("writing a %d MiB file to upload", h.s.uploadSize>>20)
	if err := writePayload(path, h.s.uploadSize); err != nil {
		return err
	}
	defer os.Remove(path)
	variants := h.variants([]string{vFalgo, vFalgoReader, vFloor}, vJS)
	mbps := map[string][]float64{}
	rss := map[string][]float64{}
	byRound := make([]map[string]float64, h.s.uploadRounds)
	for r := 0; r < h.s.uploadRounds; r++ {
		byRound[r] = map[string]float64{}
		for i := range variants {
			v := variants[(i+r)%len(variants)]
			p := childParams{Workload: wlUpload, Variant: v, File: path}
			res, err := h.l.child(ctx, p, 5*time.Minute, nil)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				h.note("upload %s: %v", v, err)
				continue
			}
			if err := h.checkStored(ctx, res.URL, h.s.uploadSize); err != nil {
				h.note("upload %s: %v", v, err)
				continue
			}
			tp := float64(res.Bytes) / (1 << 20) / res.Seconds
			byRound[r][v] = tp
			mbps[v] = append(mbps[v], tp)
			rss[v] = append(rss[v], float64(res.PeakRSSKiB)/1024)
			logf("upload %-12s round %d/%d: %7.1f MiB/s, peak RSS %6.1f MiB", v, r+1, h.s.uploadRounds, tp, float64(res.PeakRSSKiB)/1024)
		}
	}
	fig := func(m map[string][]float64, v string, maxOf bool) cell {
		if len(m[v]) == 0 {
			if isJS(v) {
				return h.jsMissing()
			}
			return missing("failed")
		}
		if maxOf {
			return value(percentile(m[v], 100))
		}
		return value(median(m[v]))
	}
	paired := func(falgoVariant, other string) cell {
		var rs []float64
		for _, round := range byRound {
			a, okA := round[falgoVariant]
			b, okB := round[other]
			if okA && okB && b > 0 {
				rs = append(rs, a/b)
			}
		}
		if len(rs) == 0 {
			return missing("")
		}
		return value(median(rs))
	}
	size := fmt.Sprintf("%d MiB", h.s.uploadSize>>20)
	if h.s.uploadSize == 1<<30 {
		size = "1 GiB"
	}
	none := missing("—")
	rows := []*row{
		{metric: "throughput, " + size + " from a file", unit: "MiB/s", digits: 0, dir: higherBetter,
			falgo: fig(mbps, vFalgo, false), floor: fig(mbps, vFloor, false), js: fig(mbps, vJS, false),
			vsFloor: paired(vFalgo, vFloor), vsJS: paired(vFalgo, vJS),
			targets: []target{{"≥ 0.70× floor", "floor", 0.70}}, chart: "Upload throughput (file)"},
		{metric: "peak RSS, " + size + " from a file", unit: "MiB", digits: 0, dir: lowerBetter,
			falgo: fig(rss, vFalgo, true), floor: fig(rss, vFloor, true), js: fig(rss, vJS, true),
			targets: []target{{"< 128 MiB", "abs", 128}}, chart: "Upload peak RSS (file)"},
		{metric: "throughput, " + size + " from a plain io.Reader", unit: "MiB/s", digits: 0, dir: higherBetter,
			falgo: fig(mbps, vFalgoReader, false), floor: fig(mbps, vFloor, false), js: none,
			vsFloor: paired(vFalgoReader, vFloor),
			targets: []target{{"≥ 0.70× floor", "floor", 0.70}}, chart: "Upload throughput (io.Reader)"},
		{metric: "peak RSS, " + size + " from a plain io.Reader", unit: "MiB", digits: 0, dir: lowerBetter,
			falgo: fig(rss, vFalgoReader, true), floor: fig(rss, vFloor, true), js: none,
			targets: []target{{"< 128 MiB", "abs", 128}}, chart: "Upload peak RSS (io.Reader)"},
	}
	for _, r := range rows {
		r.group = group
		r.setRatios()
		h.rep.rows = append(h.rep.rows, r)
	}
	return nil
}

// writePayload writes size deterministic, incompressible-looking bytes.
func writePayload(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	for i := 0; i+8 <= len(buf); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8; j++ {
			buf[i+j] = byte(v >> (8 * j))
		}
	}
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		// Vary each MiB a little so no two are alike.
		buf[0], buf[1] = byte(left>>20), byte(left>>28)
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	return f.Close()
}

// checkStored asks the server for the uploaded file and checks its size.
func (h *harness) checkStored(ctx context.Context, url string, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return fmt.Errorf("the returned URL %q is not usable: %w", url, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("checking the stored file: %w", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the stored file answers HTTP %d", res.StatusCode)
	}
	if got, _ := strconv.ParseInt(res.Header.Get("Content-Length"), 10, 64); got != size {
		return fmt.Errorf("the server stored %d bytes, not %d", got, size)
	}
	return nil
}

// inflightJobs measures workload 4: -inflight Subscribes started at once,
// each job running -inflight-sleep-ms on the server, so that all are in
// the queue together. Peak RSS of the client process and the time until
// the last result (medians over -inflight-rounds rounds for the Go
// clients; peak RSS of so many connections varies by ±10% from run to run
// with the timing of garbage collections); the most jobs seen in flight at
// once is checked.
func (h *harness) inflightJobs(ctx context.Context) error {
	group := fmt.Sprintf("%s Subscribes in flight at once (each job %.1f s on the server)", formatNumber(float64(h.s.inflight), 0), float64(h.s.inflightWait)/1000)
	secsOf := map[string][]float64{}
	rssOf := map[string][]float64{}
	for r := 0; r < h.s.inflightRounds; r++ {
		variants := []string{vFalgo, vFalgoPoll, vFloor}
		if r == 0 {
			// One round of the JS client: it takes most of a minute, and its
			// figures are far from anything a second round would change.
			variants = h.variants(variants, vJSStream, vJS)
		}
		for i := range variants {
			v := variants[(i+r)%len(variants)]
			p := childParams{Workload: wlInflight, Variant: v, Jobs: h.s.inflight, SleepMS: h.s.inflightWait, ProfileDir: h.goProfileDir(v)}
			timeout := time.Duration(h.s.inflightWait)*time.Millisecond + 3*time.Minute
			res, err := h.l.child(ctx, p, timeout, nil)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				h.note("in flight %s: %v", v, err)
				continue
			}
			if res.Errors > 0 {
				h.note("in flight %s: %d of %d jobs failed; first: %s", v, res.Errors, h.s.inflight, res.FirstError)
				continue
			}
			if res.PeakInflight < h.s.inflight {
				h.note("in flight %s: at most %d of %d jobs were in the queue at once (raise -inflight-sleep-ms)", v, res.PeakInflight, h.s.inflight)
			}
			secsOf[v] = append(secsOf[v], res.Seconds)
			rssOf[v] = append(rssOf[v], float64(res.PeakRSSKiB)/1024)
			logf("in flight %-10s round %d: %d jobs in %6.2f s, peak RSS %6.1f MiB, peak in flight %d", v, r+1, res.Requests, res.Seconds, float64(res.PeakRSSKiB)/1024, res.PeakInflight)
			if m := res.Mem; m != nil {
				d := fmt.Sprintf("%s, round %d, once the client follows all %s jobs: RSS %.0f MiB; Go heap in use %.0f MiB (marked live by the last GC: %.0f MiB); goroutine stacks %.0f MiB (%s goroutines)",
					v, r+1, formatNumber(float64(h.s.inflight), 0), m.RSSMiB, m.HeapInuseMiB, m.HeapLiveMiB, m.StackMiB, formatNumber(float64(m.Goroutines), 0))
				h.rep.details = append(h.rep.details, d)
				logf("%s", d)
			}
		}
	}
	fig := func(v string, rss bool) cell {
		m := secsOf
		if rss {
			m = rssOf
		}
		switch {
		case len(m[v]) == 0 && isJS(v):
			return h.jsMissing()
		case len(m[v]) == 0:
			return missing("failed")
		}
		return value(median(m[v]))
	}
	none := missing("—")
	rows := []*row{
		{metric: "peak RSS, status stream (falgo default)", unit: "MiB", digits: 0,
			falgo: fig(vFalgo, true), floor: fig(vFloor, true), js: fig(vJSStream, true),
			targets: []target{{"< 512 MiB", "abs", 512}}, chart: "In flight peak RSS, stream"},
		{metric: "completion time, status stream", unit: "s", digits: 2,
			falgo: fig(vFalgo, false), floor: fig(vFloor, false), js: fig(vJSStream, false), chart: "In flight completion, stream"},
		{metric: "peak RSS, polling (JS default)", unit: "MiB", digits: 0,
			falgo: fig(vFalgoPoll, true), floor: none, js: fig(vJS, true), chart: "In flight peak RSS, polling"},
		{metric: "completion time, polling", unit: "s", digits: 2,
			falgo: fig(vFalgoPoll, false), floor: none, js: fig(vJS, false), chart: "In flight completion, polling"},
	}
	for _, r := range rows {
		r.group, r.dir = group, lowerBetter
		r.setRatios()
		h.rep.rows = append(h.rep.rows, r)
	}
	return nil
}
