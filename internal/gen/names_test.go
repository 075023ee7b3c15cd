package gen

import (
	"errors"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"image_size": "ImageSize", "image_url": "ImageURL", "image_urls": "ImageURLs", "request_id": "RequestID",
		"enable_safety_checker": "EnableSafetyChecker", "has_nsfw_concepts": "HasNSFWConcepts",
		"num_inference_steps": "NumInferenceSteps", "portrait_4_3": "Portrait4_3", "16:9": "16_9",
		"square_hd": "SquareHD", "jpeg": "JPEG", "IPAdapter": "IPAdapter", "FluxProV11Input": "FluxProV11Input",
		"RGBColor": "RGBColor", "ip_adapter": "IPAdapter", "sync_mode": "SyncMode", "": "", "--": "",
		"openai/gpt-4o-mini": "OpenaiGPT4oMini", "2048x2048": "2048x2048",
	} {
		if got := pascal(in); got != want {
			t.Errorf("pascal(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"1st": "X1st", "": "Field", "seed": "Seed", "ünïcode": "Ünïcode", "名前": "X名前",
	} {
		if got := goName(in); got != want {
			t.Errorf("goName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"registry__image__fast_sdxl__models__Image": "Image", "fal__toolkit__image__image__Image": "Image",
		"ImageSize": "ImageSize", "LoraWeight": "LoraWeight",
	} {
		if got := typeName(in); got != want {
			t.Errorf("typeName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"fal-ai/flux/schnell": "schnell", "fal-ai/fast-sdxl": "fastsdxl", "fal-ai/ideogram/v2": "ideogramv2",
		"fal-ai/flux-pro/v1.1-ultra": "fluxprov11ultra", "fal-ai/playai/tts/v3": "ttsv3", "falgo/echo": "echo",
		"fal-ai/pixverse/v5.6/image-to-video": "imagetovideo", "fal-ai/go": "goapi", "me/123": "fal123",
		"v2": "v2", "fal-ai/---": "endpoint", "x/main": "mainapi",
	} {
		if got := PackageName(in); got != want {
			t.Errorf("PackageName(%q) = %q, want %q", in, got, want)
		}
		if !ValidPackageName(PackageName(in)) {
			t.Errorf("PackageName(%q) = %q is not a valid package name", in, PackageName(in))
		}
	}
	for in, want := range map[any]string{"jpeg": "FormatJPEG", "": "FormatEmpty", "-1": "FormatNeg1", "…": ""} {
		if got := constName("Format", in); got != want {
			t.Errorf("constName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDocText(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nb":                    "a b",
		"one.\n\ntwo":               "one.\n\ntwo",
		"Heading\n\nbody":           "Heading.\n\nbody",
		"- a\n- b":                  "- a\n- b",
		"bell\x07 rlo\u202e\u2028x": "bell  rlo  x",
		"  padded  ":                "padded",
		"bad \xff utf8":             "bad \uFFFD utf8",
	} {
		if got := docText(in); got != want {
			t.Errorf("docText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := docText(strings.Repeat("é", 3000)); len(got) > maxDocChars+8 || !strings.HasSuffix(got, "…") {
		t.Errorf("a long text is not cut: %d bytes", len(got))
	}
}

func TestGenerateFailsOnlyOnUnusableDocuments(t *testing.T) {
	for name, tc := range map[string]struct {
		spec Spec
		want string
	}{
		"not JSON":     {Spec{Doc: []byte("openapi: 3.0.0")}, "not a JSON document"},
		"not object":   {Spec{Doc: []byte(`[1]`)}, "not a JSON object"},
		"no id":        {Spec{Doc: []byte(`{"openapi":"3.0.0"}`)}, ErrNoEndpointID.Error()},
		"path id":      {Spec{Doc: []byte(`{"openapi":"3.0.0"}`), EndpointID: "fal-ai/../x"}, "path segment"},
		"odd id":       {Spec{Doc: []byte(`{"openapi":"3.0.0"}`), EndpointID: "fal ai/x"}, "cannot be in a package directory"},
		"bad package":  {Spec{Doc: []byte(`{"openapi":"3.0.0"}`), EndpointID: "a/b", Package: "func"}, "not a Go package name"},
		"bad package2": {Spec{Doc: []byte(`{"openapi":"3.0.0"}`), EndpointID: "a/b", Package: "1x"}, "not a Go package name"},
	} {
		_, err := Generate(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
	if _, err := Generate(Spec{Doc: []byte(`{}`)}); !errors.Is(err, ErrNoEndpointID) {
		t.Errorf("no id: err = %v, want ErrNoEndpointID", err)
	}

	// Anything else generates: no schemas at all, schemas of the wrong
	// shape, unknown kinds.
	for name, doc := range map[string]string{
		"empty":           `{"info":{"title":"Queue OpenAPI for a/b"}}`,
		"input string":    `{"info":{"title":"Queue OpenAPI for a/b"},"components":{"schemas":{"BInput":{"type":"string"},"BOutput":{"type":"array","items":{"type":"integer"}}}}}`,
		"weird":           `{"info":{"title":"Queue OpenAPI for a/b"},"components":{"schemas":{"BInput":{"type":"object","properties":{"a":{"type":42},"b":{"allOf":[{"type":"string"},{"type":"integer"}]},"c":{"enum":[1,"x",null]},"d":{"anyOf":[{"type":"null"}]}}}}}}`,
		"input=output":    `{"info":{"title":"Queue OpenAPI for a/b"},"paths":{"/a/b":{"post":{"requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/X"}}}}}},"/a/b/requests/{request_id}":{"get":{"responses":{"200":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/X"}}}}}}}},"components":{"schemas":{"X":{"type":"object","properties":{"a":{"type":"string"}}}}}}`,
		"recursive union": `{"info":{"title":"Queue OpenAPI for a/b"},"components":{"schemas":{"BInput":{"type":"object","properties":{"u":{"$ref":"#/components/schemas/U"}}},"U":{"anyOf":[{"type":"string"},{"type":"object","properties":{"next":{"$ref":"#/components/schemas/U"}}}]}}}}`,
	} {
		f, err := Generate(Spec{Doc: []byte(doc)})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !strings.Contains(string(f.Code), "type Input ") || !strings.Contains(string(f.Code), "type Output ") {
			t.Errorf("%s: no Input or Output:\n%s", name, f.Code)
		}
	}
}

// FuzzGenerate feeds the generator mutations of real documents: it must
// not panic, and what it writes must be valid, gofmt'd Go.
func FuzzGenerate(f *testing.F) {
	docs, _ := filepath.Glob(filepath.Join(moduleRoot, "internal", "openapi", "testdata", "*.json"))
	docs = append(docs, filepath.Join("testdata", "edge.json"))
	for _, p := range docs {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := Generate(Spec{Doc: doc, EndpointID: "fuzz/x"})
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatal(err)
			}
			return
		}
		again, err := format.Source(out.Code)
		if err != nil || string(again) != string(out.Code) {
			t.Fatalf("the code is not gofmt'd: %v", err)
		}
	})
}
