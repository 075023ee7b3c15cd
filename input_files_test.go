package fal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

func TestFileInputsUploadedAndOutputsDownloaded(t *testing.T) {
	t.Parallel()
	var seen string
	srv, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/describe", func(ctx context.Context, req *faltest.Request) (any, error) {
		var in struct {
			Image string   `json:"image_url"`
			Extra []string `json:"extras"`
		}
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		seen = in.Image
		data := []byte("generated output " + in.Image)
		return map[string]any{"file": map[string]any{"url": req.Upload("text/plain", "out.txt", data), "content_type": "text/plain"}, "inputs": in}, nil
	})})
	dir := t.TempDir()
	p := filepath.Join(dir, "in.png")
	content := pattern(5000)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	type input struct {
		Image  *fal.InputFile   `json:"image_url"`
		Extras []*fal.InputFile `json:"extras"`
	}
	in := input{Image: fal.LocalFile(p), Extras: []*fal.InputFile{fal.FileBytes("a.txt", []byte("aaa")), fal.FileReader("b.txt", strings.NewReader("bbb"))}}
	res, err := c.Subscribe(bg(t), "t/describe", in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(seen, srv.URL) || seen != in.Image.URL() {
		t.Fatalf("app saw %q, want the uploaded URL %q", seen, in.Image.URL())
	}
	stored, ok := srv.File(seen)
	if !ok || !bytes.Equal(stored.Data, content) {
		t.Fatal("the app's input URL does not serve the local file")
	}
	files := fal.FindFiles(res.Data)
	if len(files) != 1 {
		t.Fatalf("FindFiles: %+v in %s", files, res.Data)
	}
	var out bytes.Buffer
	if err := c.Download(bg(t), files[0], &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "generated output "+seen {
		t.Fatalf("downloaded %q", out.String())
	}
	var decoded struct {
		Inputs struct {
			Extras []string `json:"extras"`
		} `json:"inputs"`
	}
	_ = json.Unmarshal(res.Data, &decoded)
	for i, u := range decoded.Inputs.Extras {
		b, _ := fetch(t, u)
		if want := []string{"aaa", "bbb"}[i]; string(b) != want {
			t.Fatalf("extra %d: %q", i, b)
		}
	}
	// Turned off: the request fails before anything is sent.
	before := srv.Stats().Requests["run"]
	_, err = c.Run(bg(t), "t/describe", map[string]any{"image_url": fal.FileBytes("x.txt", []byte("x"))}, fal.WithoutAutoUpload())
	if err == nil || !strings.Contains(err.Error(), "not uploaded") {
		t.Fatalf("WithoutAutoUpload: %v", err)
	}
	checkErrorText(t, "WithoutAutoUpload", err)
	if srv.Stats().Requests["run"] != before {
		t.Fatal("the run was sent with an input that could not be encoded")
	}
}

// TestInputFileUploadedOnce: the same *InputFile in two calls (and twice
// in one input) is uploaded once; later calls reuse its URL.
func TestInputFileUploadedOnce(t *testing.T) {
	t.Parallel()
	srv, c, _ := newLocal(t, nil)
	ctx := bg(t)
	f := fal.FileBytes("x.bin", pattern(1000))
	var urls []string
	for i := 0; i < 2; i++ {
		res, err := c.Run(ctx, "falgo/echo", map[string]any{"a": f, "b": []any{f}})
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			A string   `json:"a"`
			B []string `json:"b"`
		}
		if err := res.Decode(&out); err != nil {
			t.Fatal(err)
		}
		urls = append(urls, out.A, out.B[0])
	}
	if _, err := c.Submit(ctx, "falgo/echo", map[string]any{"a": f}); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if n := st.Requests["upload"] + st.Requests["storage_initiate"] + st.Requests["multipart_initiate"]; n != 1 {
		t.Fatalf("%d uploads for one file used in three calls, want 1 (routes %v)", n, st.Requests)
	}
	for _, u := range urls {
		if u != f.URL() || u == "" {
			t.Fatalf("the app saw %v, want the one URL %q", urls, f.URL())
		}
	}
	if stored, ok := srv.File(f.URL()); !ok || !bytes.Equal(stored.Data, pattern(1000)) {
		t.Fatal("the URL does not serve the file")
	}
}
