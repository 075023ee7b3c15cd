package faltest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
)

type t2iOut struct {
	Images []struct {
		URL         string `json:"url"`
		Width       int    `json:"width"`
		Height      int    `json:"height"`
		ContentType string `json:"content_type"`
	} `json:"images"`
	Seed            int64              `json:"seed"`
	Timings         map[string]float64 `json:"timings"`
	HasNSFWConcepts []bool             `json:"has_nsfw_concepts"`
	Prompt          string             `json:"prompt"`
}

func runT2I(t *testing.T, srv *faltest.Server, app, input string) t2iOut {
	t.Helper()
	r := call(t, srv, "POST", "/run/"+app, input)
	if r.code != 200 {
		t.Fatalf("%s %s: %d %s", app, input, r.code, r.body)
	}
	var out t2iOut
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// fetch downloads a URL the server returned.
func fetch(t *testing.T, srv *faltest.Server, url string) []byte {
	t.Helper()
	if !strings.HasPrefix(url, srv.URL+"/") {
		t.Fatalf("URL %s is not under the server's address", url)
	}
	r := call(t, srv, "GET", url, "", noKey)
	if r.code != 200 || r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET %s: %d %v", url, r.code, r.header)
	}
	return r.body
}

func TestTextToImage(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	out := runT2I(t, srv, "fal-ai/flux/schnell", `{"prompt":"a red fox","image_size":{"width":96,"height":64},"seed":7,"num_images":2}`)
	if out.Seed != 7 || out.Prompt != "a red fox" || len(out.Images) != 2 || len(out.HasNSFWConcepts) != 2 || out.HasNSFWConcepts[0] {
		t.Fatalf("output %+v", out)
	}
	if _, ok := out.Timings["inference"]; !ok {
		t.Fatalf("timings %v", out.Timings)
	}
	var pngs [][]byte
	for _, im := range out.Images {
		if im.Width != 96 || im.Height != 64 || im.ContentType != "image/png" {
			t.Fatalf("image %+v", im)
		}
		b := fetch(t, srv, im.URL)
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("decoding %s: %v", im.URL, err)
		}
		if sz := img.Bounds().Size(); sz.X != 96 || sz.Y != 64 {
			t.Fatalf("PNG is %v, want 96x64", sz)
		}
		pngs = append(pngs, b)
	}
	if bytes.Equal(pngs[0], pngs[1]) {
		t.Fatal("the two images of one request are identical")
	}
	// Same prompt and seed: same bytes, even on another server.
	srv2 := newServer(t, faltest.WithDemoDelay(0))
	again := runT2I(t, srv2, "fal-ai/flux/schnell", `{"prompt":"a red fox","image_size":{"width":96,"height":64},"seed":7}`)
	if !bytes.Equal(fetch(t, srv2, again.Images[0].URL), pngs[0]) {
		t.Fatal("same prompt and seed gave different bytes")
	}
	other := runT2I(t, srv, "fal-ai/flux/schnell", `{"prompt":"a blue whale","image_size":{"width":96,"height":64},"seed":7}`)
	if bytes.Equal(fetch(t, srv, other.Images[0].URL), pngs[0]) {
		t.Fatal("different prompts gave the same image")
	}
	// No seed: a random one, returned.
	r1 := runT2I(t, srv, "fal-ai/flux/dev", `{"prompt":"x","image_size":"square"}`)
	r2 := runT2I(t, srv, "fal-ai/flux/dev", `{"prompt":"x","image_size":"square"}`)
	if r1.Seed == r2.Seed {
		t.Fatalf("two unseeded runs share seed %d", r1.Seed)
	}
}

func TestTextToImageSizes(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	for _, c := range []struct {
		app, size string
		w, h      int
	}{
		{"fal-ai/flux/schnell", "", 1024, 768},
		{"fal-ai/fast-sdxl", "", 1024, 1024},
		{"fal-ai/fast-lcm-diffusion", "", 512, 512},
		{"fal-ai/flux/dev", `"square_hd"`, 1024, 1024},
		{"fal-ai/flux/dev", `"square"`, 512, 512},
		{"fal-ai/flux/dev", `"portrait_4_3"`, 768, 1024},
		{"fal-ai/flux/dev", `"portrait_16_9"`, 576, 1024},
		{"fal-ai/flux/dev", `"landscape_4_3"`, 1024, 768},
		{"fal-ai/flux/dev", `"landscape_16_9"`, 1024, 576},
	} {
		in := `{"prompt":"p","seed":1}`
		if c.size != "" {
			in = `{"prompt":"p","seed":1,"image_size":` + c.size + `}`
		}
		out := runT2I(t, srv, c.app, in)
		cfg, err := png.DecodeConfig(bytes.NewReader(fetch(t, srv, out.Images[0].URL)))
		if err != nil || cfg.Width != c.w || cfg.Height != c.h || out.Images[0].Width != c.w || out.Images[0].Height != c.h {
			t.Fatalf("%s %s: %+v %v, want %dx%d", c.app, c.size, cfg, err, c.w, c.h)
		}
	}
}

func TestTextToImageSyncMode(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	out := runT2I(t, srv, "fal-ai/fast-sdxl", `{"prompt":"p","image_size":{"width":10,"height":20},"sync_mode":true}`)
	u := out.Images[0].URL
	data, ok := strings.CutPrefix(u, "data:image/png;base64,")
	if !ok {
		t.Fatalf("sync_mode URL %.40s", u)
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err != nil || cfg.Width != 10 || cfg.Height != 20 {
		t.Fatalf("inline PNG %+v %v", cfg, err)
	}
}

func TestTextToImageValidation(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	for _, c := range []struct{ in, field string }{
		{`{}`, "prompt"},
		{`null`, ""},
		{``, ""},
		{`[1]`, ""},
		{`{"prompt":""}`, "prompt"},
		{`{"prompt":"   "}`, "prompt"},
		{`{"prompt":5}`, "prompt"},
		{`{"prompt":"p","num_images":0}`, "num_images"},
		{`{"prompt":"p","num_images":5}`, "num_images"},
		{`{"prompt":"p","num_images":1e30}`, "num_images"},
		{`{"prompt":"p","image_size":"huge"}`, "image_size"},
		{`{"prompt":"p","image_size":{"width":0,"height":10}}`, "width"},
		{`{"prompt":"p","image_size":{"width":10,"height":100000}}`, "height"},
		{`{"prompt":"p","image_size":{"width":99999999999999999999,"height":10}}`, "image_size"},
		{`{"prompt":"p","image_size":{"width":10}}`, "image_size"},
		{`{"prompt":"p","image_size":7}`, "image_size"},
		{`{"prompt":"p","seed":"x"}`, "seed"},
		{`{"prompt":"p","num_inference_steps":1000}`, "num_inference_steps"},
	} {
		r := call(t, srv, "POST", "/run/fal-ai/flux/schnell", c.in)
		if r.code != 422 {
			t.Errorf("%s: %d %s", c.in, r.code, r.body)
			continue
		}
		if !strings.Contains(string(r.body), `"loc":["body"`) || !strings.Contains(string(r.body), c.field) {
			t.Errorf("%s: detail %s does not point at %q", c.in, r.body, c.field)
		}
	}
}

func TestTextToImageLogsInQueue(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	sub := submit(t, srv, "fal-ai/flux/schnell", `{"prompt":"p","image_size":"square","num_inference_steps":3}`)
	st := waitStatus(t, srv, sub, "?logs=1", "completion", isCompleted)
	var msgs []string
	for _, l := range st["logs"].([]any) {
		msgs = append(msgs, l.(map[string]any)["message"].(string))
	}
	// No seed given: the one picked is logged, so the picture can be had again.
	if len(msgs) > 1 && strings.HasPrefix(msgs[1], "Seed ") && strings.Contains(msgs[1], "none given") {
		msgs = append(msgs[:1], msgs[2:]...)
	} else {
		t.Errorf("logs %q; want the picked seed second", msgs)
	}
	want := "Loading fal-ai/flux/schnell|Step 1/3|Step 2/3|Step 3/3|Generated 1 image(s)"
	if strings.Join(msgs, "|") != want {
		t.Fatalf("logs %q, want %q", msgs, want)
	}
}

func TestDemoImageIsLabelledAsADemo(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	out := runT2I(t, srv, "fal-ai/flux/schnell", `{"prompt":"a red fox","seed":7}`)
	img, err := png.Decode(bytes.NewReader(fetch(t, srv, out.Images[0].URL)))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	// The label's box fills the bottom-left corner, with white letters on
	// it: the prompt and "falgo local demo".
	dark, white := 0, 0
	for y := b.Max.Y - 60; y < b.Max.Y; y++ {
		for x := 0; x < 400; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			switch {
			case r>>8 == 16 && g>>8 == 16 && bl>>8 == 16:
				dark++
			case r>>8 == 255 && g>>8 == 255 && bl>>8 == 255:
				white++
			}
		}
	}
	if dark < 400*60/2 || white < 500 {
		t.Errorf("bottom-left corner: %d dark and %d white pixels; want the demo label there", dark, white)
	}
	// The same prompt and seed give the same picture; the seed picked for
	// an unseeded run gives that run's picture again.
	unseeded := runT2I(t, srv, "fal-ai/flux/schnell", `{"prompt":"a red fox"}`)
	again := runT2I(t, srv, "fal-ai/flux/schnell", fmt.Sprintf(`{"prompt":"a red fox","seed":%d}`, unseeded.Seed))
	if !bytes.Equal(fetch(t, srv, unseeded.Images[0].URL), fetch(t, srv, again.Images[0].URL)) {
		t.Errorf("seed %d, returned by an unseeded run, does not give its picture again", unseeded.Seed)
	}
}

func TestDemoAppsAreServed(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	// The image-to-image endpoints need an image (and a mask); the others
	// ignore the fields.
	img := pngDataURI(t, 8, 8)
	body := `{"prompt":"p","image_size":"square","image_url":"` + img + `","mask_url":"` + img + `"}`
	for _, a := range faltest.DemoApps() {
		if r := call(t, srv, "POST", "/run/"+a.ID, body); r.code != 200 || a.Description == "" {
			t.Errorf("%s (%q): %d %s", a.ID, a.Description, r.code, r.body)
		}
	}
}

func TestWithDemoAppOptions(t *testing.T) {
	if _, err := faltest.Start(faltest.WithDemoAppOptions(faltest.Concurrency(-1))); err == nil || !strings.Contains(err.Error(), "WithDemoAppOptions") {
		t.Errorf("an invalid demo app option: %v; want Start to fail naming it", err)
	}
	srv := newServer(t, faltest.WithDemoAppOptions(faltest.StartupDelay(time.Hour)))
	sub := submit(t, srv, faltest.DemoEcho, `{"a":1}`)
	st := waitStatus(t, srv, sub, "", "a status", func(map[string]any) bool { return true })
	if st["status"] != "IN_QUEUE" {
		t.Errorf("status %v during an hour-long cold start; want IN_QUEUE", st)
	}
}

func TestAnyLLMValidation(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	for _, in := range []string{`{}`, `{"prompt":""}`, `"x"`, `{"prompt":1}`} {
		if r := call(t, srv, "POST", "/run/fal-ai/any-llm", in); r.code != 422 {
			t.Errorf("%s: %d %s", in, r.code, r.body)
		}
	}
	out := call(t, srv, "POST", "/run/fal-ai/any-llm", `{"prompt":"hi","model":"m/1"}`).json(t)
	if s, _ := out["output"].(string); !strings.Contains(s, "m/1") || !strings.Contains(s, "hi") {
		t.Fatalf("output %v", out)
	}
}

func TestEchoControls(t *testing.T) {
	srv := newServer(t)
	sub := submit(t, srv, "falgo/echo", `{"_logs":["one","two"],"_sleep_ms":1}`)
	st := waitStatus(t, srv, sub, "?logs=1", "completion", isCompleted)
	if logs := st["logs"].([]any); len(logs) != 2 || logs[1].(map[string]any)["message"] != "two" {
		t.Fatalf("logs %v", st["logs"])
	}
	for _, in := range []string{`{"_sleep_ms":-1}`, `{"_error":{"status":200}}`, `{"_logs":"x"}`} {
		if r := call(t, srv, "POST", "/run/falgo/echo", in); r.code != 422 {
			t.Errorf("%s: %d %s", in, r.code, r.body)
		}
	}
	// Non-object input mentioning "_" is echoed as is.
	if r := call(t, srv, "POST", "/run/falgo/echo", `["_x"]`); r.code != 200 || string(r.body) != `["_x"]` {
		t.Fatalf("%d %s", r.code, r.body)
	}
}
