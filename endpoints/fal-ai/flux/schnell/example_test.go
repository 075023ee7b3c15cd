package schnell_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/falgo/fal/endpoints"
	"github.com/falgo/fal/endpoints/fal-ai/flux/schnell"
	"github.com/falgo/fal/faltest"
)

// Run fal-ai/flux/schnell with a typed input and read the typed output.
// The example runs on faltest, falgo's local fal-compatible server; against
// fal.ai, pass a client from fal.NewClient() (with FAL_KEY set) instead.
func Example() {
	srv := faltest.NewServer()
	defer srv.Close()

	out, err := schnell.Run(context.Background(), srv.Client(), schnell.Input{
		Prompt: "a lighthouse at dusk",
		ImageSize: schnell.ImageSizeUnionFromImageSize(schnell.ImageSize{
			Width:  endpoints.Ptr(64),
			Height: endpoints.Ptr(48),
		}),
		Seed:         endpoints.Ptr(42),
		OutputFormat: schnell.OutputFormatPNG,
	})
	if err != nil {
		log.Fatal(err)
	}
	img := out.Images[0] // a fal.File
	fmt.Println(img.Width, img.Height, img.ContentType, out.Seed)
	fmt.Println(strings.HasPrefix(img.URL, srv.URL))
	// Output:
	// 64 48 image/png 42
	// true
}

// Presets of a union field have constants; Submit returns a handle whose
// Result is typed.
func ExampleSubmit() {
	srv := faltest.NewServer()
	defer srv.Close()
	ctx := context.Background()

	h, err := schnell.Submit(ctx, srv.Client(), schnell.Input{
		Prompt:    "a red fox",
		ImageSize: schnell.ImageSizeUnionFromPreset(schnell.ImageSizePresetSquare),
		NumImages: endpoints.Ptr(2),
	})
	if err != nil {
		log.Fatal(err)
	}
	out, err := h.Result(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(out.Images), out.Images[0].Width, out.Images[0].Height)
	// Output:
	// 2 512 512
}
