package endpoints_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/endpoints"
	anyllm "github.com/falgo/fal/endpoints/fal-ai/any-llm"
	"github.com/falgo/fal/endpoints/fal-ai/flux/schnell"
	kling "github.com/falgo/fal/endpoints/fal-ai/kling-video/v2.1/master/image-to-video"
	"github.com/falgo/fal/endpoints/fal-ai/nano-banana-pro/edit"
	"github.com/falgo/fal/endpoints/falgo/echo"
	"github.com/falgo/fal/endpoints/internal/shipped"
	"github.com/falgo/fal/faltest"
	"github.com/falgo/fal/internal/gen"
)

var update = flag.Bool("update", false, "rewrite the shipped packages (as go generate ./endpoints/... does)")

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestShippedUpToDate is CI's check that the committed packages are what
// the generator writes from the committed documents: each endpoint.go
// under endpoints/ against a fresh generation, and no generated file left
// from an endpoint no longer shipped.
func TestShippedUpToDate(t *testing.T) {
	files, err := shipped.Generate("..")
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[string][]byte)
	for _, f := range files {
		want[filepath.Join(filepath.FromSlash(f.Dir), gen.FileName)] = f.Code
	}
	if *update {
		for p, code := range want {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, code, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for p, code := range want {
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v (run go generate ./endpoints/...)", p, err)
			continue
		}
		if !bytes.Equal(got, code) {
			t.Errorf("endpoints/%s is not what the generator writes: run go generate ./endpoints/...", filepath.ToSlash(p))
		}
	}
	err = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != gen.FileName || want[p] != nil {
			return err
		}
		if b, err := os.ReadFile(p); err == nil && gen.IsGenerated(b) {
			t.Errorf("endpoints/%s is generated but no longer shipped: run go generate ./endpoints/...", filepath.ToSlash(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFaltestDocumentsCurrent checks that endpoints/testdata holds the
// documents faltest serves now.
func TestFaltestDocumentsCurrent(t *testing.T) {
	docs, err := shipped.FaltestDocs(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, app := range shipped.FaltestApps {
		p := filepath.Join("..", filepath.FromSlash(shipped.FaltestDocPath(app)))
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, docs[app]) {
			t.Errorf("%s differs from the document faltest serves for %s: run go run ./endpoints/internal/regen -faltest from endpoints/", p, app)
		}
	}
}

func TestSchnellRunOnFaltest(t *testing.T) {
	ctx := testContext(t)
	srv := faltest.NewServer()
	defer srv.Close()
	c := srv.Client()

	out, err := schnell.Run(ctx, c, schnell.Input{Prompt: "a lighthouse at dusk"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 1 || !strings.HasPrefix(out.Images[0].URL, srv.URL) {
		t.Fatalf("Images = %+v, want one image stored on the server", out.Images)
	}
	var png bytes.Buffer
	if err := c.Download(ctx, out.Images[0], &png); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG")) {
		t.Fatalf("the image is not a PNG: % x", png.Bytes()[:min(8, png.Len())])
	}
	if out.Prompt != "a lighthouse at dusk" || len(out.HasNSFWConcepts) != 1 {
		t.Fatalf("Output = %+v", out)
	}

	// The typed output is the raw one.
	res, err := c.Run(ctx, schnell.EndpointID, schnell.Input{Prompt: "raw", Seed: endpoints.Ptr(3)})
	if err != nil {
		t.Fatal(err)
	}
	typed, err := schnell.Decode(res)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, typed, res.Data)
}

// sameJSON fails unless v encodes to the JSON raw holds.
func sameJSON(t *testing.T, v any, raw json.RawMessage) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x, y any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &y); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(x, y) {
		t.Fatalf("typed value encodes as\n%s\nwant\n%s", b, raw)
	}
}

func TestOptionalFieldsOmitCleanly(t *testing.T) {
	for _, tc := range []struct {
		in   schnell.Input
		want string
	}{
		{schnell.Input{Prompt: "p"}, `{"prompt":"p"}`},
		// Zero values that are values: sent.
		{schnell.Input{Prompt: "p", Seed: endpoints.Ptr(0), EnableSafetyChecker: endpoints.Ptr(false), SyncMode: endpoints.Ptr(false), GuidanceScale: endpoints.Ptr(0.0)},
			`{"prompt":"p","seed":0,"guidance_scale":0,"sync_mode":false,"enable_safety_checker":false}`},
		{schnell.Input{Prompt: "p", OutputFormat: schnell.OutputFormatPNG, ImageSize: schnell.ImageSizeUnionFromPreset(schnell.ImageSizePresetSquareHD)},
			`{"prompt":"p","image_size":"square_hd","output_format":"png"}`},
		{schnell.Input{Prompt: "", ImageSize: schnell.ImageSizeUnionFromImageSize(schnell.ImageSize{Width: endpoints.Ptr(640), Height: endpoints.Ptr(480)})},
			`{"prompt":"","image_size":{"width":640,"height":480}}`},
	} {
		b, err := json.Marshal(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		var got, want any
		_ = json.Unmarshal(b, &got)
		_ = json.Unmarshal([]byte(tc.want), &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Marshal = %s, want %s", b, tc.want)
		}
	}
	// A seed of 0 and false reach the app.
	ctx := testContext(t)
	srv := faltest.NewServer()
	defer srv.Close()
	if _, err := schnell.Run(ctx, srv.Client(), schnell.Input{Prompt: "p", Seed: endpoints.Ptr(0), EnableSafetyChecker: endpoints.Ptr(false)}); err != nil {
		t.Fatal(err)
	}
	h := srv.History(schnell.EndpointID)
	if len(h) != 1 || !bytes.Contains(h[0].Input, []byte(`"seed":0`)) || !bytes.Contains(h[0].Input, []byte(`"enable_safety_checker":false`)) {
		t.Fatalf("the app got %s", h[0].Input)
	}
}

func TestUnionJSON(t *testing.T) {
	for _, tc := range []struct {
		json  string
		check func(schnell.ImageSizeUnion) bool
	}{
		{`"portrait_16_9"`, func(u schnell.ImageSizeUnion) bool {
			return u.Preset != nil && *u.Preset == schnell.ImageSizePresetPortrait16_9 && u.ImageSize == nil
		}},
		{`{"width":10,"height":20}`, func(u schnell.ImageSizeUnion) bool {
			return u.ImageSize != nil && *u.ImageSize.Width == 10 && *u.ImageSize.Height == 20 && u.Preset == nil
		}},
		// A value of no member's kind is kept, not refused.
		{`[1,2]`, func(u schnell.ImageSizeUnion) bool { return string(u.Raw) == `[1,2]` && u.Preset == nil }},
		{`null`, func(u schnell.ImageSizeUnion) bool { return reflect.ValueOf(u).IsZero() }},
	} {
		var u schnell.ImageSizeUnion
		if err := json.Unmarshal([]byte(tc.json), &u); err != nil {
			t.Fatalf("%s: %v", tc.json, err)
		}
		if !tc.check(u) {
			t.Errorf("%s decoded as %+v", tc.json, u)
		}
		b, err := json.Marshal(u)
		if err != nil || string(b) != tc.json {
			t.Errorf("%s encodes back as %s, %v", tc.json, b, err)
		}
	}
	// Inside a struct, through the pointer field.
	var in schnell.Input
	if err := json.Unmarshal([]byte(`{"prompt":"x","image_size":"square"}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.ImageSize == nil || in.ImageSize.Preset == nil || *in.ImageSize.Preset != schnell.ImageSizePresetSquare {
		t.Fatalf("ImageSize = %+v", in.ImageSize)
	}
}

// TestFileInputsUploaded calls generated packages whose inputs are files
// on apps registered under their ids: a local file and bytes are uploaded
// first and the app gets their URLs; a URL is sent as it is.
func TestFileInputsUploaded(t *testing.T) {
	ctx := testContext(t)
	var srv *faltest.Server
	var got []string
	video := func(_ context.Context, req *faltest.Request) (any, error) {
		var in struct {
			ImageURL string `json:"image_url"`
		}
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		got = append(got, in.ImageURL)
		url := req.Upload("video/mp4", "out.mp4", []byte("mp4!"))
		return map[string]any{"video": map[string]any{"url": url, "content_type": "video/mp4", "file_name": "out.mp4", "file_size": 4, "file_data": ""}}, nil
	}
	images := func(_ context.Context, req *faltest.Request) (any, error) {
		var in struct {
			ImageURLs []string `json:"image_urls"`
		}
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		got = append(got, in.ImageURLs...)
		return map[string]any{"images": []any{}, "description": "edited"}, nil
	}
	srv = faltest.NewServer(faltest.WithApp(kling.EndpointID, video), faltest.WithApp(edit.EndpointID, images))
	defer srv.Close()
	c := srv.Client()

	out, err := kling.Subscribe(ctx, c, kling.Input{Prompt: "move", ImageURL: endpoints.File(fal.FileBytes("in.png", []byte("png!")))})
	if err != nil {
		t.Fatal(err)
	}
	if out.Video.URL == "" || out.Video.ContentType != "video/mp4" || out.Video.FileSize != 4 {
		t.Fatalf("Video = %+v", out.Video)
	}
	var buf bytes.Buffer
	if err := out.Video.Download(ctx, &buf); err != nil || buf.String() != "mp4!" {
		t.Fatalf("downloading the output: %q, %v", buf.String(), err)
	}

	local := filepath.Join(t.TempDir(), "local.jpg")
	if err := os.WriteFile(local, []byte("jpg!"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := edit.Run(ctx, c, edit.Input{Prompt: "edit", ImageURLs: []*endpoints.FileInput{
		endpoints.LocalFile(local), endpoints.FileURL("https://example.com/a.png"),
	}}); err != nil {
		t.Fatal(err)
	}

	if len(got) != 3 {
		t.Fatalf("the apps got %q", got)
	}
	for i, want := range []string{"png!", "jpg!"} {
		f, ok := srv.File(got[i])
		if !ok || string(f.Data) != want {
			t.Errorf("input %d: %s is not the uploaded file (%v, %q)", i, got[i], ok, f.Data)
		}
	}
	if got[2] != "https://example.com/a.png" {
		t.Errorf("a URL input became %q", got[2])
	}

	// Without automatic upload a file that was not uploaded is an error,
	// before anything is sent.
	_, err = kling.Run(ctx, c, kling.Input{Prompt: "x", ImageURL: endpoints.File(fal.FileBytes("b.png", []byte("b")))}, fal.WithoutAutoUpload())
	if err == nil || !strings.Contains(err.Error(), "not uploaded") {
		t.Fatalf("err = %v, want the file-not-uploaded error", err)
	}
}

func TestStreamTyped(t *testing.T) {
	ctx := testContext(t)
	srv := faltest.NewServer()
	defer srv.Close()
	c := srv.Client()
	var last *anyllm.Output
	n := 0
	for ev, err := range anyllm.Stream(ctx, c, anyllm.Input{Prompt: "why is the sky blue?"}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Partial == nil {
			t.Fatalf("event %d has no partial field: %+v", n, ev)
		}
		last, n = ev, n+1
	}
	if n < 2 || *last.Partial {
		t.Fatalf("%d events, last %+v: want several, the last not partial", n, last)
	}
	out, err := anyllm.Run(ctx, c, anyllm.Input{Prompt: "why is the sky blue?"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Output != last.Output {
		t.Fatalf("the stream ended with %q, Run answered %q", last.Output, out.Output)
	}
	// Breaking out early ends the stream.
	for range anyllm.Stream(ctx, c, anyllm.Input{Prompt: "x"}) {
		break
	}
}

func TestSubmitAndAttach(t *testing.T) {
	ctx := testContext(t)
	srv := faltest.NewServer()
	defer srv.Close()
	c := srv.Client()
	h, err := schnell.Submit(ctx, c, schnell.Input{Prompt: "queued", NumImages: endpoints.Ptr(2)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Status(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := schnell.Attach(c, h.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := again.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 2 {
		t.Fatalf("%d images, want 2", len(out.Images))
	}
	raw, err := h.RequestHandle.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, out, raw.Data)

	// An app error stays the client's error type.
	_, err = schnell.Subscribe(ctx, c, schnell.Input{Prompt: "p", NumImages: endpoints.Ptr(99)})
	var re *fal.RequestError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T), want *fal.RequestError", err, err)
	}
}

func TestEcho(t *testing.T) {
	ctx := testContext(t)
	srv := faltest.NewServer()
	defer srv.Close()
	in := echo.Input{"a": 1.0, "b": []any{"x", false}}
	out, err := echo.Run(ctx, srv.Client(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(map[string]any(*out), map[string]any(in)) {
		t.Fatalf("echo answered %v", *out)
	}
}

func TestRuntimeHelpers(t *testing.T) {
	if p := endpoints.Ptr(0); p == nil || *p != 0 {
		t.Fatal("Ptr")
	}
	var f endpoints.FileInput
	if err := json.Unmarshal([]byte(`"https://x/y.png"`), &f); err != nil || f.URL != "https://x/y.png" {
		t.Fatalf("FileInput from a string: %+v, %v", f, err)
	}
	if err := json.Unmarshal([]byte(`null`), &f); err != nil || f.URL != "" {
		t.Fatalf("FileInput from null: %+v, %v", f, err)
	}
	if err := json.Unmarshal([]byte(`{"url":"x"}`), &f); err == nil {
		t.Fatal("FileInput from an object: no error")
	}
	if b, err := json.Marshal(endpoints.FileURL("u")); err != nil || string(b) != `"u"` {
		t.Fatalf("FileURL encodes as %s, %v", b, err)
	}
	for in, want := range map[string]byte{` "a"`: '"', "\n{": '{', "[": '[', "true": 't', "-1": '-', "7": '7', "null": 'n', " ": 0} {
		if got := endpoints.JSONKind([]byte(in)); got != want {
			t.Errorf("JSONKind(%q) = %q, want %q", in, got, want)
		}
	}
	var p struct{ X int }
	if err := endpoints.DecodeStrict([]byte(`{"X":1,"Y":2}`), &p); err == nil {
		t.Error("DecodeStrict took an unknown key")
	}
	if err := endpoints.DecodeStrict([]byte(`{"X":1}`), &p); err != nil || p.X != 1 {
		t.Errorf("DecodeStrict: %v", err)
	}
	if _, err := schnell.Attach(nil, "id"); err == nil {
		t.Error("Attach with a nil client: no error")
	}
	var h *schnell.Handle
	if _, err := h.Result(context.Background()); err == nil {
		t.Error("Result on a nil Handle: no error")
	}
}
