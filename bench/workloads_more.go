package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// The workloads users meet beyond sync runs and Subscribes: Stream events,
// realtime round trips, many small uploads, the memory of an idle client
// and the wall time of `falgo --local run`. falgo and the floor alternate
// round by round; ratios are medians of per-round ratios.

// pairedRounds runs p for falgo and the floor in -small-rounds rounds, in
// a rotating order, and returns each round's results by variant.
func (h *harness) pairedRounds(ctx context.Context, name string, p childParams) ([]map[string]*childResult, error) {
	variants := []string{vFalgo, vFloor}
	byRound := make([]map[string]*childResult, h.s.smallRounds)
	for r := range byRound {
		byRound[r] = map[string]*childResult{}
		for i := range variants {
			v := variants[(i+r)%len(variants)]
			q := p
			q.Variant = v
			res, err := h.l.child(ctx, q, 3*time.Minute, nil)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				h.note("%s %s: %v", name, v, err)
				continue
			}
			byRound[r][v] = res
			logf("%s %-6s round %d/%d: %d in %.2f s, %.1f µs CPU each", name, v, r+1, len(byRound), res.Requests, res.Seconds, res.CPUSeconds/float64(max(res.Requests, 1))*1e6)
		}
	}
	return byRound, nil
}

// pairedRow is a row of falgo against the floor from paired rounds.
func pairedRow(byRound []map[string]*childResult, group, metric, unit string, digits int, dir direction, of func(*childResult) float64) *row {
	var fa, fl []float64
	for _, round := range byRound {
		if r := round[vFalgo]; r != nil {
			fa = append(fa, of(r))
		}
		if r := round[vFloor]; r != nil {
			fl = append(fl, of(r))
		}
	}
	fig := func(xs []float64) cell {
		if len(xs) == 0 {
			return missing("failed")
		}
		return value(median(xs))
	}
	r := &row{group: group, metric: metric, unit: unit, digits: digits, dir: dir, falgo: fig(fa), floor: fig(fl), js: missing("—")}
	r.vsFloor, r.spread = pairedRatio(byRound, vFalgo, vFloor, of)
	r.setRatios()
	return r
}

// streamWorkload measures Stream: events per second and client CPU per
// event, falgo's Stream against a hand-written SSE reader.
func (h *harness) streamWorkload(ctx context.Context) error {
	group := fmt.Sprintf("Stream of falgo/echo (%s events per stream, %d streams per round)", formatNumber(float64(h.s.streamEvents), 0), h.s.streams)
	byRound, err := h.pairedRounds(ctx, "stream", childParams{Workload: wlStream, Events: h.s.streamEvents, Streams: h.s.streams})
	if err != nil {
		return err
	}
	eps := pairedRow(byRound, group, "events/s", "events/s", 0, higherBetter, throughputOf)
	eps.chart = "Stream events/s"
	cpu := pairedRow(byRound, group, "client CPU per event", "µs", 2, lowerBetter, perRequestCPU)
	cpu.chart = "Stream CPU/event"
	h.rep.rows = append(h.rep.rows, cpu, eps)
	return nil
}

// realtimeWorkload measures realtime round trips on one websocket: an
// input sent, its output received, one after another.
func (h *harness) realtimeWorkload(ctx context.Context) error {
	group := fmt.Sprintf("Realtime round trips to falgo/echo (%s per round, one at a time)", formatNumber(float64(h.s.trips), 0))
	byRound, err := h.pairedRounds(ctx, "realtime", childParams{Workload: wlRealtime, Trips: h.s.trips})
	if err != nil {
		return err
	}
	med := pairedRow(byRound, group, "round trip, median", "ms", 3, lowerBetter, func(r *childResult) float64 { return median(r.TripsMS) })
	med.chart = "Realtime round trip median"
	p99 := pairedRow(byRound, group, "round trip, p99", "ms", 3, lowerBetter, func(r *childResult) float64 { return percentile(r.TripsMS, 99) })
	cpu := pairedRow(byRound, group, "client CPU per round trip", "µs", 1, lowerBetter, perRequestCPU)
	h.rep.rows = append(h.rep.rows, med, p99, cpu)
	return nil
}

// uploadsWorkload measures many small uploads, one after another:
// falgo's Upload against the floor's signed-URL upload.
func (h *harness) uploadsWorkload(ctx context.Context) error {
	group := fmt.Sprintf("Small uploads (%d of %d KiB, one at a time)", h.s.uploads, h.s.uploadKiB)
	byRound, err := h.pairedRounds(ctx, "uploads", childParams{Workload: wlUploads, Uploads: h.s.uploads, UploadBytes: h.s.uploadKiB << 10})
	if err != nil {
		return err
	}
	ups := pairedRow(byRound, group, "uploads/s", "uploads/s", 0, higherBetter, throughputOf)
	ups.chart = "Small uploads/s"
	cpu := pairedRow(byRound, group, "client CPU per upload", "µs", 0, lowerBetter, perRequestCPU)
	h.rep.rows = append(h.rep.rows, cpu, ups)
	return nil
}

// idleWorkload measures the memory of a client that made one sync run and
// is now idle, after a collection.
func (h *harness) idleWorkload(ctx context.Context) error {
	const group = "Idle client (after one sync Run and a collection)"
	byRound, err := h.pairedRounds(ctx, "idle", childParams{Workload: wlIdle})
	if err != nil {
		return err
	}
	mem := func(f func(*memSnapshot) float64) func(*childResult) float64 {
		return func(r *childResult) float64 {
			if r.Mem == nil {
				return 0
			}
			return f(r.Mem)
		}
	}
	rss := pairedRow(byRound, group, "RSS", "MiB", 1, lowerBetter, mem(func(m *memSnapshot) float64 { return m.RSSMiB }))
	rss.chart = "Idle client RSS"
	heap := pairedRow(byRound, group, "Go heap allocated", "MiB", 2, lowerBetter, mem(func(m *memSnapshot) float64 { return m.HeapLiveMiB }))
	gor := pairedRow(byRound, group, "goroutines", "", 0, lowerBetter, mem(func(m *memSnapshot) float64 { return float64(m.Goroutines) }))
	h.rep.rows = append(h.rep.rows, rss, heap, gor)
	return nil
}

// cliWorkload times `falgo --local run falgo/echo` from start to exit
// (an in-process server started, one sync run, the output printed), run
// -cli-runs times after one unmeasured run.
func (h *harness) cliWorkload(ctx context.Context) error {
	const group = "`falgo --local run falgo/echo -i prompt=x` (the whole process)"
	var wall, cpu []float64
	for i := 0; i <= h.s.cliRuns; i++ {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		argv := h.l.pinned(h.falgoBin, "--local", "run", echoApp, "-i", "prompt=x")
		cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
		cmd.Env = os.Environ()
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		took := time.Since(t0)
		cancel()
		if err != nil {
			h.note("falgo --local run: %v: %s", err, lastLines(string(out), 5))
			return nil
		}
		if i == 0 {
			continue // the first run fills the page cache
		}
		wall = append(wall, took.Seconds()*1000)
		cpu = append(cpu, (cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()).Seconds()*1000)
	}
	logf("falgo --local run: median %.1f ms wall, %.1f ms CPU over %d runs", median(wall), median(cpu), len(wall))
	none := missing("—")
	rows := []*row{
		{metric: fmt.Sprintf("wall time, median of %d runs", len(wall)), unit: "ms", digits: 1, falgo: value(median(wall)), floor: none, js: none,
			spread: fmt.Sprintf("falgo's own: %.1f–%.1f ms", percentile(wall, 0.001), percentile(wall, 100)), chart: "falgo --local run wall time"},
		{metric: "CPU time (server and client in one process), median", unit: "ms", digits: 1, falgo: value(median(cpu)), floor: none, js: none},
	}
	for _, r := range rows {
		r.group, r.dir = group, lowerBetter
		r.setRatios()
		h.rep.rows = append(h.rep.rows, r)
	}
	return nil
}
