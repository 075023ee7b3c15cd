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
	s        settings
	rep      *report
	l        *launcher
	env      serverEnv
	tmp      string
	falgoBin string // the falgo binary the server runs, for the CLI workload
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
const goWarmup = 300 * time.Millisecond

// syncRun measures workload 1: sync Run of falgo/echo at concurrency 1
// and 64, over HTTP/1.1 (falgo and the floor: the loopback floor) and over
// HTTP/2 cleartext (falgo with WithHTTP2Cleartext and the floor with
// Protocols.SetUnencryptedHTTP2). Each round runs every client once, in a
// rotating order, each in a process of its own; the figures are medians
// over rounds, and each ratio is the median of the per-round ratios
// (clients measured a second apart share most of the noise), printed with
// the spread of those per-round ratios. The JS client runs in the first
// -js-rounds rounds only (it needs seconds of warm-up each time).
func (h *harness) syncRun(ctx context.Context) error {
	concs := []int{1, 64}
	rounds := map[int][]map[string]*childResult{}
	for _, conc := range concs {
		byRound := make([]map[string]*childResult, h.s.rounds)
		rounds[conc] = byRound
		for r := 0; r < h.s.rounds; r++ {
			byRound[r] = map[string]*childResult{}
			variants := []string{vFalgo, vFloor, vFalgoH2C, vFloorH2C}
			if r < h.s.jsRounds {
				variants = h.variants(variants, vJS)
			}
			for i := range variants {
				v := variants[(i+r)%len(variants)]
				if res := h.runOnce(ctx, conc, v, r); res != nil {
					byRound[r][v] = res
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
	}
	for _, conc := range concs {
		h.runRows(conc, rounds[conc], "Sync Run of falgo/echo over HTTP/1.1 (the loopback floor)", vFalgo, vFloor, vJS)
	}
	for _, conc := range concs {
		h.runRows(conc, rounds[conc], "Sync Run of falgo/echo over HTTP/2 cleartext", vFalgoH2C, vFloorH2C, "")
	}
	return nil
}

// runOnce measures one sync-run round of variant v; nil if it failed.
func (h *harness) runOnce(ctx context.Context, conc int, v string, r int) *childResult {
	warmup := h.s.warmup
	if !isJS(v) {
		warmup = min(warmup, goWarmup) // no JIT to warm: connections and the GC pacer settle at once
	}
	p := childParams{Workload: wlRun, Variant: v, Concurrency: conc, Warmup: warmup.Seconds(),
		Duration: h.s.duration.Seconds(), MaxRequests: 5_000_000, Input: runInput, ProfileDir: h.goProfileDir(v)}
	res, err := h.l.child(ctx, p, warmup+h.s.duration+2*time.Minute, nil)
	if err != nil {
		if ctx.Err() == nil {
			h.note("run c=%d %s: %v", conc, v, err)
		}
		return nil
	}
	if res.Errors > 0 {
		h.note("run c=%d %s: %d of %d requests failed; first: %s", conc, v, res.Errors, res.Errors+res.Requests, res.FirstError)
	}
	if res.Requests == 0 || res.Seconds <= 0 {
		return nil
	}
	logf("run c=%-2d %-9s round %2d/%d: %8.0f req/s, %6.1f µs CPU/request", conc, v, r+1, h.s.rounds,
		float64(res.Requests)/res.Seconds, res.CPUSeconds/float64(res.Requests)*1e6)
	return res
}

// perRequestCPU is a run's client CPU time per request, in µs.
func perRequestCPU(r *childResult) float64 { return r.CPUSeconds / float64(r.Requests) * 1e6 }

// throughputOf is a run's requests per second.
func throughputOf(r *childResult) float64 { return float64(r.Requests) / r.Seconds }

// runRows adds the rows of one protocol and concurrency: client CPU per
// request (the headline) and requests/s of falgo (variant fv) against the
// floor (variant flv) and, when jsv is set, the JS client.
func (h *harness) runRows(conc int, byRound []map[string]*childResult, group, fv, flv, jsv string) {
	proto := "HTTP/1.1"
	if fv == vFalgoH2C {
		proto = "h2c"
	}
	metric := func(name string, of func(*childResult) float64, dir direction, digits int, unit, chart string, targets []target) *row {
		figs := map[string][]float64{}
		for _, round := range byRound {
			for v, res := range round {
				figs[v] = append(figs[v], of(res))
			}
		}
		fig := func(v string) cell {
			switch {
			case v == "":
				return missing("—")
			case len(figs[v]) == 0 && isJS(v):
				return h.jsMissing()
			case len(figs[v]) == 0:
				return missing("failed")
			}
			return value(median(figs[v]))
		}
		r := &row{group: group, metric: fmt.Sprintf("%s, concurrency %d", name, conc), unit: unit, digits: digits, dir: dir,
			falgo: fig(fv), floor: fig(flv), js: fig(jsv), targets: targets, chart: chart}
		r.vsFloor, r.spread = pairedRatio(byRound, fv, flv, of)
		if jsv != "" {
			r.vsJS, _ = pairedRatio(byRound, fv, jsv, of)
		}
		r.setRatios()
		return r
	}
	cpu := metric("client CPU per request", perRequestCPU, lowerBetter, 1, "µs", fmt.Sprintf("Run %s c=%d CPU/request", proto, conc),
		[]target{{"≤ 1.00× floor", "floor", 1.00}})
	tp := metric("requests/s", throughputOf, higherBetter, 0, "req/s", "", nil)
	if fv == vFalgo {
		tp.chart = fmt.Sprintf("Run c=%d requests/s", conc)
		tp.targets = []target{{"≥ 0.85× floor", "floor", 0.85}}
		if conc == 64 {
			tp.targets = append(tp.targets, target{"≥ 5× JS", "js", 5})
		}
	}
	h.rep.rows = append(h.rep.rows, cpu, tp)
}

// pairedRatio is the median over rounds of a's figure ÷ b's, with the
// spread of those ratios (the middle half and the extremes). A round
// without a figure from either (0: not measured) is left out.
func pairedRatio(byRound []map[string]*childResult, a, b string, of func(*childResult) float64) (cell, string) {
	var rs []float64
	for _, round := range byRound {
		x, y := round[a], round[b]
		if x == nil || y == nil || of(x) == 0 || of(y) == 0 {
			continue
		}
		rs = append(rs, of(x)/of(y))
	}
	if len(rs) == 0 {
		return missing(""), ""
	}
	return value(median(rs)), spreadOf(rs)
}

// spreadOf describes the spread of per-round ratios: the quartiles and
// the extremes, and how many rounds there were.
func spreadOf(rs []float64) string {
	if len(rs) < 3 {
		return fmt.Sprintf("%d round(s)", len(rs))
	}
	return fmt.Sprintf("%.2f–%.2f (all %.2f–%.2f, %d rounds)", percentile(rs, 25), percentile(rs, 75), percentile(rs, 0.001), percentile(rs, 100), len(rs))
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
// the queue together, over HTTP/2 cleartext (as fal serves its hosts, over
// TLS) and over HTTP/1.1 (a connection per job). Peak RSS of the client
// process, the heap each in-flight job holds and the time until the last
// result (medians over -inflight-rounds rounds; the JS client is left out
// of this workload: one of its runs takes most of a minute). The most jobs
// seen in flight at once is checked.
func (h *harness) inflightJobs(ctx context.Context) error {
	secsOf := map[string][]float64{}
	rssOf := map[string][]float64{}
	perJob := map[string][]float64{}
	goroutines := map[string][]float64{}
	// Each round runs every variant, so falgo ÷ floor is also taken round
	// by round (the memory of a burst of 10,000 moves by several percent
	// from one run to the next, with the collector's timing).
	byRound := make([]map[string]*childResult, h.s.inflightRounds)
	variants := []string{vFalgoH2C, vFloorH2C, vFalgo, vFloor}
	for r := 0; r < h.s.inflightRounds; r++ {
		byRound[r] = map[string]*childResult{}
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
			byRound[r][v] = res
			secsOf[v] = append(secsOf[v], res.Seconds)
			rssOf[v] = append(rssOf[v], float64(res.PeakRSSKiB)/1024)
			logf("in flight %-10s round %d: %d jobs in %6.2f s, peak RSS %6.1f MiB, peak in flight %d", v, r+1, res.Requests, res.Seconds, float64(res.PeakRSSKiB)/1024, res.PeakInflight)
			if m := res.Mem; m != nil {
				perJob[v] = append(perJob[v], m.LivePerJobKB)
				goroutines[v] = append(goroutines[v], float64(m.Goroutines))
				d := fmt.Sprintf("%s, round %d, once the client follows all %s jobs: RSS %.0f MiB; Go heap in use %.0f MiB (marked live by the last GC: %.0f MiB); live heap per job after a collection %.1f KB; goroutine stacks %.0f MiB (%s goroutines)",
					v, r+1, formatNumber(float64(h.s.inflight), 0), m.RSSMiB, m.HeapInuseMiB, m.HeapLiveMiB, m.LivePerJobKB, m.StackMiB, formatNumber(float64(m.Goroutines), 0))
				h.rep.details = append(h.rep.details, d)
				logf("%s", d)
			}
		}
	}
	fig := func(m map[string][]float64, v string) cell {
		if len(m[v]) == 0 {
			return missing("failed")
		}
		return value(median(m[v]))
	}
	none := missing("—")
	jobs := formatNumber(float64(h.s.inflight), 0)
	add := func(group string, fv, flv string, h2 bool) {
		rss := &row{metric: "peak RSS", unit: "MiB", digits: 0, falgo: fig(rssOf, fv), floor: fig(rssOf, flv), js: none}
		heap := &row{metric: "live heap per in-flight Subscribe", unit: "KB", digits: 1, falgo: fig(perJob, fv), floor: fig(perJob, flv), js: none}
		gor := &row{metric: "goroutines at full flight", unit: "", digits: 0, falgo: fig(goroutines, fv), floor: fig(goroutines, flv), js: none}
		done := &row{metric: "completion time", unit: "s", digits: 2, falgo: fig(secsOf, fv), floor: fig(secsOf, flv), js: none}
		if h2 {
			rss.targets = []target{{"≤ 384 MiB", "abs", 384}, {"≤ 1.15× floor", "floor", 1.15}}
			rss.chart = "In flight peak RSS, HTTP/2"
			heap.targets = []target{{"≤ 6 KB", "abs", 6}}
			heap.chart = "In flight heap per job, HTTP/2"
		} else {
			rss.chart = "In flight peak RSS, HTTP/1.1"
		}
		rss.vsFloor, rss.spread = pairedRatio(byRound, fv, flv, func(c *childResult) float64 { return float64(c.PeakRSSKiB) })
		heap.vsFloor, heap.spread = pairedRatio(byRound, fv, flv, func(c *childResult) float64 {
			if c.Mem == nil {
				return 0
			}
			return c.Mem.LivePerJobKB
		})
		for _, r := range []*row{rss, heap, gor, done} {
			r.group, r.dir = group, lowerBetter
			r.setRatios()
			h.rep.rows = append(h.rep.rows, r)
		}
	}
	wait := float64(h.s.inflightWait) / 1000
	add(fmt.Sprintf("%s Subscribes in flight at once over HTTP/2 cleartext (each job %.1f s on the server)", jobs, wait), vFalgoH2C, vFloorH2C, true)
	add(fmt.Sprintf("%s Subscribes in flight at once over HTTP/1.1 (each job %.1f s on the server)", jobs, wait), vFalgo, vFloor, false)
	return nil
}
