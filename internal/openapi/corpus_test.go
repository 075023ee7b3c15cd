package openapi_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/falgo/fal/internal/openapi"
)

// corpusIDs lists every document of testdata/ with the endpoint id Parse
// must find ("" for the one document without paths or metadata).
var corpusIDs = map[string]string{
	"fal-ai_flux-lora.json":                           "fal-ai/flux-lora",
	"fal-ai_flux-pro_v1.1-ultra.json":                 "fal-ai/flux-pro/v1.1-ultra",
	"fal-ai_flux-pro_v1.1.json":                       "fal-ai/flux-pro/v1.1",
	"fal-ai_flux_dev.json":                            "fal-ai/flux/dev",
	"fal-ai_flux_schnell.json":                        "fal-ai/flux/schnell",
	"fal-ai_ideogram_v2.json":                         "fal-ai/ideogram/v2",
	"fal-ai_ideogram_v2_turbo.json":                   "fal-ai/ideogram/v2/turbo",
	"fal-ai_luma-dream-machine_image-to-video.json":   "fal-ai/luma-dream-machine/image-to-video",
	"fal-ai_pixverse_v5.6_image-to-video.json":        "fal-ai/pixverse/v5.6/image-to-video",
	"fal-ai_playai_tts_v3.json":                       "fal-ai/playai/tts/v3",
	"fal-ai_recraft-v3.json":                          "fal-ai/recraft-v3",
	"fal-ai_stable-diffusion-v35-large.json":          "fal-ai/stable-diffusion-v35-large",
	"imgly_ByteDanceSeedanceV1ProTextToVideo.json":    "fal-ai/bytedance/seedance/v1/pro/text-to-video",
	"imgly_FluxProKontextEdit.json":                   "fal-ai/flux-pro/kontext",
	"imgly_GeminiFlash25.json":                        "fal-ai/gemini-flash-2.5",
	"imgly_IdeogramV3.json":                           "",
	"imgly_KlingVideoV21MasterImageToVideo.json":      "fal-ai/kling-video/v2.1/master/image-to-video",
	"imgly_MinimaxHailuo02StandardImageToVideo.json":  "fal-ai/minimax/hailuo-02/standard/image-to-video",
	"imgly_NanoBananaProEdit.json":                    "fal-ai/nano-banana-pro/edit",
	"imgly_QwenImageEdit.json":                        "fal-ai/qwen-image-edit",
	"imgly_SeedreamV4Edit.json":                       "fal-ai/bytedance/seedream/v4/edit",
	"imgly_Veo31FastImageToVideo.json":                "fal-ai/veo3.1/fast/image-to-video",
	"imgly_recraft-v3.json":                           "fal-ai/recraft-v3",
	"tanstack_bria_bria_video_eraser_erase_mask.json": "bria/bria_video_eraser/erase/mask",
	"tanstack_fal-ai_elevenlabs_speech-to-text.json":  "fal-ai/elevenlabs/speech-to-text",
	"tanstack_fal-ai_flux-general.json":               "fal-ai/flux-general",
	"tanstack_fal-ai_flux-lora-fast-training.json":    "fal-ai/flux-lora-fast-training",
	"tanstack_fal-ai_fooocus_inpaint.json":            "fal-ai/fooocus/inpaint",
	"tanstack_fal-ai_topaz_upscale_video.json":        "fal-ai/topaz/upscale/video",
	"tanstack_fal-ai_whisper.json":                    "fal-ai/whisper",
	"tanstack_openrouter_router.json":                 "openrouter/router",
}

type corpusDoc struct {
	file string
	raw  []byte
	e    *openapi.Endpoint
}

func loadCorpus(t testing.TB) []corpusDoc {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("corpus has %d documents, want at least 15", len(files))
	}
	var docs []corpusDoc
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		e, err := openapi.Parse(raw)
		if err != nil {
			t.Fatalf("%s: Parse: %v", f, err)
		}
		docs = append(docs, corpusDoc{file: filepath.Base(f), raw: raw, e: e})
	}
	return docs
}

func TestCorpusParses(t *testing.T) {
	docs := loadCorpus(t)
	if len(docs) != len(corpusIDs) {
		t.Errorf("testdata has %d documents, corpusIDs lists %d: keep them in step", len(docs), len(corpusIDs))
	}
	for _, d := range docs {
		want, listed := corpusIDs[d.file]
		if !listed {
			t.Errorf("%s: not listed in corpusIDs", d.file)
		}
		if d.e.ID != want {
			t.Errorf("%s: ID = %q, want %q", d.file, d.e.ID, want)
		}
		if d.e.Input == nil || d.e.Input.Kind != openapi.KindObject || len(d.e.Inputs()) == 0 {
			t.Errorf("%s: no input fields (input %+v)", d.file, d.e.Input)
		}
		if !strings.HasSuffix(d.e.InputName, "Input") {
			t.Errorf("%s: InputName = %q", d.file, d.e.InputName)
		}
		if d.e.Output == nil || d.e.Output.Kind != openapi.KindObject || len(d.e.Outputs()) == 0 {
			t.Errorf("%s: no output fields", d.file)
		}
		for _, f := range d.e.Inputs() {
			if f.Type == "" || f.Schema == nil {
				t.Errorf("%s: field %s has no type", d.file, f.Name)
			}
		}
	}
}

// rawSchema is the input schema as encoding/json reads it: an oracle
// independent of the package's own reader.
type rawSchema struct {
	Properties map[string]map[string]any `json:"properties"`
	Required   []string                  `json:"required"`
	Order      []string                  `json:"x-fal-order-properties"`
}

func rawInput(t *testing.T, d corpusDoc) rawSchema {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(d.raw, &doc); err != nil {
		t.Fatal(err)
	}
	var s rawSchema
	dec := json.NewDecoder(bytes.NewReader(doc.Components.Schemas[d.e.InputName]))
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("%s: %v", d.file, err)
	}
	return s
}

// TestCorpusInputsMatchDocument checks, for every document, that Inputs()
// lists exactly the input schema's properties, in x-fal-order-properties
// order (the listed ones first), with the document's required list and
// defaults.
func TestCorpusInputsMatchDocument(t *testing.T) {
	for _, d := range loadCorpus(t) {
		raw := rawInput(t, d)
		fields := d.e.Inputs()
		var names []string
		for _, f := range fields {
			names = append(names, f.Name)
		}
		var wantAll []string
		for n := range raw.Properties {
			wantAll = append(wantAll, n)
		}
		gotSorted := append([]string(nil), names...)
		sort.Strings(gotSorted)
		sort.Strings(wantAll)
		if !reflect.DeepEqual(gotSorted, wantAll) {
			t.Errorf("%s: fields %v, document has %v", d.file, gotSorted, wantAll)
			continue
		}
		var ordered []string
		for _, n := range raw.Order {
			if _, ok := raw.Properties[n]; ok {
				ordered = append(ordered, n)
			}
		}
		if len(ordered) > len(names) || !reflect.DeepEqual(names[:len(ordered)], ordered) {
			t.Errorf("%s: order %v does not start with x-fal-order-properties %v", d.file, names, ordered)
		}
		for _, f := range fields {
			req := false
			for _, r := range raw.Required {
				req = req || r == f.Name
			}
			if f.Required != req {
				t.Errorf("%s: %s.Required = %v, document says %v", d.file, f.Name, f.Required, req)
			}
			def, has := raw.Properties[f.Name]["default"]
			if has != f.HasDefault || (has && !reflect.DeepEqual(def, f.Default)) {
				t.Errorf("%s: %s default = %v (%v), document has %v (%v)", d.file, f.Name, f.Default, f.HasDefault, def, has)
			}
		}
	}
}

// TestInputsFieldByField checks four documents' fields one by one against
// what the document says.
func TestInputsFieldByField(t *testing.T) {
	type want struct {
		name, typ string
		required  bool
		nullable  bool
		def       string
		enum      string
		rng       string
	}
	presets := "square_hd,square,portrait_4_3,portrait_16_9,landscape_4_3,landscape_16_9"
	cases := map[string][]want{
		// x-fal-order-properties puts num_inference_steps before prompt;
		// seed is anyOf [integer, null]; image_size anyOf [ImageSize, enum].
		"fal-ai_flux_schnell.json": {
			{"num_inference_steps", "integer", false, false, "4", "", "1 <= x <= 12"},
			{"prompt", "string", true, false, "", "", ""},
			{"image_size", "ImageSize | string", false, false, `"landscape_4_3"`, presets, ""},
			{"seed", "integer", false, true, "", "", ""},
			{"guidance_scale", "number", false, false, "3.5", "", "1 <= x <= 20"},
			{"sync_mode", "boolean", false, false, "false", "", ""},
			{"num_images", "integer", false, false, "1", "", "1 <= x <= 4"},
			{"enable_safety_checker", "boolean", false, false, "true", "", ""},
			{"output_format", "enum(jpeg, png)", false, false, `"jpeg"`, "jpeg,png", ""},
			{"acceleration", "enum(none, regular, high)", false, false, `"none"`, "none,regular,high", ""},
		},
		// loras: array of $ref LoraWeight.
		"fal-ai_flux-lora.json": {
			{"prompt", "string", true, false, "", "", ""},
			{"image_size", "ImageSize | string", false, false, `"landscape_4_3"`, presets, ""},
			{"num_inference_steps", "integer", false, false, "28", "", "1 <= x <= 50"},
			{"seed", "integer", false, false, "", "", ""},
			{"loras", "array of LoraWeight", false, false, "[]", "", ""},
			{"guidance_scale", "number", false, false, "3.5", "", "0 <= x <= 35"},
			{"sync_mode", "boolean", false, false, "false", "", ""},
			{"num_images", "integer", false, false, "1", "", "1 <= x <= 4"},
			{"enable_safety_checker", "boolean", false, false, "true", "", ""},
			{"output_format", "enum(jpeg, png)", false, false, `"jpeg"`, "jpeg,png", ""},
		},
		// Document order is response_format, input, voice, seed; fal's
		// order is input, voice, response_format, seed.
		"fal-ai_playai_tts_v3.json": {
			{"input", "string", true, false, "", "", "length >= 1"},
			{"voice", "string", true, false, "", "", ""},
			{"response_format", "enum(url, bytes)", false, false, `"url"`, "url,bytes", ""},
			{"seed", "integer", false, false, "", "", "x >= 0"},
		},
		// x-fal-order-properties names only two fields: the rest follow in
		// document order. aspect_ratio is anyOf [enum, $ref CustomAspectRatio].
		"imgly_GeminiFlash25.json": {
			{"prompt", "string", true, false, "", "", "length 1..5000"},
			{"aspect_ratio", "string | CustomAspectRatio", false, false, `"1:1"`, "1:1,3:4,4:3,9:16,16:9", ""},
			{"output_format", "enum(jpeg, png, webp)", false, false, `"jpeg"`, "jpeg,png,webp", ""},
			{"num_images", "integer", false, false, "1", "", "1 <= x <= 4"},
			{"safety_settings", "array of object", false, false, "", "", ""},
			{"seed", "integer", false, false, "", "", ""},
		},
	}
	docs := map[string]*openapi.Endpoint{}
	for _, d := range loadCorpus(t) {
		docs[d.file] = d.e
	}
	for file, wants := range cases {
		fields := docs[file].Inputs()
		if len(fields) != len(wants) {
			t.Errorf("%s: %d fields, want %d", file, len(fields), len(wants))
			continue
		}
		for i, w := range wants {
			f := fields[i]
			got := want{f.Name, f.Type, f.Required, f.Nullable, f.DefaultText(), strings.Join(f.Enum, ","), f.Range}
			if got != w {
				t.Errorf("%s field %d:\n got %+v\nwant %+v", file, i, got, w)
			}
		}
	}
	// Descriptions and titles come through.
	f := docs["fal-ai_playai_tts_v3.json"].Inputs()[0]
	if f.Title != "Input" || f.Description != "The text to be converted to speech." {
		t.Errorf("playai input: title %q, description %q", f.Title, f.Description)
	}
	if len(docs["fal-ai_playai_tts_v3.json"].Inputs()[1].Examples) != 60 {
		t.Errorf("playai voice: want the 60 example voices")
	}
	// A nested $ref resolves to the shared component, with its own order.
	lora := docs["fal-ai_flux-lora.json"].Input.Property("loras").Schema.Items
	if lora.Name != "LoraWeight" || len(lora.Properties) != 2 || lora.Properties[0].Name != "path" || !lora.Properties[0].Required {
		t.Errorf("LoraWeight: %+v", lora)
	}
	// allOf [$ref AudioFile] with a use-site description keeps the name.
	audio := docs["fal-ai_playai_tts_v3.json"].Output.Property("audio").Schema
	if audio.Name != "AudioFile" || audio.Description != "The generated audio file." || audio.Property("url") == nil {
		t.Errorf("playai audio output: %+v", audio)
	}
}
