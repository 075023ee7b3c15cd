package faltest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The label's palette entries: white text on a near-black box.
const (
	labelInk   = 254
	labelPaper = 255
)

// drawLabel writes lines in the bottom-left corner of img, in
// basicfont's 7×13 letters scaled to stay readable on a large picture
// (×2 from 512 pixels wide, ×3 from 1536), on a dark box. Characters
// outside printable ASCII are drawn as '?'; a line too long for the
// picture ends with "...". A picture too small for one letter gets none.
func drawLabel(img *image.Paletted, lines []string) {
	face := basicfont.Face7x13
	w, h := img.Rect.Dx(), img.Rect.Dy()
	k := 1 + w/512
	k = min(k, 3)
	const pad = 4 // pixels of box around the text, before scaling
	cols := (w/k - 2*pad) / face.Advance
	rows := len(lines)
	boxW, boxH := 0, rows*face.Height+2*pad
	if cols < 4 || boxH*k > h {
		return
	}
	for i, l := range lines {
		lines[i] = labelText(l, cols)
		boxW = max(boxW, len(lines[i])*face.Advance+2*pad)
	}
	mask := image.NewAlpha(image.Rect(0, 0, boxW, boxH))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(pad, pad+i*face.Height+face.Ascent)
		d.DrawString(l)
	}
	x0, y0 := 0, h-boxH*k
	for y := 0; y < boxH*k; y++ {
		row := img.Pix[(y0+y)*img.Stride+x0:]
		for x := 0; x < boxW*k; x++ {
			c := uint8(labelPaper)
			if mask.Pix[(y/k)*mask.Stride+x/k] >= 0x80 {
				c = labelInk
			}
			row[x] = c
		}
	}
}

// labelText fits s into n characters of printable ASCII.
func labelText(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteRune(r)
	}
	t := b.String()
	if len(t) > n {
		t = t[:n-3] + "..."
	}
	return t
}

// drawPNG draws a deterministic picture for prompt and seed and encodes it
// as PNG: a diagonal gradient between two colours with circles and bars on
// top, all derived from a hash of (prompt, seed), and in the bottom-left
// corner a label with the prompt and "falgo local demo", so that nobody
// takes it for a model's output. The same inputs give the same bytes;
// different prompts give different pictures.
//
// The picture is paletted (one byte per pixel) so that even 1024×1024
// draws and encodes in a few milliseconds.
func drawPNG(prompt string, seed int64, w, h int) []byte {
	hs := sha256.New()
	hs.Write([]byte(prompt))
	var sb [8]byte
	binary.LittleEndian.PutUint64(sb[:], uint64(seed))
	hs.Write(sb[:])
	sum := hs.Sum(nil)
	rng := binary.LittleEndian.Uint64(sum[:8]) | 1
	next := func() uint64 { // xorshift64*
		rng ^= rng >> 12
		rng ^= rng << 25
		rng ^= rng >> 27
		return rng * 2685821657736338717
	}

	const ramp = 192 // gradient palette entries; the rest are shape colours
	pal := make(color.Palette, 256)
	c0 := color.RGBA{sum[8], sum[9], sum[10], 255}
	c1 := color.RGBA{sum[11], sum[12], sum[13], 255}
	for i := 0; i < ramp; i++ {
		t := float64(i) / (ramp - 1)
		pal[i] = color.RGBA{lerp(c0.R, c1.R, t), lerp(c0.G, c1.G, t), lerp(c0.B, c1.B, t), 255}
	}
	for i := ramp; i < labelInk; i++ {
		v := next()
		pal[i] = color.RGBA{uint8(v), uint8(v >> 8), uint8(v >> 16), 255}
	}
	pal[labelInk] = color.RGBA{255, 255, 255, 255}
	pal[labelPaper] = color.RGBA{16, 16, 16, 255}

	img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	// Gradient: the index depends on x+y; each row is a shifted window of
	// one precomputed line.
	span := w + h - 1
	line := make([]uint8, span)
	for i := range line {
		line[i] = uint8(i * (ramp - 1) / max(span-1, 1))
	}
	for y := 0; y < h; y++ {
		copy(img.Pix[y*img.Stride:y*img.Stride+w], line[y:y+w])
	}

	// Shapes: a few filled circles and horizontal bars.
	shapes := 3 + int(next()%5)
	for k := 0; k < shapes; k++ {
		col := uint8(ramp + next()%(labelInk-ramp))
		cx, cy := int(next()%uint64(w)), int(next()%uint64(h))
		if k%3 == 2 {
			bh := 1 + int(next()%uint64(max(h/10, 1)))
			bw := 1 + int(next()%uint64(max(w/2, 1)))
			fillRect(img, cx-bw/2, cy-bh/2, bw, bh, col)
			continue
		}
		r := 1 + int(next()%uint64(max(min(w, h)/5, 1)))
		fillCircle(img, cx, cy, r, col)
	}

	drawLabel(img, []string{prompt, fmt.Sprintf("falgo local demo - seed %d", seed)})

	var buf bytes.Buffer
	buf.Grow(w*h/8 + 1024)
	enc := png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: pngPool}
	if err := enc.Encode(&buf, img); err != nil {
		// Encoding to memory only fails for invalid sizes, which the
		// callers rule out.
		panic("faltest: PNG encoding failed: " + err.Error())
	}
	return buf.Bytes()
}

func lerp(a, b uint8, t float64) uint8 {
	return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t))
}

func fillRect(img *image.Paletted, x, y, w, h int, c uint8) {
	r := image.Rect(x, y, x+w, y+h).Intersect(img.Rect)
	for yy := r.Min.Y; yy < r.Max.Y; yy++ {
		row := img.Pix[yy*img.Stride+r.Min.X : yy*img.Stride+r.Max.X]
		for i := range row {
			row[i] = c
		}
	}
}

func fillCircle(img *image.Paletted, cx, cy, r int, c uint8) {
	b := img.Rect
	for dy := -r; dy <= r; dy++ {
		y := cy + dy
		if y < b.Min.Y || y >= b.Max.Y {
			continue
		}
		dx := int(math.Sqrt(float64(r*r - dy*dy)))
		x0, x1 := max(cx-dx, b.Min.X), min(cx+dx+1, b.Max.X)
		if x0 >= x1 {
			continue
		}
		row := img.Pix[y*img.Stride+x0 : y*img.Stride+x1]
		for i := range row {
			row[i] = c
		}
	}
}

// pngPool reuses the encoder's buffers between images.
var pngPool = &encoderPool{}

type encoderPool struct{ p sync.Pool }

func (e *encoderPool) Get() *png.EncoderBuffer {
	b, _ := e.p.Get().(*png.EncoderBuffer)
	return b
}

func (e *encoderPool) Put(b *png.EncoderBuffer) { e.p.Put(b) }
