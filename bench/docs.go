package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// write writes benchmarks.md and benchmarks.png to the docs folder and
// returns their paths.
func (rep *report) write() (mdPath, pngPath string, err error) {
	dir := rep.settings.docsDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	pngPath = filepath.Join(dir, "benchmarks.png")
	mdPath = filepath.Join(dir, "benchmarks.md")
	var png bytes.Buffer
	if err := rep.chart(&png); err != nil {
		return "", "", fmt.Errorf("drawing the chart: %w", err)
	}
	if err := os.WriteFile(pngPath, png.Bytes(), 0o644); err != nil {
		return "", "", err
	}
	var kept string
	if old, err := os.ReadFile(mdPath); err == nil {
		kept = keptSection(string(old))
	}
	if err := os.WriteFile(mdPath, []byte(rep.markdown(kept)), 0o644); err != nil {
		return "", "", err
	}
	return mdPath, pngPath, nil
}

// The part of benchmarks.md between these markers is written by hand (the
// analysis of missed targets: profiles, what was tried) and kept as it is
// when the harness rewrites the file.
const (
	keepBegin = "<!-- analysis: kept by the harness -->"
	keepEnd   = "<!-- end of analysis -->"
)

// keptSection returns the hand-written section of an existing
// benchmarks.md, markers included, or "".
func keptSection(md string) string {
	i := strings.Index(md, keepBegin)
	if i < 0 {
		return ""
	}
	j := strings.Index(md[i:], keepEnd)
	if j < 0 {
		return ""
	}
	return md[i : i+j+len(keepEnd)]
}

// microBenchmarks selects the Go benchmarks of the hot paths.
const microBenchmarks = "RunEcho|RunParallel64|BuildRunRequest|EncodeInput|ParseStatus|RealtimeFrames|ResultDecode|Decoder"

// mdEscape makes s safe inside a Markdown table cell.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// markdown renders the report as docs/benchmarks.md, with kept (a
// hand-written section from the previous file) after the results.
func (rep *report) markdown(kept string) string {
	var b strings.Builder
	s := rep.settings
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "falgo measured against the loopback floor — a bare `net/http` loop making the same requests — and the\n"+
		"official JavaScript client, `@fal-ai/client`, in one run of `go run ./bench` against one `falgo local`\n"+
		"server on 127.0.0.1, in a process of its own. Every figure below was printed by that run, which also wrote\n"+
		"this file and the chart; how it measures is in [bench/README.md](../bench/README.md).\n\n")
	fmt.Fprintf(&b, "![falgo vs the floor and the JS client](benchmarks.png)\n\n")
	fmt.Fprintf(&b, "## Run\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| command | `%s` |\n", rep.command)
	fmt.Fprintf(&b, "| date | %s (measuring took %s) |\n", rep.started.Format("2006-01-02 15:04 MST"), rep.took.Round(time.Second))
	fmt.Fprintf(&b, "| load average (1, 5, 15 min) | %s at the start, %s at the end |\n", rep.env.loadStart, rep.env.loadEnd)
	fmt.Fprintf(&b, "| CPU | %s, %d cores; %s |\n", mdEscape(rep.env.cpuModel), rep.env.cores, rep.env.pinning)
	fmt.Fprintf(&b, "| memory | %s |\n", rep.env.memory)
	fmt.Fprintf(&b, "| OS | %s |\n", rep.env.kernel)
	fmt.Fprintf(&b, "| Go | %s |\n", rep.env.goVersion)
	fmt.Fprintf(&b, "| JS client | %s |\n", rep.env.jsDescription())
	fmt.Fprintf(&b, "| settings | sync run: %d round(s) of %v per client, protocol and concurrency (the JS client in %d of them, after %v of warm-up); hand-off: %d jobs per client, %d at a time; upload: %d MiB, %d round(s); in flight: %d jobs of %d ms, %d round(s); stream, realtime, small uploads, idle: %d round(s) |\n\n",
		s.rounds, s.duration, min(s.jsRounds, s.rounds), s.warmup, s.jobs, s.jobConc, s.uploadSize>>20, s.uploadRounds, s.inflight, s.inflightWait, s.inflightRounds, s.smallRounds)
	fmt.Fprintf(&b, "Client CPU time is each client process's own (getrusage of the child, all threads), so the server's work is\n"+
		"not in it. The absolute figures are those of a small shared machine; the ratios, of clients measured\n"+
		"a second apart against the same server, are what carries over.\n\n")

	fmt.Fprintf(&b, "## Results\n\n")
	fmt.Fprintf(&b, "Ratios are falgo's figure divided by the other client's: above 1 is better for requests/s, events/s and MiB/s,\n"+
		"below 1 is better for CPU time, latency, memory and completion time. Where clients ran round by round, the\n"+
		"ratio is the median of the per-round ratios, and the spread column gives their middle half (p25–p75) and\n"+
		"their extremes. Targets are those of issues 8 and 16.\n\n")
	group := ""
	for _, r := range rep.rows {
		if r.group != group {
			group = r.group
			fmt.Fprintf(&b, "\n### %s\n\n", group)
			fmt.Fprintf(&b, "| metric | unit | falgo | floor (net/http) | JS client | falgo ÷ floor | per-round falgo ÷ floor | falgo ÷ JS | target |\n")
			fmt.Fprintf(&b, "|---|---|--:|--:|--:|--:|--:|--:|---|\n")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(r.metric), r.unit,
			r.format(r.falgo), r.format(r.floor), r.format(r.js), formatRatio(r.vsFloor), mdEscape(r.spreadText()), formatRatio(r.vsJS), mdEscape(r.verdict()))
	}
	if len(rep.details) > 0 {
		fmt.Fprintf(&b, "\n### Where the memory goes\n\n")
		for _, d := range rep.details {
			fmt.Fprintf(&b, "- %s\n", d)
		}
	}
	if len(rep.notes) > 0 {
		fmt.Fprintf(&b, "\n### Notes from this run\n\n")
		for _, n := range rep.notes {
			// One list item per note: a multi-line message (a stack trace)
			// is folded onto its line.
			fmt.Fprintf(&b, "- %s\n", strings.Join(strings.Fields(n), " "))
		}
	}
	if kept != "" {
		fmt.Fprintf(&b, "\n%s\n", kept)
	}
	fmt.Fprintf(&b, "\n## Reproduce\n\n```sh\n%s\n```\n\n", rep.command)
	fmt.Fprintf(&b, "It needs Go and Node.js %d or newer; it builds `cmd/falgo` and installs the pinned JS client with\n"+
		"`npm ci` in `bench/js` itself. The Go micro-benchmarks of the hot paths (request building, JSON decoding,\n"+
		"SSE decoding, msgpack frames, client CPU time and allocations per sync Run) run with\n\n"+
		"```sh\ngo test -run '^$' -bench '%s' -benchmem . ./realtime ./internal/sse\n```\n", minNode, microBenchmarks)
	return b.String()
}
