package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The chart is drawn with the standard library's image packages and the
// fixed 7×13 bitmap font of golang.org/x/image/font/basicfont: no plotting
// library, so the harness has no dependency beyond x/image.

var (
	colBackground = color.RGBA{0xff, 0xff, 0xff, 0xff}
	colText       = color.RGBA{0x20, 0x20, 0x20, 0xff}
	colMuted      = color.RGBA{0x70, 0x70, 0x70, 0xff}
	colGrid       = color.RGBA{0xe2, 0xe2, 0xe2, 0xff}
	colAxis       = color.RGBA{0x40, 0x40, 0x40, 0xff}
	colGood       = color.RGBA{0x2e, 0x8b, 0x57, 0xff} // target met, or falgo ahead
	colBad        = color.RGBA{0xc8, 0x3c, 0x32, 0xff} // target missed, or falgo behind
	colNeutral    = color.RGBA{0x46, 0x82, 0xb4, 0xff} // no target
	colTarget     = color.RGBA{0x10, 0x10, 0x10, 0xff}
)

// chartBar is one bar.
type chartBar struct {
	label  string
	v      float64 // bar length in the panel's units
	target float64 // NaN for none
	col    color.RGBA
	text   string // printed after the bar
}

// chartPanel is one group of horizontal bars on a shared axis.
type chartPanel struct {
	title, subtitle string
	log             bool    // log-scale axis
	ref             float64 // a reference line (1.0), NaN for none
	refLabel        string
	bars            []chartBar
}

// Layout in pixels.
const (
	chartW      = 1200
	labelW      = 330 // left column of bar labels
	valueW      = 170 // right column of values
	barH        = 18
	barGap      = 10
	panelTop    = 52 // title and subtitle above the bars
	panelBottom = 40 // axis ticks below the bars
	panelGap    = 26
	headerH     = 70
	footerH     = 34
)

// chart draws the report's ratios as a PNG.
func (rep *report) chart(w io.Writer) error {
	panels := rep.chartPanels()
	h := headerH + footerH
	for _, p := range panels {
		h += panelHeight(p) + panelGap
	}
	img := image.NewRGBA(image.Rect(0, 0, chartW, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{colBackground}, image.Point{}, draw.Src)

	drawText(img, 24, 34, "falgo benchmarks: ratios against the net/http floor and @fal-ai/client", colText, 2)
	drawText(img, 24, 58, fmt.Sprintf("%s, %d cores, %s; %s; %s", rep.env.cpuModel, rep.env.cores, rep.env.goVersion,
		rep.env.jsDescription(), rep.started.Format("2006-01-02")), colMuted, 1)
	y := headerH
	for _, p := range panels {
		drawPanel(img, p, y)
		y += panelHeight(p) + panelGap
	}
	drawText(img, 24, h-14, "green: target met or falgo ahead; red: target missed or falgo behind; black tick: the target. Made by `go run ./bench`.", colMuted, 1)
	return png.Encode(w, img)
}

func panelHeight(p chartPanel) int {
	n := max(len(p.bars), 1)
	return panelTop + n*(barH+barGap) + panelBottom
}

// chartPanels turns the rows into the three panels.
func (rep *report) chartPanels() []chartPanel {
	floorP := chartPanel{
		title:    "falgo relative to the bare net/http floor (1.0 = as fast as the floor)",
		subtitle: "requests/s and MiB/s: falgo / floor; CPU per request: floor / falgo, so higher is better everywhere",
		ref:      1, refLabel: "floor",
	}
	jsP := chartPanel{
		title:    "falgo relative to @fal-ai/client: how many times better (log scale)",
		subtitle: "throughput: falgo / JS; CPU, latency, memory and time: JS / falgo",
		log:      true, ref: 1, refLabel: "same",
	}
	absP := chartPanel{
		title:    "absolute targets: share of the limit used (below 1.0 = within the limit)",
		subtitle: "hand-off median vs 10 ms; upload peak RSS vs 128 MiB; in-flight peak RSS vs 384 MiB and heap per job vs 6 KB (HTTP/2)",
		ref:      1, refLabel: "limit",
	}
	for _, r := range rep.rows {
		if r.chart == "" {
			continue
		}
		// vs floor
		for _, t := range r.targets {
			if t.on != "floor" || !r.vsFloor.ok() {
				continue
			}
			met, _, _ := r.check(t)
			v, lim := r.vsFloor.v, t.limit
			if r.dir == lowerBetter {
				v, lim = 1/v, 1/lim
			}
			floorP.bars = append(floorP.bars, chartBar{label: r.chart, v: v, target: lim, col: pick(met),
				text: fmt.Sprintf("%.2f (target %.2f)", v, lim)})
		}
		// vs JS
		if r.vsJS.ok() && r.vsJS.v > 0 {
			f := r.vsJS.v
			if r.dir == lowerBetter {
				f = 1 / f
			}
			// The bitmap font is ASCII only: "x", not "×".
			b := chartBar{label: r.chart, v: f, target: math.NaN(), col: pick(f >= 1), text: strings.Replace(formatRatio(value(f)), "×", "x better", 1)}
			if f < 1 {
				b.text = strings.Replace(formatRatio(value(1/f)), "×", "x worse", 1)
			}
			for _, t := range r.targets {
				if t.on == "js" {
					met, _, _ := r.check(t)
					b.target, b.col = t.limit, pick(met)
				}
			}
			jsP.bars = append(jsP.bars, b)
		}
		// absolute
		for _, t := range r.targets {
			if t.on != "abs" || !r.falgo.ok() {
				continue
			}
			met, _, _ := r.check(t)
			absP.bars = append(absP.bars, chartBar{label: r.chart, v: r.falgo.v / t.limit, target: 1, col: pick(met),
				text: fmt.Sprintf("%s of %s %s", formatNumber(r.falgo.v, r.digits), formatNumber(t.limit, 0), r.unit)})
		}
	}
	var out []chartPanel
	for _, p := range []chartPanel{floorP, jsP, absP} {
		if len(p.bars) > 0 {
			out = append(out, p)
		}
	}
	return out
}

func pick(good bool) color.RGBA {
	if good {
		return colGood
	}
	return colBad
}

// axis maps values to x pixels for a panel.
type axis struct {
	lo, hi float64
	log    bool
	x0, x1 int
}

func (a axis) x(v float64) int {
	if a.log {
		v = math.Log10(math.Max(v, a.lo))
		return a.x0 + int(float64(a.x1-a.x0)*(v-math.Log10(a.lo))/(math.Log10(a.hi)-math.Log10(a.lo)))
	}
	v = math.Min(math.Max(v, a.lo), a.hi)
	return a.x0 + int(float64(a.x1-a.x0)*(v-a.lo)/(a.hi-a.lo))
}

// ticks returns the axis's tick values: 1-2-5 steps on a log axis, about
// six round steps on a linear one.
func (a axis) ticks() []float64 {
	var out []float64
	if a.log {
		for e := math.Floor(math.Log10(a.lo)); e <= math.Ceil(math.Log10(a.hi)); e++ {
			for _, m := range []float64{1, 2, 5} {
				v := m * math.Pow(10, e)
				if v >= a.lo*0.999 && v <= a.hi*1.001 {
					out = append(out, v)
				}
			}
		}
		return out
	}
	step := niceStep((a.hi - a.lo) / 6)
	for v := math.Ceil(a.lo/step) * step; v <= a.hi+step/1000; v += step {
		out = append(out, v)
	}
	return out
}

func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// panelAxis picks the range that shows every bar, target and reference.
func panelAxis(p chartPanel) axis {
	hi, lo := 0.0, math.Inf(1)
	for _, b := range p.bars {
		hi = math.Max(hi, b.v)
		lo = math.Min(lo, b.v)
		if !math.IsNaN(b.target) {
			hi = math.Max(hi, b.target)
			lo = math.Min(lo, b.target)
		}
	}
	if !math.IsNaN(p.ref) {
		hi = math.Max(hi, p.ref)
		lo = math.Min(lo, p.ref)
	}
	a := axis{log: p.log, x0: labelW, x1: chartW - valueW}
	if p.log {
		a.lo = math.Pow(10, math.Floor(math.Log10(math.Max(lo, 1e-3))))
		a.hi = math.Pow(10, math.Ceil(math.Log10(hi*1.05)))
		if a.hi/a.lo < 10 {
			a.hi = a.lo * 10
		}
		return a
	}
	a.lo = 0
	a.hi = math.Max(1.2, hi*1.1)
	step := niceStep(a.hi / 6)
	a.hi = math.Ceil(a.hi/step) * step
	return a
}

// drawPanel draws p with its top at y.
func drawPanel(img *image.RGBA, p chartPanel, y int) {
	drawText(img, 24, y+16, p.title, colText, 1)
	drawText(img, 24, y+34, p.subtitle, colMuted, 1)
	a := panelAxis(p)
	top := y + panelTop
	bottom := top + len(p.bars)*(barH+barGap)
	for _, t := range a.ticks() {
		x := a.x(t)
		fillRect(img, x, top-4, x+1, bottom, colGrid)
		label := trimFloat(t)
		drawText(img, x-textWidth(label)/2, bottom+16, label, colMuted, 1)
	}
	fillRect(img, a.x0, top-4, a.x0+1, bottom, colAxis)
	fillRect(img, a.x0, bottom, a.x1, bottom+1, colAxis)
	if !math.IsNaN(p.ref) {
		x := a.x(p.ref)
		for yy := top - 4; yy < bottom; yy += 6 { // dashed
			fillRect(img, x, yy, x+2, min(yy+3, bottom), colAxis)
		}
		drawText(img, x-textWidth(p.refLabel)/2, bottom+30, p.refLabel, colAxis, 1)
	}
	for i, b := range p.bars {
		by := top + i*(barH+barGap)
		drawText(img, labelW-12-textWidth(b.label), by+barH-4, b.label, colText, 1)
		base := a.x0
		if a.log {
			base = a.x(a.lo)
		}
		end := a.x(b.v)
		fillRect(img, base+1, by, max(end, base+2), by+barH, b.col)
		if !math.IsNaN(b.target) {
			tx := a.x(b.target)
			fillRect(img, tx-1, by-3, tx+2, by+barH+3, colTarget)
		}
		drawText(img, a.x1+10, by+barH-4, b.text, colText, 1)
	}
}

// trimFloat prints a tick value without trailing zeros.
func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

func fillRect(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	draw.Draw(img, image.Rect(x0, y0, x1, y1), &image.Uniform{c}, image.Point{}, draw.Src)
}

// textWidth is the width of s in the 7-pixel-wide basic font.
func textWidth(s string) int {
	return font.MeasureString(basicfont.Face7x13, s).Ceil()
}

// drawText draws s with its baseline at y, scaled by an integer factor
// (nearest neighbour) for headings.
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA, scale int) {
	face := basicfont.Face7x13
	if scale <= 1 {
		d := font.Drawer{Dst: img, Src: &image.Uniform{c}, Face: face, Dot: fixed.P(x, y)}
		d.DrawString(s)
		return
	}
	w := textWidth(s)
	small := image.NewRGBA(image.Rect(0, 0, w, 13))
	d := font.Drawer{Dst: small, Src: &image.Uniform{c}, Face: face, Dot: fixed.P(0, 10)}
	d.DrawString(s)
	for sy := 0; sy < 13; sy++ {
		for sx := 0; sx < w; sx++ {
			px := small.RGBAAt(sx, sy)
			if px.A == 0 {
				continue
			}
			fillRect(img, x+sx*scale, y-10*scale+sy*scale, x+(sx+1)*scale, y-10*scale+(sy+1)*scale, px)
		}
	}
}
