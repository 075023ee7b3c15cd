package endpoints_test

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/falgo/fal/endpoints"
	i2i "github.com/falgo/fal/endpoints/fal-ai/fast-sdxl/image-to-image"
	"github.com/falgo/fal/faltest"
)

// The whole chain of a typed file input: a local file given as
// endpoints.LocalFile is uploaded to the server's storage before the
// request, the image-to-image demo reads it back from there (it fetches
// nothing else), and the typed output has the input's size.
func TestImageToImageTypedLocalFile(t *testing.T) {
	ctx := testContext(t)
	srv := faltest.NewServer()
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "in.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, image.NewRGBA(image.Rect(0, 0, 320, 240))); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	out, err := i2i.Subscribe(ctx, srv.Client(), i2i.Input{ImageURL: endpoints.LocalFile(path), Prompt: "a watercolour"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 1 || out.Images[0].Width != 320 || out.Images[0].Height != 240 {
		t.Fatalf("images = %+v, want one 320×240 image", out.Images)
	}
	if n := srv.Executions(faltest.DemoFastSDXLImageToImage); n != 1 {
		t.Fatalf("Executions = %d, want 1", n)
	}

	// Without the required image the server refuses it.
	if _, err := i2i.Run(ctx, srv.Client(), i2i.Input{Prompt: "no image"}); err == nil {
		t.Fatal("a request without image_url succeeded")
	}
}
