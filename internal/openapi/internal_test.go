package openapi

import (
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	names := []string{"prompt", "image_size", "num_images", "num_inference_steps", "seed", "sync_mode", "loras"}
	cases := map[string]string{
		"promt":               "prompt", // deletion
		"prompts":             "prompt", // insertion
		"pormpt":              "prompt", // swap
		"prampt":              "prompt", // substitution
		"PROMPT":              "prompt", // case
		"imageSize":           "image_size",
		"image-size":          "image_size",
		"num_image":           "num_images",
		"num_inferance_steps": "num_inference_steps",
		"sed":                 "seed",
		"lora":                "loras",
		"steps":               "",
		"negative_prompt":     "",
		"x":                   "",
		"":                    "",
		"resolution":          "",
		"sync":                "", // a prefix, not a misspelling
	}
	for in, want := range cases {
		if got := suggest(in, names); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
	if got := suggest("prompt", names); got != "" {
		t.Errorf("an exact name suggests %q", got)
	}
	if got := suggest(strings.Repeat("a", 300), []string{strings.Repeat("a", 299)}); got != "" {
		t.Errorf("very long names: %q", got)
	}
}

func TestDecodeNodeKeepsOrder(t *testing.T) {
	n, err := decodeNode([]byte(`{"z": 1, "a": {"y": [true, null, "s"], "b": 2}, "m": 3, "a": {"k": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(n.keys(), ","); got != "z,a,m" {
		t.Errorf("keys = %s", got)
	}
	if got := n.get("a").keys(); len(got) != 1 || got[0] != "k" {
		t.Errorf("duplicate key: last should win, got %v", got)
	}
	if _, err := decodeNode([]byte(`{"a": 1,}`)); err == nil {
		t.Error("trailing comma accepted")
	}
	if _, err := decodeNode([]byte(strings.Repeat(`{"a":`, 201) + `1` + strings.Repeat(`}`, 201))); err != errTooDeep {
		t.Errorf("too deep: %v", err)
	}
}

func TestPascalName(t *testing.T) {
	for in, want := range map[string]string{
		"fal-ai/flux/schnell":        "FluxSchnell",
		"fal-ai/flux-pro/v1.1-ultra": "FluxProV11Ultra",
		"fal-ai/playai/tts/v3":       "PlayaiTtsV3",
		"bria/text-to-image/3.2":     "BriaTextToImage32",
	} {
		if got := pascalName(in); got != want {
			t.Errorf("pascalName(%q) = %q, want %q", in, got, want)
		}
	}
}
