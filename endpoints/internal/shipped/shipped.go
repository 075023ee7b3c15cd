// Package shipped lists the generated packages falgo ships under
// endpoints/ and the documents they are generated from, for the
// regenerating program (go generate ./endpoints/...) and the test that
// checks the committed packages are up to date.
package shipped

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/falgo/fal/faltest"
	"github.com/falgo/fal/internal/gen"
	"github.com/falgo/fal/platform"
)

// An Entry is one shipped package.
type Entry struct {
	// Doc is the document's path from the module root, slash separated.
	Doc string
	// EndpointID is given for documents that name none.
	EndpointID string
	// Stream adds Stream, for endpoints fal's metadata lists with a
	// stream_url.
	Stream bool
	// Note goes into the package documentation.
	Note string
}

const (
	corpus      = "internal/openapi/testdata/"
	faltestDocs = "endpoints/testdata/"

	imglyNote    = "Generated from img.ly's copy of fal's document (github.com/imgly/plugins), which img.ly edited for its editor: inputs fal accepts may be missing and enums may be shorter. See internal/openapi/testdata/SOURCES.md."
	tanstackNote = "Generated from fal's document as saved in a Platform API answer that github.com/TanStack/ai committed on 2026-01-28; see internal/openapi/testdata/SOURCES.md."
	faltestNote  = "Generated from the OpenAPI document faltest serves for its demo app of this endpoint, a simplified copy of fal's: inputs fal accepts may be missing. See endpoints/testdata/SOURCES.md."
	streamNote   = "Stream: fal's model metadata for this endpoint has a stream_url (as faltest's copy of it records)."
)

// Entries are the shipped packages, one per endpoint id. Where the corpus
// holds several documents of an endpoint, the unmodified fal document
// wins over img.ly's edited copy and faltest's simplified one.
var Entries = []Entry{
	{Doc: corpus + "fal-ai_flux-lora.json"},
	{Doc: corpus + "fal-ai_flux-pro_v1.1-ultra.json"},
	{Doc: corpus + "fal-ai_flux-pro_v1.1.json"},
	{Doc: corpus + "fal-ai_flux_dev.json", Stream: true, Note: streamNote},
	{Doc: corpus + "fal-ai_flux_schnell.json"},
	{Doc: corpus + "fal-ai_ideogram_v2.json"},
	{Doc: corpus + "fal-ai_ideogram_v2_turbo.json"},
	{Doc: corpus + "fal-ai_luma-dream-machine_image-to-video.json"},
	{Doc: corpus + "fal-ai_pixverse_v5.6_image-to-video.json"},
	{Doc: corpus + "fal-ai_playai_tts_v3.json"},
	{Doc: corpus + "fal-ai_recraft-v3.json"},
	{Doc: corpus + "fal-ai_stable-diffusion-v35-large.json"},
	{Doc: corpus + "imgly_ByteDanceSeedanceV1ProTextToVideo.json", Note: imglyNote},
	{Doc: corpus + "imgly_FluxProKontextEdit.json", Note: imglyNote},
	{Doc: corpus + "imgly_GeminiFlash25.json", Note: imglyNote},
	// img.ly's IdeogramV3 document has no paths and no metadata; its
	// plugin calls fal-ai/ideogram/v3.
	{Doc: corpus + "imgly_IdeogramV3.json", EndpointID: "fal-ai/ideogram/v3", Note: imglyNote},
	{Doc: corpus + "imgly_KlingVideoV21MasterImageToVideo.json", Note: imglyNote},
	{Doc: corpus + "imgly_MinimaxHailuo02StandardImageToVideo.json", Note: imglyNote},
	{Doc: corpus + "imgly_NanoBananaProEdit.json", Note: imglyNote},
	{Doc: corpus + "imgly_QwenImageEdit.json", Note: imglyNote},
	{Doc: corpus + "imgly_SeedreamV4Edit.json", Note: imglyNote},
	{Doc: corpus + "imgly_Veo31FastImageToVideo.json", Note: imglyNote},
	{Doc: corpus + "tanstack_bria_bria_video_eraser_erase_mask.json", Note: tanstackNote},
	{Doc: corpus + "tanstack_fal-ai_elevenlabs_speech-to-text.json", Note: tanstackNote},
	{Doc: corpus + "tanstack_fal-ai_flux-general.json", Note: tanstackNote},
	{Doc: corpus + "tanstack_fal-ai_flux-lora-fast-training.json", Note: tanstackNote},
	{Doc: corpus + "tanstack_fal-ai_fooocus_inpaint.json", Note: tanstackNote},
	{Doc: corpus + "tanstack_fal-ai_topaz_upscale_video.json", Note: tanstackNote},
	{Doc: corpus + "tanstack_fal-ai_whisper.json", Note: tanstackNote},
	{Doc: corpus + "tanstack_openrouter_router.json", Note: tanstackNote},
	{Doc: faltestDocs + "faltest_fal-ai_fast-sdxl.json", Note: faltestNote},
	{Doc: faltestDocs + "faltest_fal-ai_fast-lcm-diffusion.json", Note: faltestNote},
	{Doc: faltestDocs + "faltest_fal-ai_fast-sdxl_image-to-image.json", Note: faltestNote},
	{Doc: faltestDocs + "faltest_fal-ai_fast-sdxl_inpainting.json", Note: faltestNote},
	{Doc: faltestDocs + "faltest_fal-ai_flux_dev_image-to-image.json", Stream: true, Note: faltestNote + " " + streamNote},
	{Doc: faltestDocs + "faltest_fal-ai_any-llm.json", Stream: true, Note: faltestNote + " " + streamNote},
	{Doc: faltestDocs + "faltest_falgo_echo.json", Stream: true, Note: "Generated from the OpenAPI document of faltest's echo app (falgo/echo, not a fal endpoint): its input and output are any JSON object. See endpoints/testdata/SOURCES.md."},
}

// FaltestApps are the demo apps whose documents endpoints/testdata holds,
// saved by SaveFaltestDocs. faltest's fal-ai/flux/schnell and
// fal-ai/flux/dev are kept for the tests; their shipped packages come
// from fal's own documents.
var FaltestApps = []string{
	faltest.DemoFluxSchnell, faltest.DemoFluxDev, faltest.DemoFastSDXL,
	faltest.DemoRealtimeLCM, faltest.DemoAnyLLM, faltest.DemoEcho,
	faltest.DemoFastSDXLImageToImage, faltest.DemoFastSDXLInpainting, faltest.DemoFluxDevImageToImage,
}

// FaltestDocPath is where the document of a faltest demo app is kept,
// from the module root.
func FaltestDocPath(app string) string {
	return faltestDocs + "faltest_" + strings.ReplaceAll(app, "/", "_") + ".json"
}

// Generate generates every shipped package from the documents under
// root, the module root.
func Generate(root string) ([]*gen.File, error) {
	var out []*gen.File
	seen := make(map[string]string)
	for _, e := range Entries {
		doc, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(e.Doc)))
		if err != nil {
			return nil, err
		}
		f, err := gen.Generate(gen.Spec{Doc: doc, Source: e.Doc, EndpointID: e.EndpointID, Stream: e.Stream, Note: e.Note})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Doc, err)
		}
		if prev, ok := seen[f.Dir]; ok {
			return nil, fmt.Errorf("%s and %s are both %s", prev, e.Doc, f.EndpointID)
		}
		seen[f.Dir] = e.Doc
		out = append(out, f)
	}
	return out, nil
}

// FaltestDocs returns the OpenAPI document faltest serves for each of its
// demo apps, by app id, fetched through its Platform API as `falgo gen
// APP` would.
func FaltestDocs(ctx context.Context) (map[string][]byte, error) {
	srv := faltest.NewServer()
	defer srv.Close()
	p, err := platform.New(srv.Client())
	if err != nil {
		return nil, err
	}
	docs := make(map[string][]byte)
	for _, app := range FaltestApps {
		m, err := p.Model(ctx, app, platform.ExpandOpenAPI)
		if err != nil {
			return nil, err
		}
		if m.OpenAPIError != nil {
			return nil, m.OpenAPIError
		}
		docs[app] = append([]byte(nil), m.OpenAPI...)
	}
	return docs, nil
}
