package main

import (
	"fmt"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// cell is one figure of the table. The zero cell is "not measured".
type cell struct {
	v    float64
	set  bool
	note string // why it is missing, when it is
}

func value(v float64) cell     { return cell{v: v, set: true} }
func missing(note string) cell { return cell{note: note} }
func (c cell) ok() bool        { return c.set && !math.IsNaN(c.v) && !math.IsInf(c.v, 0) }

// ratioOf is a ÷ b, missing unless both are measured and b is not zero.
func ratioOf(a, b cell) cell {
	if !a.ok() || !b.ok() || b.v == 0 {
		return missing("")
	}
	return value(a.v / b.v)
}

// direction says which way a metric improves.
type direction int

const (
	higherBetter direction = iota // requests/s, MB/s
	lowerBetter                   // CPU, latency, memory, time
)

// target is a goal from issue 8, checked against a row.
type target struct {
	text  string  // as printed, e.g. "≥ 0.85× floor"
	on    string  // what it is checked on: "floor", "js" (ratios) or "abs" (falgo's figure)
	limit float64 // the bound
}

// row is one line of the table: one metric for falgo, the floor and the
// JS client, with the ratios falgo ÷ floor and falgo ÷ JS.
type row struct {
	group  string // workload heading
	metric string
	unit   string
	digits int
	dir    direction

	falgo, floor, js cell
	vsFloor, vsJS    cell // falgo ÷ floor and falgo ÷ JS
	// spread describes the per-round ratios vsFloor is the median of
	// ("0.97–1.01 (all 0.93–1.04, 12 rounds)"), when it is one.
	spread string

	targets []target
	// chart label; empty keeps the row out of the chart
	chart string
}

// setRatios fills the ratios from the figures, unless a workload set them
// from paired rounds already.
func (r *row) setRatios() {
	if !r.vsFloor.ok() {
		r.vsFloor = ratioOf(r.falgo, r.floor)
	}
	if !r.vsJS.ok() {
		r.vsJS = ratioOf(r.falgo, r.js)
	}
}

// check evaluates a target: met, and by how much it is missed (a fraction
// of the limit) when it is not. ok is false when the figure is missing.
func (r *row) check(t target) (met bool, miss float64, ok bool) {
	var c cell
	switch t.on {
	case "floor":
		c = r.vsFloor
	case "js":
		c = r.vsJS
	default:
		c = r.falgo
	}
	if !c.ok() {
		return false, 0, false
	}
	if r.dir == higherBetter {
		return c.v >= t.limit, (t.limit - c.v) / t.limit, true
	}
	return c.v <= t.limit, (c.v - t.limit) / t.limit, true
}

// verdict describes every target of the row: "met", or "MISSED by N%".
func (r *row) verdict() string {
	var parts []string
	for _, t := range r.targets {
		met, miss, ok := r.check(t)
		switch {
		case !ok:
			parts = append(parts, t.text+": not measured")
		case met:
			parts = append(parts, t.text+": met")
		default:
			parts = append(parts, fmt.Sprintf("%s: MISSED by %.0f%%", t.text, miss*100))
		}
	}
	return strings.Join(parts, "; ")
}

// spreadText is the spread column: "—" when there is none.
func (r *row) spreadText() string {
	if r.spread == "" {
		return "—"
	}
	return r.spread
}

// format prints a figure with the row's precision.
func (r *row) format(c cell) string {
	if !c.ok() {
		if c.note != "" {
			return c.note
		}
		return "—"
	}
	return formatNumber(c.v, r.digits)
}

func formatNumber(v float64, digits int) string {
	s := fmt.Sprintf("%.*f", digits, v)
	// Thousands separators for the integer part of large figures.
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	if len(intPart) > 4 {
		var b strings.Builder
		for i, ch := range intPart {
			if i > 0 && (len(intPart)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(ch)
		}
		intPart = b.String()
	}
	if neg {
		intPart = "-" + intPart
	}
	if frac != "" {
		return intPart + "." + frac
	}
	return intPart
}

// formatRatio prints a ratio.
func formatRatio(c cell) string {
	if !c.ok() {
		return "—"
	}
	switch {
	case c.v >= 100:
		return fmt.Sprintf("%.0f×", c.v)
	case c.v >= 10:
		return fmt.Sprintf("%.1f×", c.v)
	case c.v >= 0.1:
		return fmt.Sprintf("%.2f×", c.v)
	}
	return fmt.Sprintf("%.3f×", c.v)
}

// report is everything one run of the harness produced.
type report struct {
	started  time.Time
	took     time.Duration
	command  string
	settings settings
	env      environment
	rows     []*row
	notes    []string // failures and skipped parts, in order
	details  []string // measurements that explain the figures
}

// environment describes the machine and the software measured.
type environment struct {
	goVersion, cpuModel, memory, kernel string
	cores                               int
	node, jsClient                      string
	loadStart, loadEnd                  string // /proc/loadavg's 1, 5 and 15 minute figures
	pinning                             string // which cores the server and the clients ran on
}

// jsDescription names the JS side: Node and client versions.
func (e environment) jsDescription() string {
	if e.node == "" {
		return "JS client not measured"
	}
	return "Node " + e.node + ", @fal-ai/client " + e.jsClient
}

// printTable writes the table as aligned text.
func (rep *report) printTable(w *strings.Builder) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tunit\tfalgo\tfloor (net/http)\tJS client\tfalgo÷floor\tper-round falgo÷floor (p25–p75)\tfalgo÷JS\ttargets")
	group := ""
	for _, r := range rep.rows {
		if r.group != group {
			group = r.group
			fmt.Fprintf(tw, "%s\t\t\t\t\t\t\t\t\n", strings.ToUpper(group))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.metric, r.unit,
			r.format(r.falgo), r.format(r.floor), r.format(r.js), formatRatio(r.vsFloor), r.spreadText(), formatRatio(r.vsJS), r.verdict())
	}
	_ = tw.Flush()
}
