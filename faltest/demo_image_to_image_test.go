package faltest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/falgo/fal/faltest"
)

// pngDataURI is a w×h PNG as a data URI.
func pngDataURI(t *testing.T, w, h int) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())
}

// i2iBody is an image-to-image input: fields as JSON values.
func i2iBody(t *testing.T, fields map[string]any) string {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// decodedSize decodes a PNG the server returned and gives its size.
func decodedSize(t *testing.T, srv *faltest.Server, url string) (int, int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(fetch(t, srv, url)))
	if err != nil {
		t.Fatalf("output %s is not a PNG: %v", url, err)
	}
	return img.Bounds().Dx(), img.Bounds().Dy()
}

func TestImageToImageSizesFromTheInput(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	in := pngDataURI(t, 512, 384)
	for _, app := range []string{faltest.DemoFastSDXLImageToImage, faltest.DemoFluxDevImageToImage} {
		out := runT2I(t, srv, app, i2iBody(t, map[string]any{"prompt": "a watercolor", "image_url": in, "seed": 3}))
		if len(out.Images) != 1 || out.Images[0].Width != 512 || out.Images[0].Height != 384 || out.Seed != 3 {
			t.Fatalf("%s: output %+v, want one 512×384 image", app, out)
		}
		if w, h := decodedSize(t, srv, out.Images[0].URL); w != 512 || h != 384 {
			t.Errorf("%s: the PNG is %d×%d", app, w, h)
		}
	}
	// image_size wins over the input's size.
	out := runT2I(t, srv, faltest.DemoFastSDXLImageToImage, i2iBody(t, map[string]any{"prompt": "p", "image_url": in, "image_size": "square"}))
	if out.Images[0].Width != 512 || out.Images[0].Height != 512 {
		t.Errorf("image_size square: %+v", out.Images[0])
	}
	out = runT2I(t, srv, faltest.DemoFastSDXLImageToImage, i2iBody(t, map[string]any{"prompt": "p", "image_url": in, "image_size": map[string]int{"width": 40, "height": 30}}))
	if out.Images[0].Width != 40 || out.Images[0].Height != 30 {
		t.Errorf("image_size 40×30: %+v", out.Images[0])
	}
	// Other formats (headers written by hand, so that the test does not
	// register their decoders itself), and other data URI encodings.
	var pb bytes.Buffer
	if err := png.Encode(&pb, image.NewGray(image.Rect(0, 0, 24, 12))); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what, uri string
		w, h      int
	}{
		{"JPEG", "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(jpegHeader(64, 48)), 64, 48},
		{"GIF", "data:image/gif;base64," + base64.StdEncoding.EncodeToString(gifHeader(30, 20)), 30, 20},
		{"WebP", "data:image/webp;base64," + base64.StdEncoding.EncodeToString(webpHeader(100, 50)), 100, 50},
		{"unpadded base64", "data:image/png;base64," + base64.RawStdEncoding.EncodeToString(pb.Bytes()), 24, 12},
		{"percent-encoded", "data:image/png," + url.PathEscape(pb.String()), 24, 12},
	} {
		out = runT2I(t, srv, faltest.DemoFastSDXLImageToImage, i2iBody(t, map[string]any{"prompt": "p", "image_url": c.uri}))
		if out.Images[0].Width != c.w || out.Images[0].Height != c.h {
			t.Errorf("%s %d×%d input: %+v", c.what, c.w, c.h, out.Images[0])
		}
	}
}

// gifHeader is the start of a GIF of w×h: enough for its size to be read.
func gifHeader(w, h int) []byte {
	return []byte{'G', 'I', 'F', '8', '9', 'a', byte(w), byte(w >> 8), byte(h), byte(h >> 8), 0, 0, 0}
}

// jpegHeader is the start of a baseline grey JFIF JPEG of w×h (start of
// image, JFIF segment and frame header): enough for its size to be read.
func jpegHeader(w, h int) []byte {
	return []byte{
		0xff, 0xd8, // SOI
		0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, // APP0
		0xff, 0xc0, 0, 11, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 1, 1, 0x11, 0, // SOF0
	}
}

// webpHeader is the start of a lossless WebP of w×h: enough for its size
// to be read.
func webpHeader(w, h int) []byte {
	bits := uint32(w-1) | uint32(h-1)<<14
	vp8l := []byte{0x2f, byte(bits), byte(bits >> 8), byte(bits >> 16), byte(bits >> 24), 0}
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(4+8+len(vp8l)))
	b.WriteString("WEBPVP8L")
	_ = binary.Write(&b, binary.LittleEndian, uint32(5))
	b.Write(vp8l)
	return b.Bytes()
}

func TestImageToImageReadsTheServersOwnFiles(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	gen := runT2I(t, srv, faltest.DemoFastSDXL, `{"prompt":"a fox","image_size":{"width":96,"height":64}}`)
	stored := gen.Images[0].URL
	out := runT2I(t, srv, faltest.DemoFastSDXLImageToImage, i2iBody(t, map[string]any{"prompt": "as ink", "image_url": stored}))
	if out.Images[0].Width != 96 || out.Images[0].Height != 64 {
		t.Fatalf("from the stored 96×64 file: %+v", out.Images[0])
	}
	out = runT2I(t, srv, faltest.DemoFastSDXLInpainting, i2iBody(t, map[string]any{"prompt": "a hat", "image_url": stored, "mask_url": pngDataURI(t, 96, 64)}))
	if out.Images[0].Width != 96 || out.Images[0].Height != 64 {
		t.Fatalf("inpainting the stored 96×64 file: %+v", out.Images[0])
	}
	// A stored-file URL of this server that holds nothing.
	missing := srv.URL + "/cdn/files/000000000000000000000000/none.png"
	r := runApp(t, srv, faltest.DemoFastSDXLImageToImage, i2iBody(t, map[string]any{"prompt": "p", "image_url": missing}))
	if r.code != 422 || !strings.Contains(string(r.body), `"image_url"`) || !strings.Contains(string(r.body), "no file is stored") {
		t.Errorf("missing stored file: %d %s", r.code, r.body)
	}
}

func TestImageToImageNeverFetchesOutside(t *testing.T) {
	var hits atomic.Int64
	outside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		var b bytes.Buffer
		_ = png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)))
		_, _ = w.Write(b.Bytes())
	}))
	defer outside.Close()
	srv := newServer(t, faltest.WithDemoDelay(0))
	for _, u := range []string{
		outside.URL + "/cat.png",
		outside.URL + "/cdn/files/abc/cat.png", // the right path on another host
		srv.URL + "/run/falgo/echo",            // this server, but not a stored file
		"https://example.invalid/cat.png?token=secret",
		"cat.png",
	} {
		r := runApp(t, srv, faltest.DemoFastSDXLImageToImage, i2iBody(t, map[string]any{"prompt": "p", "image_url": u}))
		if r.code != 422 || !strings.Contains(string(r.body), `"loc":["body","image_url"]`) || !strings.Contains(string(r.body), "reads only data: URIs and files stored on it") {
			t.Errorf("%s: %d %s; want a 422 on image_url", u, r.code, r.body)
		}
		if strings.Contains(string(r.body), "secret") {
			t.Errorf("%s: the error repeats the URL's query: %s", u, r.body)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the outside server was asked %d times", n)
	}
}

func TestImageToImageValidation(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	img := pngDataURI(t, 16, 16)
	for _, c := range []struct {
		app, in string
		want    []string // substrings of the 422 body
	}{
		{faltest.DemoFastSDXLImageToImage, `{"prompt":"p"}`, []string{`{"loc":["body","image_url"],"msg":"field required","type":"missing"}`}},
		{faltest.DemoFluxDevImageToImage, `{"prompt":"p"}`, []string{`"loc":["body","image_url"]`, `"missing"`}},
		{faltest.DemoFastSDXLImageToImage, `{}`, []string{`"loc":["body","prompt"]`, `"loc":["body","image_url"]`}},
		{faltest.DemoFastSDXLInpainting, `{"prompt":"p","image_url":"` + img + `"}`, []string{`{"loc":["body","mask_url"],"msg":"field required","type":"missing"}`}},
		{faltest.DemoFastSDXLInpainting, `{"prompt":"p","image_url":"` + img + `","mask_url":"data:text/plain,hello"}`, []string{`"mask_url"`, "not an image"}},
		{faltest.DemoFastSDXLImageToImage, `{"prompt":"p","image_url":"data:image/png;base64,%%%"}`, []string{`"image_url"`, "invalid data URI"}},
		{faltest.DemoFastSDXLImageToImage, `{"prompt":"p","image_url":"data:image/png;base64"}`, []string{`"image_url"`, "invalid data URI"}},
		{faltest.DemoFastSDXLImageToImage, `{"prompt":"p","image_url":"data:,not-an-image"}`, []string{`"image_url"`, "not an image"}},
		{faltest.DemoFastSDXLImageToImage, `{"prompt":"p","image_url":"` + img + `","strength":0}`, []string{`"strength"`}},
		{faltest.DemoFastSDXLImageToImage, `{"prompt":"p","image_url":"` + img + `","num_images":9}`, []string{`"num_images"`}},
		{faltest.DemoFastSDXLImageToImage, `{"prompt":"","image_url":"` + img + `"}`, []string{`"prompt"`}},
		{faltest.DemoFastSDXLImageToImage, `{"prompt":"p","image_url":"` + pngDataURI(t, 4097, 2) + `"}`, []string{`"image_url"`, "4097×2"}},
		{faltest.DemoFastSDXLImageToImage, `[1]`, []string{`"loc":["body"]`, "must be a JSON object"}},
		{faltest.DemoFastSDXLImageToImage, `null`, []string{`"loc":["body"]`, "must be a JSON object"}},
		{faltest.DemoFastSDXLImageToImage, `{"prompt":"p","image_url":"data:image/gif;base64,` + base64.StdEncoding.EncodeToString(gifHeader(0, 5)) + `"}`, []string{`"image_url"`, "no pixels"}},
	} {
		r := runApp(t, srv, c.app, c.in)
		if r.code != 422 {
			t.Errorf("%s %.80s: %d %s; want 422", c.app, c.in, r.code, r.body)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(string(r.body), w) {
				t.Errorf("%s %.80s: %s lacks %s", c.app, c.in, r.body, w)
			}
		}
	}
	// A big input is fine with an image_size that fits.
	r := runApp(t, srv, faltest.DemoFastSDXLImageToImage, `{"prompt":"p","image_size":"square","image_url":"`+pngDataURI(t, 4097, 2)+`"}`)
	if r.code != 200 {
		t.Errorf("4097×2 input with image_size: %d %s", r.code, r.body)
	}
}

func TestDemoAppsRefuseUnknownSubPaths(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	for _, c := range []struct {
		path  string
		names []string // endpoints the 404 names
	}{
		{"fal-ai/fast-sdxl/no-such-endpoint", []string{"fal-ai/fast-sdxl, fal-ai/fast-sdxl/image-to-image, fal-ai/fast-sdxl/inpainting"}},
		{"fal-ai/fast-sdxl/image-to-image/extra", []string{"fal-ai/fast-sdxl/image-to-image"}},
		{"fal-ai/flux/dev/nope", []string{"fal-ai/flux/schnell", "fal-ai/flux/dev/image-to-image"}},
		{"fal-ai/flux/schnell/image-to-image", []string{"fal-ai/flux/dev"}},
		{"fal-ai/fast-lcm-diffusion/x", []string{"fal-ai/fast-lcm-diffusion"}},
		{"fal-ai/any-llm/vision", []string{"fal-ai/any-llm"}},
	} {
		r := runApp(t, srv, c.path, `{"prompt":"p"}`)
		if r.code != 404 {
			t.Errorf("%s: %d %s; want 404", c.path, r.code, r.body)
			continue
		}
		detail, _ := r.json(t)["detail"].(string)
		if !strings.HasPrefix(detail, "Path /") || !strings.Contains(detail, " not found") {
			t.Errorf("%s: detail %q; want fal's \"Path /... not found\"", c.path, detail)
		}
		for _, n := range c.names {
			if !strings.Contains(detail, n) {
				t.Errorf("%s: detail %q does not name %s", c.path, detail, n)
			}
		}
	}
	// falgo/echo still answers any sub-path, reporting it.
	r := runApp(t, srv, "falgo/echo/any/path", `{"_headers":true}`)
	if r.code != 200 || !strings.Contains(string(r.body), `"path":"any/path"`) {
		t.Errorf("echo sub-path: %d %s", r.code, r.body)
	}
}

func TestImageToImageThroughTheQueue(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	sub := submit(t, srv, faltest.DemoFastSDXLImageToImage, i2iBody(t, map[string]any{"prompt": "p", "image_url": pngDataURI(t, 512, 384)}))
	// fal drops the endpoint path from the request URLs.
	if !strings.HasPrefix(sub["status_url"].(string), srv.URL+"/queue/fal-ai/fast-sdxl/requests/") {
		t.Errorf("status_url %v", sub["status_url"])
	}
	st := waitStatus(t, srv, sub, "?logs=1", "completion", isCompleted)
	if logs, _ := json.Marshal(st["logs"]); !strings.Contains(string(logs), "Read the input image: 512×384") {
		t.Errorf("logs %s; want the input image's size", logs)
	}
	r := call(t, srv, "GET", sub["response_url"].(string), "")
	var out t2iOut
	if r.code != 200 || json.Unmarshal(r.body, &out) != nil || len(out.Images) != 1 || out.Images[0].Width != 512 || out.Images[0].Height != 384 {
		t.Fatalf("result: %d %s", r.code, r.body)
	}
	// An unknown endpoint is accepted by the queue and fails with the 404.
	sub = submit(t, srv, "fal-ai/fast-sdxl/no-such-endpoint", `{"prompt":"p"}`)
	waitStatus(t, srv, sub, "", "completion", isCompleted)
	r = call(t, srv, "GET", sub["response_url"].(string), "")
	if r.code != 404 || !strings.Contains(string(r.body), "fal-ai/fast-sdxl/image-to-image") {
		t.Fatalf("unknown endpoint's result: %d %s", r.code, r.body)
	}
}

func TestImageToImageStreams(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	evs, r := streamEvents(t, srv, faltest.DemoFluxDevImageToImage, i2iBody(t, map[string]any{"prompt": "p", "image_url": pngDataURI(t, 64, 32)}))
	if r.code != 200 || len(evs) == 0 {
		t.Fatalf("stream: %d %+v", r.code, evs)
	}
	var out t2iOut
	if err := json.Unmarshal([]byte(evs[len(evs)-1].data), &out); err != nil || len(out.Images) != 1 || out.Images[0].Width != 64 || out.Images[0].Height != 32 {
		t.Fatalf("last event %q: %v", evs[len(evs)-1].data, err)
	}
}

func TestImageToImagePlatformEntries(t *testing.T) {
	srv := newServer(t)
	for _, c := range []struct {
		id       string
		required []string
	}{
		{faltest.DemoFastSDXLImageToImage, []string{"image_url", "prompt"}},
		{faltest.DemoFastSDXLInpainting, []string{"image_url", "mask_url", "prompt"}},
		{faltest.DemoFluxDevImageToImage, []string{"image_url", "prompt"}},
	} {
		m := apiOK(t, srv, "GET", "/models?endpoint_id="+c.id, "", noKey, 200)
		models := list(t, m, "models")
		if len(models) != 1 || dig(t, models, 0, "endpoint_id") != c.id || dig(t, models, 0, "metadata", "category") != "image-to-image" {
			t.Errorf("%s: %v", c.id, models)
			continue
		}
		if _, streams := dig(t, models, 0, "metadata").(map[string]any)["stream_url"]; streams != (c.id == faltest.DemoFluxDevImageToImage) {
			t.Errorf("%s: stream_url listed: %v; only FLUX.1 [dev] streams", c.id, streams)
		}
		if dig(t, models, 0, "metadata", "model_url") != srv.URL+"/run/"+c.id {
			t.Errorf("%s: model_url %v", c.id, dig(t, models, 0, "metadata", "model_url"))
		}
		doc := schemaOf(t, srv, c.id)
		var input map[string]any
		for name, s := range dig(t, doc, "components", "schemas").(map[string]any) {
			if strings.HasSuffix(name, "Input") {
				input = s.(map[string]any)
			}
		}
		var req []string
		for _, v := range list(t, input, "required") {
			req = append(req, v.(string))
		}
		if strings.Join(req, ",") != strings.Join(c.required, ",") {
			t.Errorf("%s: required %v, want %v", c.id, req, c.required)
		}
		if _, ok := dig(t, doc, "paths").(map[string]any)["/"+c.id]; !ok {
			t.Errorf("%s: no submit path in %v", c.id, keysOf(dig(t, doc, "paths").(map[string]any)))
		}
	}
}
